"""Safe math expressions: text -> parse tree -> autograd graph, and symbolic derivatives.

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
Size limits (:data:`MAX_LENGTH`, :data:`MAX_NODES`, :data:`MAX_DEPTH`) and a check of
every constant sub-expression for overflow (``9**9**9**9``) keep hostile input cheap.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from nnstudio.core.autograd.tensor import Tensor

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
        elif kind != "space":
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


def _walk(node):
    """Every node of a tree, children before parents (iterative)."""
    out, stack = [], [(node, False)]
    while stack:
        n, done = stack.pop()
        if done:
            out.append(n)
            continue
        stack.append((n, True))
        for child in reversed(_children(n)):
            stack.append((child, False))
    return out


def _children(n) -> tuple:
    if isinstance(n, BinOp):
        return (n.left, n.right)
    if isinstance(n, (Neg, Call)):
        return (n.arg,)
    return ()


_NP_FUNCS = {
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
_NP_OPS = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide, "**": np.power}


def _check_constants(tree, text: str) -> None:
    """Fold every constant sub-expression once; refuse overflow and undefined results."""
    values: dict[int, float] = {}
    with np.errstate(all="ignore"):
        for n in _walk(tree):
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
                        raise ExprError(f"{_fmt(a)}{n.op}{_fmt(b)} is undefined", n.pos, text)
                    raise ExprError(
                        f"the value of this '{n.op}' is too large for a float (beyond about 1.8e308)", n.pos, text
                    )
                values[id(n)] = v
            elif isinstance(n, Call) and id(n.arg) in values:
                v = _NP_FUNCS[n.fn](values[id(n.arg)])
                if not np.isfinite(v):
                    raise ExprError(f"{n.fn}({_fmt(values[id(n.arg)])}) is undefined or too large", n.pos, text)
                values[id(n)] = v


def parse(text: str, variables=None) -> Expression:
    """Parse ``text`` into an :class:`Expression`. ``variables`` optionally restricts the names."""
    if not isinstance(text, str):
        raise ExprError("the expression must be text")
    if len(text) > MAX_LENGTH:
        raise ExprError(
            f"the expression is too long ({len(text):,} characters; the limit is {MAX_LENGTH})",
            MAX_LENGTH,
            text[: MAX_LENGTH + 1],
        )
    if not text.strip():
        raise ExprError("type an expression, for example x**2 + 3*x + 5", 0, text)
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
    _check_constants(tree, text)
    return Expression(text, tree, output)


# -- evaluation on the autograd engine ------------------------------------------------------------
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


def _num(v: float) -> str:
    """A number for explanations: short, no '-0'."""
    if v is None:
        return "—"
    if v == 0:
        return "0"
    s = f"{v:.6g}"
    return s


def _paren(s: str) -> str:
    return f"({s})" if s.startswith("-") else s


def _fmt(v: float) -> str:
    """A number for expressions that must parse back exactly enough."""
    v = float(v)
    if v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    return f"{v:.12g}"


class Graph:
    """The computation graph of an expression evaluated at one point, after backward."""

    def __init__(self, expression: Expression, values: dict[str, float]):
        self.expression = expression
        self.values = dict(values)
        self.nodes: list[GraphNode] = []
        leaves: dict[str, int] = {}
        index_of: dict[int, int] = {}
        with np.errstate(all="ignore"):
            for n in _walk(expression.tree):
                if isinstance(n, Var) and n.name in leaves:
                    index_of[id(n)] = leaves[n.name]
                    continue
                index_of[id(n)] = len(self.nodes)
                inputs = [index_of[id(c)] for c in _children(n)]
                ins = [self.nodes[k].tensor for k in inputs]
                if isinstance(n, Var):
                    leaves[n.name] = len(self.nodes)
                    t = Tensor(float(values[n.name]), requires_grad=True, name=n.name)
                    node = GraphNode(len(self.nodes), "variable", n.name, n.name, n.name, [], t, n.pos)
                else:
                    t = _apply(n, ins)
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
            lines, products, numbers = [], [], []
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
            steps.append(BackwardStep(n.index, lines, n.grad))
        return steps

    def local_derivative(self, consumer: GraphNode, node: GraphNode) -> float:
        """d(consumer)/d(node) at this point, taken from the engine's own backward closure."""
        ones = np.ones_like(consumer.tensor.data)
        with np.errstate(all="ignore"):  # 1/x at 0 is inf: shown as "undefined", not warned about
            grads = consumer.tensor._backward(ones)
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
        return {
            "exp": f"exp({a})",
            "log": f"1/{a}",
            "sin": f"cos({a})",
            "cos": f"-sin({a})",
            "tan": f"1 + tan²({a})",
            "sqrt": f"1/(2·√{a})",
            "tanh": f"1 - {out}²",
            "sigmoid": f"{out} × (1 - {out})",
            "abs": f"sign({a})",
        }.get(op)

    def _local_text(self, c: GraphNode, i: int) -> str:
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
        return {
            "exp": f"exp({a})",
            "log": f"1/{a}",
            "sin": f"cos({a})",
            "cos": f"-sin({a})",
            "tan": f"1 + tan²({a})",
            "sqrt": f"1/(2·√{a})",
            "abs": f"sign({a})",
            "tanh": f"1 - tanh²({a})",
            "sigmoid": f"σ({a})·(1 - σ({a}))",
            "relu": f"(1 if {a} > 0, else 0)",
            "step": "0",
            "sign": "0",
        }[op]


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


