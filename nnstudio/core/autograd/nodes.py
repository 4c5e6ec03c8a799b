"""The nodes of a parsed expression's tree: numbers, names, constants and operations.

They live on their own (not in :mod:`.expr.parse`) so that :mod:`.rules`, which the Tensor
engine reads, can build symbolic derivatives without importing the expression package.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(eq=False)
class Num:
    value: float
    pos: int | None = None


@dataclass(eq=False)
class Var:
    name: str
    pos: int | None = None


@dataclass(eq=False)
class Const:
    name: str
    pos: int | None = None


@dataclass(eq=False)
class Neg:
    arg: object
    pos: int | None = None


@dataclass(eq=False)
class BinOp:
    op: str  # one of + - * / **
    left: object
    right: object
    pos: int | None = None


@dataclass(eq=False)
class Call:
    fn: str
    arg: object
    pos: int | None = None
