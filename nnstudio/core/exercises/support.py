"""A tiny scalar autograd node for the backward-pass exercise (the learner imports it).

Every :class:`Node` knows its ``value``, its ``parents`` (the nodes it was computed from), and
``local_backward(grad)``: given dL/d(this node) it returns dL/d(parent) for each parent, in order.
What is left to write is the pass over the whole graph: that is the exercise.

    >>> x = Node(2.0, name="x")
    >>> y = x**2 + 3*x + 5
    >>> [round(g, 6) for g in y.parents[0].local_backward(1.0)]
    [1.0, 1.0]
"""

from __future__ import annotations

import math
from collections.abc import Callable


class Node:
    """One value in a computation graph (a number), with its gradient slot ``grad`` (0.0 to start)."""

    def __init__(
        self,
        value: float,
        parents: tuple[Node, ...] = (),
        op: str = "",
        local: Callable[[float], tuple[float, ...]] | None = None,
        name: str = "",
    ):
        self.value = float(value)
        self.grad = 0.0
        self.parents = tuple(parents)
        self.op = op
        self.name = name
        self._local = local

    def local_backward(self, grad: float) -> tuple[float, ...]:
        """dL/d(parent) for each parent, given ``grad`` = dL/d(this node); () for a leaf."""
        return self._local(grad) if self._local is not None else ()

    def __repr__(self) -> str:
        label = self.name or self.op or "node"
        return f"Node({label}, value={self.value:.6g}, grad={self.grad:.6g})"

    @staticmethod
    def _lift(other) -> Node:
        return other if isinstance(other, Node) else Node(other, name=f"{other:g}")

    def __add__(self, other) -> Node:
        other = self._lift(other)
        return Node(self.value + other.value, (self, other), "+", lambda g: (g, g))

    __radd__ = __add__

    def __mul__(self, other) -> Node:
        other = self._lift(other)
        a, b = self, other
        return Node(a.value * b.value, (a, b), "*", lambda g: (g * b.value, g * a.value))

    __rmul__ = __mul__

    def __neg__(self) -> Node:
        return self * -1.0

    def __sub__(self, other) -> Node:
        return self + (-self._lift(other))

    def __pow__(self, n: float) -> Node:
        a = self
        return Node(a.value**n, (a,), f"**{n:g}", lambda g: (g * n * a.value ** (n - 1),))

    def tanh(self) -> Node:
        out = math.tanh(self.value)
        return Node(out, (self,), "tanh", lambda g: (g * (1 - out * out),))


def var(value: float, name: str = "") -> Node:
    """A leaf: an input whose gradient we want."""
    return Node(value, name=name)
