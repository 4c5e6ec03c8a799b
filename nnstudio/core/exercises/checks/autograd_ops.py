"""Checks for three backward rules: shapes (with broadcasting), the course's examples, finite differences,
and the engine's Tensor on random inputs."""

from __future__ import annotations

import numpy as np

from nnstudio.core.autograd.tensor import Tensor

from ..checking import Checker, Mistake, fmt, numeric_gradient

HINT_MUL = "grad_a = grad_out * b, grad_b = grad_out * a (each unbroadcast to its input's shape)"
HINT_POW = "grad_a = grad_out * n * a ** (n - 1)"
HINT_TANH = "grad_a = grad_out * (1 - out ** 2)"


def _sum_to(g, shape):
    while g.ndim > len(shape):
        g = g.sum(axis=0)
    return g


def _mul_mistakes(a, b, g) -> tuple[list[Mistake], list[Mistake]]:
    for_a = [
        Mistake(
            "mul_swapped",
            _sum_to(g * a, a.shape) if a.shape == np.broadcast(a, b).shape else None,
            "grad_a uses a: the derivative of a·b with respect to a is b (they swap).",
        ),
        Mistake(
            "mul_no_grad_out",
            np.broadcast_to(b, np.broadcast(a, b).shape) if b.shape == a.shape else None,
            "grad_a is b alone: multiply by grad_out (chain rule).",
        ),
    ]
    for_b = [
        Mistake(
            "mul_swapped",
            _sum_to(g * b, b.shape) if b.shape == np.broadcast(a, b).shape else None,
            "grad_b uses b: the derivative of a·b with respect to b is a (they swap).",
        ),
        Mistake(
            "mul_no_grad_out",
            a if b.shape == a.shape else None,
            "grad_b is a alone: multiply by grad_out (chain rule).",
        ),
    ]
    return for_a, for_b


def _pow_mistakes(a, n, g) -> list[Mistake]:
    return [
        Mistake("pow_no_decrement", g * n * a**n, "The exponent did not drop by one: n·aⁿ⁻¹, not n·aⁿ."),
        Mistake("pow_no_n", g * a ** (n - 1), "The exponent did not come down in front: n·aⁿ⁻¹."),
        Mistake("pow_no_grad_out", n * a ** (n - 1), "You returned the local derivative alone: multiply by grad_out."),
    ]


def _tanh_mistakes(a, out, g) -> list[Mistake]:
    return [
        Mistake("tanh_not_squared", g * (1 - out), "That is 1 − tanh: the slope is 1 − tanh², square out."),
        Mistake("tanh_of_input", g * (1 - a**2), "You squared the input a: the slope is 1 − out², with out = tanh(a)."),
        Mistake("tanh_no_grad_out", 1 - out**2, "You returned the local derivative alone: multiply by grad_out."),
    ]


def _pair(c: Checker, check, got, shapes, input, hint):
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        c.fail(
            check,
            "mul_backward should return two gradients: (grad_a, grad_b).",
            input,
            "(grad_a, grad_b)",
            fmt(got),
            hint,
        )
    ga = c.shape(f"{check}: grad_a has a's shape", got[0], shapes[0], input, hint, what="grad_a")
    gb = c.shape(
        f"{check}: grad_b has b's shape",
        got[1],
        shapes[1],
        input,
        hint,
        {
            tuple(np.broadcast_shapes(shapes[0], shapes[1])): (
                "no_unbroadcast",
                "b was broadcast, so its gradient must be summed back to b's shape: "
                "unbroadcast(grad_out * a, b.shape).",
            )
        },
        what="grad_b",
    )
    return ga, gb


