"""Text -> parse tree: the tokenizer, the recursive-descent parser, the tree nodes and the limits.

What a person types is tokenized and parsed by a small recursive-descent parser;
nothing is ever handed to ``eval``/``exec`` and there is no attribute access.
The grammar, loosest binding first::

    expression := term (('+' | '-') term)*
    term       := unary (('*' | '/') unary | implicit product)*
    unary      := ('-' | '+') unary | power
    power      := atom (('**' | '^') unary)?          # right-associative: 2**3**2 = 2**9
    atom       := number | variable | constant | function '(' expression ')' | '(' expression ')'

Implicit products: ``3x``, ``2(x + 1)``, ``(x + 1)(x - 1)``, ``2 sin(x)``.
Variables are one letter, optionally followed by digits (``x``, ``w``, ``b``, ``x1``, ``w_2``);
constants are ``pi`` and ``e``; functions are listed in :data:`FUNCTIONS`. A leading
``y =`` or ``f(x) =`` is accepted and names the output.

Every problem raises :class:`ExprError` carrying the 0-based ``position`` in the text.
Size limits (:data:`MAX_LENGTH`, :data:`MAX_NODES`, :data:`MAX_DEPTH`) keep hostile input
cheap; :func:`nnstudio.core.autograd.expr.parse` also checks every constant sub-expression
for overflow (``9**9**9**9``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from ..nodes import BinOp, Call, Const, Neg, Num, Var

MAX_LENGTH = 500  # characters; a formula a person types is far shorter
MAX_NODES = 300  # numbers, names and operations in the parse tree
MAX_DEPTH = 40  # nesting of parentheses, signs and exponents

FUNCTIONS = ("sin", "cos", "tan", "exp", "log", "sqrt", "abs", "tanh", "sigmoid", "relu", "step", "sign")
ALIASES = {"ln": "log"}
CONSTANTS = {"pi": math.pi, "e": math.e, "π": math.pi}

_VARIABLE = re.compile(r"[A-Za-z](?:_?[0-9]+)?\Z")
_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<number>(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*|π)
  | (?P<op>\*\*|[-+*/^(),=×·÷−²³])
""",
    re.VERBOSE,
)
_OP_ALIASES = {"×": "*", "·": "*", "÷": "/", "−": "-", "^": "**"}


class ExprError(ValueError):
    """An expression that cannot be used; ``position`` is the 0-based index of the problem."""

    def __init__(self, message: str, position: int | None = None, text: str = "", hint: str = ""):
        self.message, self.position, self.text, self.hint = message, position, text, hint
        where = f" at position {position + 1}" if position is not None else ""
        super().__init__(message + where + (f" ({hint})" if hint else ""))

    def pointer(self) -> str:
        """The expression (shortened around the problem) with a caret under the position."""
        if self.position is None or not self.text:
            return ""
        start = max(0, self.position - 40)
        snippet = self.text[start : start + 80]
        return snippet + "\n" + " " * (self.position - start) + "^"


# -- parse tree ----------------------------------------------------------------------
@dataclass
class _Token:
    kind: str  # number | name | op | end
    text: str
    pos: int


def _tokenize(text: str) -> list[_Token]:
    """Split into tokens. A character or name that can never be valid becomes a "bad" token
    whose text is the error message, so that the leftmost problem is the one reported."""
    tokens, i = [], 0
    while i < len(text):
        m = _TOKEN.match(text, i)
        if m is None:
            ch = text[i]
            hint = " (attribute access is not allowed)" if ch == "." else ""
            tokens.append(_Token("bad", f"unexpected character {ch!r}{hint}", i))
            break
        kind = m.lastgroup
        if kind == "name" and m.group().startswith("_"):
            tokens.append(_Token("bad", f"unknown name {m.group()!r}: names cannot start with '_'", i))
            break
        if kind == "op" and m.group() in "²³":
            tokens.append(_Token("op", "**", i))
            tokens.append(_Token("number", "2" if m.group() == "²" else "3", i))
        elif kind is not None and kind != "space":
            value = _OP_ALIASES.get(m.group(), m.group()) if kind == "op" else m.group()
            tokens.append(_Token(kind, value, i))
        i = m.end()
    tokens.append(_Token("end", "", len(text)))
    return tokens


