"""The one table of functions: for each name in :data:`~.expr.parse.FUNCTIONS`, everything we know about it.

A :class:`Rule` holds the function's value and its derivative, written once, in the forms
each part of the package needs:

- ``forward``: the value, elementwise, on a NumPy array (or a NumPy scalar).
- ``local``: the local derivative d out/d a as NumPy, given the input ``a`` and the output
  ``out`` (tanh' = 1 - out² needs no second tanh). The engine multiplies it by the incoming
  gradient (:meth:`nnstudio.core.autograd.Tensor.sin` and friends). ``None`` means the
  function is flat wherever it is defined (step, sign): no gradient flows back through it.
- ``symbolic``: the same derivative as a parse tree, built around the argument's tree ``u``
  (used by :func:`~.symbolic.differentiate`, which multiplies it by du/dx).
- ``text``: the local derivative as the chain-rule narration writes it, ``{a}`` standing
  for the input's name (``cos({a})`` shows as ``cos(g1)``).
- ``numbers``: the same with the numbers in: ``{a}`` the input's value, ``{out}`` the
  output's (``None`` where filling in would say nothing new).

The engine, the parser's check of constant sub-expressions, the symbolic derivative and the
narration all read this table. A new function needs a row here, its name in ``FUNCTIONS``
and a one-line method on :class:`~nnstudio.core.autograd.Tensor`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .nodes import BinOp, Call, Neg, Num


@dataclass(frozen=True)
class Rule:
    """How to compute one function, its derivative, and how to explain that derivative."""

    forward: Callable[[Any], Any]  # array (or NumPy scalar) -> array of the same shape
    local: Callable[[Any, Any], Any] | None  # (a, out) -> d out/d a; None: flat
    symbolic: Callable[[object], object]  # u -> parse tree of d f(u)/du
    text: str
    numbers: str | None = None


def _sigmoid(a):
    e = np.exp(-np.abs(a))  # never exp of a large positive number: no overflow for large |a|
    return np.where(a >= 0, 1 / (1 + e), e / (1 + e))


RULES: dict[str, Rule] = {
    "sin": Rule(
        forward=np.sin,
        local=lambda a, out: np.cos(a),
        symbolic=lambda u: Call("cos", u),
        text="cos({a})",
        numbers="cos({a})",
    ),
    "cos": Rule(
        forward=np.cos,
        local=lambda a, out: -np.sin(a),
        symbolic=lambda u: Neg(Call("sin", u)),
        text="-sin({a})",
        numbers="-sin({a})",
    ),
    "tan": Rule(
        forward=np.tan,
        local=lambda a, out: 1 + out * out,
        symbolic=lambda u: BinOp("+", Num(1), BinOp("**", Call("tan", u), Num(2))),
        text="1 + tan²({a})",
        numbers="1 + tan²({a})",
    ),
    "exp": Rule(
        forward=np.exp,
        local=lambda a, out: out,
        symbolic=lambda u: Call("exp", u),
        text="exp({a})",
        numbers="exp({a})",
    ),
    "log": Rule(
        forward=np.log,
        local=lambda a, out: 1 / a,
        symbolic=lambda u: BinOp("/", Num(1), u),
        text="1/{a}",
        numbers="1/{a}",
    ),
    "sqrt": Rule(
        forward=np.sqrt,
        local=lambda a, out: 1 / (2 * out),
        symbolic=lambda u: BinOp("/", Num(1), BinOp("*", Num(2), Call("sqrt", u))),
        text="1/(2·√{a})",
        numbers="1/(2·√{a})",
    ),
    "abs": Rule(
        forward=np.abs,
        local=lambda a, out: np.sign(a),
        symbolic=lambda u: Call("sign", u),
        text="sign({a})",
        numbers="sign({a})",
    ),
    "tanh": Rule(
        forward=np.tanh,
        local=lambda a, out: 1 - out * out,
        symbolic=lambda u: BinOp("-", Num(1), BinOp("**", Call("tanh", u), Num(2))),
        text="1 - tanh²({a})",
        numbers="1 - {out}²",
    ),
    "sigmoid": Rule(
        forward=_sigmoid,
        local=lambda a, out: out * (1 - out),
        symbolic=lambda u: BinOp("*", Call("sigmoid", u), BinOp("-", Num(1), Call("sigmoid", u))),
        text="σ({a})·(1 - σ({a}))",
        numbers="{out} × (1 - {out})",
    ),
    "relu": Rule(
        forward=lambda a: a * (a > 0),
        local=lambda a, out: a > 0,
        symbolic=lambda u: Call("step", u),
        text="(1 if {a} > 0, else 0)",
    ),
    # the derivative of relu and of abs; flat on each side of 0
    "step": Rule(forward=lambda a: (a > 0).astype(a.dtype), local=None, symbolic=lambda u: Num(0), text="0"),
    "sign": Rule(forward=np.sign, local=None, symbolic=lambda u: Num(0), text="0"),
}