def _apply(n, ins: list[Tensor]) -> Tensor:
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


class Expression:
    """A parsed expression: evaluate it, differentiate it with autograd or symbolically."""

    def __init__(self, text: str, tree, output: str = "y"):
        self.text, self.tree, self.output = text, tree, output
        names = []
        for n in _walk(tree):
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
            for n in _walk(self.tree):
                memo[id(n)] = leaves[n.name] if isinstance(n, Var) else _apply(n, [memo[id(c)] for c in _children(n)])
            out = memo[id(self.tree)]
            f = np.broadcast_to(out.data, xs.shape).astype(np.float64)
            if var in self.variables and out.requires_grad:
                out.backward(np.ones_like(out.data))
                df = leaves[var].grad
            else:
                df = np.zeros_like(xs)
        ok = np.isfinite(f)
        f, df = np.where(ok, f, np.nan), np.where(ok & np.isfinite(df), df, np.nan)
        return f, df

    def derivative_tree(self, var: str):
        tree = simplify(differentiate(self.tree, var))
        if not _all_finite(tree):
            raise ExprError(f"the derivative with respect to {var} has a number too large for a float")
        return tree

    def derivative(self, var: str) -> str:
        """d(expression)/d(var), simplified, as text that :func:`parse` reads back."""
        return render(self.derivative_tree(var))


# -- text of a parse tree ---------------------------------------------------------------------------
_PREC = {"+": 1, "-": 1, "*": 2, "/": 2, "neg": 3, "**": 4}


def to_text(n) -> str:
    """Parse tree -> text (``**`` for powers, minimal parentheses)."""
    if isinstance(n, Num):
        return _fmt(n.value)
    if isinstance(n, (Var, Const)):
        return n.name
    if isinstance(n, Call):
        return f"{n.fn}({to_text(n.arg)})"
    if isinstance(n, Neg):
        inner = to_text(n.arg)
        return f"-({inner})" if _prec(n.arg) < 3 else f"-{inner}"
    p = _PREC[n.op]
    left, right = to_text(n.left), to_text(n.right)
    if _prec(n.left) < p or (n.op == "**" and _prec(n.left) <= p):
        left = f"({left})"
    if _prec(n.right) < p or (_prec(n.right) == p and n.op in "-/"):
        right = f"({right})"
    sep = "**" if n.op == "**" else f" {n.op} " if p == 1 else n.op
    return f"{left}{sep}{right}"


def _prec(n) -> int:
    if isinstance(n, BinOp):
        return _PREC[n.op]
    if isinstance(n, Neg) or (isinstance(n, Num) and n.value < 0):
        return 3
    return 5


# -- symbolic derivative ---------------------------------------------------------------------------
def _depends(n, var: str) -> bool:
    return any(isinstance(m, Var) and m.name == var for m in _walk(n))


def differentiate(n, var: str):
    """d n / d var on the parse tree (unsimplified; see :func:`simplify`)."""
    if isinstance(n, (Num, Const)):
        return Num(0)
    if isinstance(n, Var):
        return Num(1 if n.name == var else 0)
    if isinstance(n, Neg):
        return Neg(differentiate(n.arg, var))
    if isinstance(n, Call):
        return BinOp("*", _outer_derivative(n.fn, n.arg), differentiate(n.arg, var))
    a, b = n.left, n.right
    da, db = differentiate(a, var), differentiate(b, var)
    if n.op in "+-":
        return BinOp(n.op, da, db)
    if n.op == "*":
        return BinOp("+", BinOp("*", da, b), BinOp("*", a, db))
    if n.op == "/":
        return BinOp("-", BinOp("/", da, b), BinOp("/", BinOp("*", a, db), BinOp("**", b, Num(2))))
    # power
    if not _depends(b, var):
        return BinOp("*", BinOp("*", b, BinOp("**", a, BinOp("-", b, Num(1)))), da)
    if not _depends(a, var):
        return BinOp("*", BinOp("*", n, Call("log", a)), db)
    return BinOp("*", n, BinOp("+", BinOp("*", db, Call("log", a)), BinOp("/", BinOp("*", b, da), a)))