class _Parser:
    def __init__(self, text: str, tokens: list[_Token], variables):
        self.text, self.tokens, self.i = text, tokens, 0
        self.allowed = None if variables is None else set(variables)
        self.nodes = 0
        self.depth = 0

    # helpers
    @property
    def tok(self) -> _Token:
        return self.tokens[self.i]

    def error(self, message: str, pos: int | None = None, hint: str = ""):
        raise ExprError(message, self.tok.pos if pos is None else pos, self.text, hint)

    def node(self, n):
        self.nodes += 1
        if self.nodes > MAX_NODES:
            self.error(f"expression is too large (more than {MAX_NODES} numbers, names and operations)")
        return n

    def is_op(self, *ops) -> bool:
        return self.tok.kind == "op" and self.tok.text in ops

    def describe(self, tok: _Token) -> str:
        return "the end of the expression" if tok.kind == "end" else repr(tok.text)

    # grammar
    def parse_expression(self):
        node = self.parse_term()
        while self.is_op("+", "-"):
            op = self.tok
            self.i += 1
            node = self.node(BinOp(op.text, node, self.parse_term(), op.pos))
        return node

    def parse_term(self):
        node = self.parse_unary()
        while True:
            tok = self.tok
            if self.is_op("*", "/"):
                self.i += 1
                node = self.node(BinOp(tok.text, node, self.parse_unary(), tok.pos))
            elif tok.kind == "name" or self.is_op("("):
                # implicit product: 3x, 2(x + 1), x sin(x)
                node = self.node(BinOp("*", node, self.parse_power(), tok.pos))
            elif tok.kind == "number":
                self.error(f"missing operator before the number {tok.text}")
            else:
                return node

    def parse_unary(self):
        self.depth += 1
        if self.depth > MAX_DEPTH:
            self.error(f"expression is nested too deeply (more than {MAX_DEPTH} levels)")
        try:
            if self.is_op("-"):
                pos = self.tok.pos
                self.i += 1
                arg = self.parse_unary()
                if isinstance(arg, Num) and arg.pos is not None:
                    return Num(-arg.value, pos)  # a negative number, not an operation
                return self.node(Neg(arg, pos))
            if self.is_op("+"):
                self.i += 1
                return self.parse_unary()
            return self.parse_power()
        finally:
            self.depth -= 1

    def parse_power(self):
        base = self.parse_atom()
        if self.is_op("**"):
            pos = self.tok.pos
            self.i += 1
            return self.node(BinOp("**", base, self.parse_unary(), pos))
        return base

    def parse_atom(self):
        tok = self.tok
        if tok.kind == "number":
            self.i += 1
            value = float(tok.text)
            if not math.isfinite(value):
                self.error(f"the number {tok.text} is too large", tok.pos)
            return self.node(Num(value, tok.pos))
        if tok.kind == "name":
            self.i += 1
            name = ALIASES.get(tok.text, tok.text)
            if name in FUNCTIONS:
                if not self.is_op("("):
                    self.error(f"{tok.text} needs parentheses, for example {tok.text}(x)")
                open_pos = self.tok.pos
                self.i += 1
                arg = self.parse_expression()
                if self.is_op(","):
                    self.error(f"{tok.text} takes one argument")
                self.expect_close(open_pos)
                return self.node(Call(name, arg, tok.pos))
            if name in CONSTANTS:
                return self.node(Const(name, tok.pos))
            if _VARIABLE.match(name):
                if self.allowed is not None and name not in self.allowed:
                    self.error(f"unknown variable {name!r}; allowed: {', '.join(sorted(self.allowed))}", tok.pos)
                return self.node(Var(name, tok.pos))
            self.error(
                f"unknown name {tok.text!r}",
                tok.pos,
                hint=f"variables are one letter such as x, w, b or x1; write x*y for a product; "
                f"functions: {', '.join(FUNCTIONS[:10])}",
            )
        if self.is_op("("):
            open_pos = tok.pos
            self.i += 1
            node = self.parse_expression()
            self.expect_close(open_pos)
            return node
        if tok.kind == "end":
            prev = self.tokens[self.i - 1].text if self.i else ""
            after = f" after {prev!r}" if prev else ""
            self.error(f"the expression is incomplete: expected a number, a variable or '('{after}")
        self.error(f"unexpected {self.describe(tok)}")

    def expect_close(self, open_pos: int):
        if self.is_op(")"):
            self.i += 1
            return
        if self.tok.kind == "end":
            self.error(f"missing ')' to close the '(' at position {open_pos + 1}")
        self.error(f"expected ')' but found {self.describe(self.tok)}")


