"""A small reverse-mode autograd engine over NumPy arrays (micrograd, with tensors).

A :class:`Tensor` holds ``data`` (a NumPy array), ``grad`` (same shape, or None),
the op that produced it (``_op``) and the tensors it was made from (``_prev``).
Each op builds its output and attaches ``_backward``: a small closure that takes
the gradient of the output and returns one gradient per input (``None`` for an
input that does not need one). :meth:`Tensor.backward` sorts the graph
topologically (iteratively, so long graphs do not hit Python's recursion limit)
and runs those closures in reverse order.

Broadcasting works as in NumPy; a gradient flowing back to a broadcast input is
summed back to that input's shape. The elementwise functions (exp, sin, sigmoid, ...)
take their value and local derivative from ``rules.py``, the same table the
symbolic derivative and the chain-rule narration use: a derivative is written once.

Gradients of leaves (tensors you made yourself) accumulate over several
``backward`` calls, like PyTorch; call :meth:`Tensor.zero_grad` between steps.
Intermediate tensors keep the gradient of their latest backward pass so that a
viewer can show it.

    >>> x = Tensor(2.0, requires_grad=True)
    >>> y = x**2 + 3*x + 5
    >>> y.backward()
    >>> float(x.grad)
    7.0
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import contextmanager

import numpy as np

from .rules import RULES

_state = threading.local()


def is_grad_enabled() -> bool:
    """False inside a :func:`no_grad` block (on this thread)."""
    return getattr(_state, "enabled", True)


@contextmanager
def no_grad():
    """Run ops without recording the graph (for evaluation or weight updates)."""
    previous = is_grad_enabled()
    _state.enabled = False
    try:
        yield
    finally:
        _state.enabled = previous


def _as_array(data, dtype=None) -> np.ndarray:
    arr = np.asarray(data, dtype=dtype)
    if dtype is None and not np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float64)
    return arr


def _unbroadcast(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum ``grad`` over the axes NumPy broadcast to reach it from ``shape``."""
    if grad.shape == shape:
        return grad
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    for axis, size in enumerate(shape):
        if size == 1 and grad.shape[axis] != 1:
            grad = grad.sum(axis=axis, keepdims=True)
    return grad.reshape(shape)