def _outer_derivative(fn: str, u):
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


# Simplified form: sums of terms, products of a number and factors, powers.
@dataclass(eq=False)
class _Sum:
    terms: tuple


@dataclass(eq=False)
class _Prod:
    coef: float
    factors: tuple


@dataclass(eq=False)
class _Pow:
    base: object
    exp: object


def simplify(n):
    """Fold constants, drop 0 and 1, combine like terms (2x + 3x = 5x) and powers (x*x = x**2)."""
    if isinstance(n, Num):
        return Num(float(n.value))
    if isinstance(n, (Var, Const)):
        return type(n)(n.name)
    if isinstance(n, Neg):
        return _mul([Num(-1.0), simplify(n.arg)])
    if isinstance(n, Call):
        return _call(n.fn, simplify(n.arg))
    a, b = simplify(n.left), simplify(n.right)
    if n.op == "+":
        return _add([a, b])
    if n.op == "-":
        return _add([a, _mul([Num(-1.0), b])])
    if n.op == "*":
        return _mul([a, b])
    if n.op == "/":
        return _mul([a, _pow(b, Num(-1.0))])
    return _pow(a, b)


def _split_coef(n):
    if isinstance(n, Num):
        return n.value, None
    if isinstance(n, _Prod):
        rest = n.factors[0] if len(n.factors) == 1 else _Prod(1.0, n.factors)
        return n.coef, rest
    return 1.0, n


def _add(items):
    flat = []
    for it in items:
        if isinstance(it, _Prod) and len(it.factors) == 1 and isinstance(it.factors[0], _Sum):
            # c*(a + b) inside a sum: distribute, so x - (x - 1) becomes 1
            flat.extend(_mul([Num(it.coef), t]) for t in it.factors[0].terms)
        else:
            flat.extend(it.terms if isinstance(it, _Sum) else [it])
    const, order, coefs, rests = 0.0, [], {}, {}
    for t in flat:
        c, rest = _split_coef(t)
        if rest is None:
            const += c
            continue
        key = render(rest)
        if key not in coefs:
            order.append(key)
            coefs[key], rests[key] = 0.0, rest
        coefs[key] += c
    terms = [_mul([Num(coefs[k]), rests[k]]) for k in order if abs(coefs[k]) > 1e-12]
    if abs(const) > 1e-12:
        # polynomial order (constant last), except "1 - sigmoid(u)" reads better than "-sigmoid(u) + 1"
        if terms and const > 0 and _is_negative(terms[0]):
            terms.insert(0, Num(const))
        else:
            terms.append(Num(const))
    if not terms:
        return Num(0.0)
    return terms[0] if len(terms) == 1 else _Sum(tuple(terms))


def _mul(items):
    coef, factors = 1.0, []
    for it in items:
        if isinstance(it, Num):
            coef *= it.value
        elif isinstance(it, _Prod):
            coef *= it.coef
            factors.extend(it.factors)
        else:
            factors.append(it)
    if coef == 0:
        return Num(0.0)
    order, bases, exps = [], {}, {}
    for f in factors:
        base, exp = (f.base, f.exp) if isinstance(f, _Pow) else (f, Num(1.0))
        key = render(base)
        if key not in bases:
            order.append(key)
            bases[key], exps[key] = base, []
        exps[key].append(exp)
    new = []
    for key in order:
        p = _pow(bases[key], _add(exps[key]))
        if isinstance(p, Num):
            coef *= p.value
        elif isinstance(p, _Prod):
            coef *= p.coef
            new.extend(p.factors)
        else:
            new.append(p)
    if not new:
        return Num(coef)
    if coef == 1 and len(new) == 1:
        return new[0]
    # plain symbols first: w*sigmoid(u) rather than sigmoid(u)*w
    new.sort(
        key=lambda f: (
            0 if isinstance(f, (Var, Const)) or (isinstance(f, _Pow) and isinstance(f.base, (Var, Const))) else 1
        )
    )
    return _Prod(coef, tuple(new))


def _is_int(v: float) -> bool:
    return float(v).is_integer()


def _pow(base, exp):
    if isinstance(exp, Num):
        if exp.value == 0:
            return Num(1.0)
        if exp.value == 1:
            return base
    if isinstance(base, Num):
        if base.value == 1:
            return Num(1.0)
        if isinstance(exp, Num):
            with np.errstate(all="ignore"):
                v = float(np.power(base.value, exp.value))
            if math.isfinite(v) and (_is_int(exp.value) or _is_int(v)) and abs(v) < 1e15:
                return Num(v)
    if isinstance(exp, Num) and _is_int(exp.value):
        if isinstance(base, _Pow):
            return _pow(base.base, _mul([base.exp, exp]))
        if isinstance(base, _Prod):
            return _mul([Num(base.coef**exp.value)] + [_pow(f, exp) for f in base.factors])
    return _Pow(base, exp)