def _split_assignment(text: str, tokens: list[_Token]) -> tuple[str, int]:
    """Handle a leading ``y =`` or ``f(x) =``: returns (output name, index of first token after '=')."""
    eq = [k for k, t in enumerate(tokens) if t.kind == "op" and t.text == "="]
    if not eq:
        return "y", 0
    if len(eq) > 1:
        raise ExprError("only one '=' is allowed", tokens[eq[1]].pos, text)
    k = eq[0]
    left = tokens[:k]
    ok = (len(left) == 1 and left[0].kind == "name") or (
        len(left) >= 4
        and left[0].kind == "name"
        and left[1].text == "("
        and left[-1].text == ")"
        and all(t.kind == "name" if j % 2 == 0 else t.text == "," for j, t in enumerate(left[2:-1]))
    )
    if not ok or left[0].text.startswith("_") or left[0].text in FUNCTIONS:
        raise ExprError("the left side of '=' must be a name such as y or f(x)", tokens[0].pos, text)
    return left[0].text, k + 1


def walk(node):
    """Every node of a tree, children before parents (iterative)."""
    out, stack = [], [(node, False)]
    while stack:
        n, done = stack.pop()
        if done:
            out.append(n)
            continue
        stack.append((n, True))
        for child in reversed(children(n)):
            stack.append((child, False))
    return out


def children(n) -> tuple:
    if isinstance(n, BinOp):
        return (n.left, n.right)
    if isinstance(n, (Neg, Call)):
        return (n.arg,)
    return ()


def parse_tree(text: str, variables=None) -> tuple[object, str]:
    """The parse tree of ``text`` and the name of its output (``y`` unless ``f = ...`` names it).

    ``variables`` optionally restricts the names. Constant sub-expressions are not checked here
    (see :func:`nnstudio.core.autograd.expr.parse`).
    """
    if not isinstance(text, str):
        raise ExprError("the expression must be text")
    if len(text) > MAX_LENGTH:
        raise ExprError(
            f"the expression is too long ({len(text):,} characters; the limit is {MAX_LENGTH})",
            MAX_LENGTH,
            text[: MAX_LENGTH + 1],
        )
    if not text.strip():
        raise ExprError("type an expression, for example x**2 + 3*x + 5", None, text)  # no position to point at
    tokens = _tokenize(text)
    bad = next((t for t in tokens if t.kind == "bad"), None)
    try:
        output, start = _split_assignment(text, tokens)
        parser = _Parser(text, tokens, variables)
        parser.i = start
        if tokens[start].kind == "end":
            parser.error("type an expression after '='")
        tree = parser.parse_expression()
        if parser.tok.kind != "end":
            tok = parser.tok
            if tok.text == ")":
                parser.error("unmatched ')'")
            parser.error(f"unexpected {parser.describe(tok)}")
    except ExprError as exc:
        if bad is not None and (exc.position is None or exc.position >= bad.pos):
            raise ExprError(bad.text, bad.pos, text) from None
        raise
    return tree, output
