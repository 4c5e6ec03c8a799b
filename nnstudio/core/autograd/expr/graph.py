"""An expression evaluated at one point on the autograd engine: its graph, gradients and chain-rule narration."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from nnstudio.core.autograd.tensor import Tensor

from ..rules import RULES
from .parse import CONSTANTS, BinOp, Const, ExprError, Neg, Num, Var, children, walk
from .symbolic import to_text


@dataclass
class GraphNode:
    """One box in the computation graph: a variable, a constant or an operation."""

    index: int
    kind: str  # "variable", "constant" or "operation"
    op: str  # "x", "2", "+", "**", "sin", ...
    label: str  # name used in explanations: x, 2, g1, y
    text: str  # the sub-expression it computes, e.g. "x + 2"
    inputs: list[int]
    tensor: Tensor
    pos: int | None = None
    consumers: list[int] = field(default_factory=list)

    @property
    def value(self) -> float:
        return float(np.asarray(self.tensor.data).reshape(-1)[0])

    @property
    def grad(self) -> float | None:
        g = self.tensor.grad
        return None if g is None else float(np.asarray(g).reshape(-1)[0])


@dataclass
class BackwardStep:
    """One step of the backward pass: the gradient of one node, with the chain rule written out."""

    node: int
    lines: list[str]
    grad: float


def _num(v: float | None) -> str:
    """A number for explanations: short, no '-0'."""
    if v is None:
        return "—"
    if not math.isfinite(v):  # e.g. 1/x at x = 0: the same word the window shows in the boxes
        return "undefined"
    if v == 0:
        return "0"
    s = f"{v:.6g}"
    return s


def _paren(s: str) -> str:
    return f"({s})" if s.startswith("-") else s


class Graph:
    """The computation graph of an expression evaluated at one point, after backward.

    ``expression`` is an :class:`~.expression.Expression` (not imported here: expression.py
    imports this module); ``values`` gives each of its variables a number.
    """

    def __init__(self, expression, values: dict[str, float]):
        self.expression = expression
        self.values = dict(values)
        self.nodes: list[GraphNode] = []
        leaves: dict[str, int] = {}
        index_of: dict[int, int] = {}
        with np.errstate(all="ignore"):
            for n in walk(expression.tree):
                if isinstance(n, Var) and n.name in leaves:
                    index_of[id(n)] = leaves[n.name]
                    continue
                index_of[id(n)] = len(self.nodes)
                inputs = [index_of[id(c)] for c in children(n)]
                ins = [self.nodes[k].tensor for k in inputs]
                if isinstance(n, Var):
                    leaves[n.name] = len(self.nodes)
                    t = Tensor(float(values[n.name]), requires_grad=True, name=n.name)
                    node = GraphNode(len(self.nodes), "variable", n.name, n.name, n.name, [], t, n.pos)
                else:
                    t = apply_node(n, ins)
                    kind = "constant" if isinstance(n, (Num, Const)) else "operation"
                    op = _node_op(n)
                    node = GraphNode(
                        len(self.nodes), kind, op, op if kind == "constant" else "", to_text(n), inputs, t, n.pos
                    )
                self.nodes.append(node)
            for node in self.nodes:
                for k in set(node.inputs):
                    self.nodes[k].consumers.append(node.index)
            self.output = self.nodes[index_of[id(expression.tree)]]
            self._name_intermediates()
            if self.output.tensor.requires_grad:
                self.output.tensor.backward()

    def _name_intermediates(self):
        ops = [n for n in self.nodes if n.kind == "operation" and n is not self.output]
        taken = set(self.expression.variables) | {self.expression.output}
        base = "g" if "g" not in taken else "u"
        for k, n in enumerate(ops, 1):
            n.label = base if len(ops) == 1 else f"{base}{k}"
        if self.output.kind == "operation":
            self.output.label = self.expression.output

    @property
    def value(self) -> float:
        return self.output.value

    def gradient(self) -> dict[str, float]:
        """d(output)/d(variable) for each variable of the expression."""
        return {n.op: (n.grad if n.grad is not None else 0.0) for n in self.nodes if n.kind == "variable"}

    def check_finite(self) -> None:
        """Raise :class:`ExprError` naming the first operation whose value is not finite."""
        for n in self.nodes:
            if not math.isfinite(n.value):
                at = ", ".join(f"{k} = {_num(v)}" for k, v in self.values.items())
                raise ExprError(f"{n.text} is undefined or too large for {at}", n.pos, self.expression.text)

    def backward_order(self) -> list[GraphNode]:
        """Nodes that get a gradient, in the order the backward pass computes them."""
        return [n for n in reversed(self.nodes) if n.tensor.requires_grad]

    def backward_steps(self) -> list[BackwardStep]:
        """The backward pass one node at a time, each with its chain-rule product in numbers."""
        y = self.output.label
        steps = []
        for n in self.backward_order():
            if n is self.output:
                steps.append(BackwardStep(n.index, [f"d{y}/d{y} = 1   (the output, with respect to itself)"], 1.0))
                continue
            lines: list[str] = []
            products: list[str] = []
            numbers: list[str] = []
            for c_index in n.consumers:
                c = self.nodes[c_index]
                if not c.tensor.requires_grad or c.tensor.grad is None:
                    continue
                local = self.local_derivative(c, n)
                uses = [i for i, k in enumerate(c.inputs) if k == n.index]
                symbolic = " + ".join(self._local_text(c, i) for i in uses)
                filled = self._local_numbers(c, uses[0]) if len(uses) == 1 else None
                shown = symbolic
                if filled and filled not in (symbolic, _num(local)):
                    shown += f" = {filled}"
                if symbolic != _num(local):
                    shown += f" = {_num(local)}"
                if c is self.output and len(n.consumers) == 1:
                    lines.append(f"d{y}/d{n.label} = {shown}")
                    products = []
                    break
                lines.append(f"d{c.label}/d{n.label} = {shown}")
                products.append(f"d{y}/d{c.label} × d{c.label}/d{n.label}")
                numbers.append(f"{_paren(_num(c.grad))} × {_paren(_num(local))}")
            if products:
                lines.append(f"d{y}/d{n.label} = {' + '.join(products)} = {' + '.join(numbers)} = {_num(n.grad)}")
            # every node backward_order() lists has a gradient after backward
            steps.append(BackwardStep(n.index, lines, n.grad if n.grad is not None else float("nan")))
        return steps

    def local_derivative(self, consumer: GraphNode, node: GraphNode) -> float:
        """d(consumer)/d(node) at this point, taken from the engine's own backward closure."""
        ones = np.ones_like(consumer.tensor.data)
        backward = consumer.tensor._backward
        if backward is None:  # a leaf or a constant: nothing depends on anything through it
            return 0.0
        with np.errstate(all="ignore"):  # 1/x at 0 is inf: shown as "undefined", not warned about
            grads = backward(ones)
        return float(
            sum(
                np.asarray(g).reshape(-1)[0]
                for g, k in zip(grads, consumer.inputs)
                if k == node.index and g is not None
            )
        )

    def _local_numbers(self, c: GraphNode, i: int) -> str | None:
        """The local derivative with this point's numbers put in, e.g. "2 × 3" for 2·g at g = 3."""

        def v(k):
            s = _num(self.nodes[c.inputs[k]].value)
            return f"({s})" if s.startswith("-") else s

        a = v(0)
        out = _num(c.value)
        out = f"({out})" if out.startswith("-") else out
        op = c.op
        if op == "/":
            return f"1/{v(1)}" if i == 0 else f"-{a}/{v(1)}²"
        if op == "**" and i == 0 and self.nodes[c.inputs[1]].kind == "constant":
            n = self.nodes[c.inputs[1]].value
            if n == 2:
                return f"2 × {a}"
            return None if n == 1 else f"{_num(n)} × {a}^{_num(n - 1)}"
        rule = RULES.get(op)  # a function: its row of the table says what to show
        return None if rule is None or rule.numbers is None else rule.numbers.format(a=a, out=out)

    def _local_text(self, c: GraphNode, i: int) -> str:
        """d c/d(input i) in names, e.g. "2·x"; arithmetic is spelled out here, functions come from RULES."""
        names = [self.nodes[k].label for k in c.inputs]
        a = names[0]
        op = c.op
        if op == "+":
            return "1"
        if op == "-":
            return "1" if i == 0 else "-1"
        if op == "neg":
            return "-1"
        if op == "*":
            return names[1 - i]
        if op == "/":
            return f"1/{names[1]}" if i == 0 else f"-{a}/{names[1]}²"
        if op == "**":
            b = self.nodes[c.inputs[1]]
            if i == 1:
                return f"{a}^{names[1]}·ln({a})"
            if b.kind == "constant":
                n = b.value
                if n == 2:
                    return f"2·{a}"
                if n == 1:
                    return "1"
                return f"{_num(n)}·{a}^{_num(n - 1)}"
            return f"{names[1]}·{a}^({names[1]} - 1)"
        return RULES[op].text.format(a=a)


def _node_op(n) -> str:
    if isinstance(n, Num):
        return _num(n.value)
    if isinstance(n, Const):
        return n.name
    if isinstance(n, Neg):
        return "neg"
    if isinstance(n, BinOp):
        return n.op
    return n.fn


def apply_node(n, ins: list[Tensor]) -> Tensor:
    if isinstance(n, Num):
        return Tensor(n.value)
    if isinstance(n, Const):
        return Tensor(CONSTANTS[n.name])
    if isinstance(n, Neg):
        return -ins[0]
    if isinstance(n, BinOp):
        a, b = ins
        return {"+": a.__add__, "-": a.__sub__, "*": a.__mul__, "/": a.__truediv__, "**": a.__pow__}[n.op](b)
    return getattr(ins[0], n.fn)()
