"""Safe math expressions: text -> parse tree -> autograd graph, and symbolic derivatives.

What a person types is tokenized and parsed by a small recursive-descent parser
(:mod:`.parse`); nothing is ever handed to ``eval``/``exec`` and there is no attribute
access. :mod:`.rules` is the one table of functions (value, local derivative, symbolic
derivative, narration text), read by the autograd engine as well; :mod:`.symbolic`
differentiates and simplifies the tree, :mod:`.graph` evaluates it on the engine and writes
the chain rule out, and :mod:`.expression` ties them together behind :func:`parse`.

    >>> e = parse("x**2 + 3*x + 5")
    >>> e.derivative("x")
    '2*x + 3'
    >>> e.value_and_gradient(x=2)
    (15.0, {'x': 7.0})
"""

from ..rules import RULES, Rule
from .expression import Expression, parse
from .graph import BackwardStep, Graph, GraphNode
from .parse import ALIASES, CONSTANTS, FUNCTIONS, MAX_DEPTH, MAX_LENGTH, MAX_NODES, ExprError
from .symbolic import differentiate, render, simplify, to_text

__all__ = [
    "ALIASES",
    "CONSTANTS",
    "FUNCTIONS",
    "MAX_DEPTH",
    "MAX_LENGTH",
    "MAX_NODES",
    "RULES",
    "BackwardStep",
    "ExprError",
    "Expression",
    "Graph",
    "GraphNode",
    "Rule",
    "differentiate",
    "parse",
    "render",
    "simplify",
    "to_text",
]
