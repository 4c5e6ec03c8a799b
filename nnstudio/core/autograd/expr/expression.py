"""The entry point: :func:`parse` text into an :class:`Expression`, then evaluate or differentiate it."""

from __future__ import annotations

import numpy as np

from nnstudio.core.autograd.tensor import Tensor

from ..rules import RULES
from .graph import Graph, apply_node
from .parse import CONSTANTS, BinOp, Call, Const, ExprError, Neg, Num, Var, children, parse_tree, walk
from .symbolic import all_finite, differentiate, format_number, render, simplify, to_text

_NP_OPS = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide, "**": np.power}


def _check_constants(tree, text: str) -> None:
    """Fold every constant sub-expression once; refuse overflow and undefined results."""
    values: dict[int, float] = {}
    with np.errstate(all="ignore"):
        for n in walk(tree):
            if isinstance(n, Num):
                values[id(n)] = np.float64(n.value)
            elif isinstance(n, Const):
                values[id(n)] = np.float64(CONSTANTS[n.name])
            elif isinstance(n, Neg) and id(n.arg) in values:
                values[id(n)] = -values[id(n.arg)]
            elif isinstance(n, BinOp) and id(n.left) in values and id(n.right) in values:
                a, b = values[id(n.left)], values[id(n.right)]
                v = _NP_OPS[n.op](a, b)
                if not np.isfinite(v):
                    if n.op == "/" and b == 0 or n.op == "**" and a == 0 and b < 0:
                        raise ExprError("division by zero", n.pos, text)
                    if np.isnan(v):
                        raise ExprError(f"{format_number(a)}{n.op}{format_number(b)} is undefined", n.pos, text)
                    raise ExprError(
                        f"the value of this '{n.op}' is too large for a float (beyond about 1.8e308)", n.pos, text
                    )
                values[id(n)] = v
            elif isinstance(n, Call) and id(n.arg) in values:
                v = RULES[n.fn].forward(values[id(n.arg)])
                if not np.isfinite(v):
                    raise ExprError(
                        f"{n.fn}({format_number(values[id(n.arg)])}) is undefined or too large", n.pos, text
                    )
                values[id(n)] = v


def parse(text: str, variables=None) -> Expression:
    """Parse ``text`` into an :class:`Expression`. ``variables`` optionally restricts the names."""
    tree, output = parse_tree(text, variables)
    _check_constants(tree, text)
    return Expression(text, tree, output)


class Expression:
    """A parsed expression: evaluate it, differentiate it with autograd or symbolically."""

    def __init__(self, text: str, tree, output: str = "y"):
        self.text, self.tree, self.output = text, tree, output
        names = []
        for n in walk(tree):
            if isinstance(n, Var) and n.name not in names:
                names.append(n.name)
        self.variables: tuple[str, ...] = tuple(names)

    def __repr__(self) -> str:
        return f"Expression({self.text!r})"

    def __str__(self) -> str:
        return to_text(self.tree)

    def _values(self, values: dict) -> dict:
        missing = [v for v in self.variables if v not in values]
        if missing:
            raise ExprError(f"no value given for {', '.join(missing)}")
        return {k: values[k] for k in self.variables}

    def graph(self, **values) -> Graph:
        """Evaluate at one point (scalars) and run backward: every node's value and gradient."""
        return Graph(self, self._values(values))

    def value_and_gradient(self, **values) -> tuple[float, dict[str, float]]:
        g = self.graph(**values)
        return g.value, g.gradient()

    def curve(self, var: str, xs: np.ndarray, **values) -> tuple[np.ndarray, np.ndarray]:
        """f and df/dvar along ``xs`` (other variables fixed), by one vectorised backward pass.

        Points where f is undefined come back as NaN (a gap in a plot).
        """
        xs = np.asarray(xs, dtype=np.float64)
        values = dict(values)
        values.setdefault(var, 0.0)
        values = self._values(values)
        leaves = {k: Tensor(xs if k == var else float(v), requires_grad=(k == var)) for k, v in values.items()}
        with np.errstate(all="ignore"):
            memo: dict[int, Tensor] = {}
            for n in walk(self.tree):
                memo[id(n)] = (
                    leaves[n.name] if isinstance(n, Var) else apply_node(n, [memo[id(c)] for c in children(n)])
                )
            out = memo[id(self.tree)]
            f = np.broadcast_to(out.data, xs.shape).astype(np.float64)
            if var in self.variables and out.requires_grad:
                out.backward(np.ones_like(out.data))
                grad = leaves[var].grad
                df = grad if grad is not None else np.zeros_like(xs)
            else:
                df = np.zeros_like(xs)
        ok = np.isfinite(f)
        f, df = np.where(ok, f, np.nan), np.where(ok & np.isfinite(df), df, np.nan)
        return f, df

    def derivative_tree(self, var: str):
        try:
            tree = simplify(differentiate(self.tree, var))
        except OverflowError:
            raise ExprError(f"the derivative with respect to {var} has a number too large for a float") from None
        except RecursionError:
            raise ExprError(f"the derivative with respect to {var} is nested too deeply to simplify") from None
        if not all_finite(tree):
            raise ExprError(f"the derivative with respect to {var} has a number too large for a float")
        return tree

    def derivative(self, var: str) -> str:
        """d(expression)/d(var), simplified, as text that :func:`parse` reads back."""
        return render(self.derivative_tree(var))
