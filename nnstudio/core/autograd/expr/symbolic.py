"""Symbolic derivatives on the parse tree: differentiate, simplify, and print the result as text."""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from ..rules import RULES
from .parse import BinOp, Call, Const, Neg, Num, Var, walk


def format_number(v: float) -> str:
    """A number for expressions that must parse back exactly enough."""
    v = float(v)
    if v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    return f"{v:.12g}"


# -- text of a parse tree ---------------------------------------------------------------------------
_PREC = {"+": 1, "-": 1, "*": 2, "/": 2, "neg": 3, "**": 4}


def to_text(n) -> str:
    """Parse tree -> text (``**`` for powers, minimal parentheses)."""
    if isinstance(n, Num):
        return format_number(n.value)
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
    return any(isinstance(m, Var) and m.name == var for m in walk(n))


def differentiate(n, var: str):
    """d n / d var on the parse tree (unsimplified; see :func:`simplify`)."""
    if isinstance(n, (Num, Const)):
        return Num(0)
    if isinstance(n, Var):
        return Num(1 if n.name == var else 0)
    if isinstance(n, Neg):
        return Neg(differentiate(n.arg, var))
    if isinstance(n, Call):
        return BinOp("*", RULES[n.fn].symbolic(n.arg), differentiate(n.arg, var))  # chain rule
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
            with np.errstate(all="ignore"):  # an overflow becomes inf, which all_finite() reports
                coef = float(np.power(np.float64(base.coef), exp.value))
            return _mul([Num(coef)] + [_pow(f, exp) for f in base.factors])
    return _Pow(base, exp)


def _call(fn: str, arg):
    if fn == "log" and isinstance(arg, Const) and arg.name == "e":
        return Num(1.0)
    if isinstance(arg, Num):
        with np.errstate(all="ignore"):
            v = float(RULES[fn].forward(np.float64(arg.value)))
        if math.isfinite(v) and float(f"{v:.6g}") == v:
            return Num(v)
    return Call(fn, arg)


def all_finite(n) -> bool:
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
    return f"{frac[0]}/{frac[1]}" if frac else format_number(v)


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

    top = ([format_number(c)] if c != 1 or not num else []) + [factor(f) for f in num]
    out = sign + "*".join(top)
    if den or den_coef != 1:
        bottom = ([format_number(den_coef)] if den_coef != 1 else []) + [factor(f) for f in den]
        b = "*".join(bottom)
        out += f"/({b})" if len(bottom) > 1 else f"/{b}"
    return out