class Tensor:
    """An array that remembers how it was computed, so gradients can flow back."""

    __array_priority__ = 100  # so ndarray + Tensor calls Tensor.__radd__

    def __init__(self, data, requires_grad: bool = False, dtype=None, name: str = "", _prev: tuple = (), _op: str = ""):
        self.data: np.ndarray = _as_array(data.data if isinstance(data, Tensor) else data, dtype)
        self.grad: np.ndarray | None = None
        self.requires_grad = bool(requires_grad)
        self.name = name
        self._prev = _prev
        self._op = _op
        # grad_out -> tuple of grads, one per input in _prev (None for a leaf)
        self._backward: Callable[[np.ndarray], tuple] | None = None

    # -- basics ------------------------------------------------------------------
    @property
    def shape(self) -> tuple:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def is_leaf(self) -> bool:
        return not self._prev

    def numpy(self) -> np.ndarray:
        return self.data

    def item(self) -> float:
        return self.data.item()

    def detach(self) -> Tensor:
        """The same values, cut off from the graph (no gradient flows through)."""
        return Tensor(self.data, name=self.name)

    def zero_grad(self) -> None:
        self.grad = None

    def __repr__(self) -> str:
        grad = ", requires_grad=True" if self.requires_grad else ""
        op = f", op={self._op!r}" if self._op else ""
        return f"Tensor({np.array2string(self.data, precision=4)}{grad}{op})"

    def __len__(self) -> int:
        return len(self.data)

    def _make(self, data, inputs: tuple, op: str, backward) -> Tensor:
        """Wrap an op's result; record the graph only if some input needs a gradient."""
        needs = is_grad_enabled() and any(t.requires_grad for t in inputs)
        out = Tensor(data, requires_grad=needs, dtype=data.dtype if isinstance(data, np.ndarray) else None)
        if needs:
            out._prev, out._op, out._backward = inputs, op, backward
        return out

    @staticmethod
    def _lift(other, like: Tensor) -> Tensor:
        if isinstance(other, Tensor):
            return other
        return Tensor(np.asarray(other, dtype=like.dtype))

    # -- arithmetic (broadcasting) ---------------------------------------------------
    def __add__(self, other):
        other = self._lift(other, self)
        a, b = self, other
        return self._make(a.data + b.data, (a, b), "+", lambda g: (_unbroadcast(g, a.shape), _unbroadcast(g, b.shape)))

    def __sub__(self, other):
        other = self._lift(other, self)
        a, b = self, other
        return self._make(a.data - b.data, (a, b), "-", lambda g: (_unbroadcast(g, a.shape), _unbroadcast(-g, b.shape)))

    def __mul__(self, other):
        other = self._lift(other, self)
        a, b = self, other
        return self._make(
            a.data * b.data,
            (a, b),
            "*",
            lambda g: (
                _unbroadcast(g * b.data, a.shape) if a.requires_grad else None,
                _unbroadcast(g * a.data, b.shape) if b.requires_grad else None,
            ),
        )

    def __truediv__(self, other):
        other = self._lift(other, self)
        a, b = self, other
        return self._make(
            a.data / b.data,
            (a, b),
            "/",
            lambda g: (
                _unbroadcast(g / b.data, a.shape) if a.requires_grad else None,
                _unbroadcast(-g * a.data / (b.data * b.data), b.shape) if b.requires_grad else None,
            ),
        )

    def __pow__(self, other):
        other = self._lift(other, self)
        a, b = self, other
        out_data = a.data**b.data

        def backward(g):
            ga = _unbroadcast(g * b.data * a.data ** (b.data - 1), a.shape) if a.requires_grad else None
            gb = None
            if b.requires_grad:
                # d(a**b)/db = a**b * ln(a); only defined for a > 0 (0 elsewhere, as PyTorch does for a == 0)
                safe = np.where(a.data > 0, a.data, 1)
                gb = _unbroadcast(g * out_data * np.log(safe) * (a.data > 0), b.shape)
            return ga, gb

        return self._make(out_data, (a, b), "**", backward)

    def __neg__(self):
        return self._make(-self.data, (self,), "neg", lambda g: (-g,))

    def __radd__(self, other):
        return self._lift(other, self) + self

    def __rsub__(self, other):
        return self._lift(other, self) - self

    def __rmul__(self, other):
        return self._lift(other, self) * self

    def __rtruediv__(self, other):
        return self._lift(other, self) / self

    def __rpow__(self, other):
        return self._lift(other, self) ** self

    def __matmul__(self, other):
        other = self._lift(other, self)
        a, b = self, other
        if a.ndim != 2 or b.ndim != 2:
            raise ValueError(f"matmul needs two 2-D tensors, got shapes {a.shape} and {b.shape}")
        return self._make(
            a.data @ b.data,
            (a, b),
            "@",
            lambda g: (g @ b.data.T if a.requires_grad else None, a.data.T @ g if b.requires_grad else None),
        )

    # -- reductions -------------------------------------------------------------
    def sum(self, axis=None, keepdims: bool = False):
        a = self

        def backward(g):
            if axis is not None and not keepdims:
                g = np.expand_dims(g, axis)
            return (np.broadcast_to(g, a.shape).copy(),)

        return self._make(np.sum(a.data, axis=axis, keepdims=keepdims), (a,), "sum", backward)

    def mean(self, axis=None, keepdims: bool = False):
        count = self.data.size if axis is None else np.prod([self.shape[i] for i in np.atleast_1d(axis)])
        return self.sum(axis=axis, keepdims=keepdims) * (1.0 / count)

    def max(self, axis=None, keepdims: bool = False):
        a = self
        out_keep = np.max(a.data, axis=axis, keepdims=True)

        def backward(g):
            if axis is not None and not keepdims:
                g = np.expand_dims(g, axis)
            elif axis is None:
                g = np.reshape(g, out_keep.shape)
            # ties share the gradient equally
            mask = a.data == out_keep
            return (mask * g / mask.sum(axis=axis, keepdims=True),)

        data = out_keep if keepdims else np.max(a.data, axis=axis)
        return self._make(np.asarray(data), (a,), "max", backward)

    # -- elementwise functions ----------------------------------------------------
    # Each function's value and local derivative come from its row in rules.py, the one
    # table the parser, the symbolic derivative and the chain-rule narration read as well.
    def _function(self, name: str) -> Tensor:
        rule = RULES[name]
        a = self
        out = rule.forward(a.data)
        local = rule.local
        if local is None:  # flat (step, sign): nothing flows back, not even an infinite gradient
            return self._make(out, (a,), name, lambda g: (np.zeros_like(g),))
        return self._make(out, (a,), name, lambda g: (g * local(a.data, out),))

    def exp(self):
        return self._function("exp")

    def log(self):
        return self._function("log")

    def sqrt(self):
        return self._function("sqrt")

    def abs(self):
        return self._function("abs")

    def sin(self):
        return self._function("sin")

    def cos(self):
        return self._function("cos")

    def tan(self):
        return self._function("tan")

    def tanh(self):
        return self._function("tanh")

    def sigmoid(self):
        return self._function("sigmoid")

    def relu(self):
        return self._function("relu")

    def step(self):
        """Heaviside step (1 where x > 0): the derivative of relu; its own gradient is 0."""
        return self._function("step")

    def sign(self):
        """-1, 0 or 1: the derivative of abs; its own gradient is 0."""
        return self._function("sign")

    # -- shape ----------------------------------------------------------------------
    def reshape(self, *shape):
        shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        a = self
        return self._make(a.data.reshape(shape), (a,), "reshape", lambda g: (g.reshape(a.shape),))

    def transpose(self, *axes):
        axes = axes[0] if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else axes
        axes = tuple(axes) or tuple(reversed(range(self.ndim)))
        inverse = tuple(np.argsort(axes))
        return self._make(self.data.transpose(axes), (self,), "transpose", lambda g: (g.transpose(inverse),))

    @property
    def T(self):
        return self.transpose()

    def __getitem__(self, index):
        if isinstance(index, Tensor):
            index = index.data.astype(np.intp)
        a = self

        def backward(g):
            full = np.zeros_like(a.data)
            np.add.at(full, index, g)  # add.at: repeated indices accumulate
            return (full,)

        return self._make(np.asarray(a.data[index]), (a,), "index", backward)

    # -- losses -----------------------------------------------------------------
    def cross_entropy(self, target) -> Tensor:
        """Softmax cross-entropy of these logits (N, C), mean over the batch.

        ``target`` is integer labels (N,) or one-hot/probabilities (N, C), as in
        :class:`nnstudio.core.nn.losses.SoftmaxCrossEntropy`.
        """
        return softmax_cross_entropy(self, target)

    # -- backward -------------------------------------------------------------------
    def topological_order(self) -> list[Tensor]:
        """Every tensor this one depends on, each after all of its inputs (self last)."""
        order, seen = [], set()
        stack = [(self, False)]
        while stack:
            node, inputs_done = stack.pop()
            if inputs_done:
                order.append(node)
                continue
            if id(node) in seen:
                continue
            seen.add(id(node))
            stack.append((node, True))
            for child in node._prev:
                if id(child) not in seen:
                    stack.append((child, False))
        return order

    def backward(self, grad=None) -> None:
        """Compute d(self)/d(t) for every tensor t in the graph that requires a gradient.

        ``grad`` defaults to ones (for a scalar: dself/dself = 1). Leaf gradients
        accumulate; intermediate tensors get the gradient of this pass.
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward() on a tensor that does not require grad "
                "(no input had requires_grad=True, or it was made under no_grad)"
            )
        grad = np.ones_like(self.data) if grad is None else _as_array(grad, self.dtype)
        if grad.shape != self.shape:
            raise ValueError(f"gradient shape {grad.shape} does not match tensor shape {self.shape}")
        pending = {id(self): grad}
        for node in reversed(self.topological_order()):
            g = pending.pop(id(node), None)
            if g is None:
                continue
            if node.is_leaf:
                node.grad = g.copy() if node.grad is None else node.grad + g
                continue
            node.grad = g
            if node._backward is None:  # made under no_grad: nothing flows further back
                continue
            for child, child_grad in zip(node._prev, node._backward(g)):
                if child_grad is None or not child.requires_grad:
                    continue
                child_grad = np.asarray(child_grad, dtype=child.dtype)
                key = id(child)
                pending[key] = child_grad if key not in pending else pending[key] + child_grad


def tensor(data, requires_grad: bool = False, dtype=None, name: str = "") -> Tensor:
    """Shorthand for :class:`Tensor`."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype, name=name)


def softmax_cross_entropy(logits: Tensor, target) -> Tensor:
    """Mean softmax cross-entropy, fused: stable log-sum-exp, gradient (softmax - y) / N."""
    target = target.data if isinstance(target, Tensor) else np.asarray(target)
    z = logits.data - logits.data.max(axis=1, keepdims=True)
    log_sums = np.log(np.exp(z).sum(axis=1, keepdims=True))
    log_probs = z - log_sums
    n = logits.shape[0]
    if target.ndim == 1:
        onehot = np.zeros_like(logits.data)
        onehot[np.arange(n), target.astype(np.intp)] = 1
    else:
        onehot = target.astype(logits.dtype)
    loss = np.asarray(-np.sum(onehot * log_probs) / n, dtype=logits.dtype)
    probs = np.exp(log_probs)
    return logits._make(loss, (logits,), "cross_entropy", lambda g: (g * (probs - onehot) / n,))
