"""Check the engine's gradients against finite differences, as ``torch.autograd.gradcheck`` does.

:func:`numerical_gradient` moves one element at a time by ±eps (central differences, float64);
:func:`gradcheck` compares that with what :meth:`Tensor.backward` computes, for every element
of every input that requires a gradient and every element of the output.

    >>> x = Tensor([0.5, 1.0, 2.0], requires_grad=True)
    >>> gradcheck(lambda t: t * t.sin(), x)
    True
"""

from __future__ import annotations

import numpy as np

from .tensor import Tensor


class GradcheckError(RuntimeError):
    """The engine's gradient and the finite-difference one disagree (the message says where)."""


def numerical_gradient(f, x, eps: float = 1e-6) -> np.ndarray:
    """Central differences of ``f`` at ``x``: (f(x + eps) - f(x - eps)) / 2eps, one element at a time.

    ``f`` takes an array shaped like ``x`` (a float64 copy; ``x`` itself is never changed). For a
    scalar ``f`` the result is its gradient, shaped like ``x``; for an array-valued ``f`` it is the
    Jacobian, shaped ``f(x).shape + x.shape``.
    """
    x = np.array(x, dtype=np.float64)
    columns = []
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        up = np.asarray(f(x.copy()), dtype=np.float64)
        x[i] = old - eps
        down = np.asarray(f(x.copy()), dtype=np.float64)
        x[i] = old
        columns.append((up - down) / (2 * eps))
    if not columns:  # x has no elements
        return np.zeros(np.shape(f(x.copy())) + x.shape)
    return np.stack(columns, axis=-1).reshape(columns[0].shape + x.shape)


def gradcheck(fn, inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3, raise_exception: bool = True):
    """True when the engine's gradients of ``fn(*inputs)`` match central differences.

    ``inputs`` is a Tensor or a tuple of values; the Tensors among them with ``requires_grad``
    are checked (on float64 copies), anything else is passed to ``fn`` unchanged. ``fn`` returns
    a Tensor of any shape: the whole Jacobian is compared, one backward pass per output element.
    An element passes when |engine - numerical| <= atol + rtol·|numerical|. Otherwise this raises
    :class:`GradcheckError` naming the worst element (or returns False if not ``raise_exception``).
    """
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    inputs = tuple(
        Tensor(np.array(v.data, dtype=np.float64), requires_grad=True)
        if isinstance(v, Tensor) and v.requires_grad
        else v
        for v in inputs
    )
    checked = [k for k, v in enumerate(inputs) if isinstance(v, Tensor) and v.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input is a Tensor with requires_grad=True")
    out = fn(*inputs)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradcheck: fn must return a Tensor, got {type(out).__name__}")

    worst = None  # (how far over the tolerance, message)
    failing = total = 0
    for k in checked:
        x = inputs[k]
        engine = _engine_jacobian(out, x)  # out.shape + x.shape

        def f(values, k=k):
            args = list(inputs)
            args[k] = Tensor(values)
            return fn(*args).data

        numerical = numerical_gradient(f, x.data, eps)
        allowed = atol + rtol * np.abs(numerical)
        with np.errstate(invalid="ignore"):
            over = np.abs(engine - numerical) / allowed
        over = np.where(np.isnan(over), np.inf, over)  # a NaN on either side is never a match
        failing += int(np.count_nonzero(over > 1))
        total += over.size
        if over.size and over.max() > 1 and (worst is None or over.max() > worst[0]):
            j = np.unravel_index(np.argmax(over), over.shape)
            o, i = j[: out.ndim], j[out.ndim :]
            hint = "" if out.requires_grad else " (the output does not require grad: was it made under no_grad?)"
            worst = (
                over[j],
                f"gradcheck: d out{_index(o)} / d inputs[{k}]{_index(i)} is {engine[j]:.8g} by backward but "
                f"{numerical[j]:.8g} by central differences (eps {eps:g}): the difference "
                f"{abs(engine[j] - numerical[j]):.3g} is over atol + rtol·|numerical| = {allowed[j]:.3g}{hint}",
            )
    if worst is None:
        return True
    if not raise_exception:
        return False
    raise GradcheckError(f"{worst[1]}; {failing} of {total} Jacobian elements differ")


def _engine_jacobian(out: Tensor, x: Tensor) -> np.ndarray:
    """d out/d x from backward passes, one per element of ``out``: shape out.shape + x.shape."""
    jacobian = np.zeros(out.shape + x.shape)
    if not out.requires_grad:
        return jacobian
    for j in np.ndindex(out.shape):
        seed = np.zeros(out.shape, dtype=out.dtype)
        seed[j] = 1
        x.zero_grad()
        out.backward(seed)
        if x.grad is None:
            continue  # this output element does not depend on x
        if x.grad.shape != x.shape:
            raise GradcheckError(
                f"gradcheck: backward gave a gradient of shape {x.grad.shape} for an input of {x.shape}"
            )
        jacobian[j] = x.grad
    x.zero_grad()
    return jacobian


def _index(i: tuple) -> str:
    return f"[{', '.join(str(int(n)) for n in i)}]" if i else ""
