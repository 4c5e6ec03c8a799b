"""Every row of the function table (autograd/rules.py): value, engine derivative, symbolic derivative and
the chain-rule narration, each checked at several points of the function's domain."""

import math
import re

import numpy as np
import pytest

from nnstudio.core.autograd import Tensor, gradcheck
from nnstudio.core.autograd.expr import FUNCTIONS, parse, to_text
from nnstudio.core.autograd.expr.parse import Var
from nnstudio.core.autograd.rules import RULES

# Points inside each function's domain, away from the kinks and jumps at 0; a new rule needs a row.
POINTS = {
    "sin": [-2.0, -0.3, 0.7, 2.5],
    "cos": [-2.0, -0.3, 0.7, 2.5],
    "tan": [-1.2, -0.4, 0.3, 1.1],
    "exp": [-2.0, 0.0, 0.5, 2.0],
    "log": [0.2, 1.0, 2.5, 7.0],
    "sqrt": [0.1, 1.0, 2.5, 9.0],
    "abs": [-2.0, -0.3, 0.4, 3.0],
    "tanh": [-2.0, -0.3, 0.4, 1.5],
    "sigmoid": [-4.0, -0.5, 0.0, 3.0],
    "relu": [-2.0, -0.3, 0.4, 3.0],
    "step": [-2.0, -0.3, 0.4, 3.0],
    "sign": [-2.0, -0.3, 0.4, 3.0],
}

# The values, written independently of the table (Python's math, one number at a time).
REFERENCE = {
    "sin": math.sin,
    "cos": math.cos,
    "tan": math.tan,
    "exp": math.exp,
    "log": math.log,
    "sqrt": math.sqrt,
    "abs": abs,
    "tanh": math.tanh,
    "sigmoid": lambda v: 1 / (1 + math.exp(-v)),
    "relu": lambda v: max(v, 0.0),
    "step": lambda v: 1.0 if v > 0 else 0.0,
    "sign": lambda v: math.copysign(1.0, v) if v else 0.0,
}

PROSE = {"relu"}  # rules whose narration text is words ("1 if g > 0, else 0"), not a formula


def test_the_table_covers_exactly_the_functions_the_parser_accepts():
    assert set(RULES) == set(FUNCTIONS)
    assert set(POINTS) == set(RULES) == set(REFERENCE)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_engine_value_and_derivative_match_the_reference_and_central_differences(name):
    x = Tensor(np.array(POINTS[name]), requires_grad=True)
    y = getattr(x, name)()
    assert y._op == name
    np.testing.assert_allclose(y.data, [REFERENCE[name](p) for p in POINTS[name]], rtol=1e-14)
    assert gradcheck(lambda t: getattr(t, name)(), x, eps=1e-6, rtol=1e-3)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_engine_keeps_float32_and_stays_quiet_at_extremes(name):
    x = Tensor(np.array(POINTS[name], dtype=np.float32), requires_grad=True)
    y = getattr(x, name)()
    y.backward(np.ones_like(y.data))
    assert y.dtype == np.float32 and x.grad.dtype == np.float32
    if name == "sigmoid":  # the table's sigmoid never takes exp of a large positive number
        with np.errstate(over="raise", invalid="raise"):
            np.testing.assert_array_equal(Tensor([-800.0, 800.0]).sigmoid().data, [0.0, 1.0])


@pytest.mark.parametrize("name", FUNCTIONS)
def test_symbolic_derivative_evaluates_to_the_engines(name):
    xs = np.array(POINTS[name])
    engine = parse(f"{name}(x)").curve("x", xs)[1]
    unsimplified = parse(to_text(RULES[name].symbolic(Var("x"))))
    simplified = parse(parse(f"{name}(x)").derivative("x"))
    for d in (unsimplified, simplified):
        np.testing.assert_allclose(d.curve("x", xs)[0], engine, rtol=1e-12, atol=1e-15)
    # and through the chain rule, with an inner function: d f(2x - 1)/dx = 2 f'(2x - 1)
    inner = parse(f"{name}(2*x - 1)")
    at = (xs + 1) / 2
    symbolic = parse(inner.derivative("x")).curve("x", at)[0]
    np.testing.assert_allclose(symbolic, inner.curve("x", at)[1], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(symbolic, 2 * engine, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", ["abs", "relu", "step", "sign"])
def test_at_the_kink_the_derivative_is_0_in_the_engine_and_in_the_symbolic_derivative(name):
    """relu'(0) = abs'(0) = 0, as in PyTorch; step and sign are 0 at 0."""
    x = Tensor(0.0, requires_grad=True)
    y = getattr(x, name)()
    y.backward()
    assert y.item() == REFERENCE[name](0.0) == 0 and x.grad == 0
    assert parse(parse(f"{name}(x)").derivative("x")).graph(x=0.0).value == 0


def _as_formula(text: str) -> str:
    """The narration's notation (σ, √, tan²(u)) in the parser's."""
    group = r"\((?:[^()]|\([^()]*\))*\)"  # (...), possibly holding one more (...), as in tan²((-1.2))
    text = text.replace("σ(", "sigmoid(")
    text = re.sub(rf"√({group}|[0-9.e]+|[a-z][0-9]*)", r"sqrt(\1)", text)
    return re.sub(rf"([a-z]+)²({group})", r"\1\2**2", text)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_narration_texts_say_what_the_engine_computes(name):
    rule = RULES[name]
    assert (rule.text == "0") if rule.local is None else ("{a}" in rule.text)
    for p in POINTS[name]:
        graph = parse(f"{name}(x)").graph(x=p)
        (line,) = graph.backward_steps()[-1].lines  # "dy/dx = cos(x) = cos(0.5) = 0.877583"
        parts = line.split(" = ")
        assert parts[0] == "dy/dx" and parts[1] == rule.text.format(a="x")
        local = graph.local_derivative(graph.output, graph.nodes[0])
        assert float(parts[-1]) == pytest.approx(local, rel=1e-5, abs=1e-12)
        if name not in PROSE:  # the text in names, read back as a formula, at this point
            formula = parse(_as_formula(parts[1]))
            assert formula.graph(**{v: p for v in formula.variables}).value == pytest.approx(local, rel=1e-12)
        if rule.numbers is not None:  # the text with the numbers in, read back
            a, out = (f"({s})" if s.startswith("-") else s for s in (f"{p:.6g}", f"{graph.value:.6g}"))
            filled = rule.numbers.format(a=a, out=out)
            assert filled in parts[1:]  # shown, unless it would repeat a part of the line
            assert parse(_as_formula(filled)).graph().value == pytest.approx(local, rel=1e-4)