def _call(fn: str, arg):
    if fn == "log" and isinstance(arg, Const) and arg.name == "e":
        return Num(1.0)
    if isinstance(arg, Num):
        with np.errstate(all="ignore"):
            v = float(_NP_FUNCS[fn](np.float64(arg.value)))
        if math.isfinite(v) and float(f"{v:.6g}") == v:
            return Num(v)
    return Call(fn, arg)


def _all_finite(n) -> bool:
    """True when no number in a simplified tree overflowed while folding."""
    stack = [n]
    while stack:
        m = stack.pop()
        if isinstance(m, Num) and not math.isfinite(m.value) or isinstance(m, _Prod) and not math.isfinite(m.coef):
            return False
        if isinstance(m, _Sum):
            stack.extend(m.terms)
        elif isinstance(m, _Prod):
            stack.extend(m.factors)
        elif isinstance(m, _Pow):
            stack.extend((m.base, m.exp))
        elif isinstance(m, Call):
            stack.append(m.arg)
    return True


def _is_negative(n) -> bool:
    return (isinstance(n, Num) and n.value < 0) or (isinstance(n, _Prod) and n.coef < 0)


def _fraction(v: float) -> tuple[int, int] | None:
    """(p, q) with q > 1 when v is p/q for a small q (so 1/3 prints as 1/3, not 0.333333333333)."""
    if _is_int(v) or not math.isfinite(v):
        return None
    f = Fraction(v).limit_denominator(1000)
    if f.denominator == 1 or abs(f.numerator / f.denominator - v) > 1e-12 * abs(v):
        return None
    if f.denominator > 12 and float(f"{v:.6g}") == v:
        return None  # 1.79 reads better than 179/100; 1/3 better than 0.333333333333
    return f.numerator, f.denominator


def _fmt_simplified(v: float) -> str:
    frac = _fraction(v)
    return f"{frac[0]}/{frac[1]}" if frac else _fmt(v)


def render(n) -> str:
    """Simplified tree -> text such as ``2*x + 3``."""
    if isinstance(n, Num):
        return _fmt_simplified(n.value)
    if isinstance(n, (Var, Const)):
        return n.name
    if isinstance(n, Call):
        return f"{n.fn}({render(n.arg)})"
    if isinstance(n, _Sum):
        out = render(n.terms[0])
        for t in n.terms[1:]:
            if isinstance(t, Num) and t.value < 0:
                out += f" - {_fmt_simplified(-t.value)}"
            elif isinstance(t, _Prod) and t.coef < 0:
                out += f" - {_render_product(-t.coef, t.factors)}"
            else:
                out += f" + {render(t)}"
        return out
    if isinstance(n, _Pow):
        if isinstance(n.exp, Num) and n.exp.value < 0:
            return _render_product(1.0, (n,))
        base, exp = render(n.base), render(n.exp)
        if not _atomic(n.base):
            base = f"({base})"
        if not _atomic(n.exp):
            exp = f"({exp})"
        return f"{base}**{exp}"
    if isinstance(n, _Prod):
        return _render_product(n.coef, n.factors)
    return to_text(n)


def _atomic(n) -> bool:
    return isinstance(n, (Var, Const, Call)) or (isinstance(n, Num) and n.value >= 0 and _fraction(n.value) is None)


def _render_product(coef: float, factors) -> str:
    num, den = [], []
    for f in factors:
        if isinstance(f, _Pow) and isinstance(f.exp, Num) and f.exp.value < 0:
            den.append(_pow(f.base, Num(-f.exp.value)))
        else:
            num.append(f)
    sign, c, den_coef = ("-" if coef < 0 else ""), abs(coef), 1.0
    frac = _fraction(c)
    if frac:  # 2x/3 rather than 0.666666666667*x
        c, den_coef = float(frac[0]), float(frac[1])

    def factor(f):
        s = render(f)
        return f"({s})" if isinstance(f, _Sum) else s

    top = ([_fmt(c)] if c != 1 or not num else []) + [factor(f) for f in num]
    out = sign + "*".join(top)
    if den or den_coef != 1:
        bottom = ([_fmt(den_coef)] if den_coef != 1 else []) + [factor(f) for f in den]
        b = "*".join(bottom)
        out += f"/({b})" if len(bottom) > 1 else f"/{b}"
    return out