def check(c: Checker) -> None:
    mul = c.function("mul_backward", "mul_backward(a, b, grad_out)")
    pw = c.function("pow_backward", "pow_backward(a, n, grad_out)")
    th = c.function("tanh_backward", "tanh_backward(a, out, grad_out)")
    rng = np.random.default_rng(11)

    c.stage = "shapes"
    a, b, g = rng.standard_normal((2, 3)), rng.standard_normal(3), rng.standard_normal((2, 3))
    inp = "a (2, 3), b (3,) broadcast against it, grad_out (2, 3)"
    _pair(
        c,
        "mul with a broadcast b",
        c.call("mul with a broadcast b", mul, a.copy(), b.copy(), g.copy(), input=inp),
        (a.shape, b.shape),
        inp,
        HINT_MUL,
    )
    inp = "a (2, 3), n = 3, grad_out (2, 3)"
    c.shape(
        "pow keeps a's shape",
        c.call("pow keeps a's shape", pw, a.copy(), 3, g.copy(), input=inp),
        a.shape,
        inp,
        HINT_POW,
        what="grad_a",
    )
    inp = "a (2, 3), out = tanh(a), grad_out (2, 3)"
    got = c.call("tanh keeps a's shape", th, a.copy(), np.tanh(a), g.copy(), input=inp)
    c.shape("tanh keeps a's shape", got, a.shape, inp, HINT_TANH, what="grad_a")

    c.stage = "tiny case"
    # The course's y = (x + 2)²: at x = 1, g = x + 2 = 3 and dy/dg = 2·3 = 6.
    x3 = np.array([3.0])
    inp = "y = g² with g = x + 2 = 3 (x = 1), grad_out = dy/dy = 1"
    got = c.call("(x + 2)² at x = 1", pw, x3.copy(), 2, np.ones(1), input=inp)
    c.close("(x + 2)² at x = 1", got, [6.0], inp, HINT_POW, _pow_mistakes(x3, 2, np.ones(1)), what="dy/dg")
    a, b, g = np.array([2.0, -1.0]), np.array([3.0, 4.0]), np.array([1.0, 0.5])
    inp = f"a = {fmt(a)}, b = {fmt(b)}, grad_out = {fmt(g)}"
    ga, gb = _pair(
        c,
        "mul by hand",
        c.call("mul by hand", mul, a.copy(), b.copy(), g.copy(), input=inp),
        (a.shape, b.shape),
        inp,
        HINT_MUL,
    )
    ma, mb = _mul_mistakes(a, b, g)
    c.close("mul by hand: grad_a", ga, g * b, inp, HINT_MUL, ma, what="grad_a")
    c.close("mul by hand: grad_b", gb, g * a, inp, HINT_MUL, mb, what="grad_b")
    a, g = np.array([0.0, 0.5, -1.0]), np.array([1.0, 2.0, -1.0])
    out = np.tanh(a)
    inp = f"a = {fmt(a)}, out = tanh(a) = {fmt(out)}, grad_out = {fmt(g)}"
    got = c.call("tanh by hand", th, a.copy(), out.copy(), g.copy(), input=inp)
    c.close("tanh by hand", got, g * (1 - out**2), inp, HINT_TANH, _tanh_mistakes(a, out, g), what="grad_a")

    c.stage = "gradient check"
    a, b, r = rng.uniform(0.5, 2, (2, 3)), rng.uniform(-2, 2, 3), rng.standard_normal((2, 3))
    inp = "L = sum(out * R) for a random R (so grad_out = R); central differences, eps 1e-6"
    ga, gb = _pair(c, "mul", c.call("mul", mul, a.copy(), b.copy(), r.copy()), (a.shape, b.shape), inp, HINT_MUL)
    ma, mb = _mul_mistakes(a, b, r)
    c.close(
        "mul: grad_a against finite differences",
        ga,
        numeric_gradient(lambda x: np.sum(x * b * r), a),
        inp,
        HINT_MUL,
        ma,
        1e-3,
        1e-7,
        "grad_a",
    )
    c.close(
        "mul: grad_b against finite differences",
        gb,
        numeric_gradient(lambda x: np.sum(a * x * r), b),
        inp,
        HINT_MUL,
        mb,
        1e-3,
        1e-7,
        "grad_b",
    )
    for n in (3, 0.5, -1.5):
        got = c.call(f"pow n = {n}", pw, a.copy(), n, r.copy())

        def total(x: np.ndarray, n: float = n) -> float:
            return float(np.sum(x**n * r))

        want = numeric_gradient(total, a)
        c.close(
            f"pow with n = {n} against finite differences",
            got,
            want,
            f"a > 0 (2, 3), n = {n}; " + inp,
            HINT_POW,
            _pow_mistakes(a, n, r),
            1e-3,
            1e-7,
            "grad_a",
        )
    x = rng.standard_normal((2, 3))
    got = c.call("tanh", th, x.copy(), np.tanh(x), r.copy())
    want = numeric_gradient(lambda v: np.sum(np.tanh(v) * r), x)
    c.close(
        "tanh against finite differences",
        got,
        want,
        inp,
        HINT_TANH,
        _tanh_mistakes(x, np.tanh(x), r),
        1e-3,
        1e-7,
        "grad_a",
    )

    c.stage = "engine comparison"
    a, b, g = rng.standard_normal((4, 5)), rng.standard_normal((1, 5)), rng.standard_normal((4, 5))
    ta, tb = Tensor(a, requires_grad=True), Tensor(b, requires_grad=True)
    (ta * tb).backward(g)
    inp = "a (4, 5), b (1, 5) broadcast, random grad_out (the engine's Tensor a * b)"
    ga, gb = _pair(
        c,
        "mul like the engine",
        c.call("mul like the engine", mul, a.copy(), b.copy(), g.copy()),
        (a.shape, b.shape),
        inp,
        HINT_MUL,
    )
    c.close("mul like the engine: grad_a", ga, ta.grad, inp, HINT_MUL, what="grad_a")
    c.close("mul like the engine: grad_b", gb, tb.grad, inp, HINT_MUL, what="grad_b")
    a = rng.uniform(0.2, 3, (4, 5))
    for n in (2, 3, 0.5):
        ta = Tensor(a, requires_grad=True)
        (ta**n).backward(g)
        got = c.call(f"pow like the engine, n = {n}", pw, a.copy(), n, g.copy())
        c.close(
            f"pow like the engine, n = {n}",
            got,
            ta.grad,
            f"a > 0 (4, 5), n = {n}",
            HINT_POW,
            _pow_mistakes(a, n, g),
            what="grad_a",
        )
    x = rng.standard_normal((4, 5)) * 2
    tx = Tensor(x, requires_grad=True)
    tx.tanh().backward(g)
    got = c.call("tanh like the engine", th, x.copy(), np.tanh(x), g.copy())
    c.close(
        "tanh like the engine",
        got,
        tx.grad,
        "x (4, 5), standard deviation 2",
        HINT_TANH,
        _tanh_mistakes(x, np.tanh(x), g),
        what="grad_a",
    )
