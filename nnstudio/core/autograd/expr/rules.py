"""What each function of :data:`FUNCTIONS` means: its value and its derivative."""

from __future__ import annotations

import numpy as np

from .parse import BinOp, Call, Neg, Num

NP_FUNCS = {
    "sin": np.sin,
    "cos": np.cos,
    "tan": np.tan,
    "exp": np.exp,
    "log": np.log,
    "sqrt": np.sqrt,
    "abs": np.abs,
    "tanh": np.tanh,
    "sigmoid": lambda v: 1 / (1 + np.exp(-v)),
    "relu": lambda v: np.maximum(v, 0.0),
    "step": lambda v: np.float64(v > 0),
    "sign": np.sign,
}


def outer_derivative(fn: str, u):
    if fn == "sin":
        return Call("cos", u)
    if fn == "cos":
        return Neg(Call("sin", u))
    if fn == "tan":
        return BinOp("+", Num(1), BinOp("**", Call("tan", u), Num(2)))
    if fn == "exp":
        return Call("exp", u)
    if fn == "log":
        return BinOp("/", Num(1), u)
    if fn == "sqrt":
        return BinOp("/", Num(1), BinOp("*", Num(2), Call("sqrt", u)))
    if fn == "abs":
        return Call("sign", u)
    if fn == "tanh":
        return BinOp("-", Num(1), BinOp("**", Call("tanh", u), Num(2)))
    if fn == "sigmoid":
        return BinOp("*", Call("sigmoid", u), BinOp("-", Num(1), Call("sigmoid", u)))
    if fn == "relu":
        return Call("step", u)
    return Num(0)  # step and sign are flat almost everywhere
