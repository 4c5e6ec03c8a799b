"""Checks for the backward pass: the order of the graph, the course's two examples, finite differences
on a graph with shared nodes, and the engine's Tensor."""

from __future__ import annotations

import numpy as np

from nnstudio.core.autograd.tensor import Tensor

from ..checking import Checker, Mistake, fmt
from ..support import Node, var

HINT_ORDER = "visit(node): if seen, return; mark seen; visit every parent; then order.append(node)"
HINT_BACKWARD = (
    "root.grad = 1; for node in reversed(order): "
    "for parent, g in zip(node.parents, node.local_backward(node.grad)): parent.grad += g"
)


def course_quadratic(x: float):
    xv = var(x, "x")
    return xv**2 + 3 * xv + 5, [xv]


def course_square(x: float):
    xv = var(x, "x")
    return (xv + 2) ** 2, [xv]


def shared(a: float, b: float):
    """tanh(a·b + a)·(b + a²) + b·b: a and b each feed several nodes (a diamond, and b·b)."""
    av, bv = var(a, "a"), var(b, "b")
    return (av * bv + av).tanh() * (bv + av**2) + bv * bv, [av, bv]


def _engine_shared(a: float, b: float) -> list[float]:
    ta, tb = Tensor(a, requires_grad=True), Tensor(b, requires_grad=True)
    ((ta * tb + ta).tanh() * (tb + ta**2) + tb * tb).backward()
    assert ta.grad is not None and tb.grad is not None
    return [float(ta.grad), float(tb.grad)]


def _all_nodes(root: Node) -> list[Node]:
    seen, stack, out = set(), [root], []
    while stack:
        n = stack.pop()
        if id(n) in seen:
            continue
        seen.add(id(n))
        out.append(n)
        stack.extend(n.parents)
    return out


def _right_order(root: Node) -> list[Node]:
    order, seen = [], set()

    def visit(n):
        if id(n) in seen:
            return
        seen.add(id(n))
        for p in n.parents:
            visit(p)
        order.append(n)

    visit(root)
    return order


def _variant(build, args, kind: str) -> list[float]:
    """Leaf gradients that a typical wrong backward pass produces."""
    root, leaves = build(*args)
    order = _right_order(root)
    if kind != "no_seed":
        root.grad = 1.0
    nodes = order if kind == "forward_order" else list(reversed(order))
    for node in nodes:
        for parent, g in zip(node.parents, node.local_backward(node.grad)):
            if kind == "overwrite":
                parent.grad = g
            else:
                parent.grad += g
    return [leaf.grad for leaf in leaves] + [root.grad]


def _mistakes(build, args) -> list[Mistake]:
    return [
        Mistake(
            "overwrite",
            _variant(build, args, "overwrite"),
            "A node used twice got only one of its gradients: add into parent.grad (+=), do not overwrite it (=).",
        ),
        Mistake(
            "no_seed", _variant(build, args, "no_seed"), "Every gradient is 0: start with root.grad = 1 (dy/dy = 1)."
        ),
        Mistake(
            "forward_order",
            _variant(build, args, "forward_order"),
            "Nodes passed their gradient on before they had received it: go through the order reversed, root first.",
        ),
    ]


def _grads(c: Checker, backward, build, args, check: str, input: str) -> list[float]:
    root, leaves = build(*args)
    c.call(check, backward, root, input=input, hint=HINT_BACKWARD)
    return [leaf.grad for leaf in leaves] + [root.grad]


def check(c: Checker) -> None:
    topo = c.function("topological_order", "topological_order(root)")
    backward = c.function("backward", "backward(root)")

    c.stage = "shapes"
    root, _ = shared(0.5, -1.2)
    nodes = _all_nodes(root)
    inp = "tanh(a·b + a)·(b + a²) + b·b, which uses a and b several times"
    order = c.call("the order lists every node once", topo, root, input=inp, hint=HINT_ORDER)
    if not isinstance(order, (list, tuple)):
        c.fail(
            "the order lists every node once",
            "topological_order should return a list of nodes.",
            inp,
            "a list",
            fmt(order),
            HINT_ORDER,
        )
    ids = [id(n) for n in order]
    if len(ids) != len(set(ids)):
        c.fail(
            "the order lists every node once",
            f"Some nodes appear more than once ({len(ids)} entries for {len(set(ids))} nodes): "
            "keep a set of the nodes you have visited and skip them the second time.",
            inp,
            f"{len(nodes)} nodes, each once",
            f"{len(ids)} entries",
            HINT_ORDER,
            "visited_twice",
        )
    if set(ids) != {id(n) for n in nodes}:
        c.fail(
            "the order lists every node once",
            f"The order has {len(set(ids))} of the graph's {len(nodes)} nodes: visit every parent, down to the leaves.",
            inp,
            f"{len(nodes)} nodes",
            f"{len(set(ids))} nodes",
            HINT_ORDER,
            "missing_nodes",
        )
    c.ok("the order lists every node once")
    position = {id(n): i for i, n in enumerate(order)}
    for n in order:
        for p in n.parents:
            if position[id(p)] > position[id(n)]:
                c.fail(
                    "every node after its parents",
                    f"{n!r} comes before its parent {p!r}: append a node after visiting its parents "
                    "(post-order), not before.",
                    inp,
                    hint=HINT_ORDER,
                    mistake="preorder",
                )
    c.ok("every node after its parents")
    if order[-1] is not root:
        c.fail(
            "the root comes last",
            "The root should be the last node of the order.",
            inp,
            "root last",
            fmt(order[-1]),
            HINT_ORDER,
        )
    c.ok("the root comes last")

    c.stage = "tiny case"
    for title, build, x, want in (
        ("y = x² + 3x + 5 at x = 2", course_quadratic, 2.0, 7.0),
        ("y = (x + 2)² at x = 1", course_square, 1.0, 6.0),
    ):
        inp = f"{title}: dy/dx = {want:g}"
        got = _grads(c, backward, build, (x,), title, inp)
        c.close(title, got, [want, 1.0], inp, HINT_BACKWARD, _mistakes(build, (x,)), what="(x.grad, y.grad)")

    c.stage = "gradient check"
    rng = np.random.default_rng(4)
    for _trial in range(3):
        a, b = (float(v) for v in rng.uniform(-1.5, 1.5, 2))
        inp = f"tanh(a·b + a)·(b + a²) + b·b at a = {a:.4f}, b = {b:.4f}; central differences, eps 1e-6"
        got = _grads(c, backward, shared, (a, b), "a graph with shared nodes", inp)
        eps = 1e-6
        numeric = [
            (shared(a + eps, b)[0].value - shared(a - eps, b)[0].value) / (2 * eps),
            (shared(a, b + eps)[0].value - shared(a, b - eps)[0].value) / (2 * eps),
        ]
        c.close(
            "shared nodes against finite differences",
            got,
            numeric + [1.0],
            inp,
            HINT_BACKWARD,
            _mistakes(shared, (a, b)),
            rtol=1e-3,
            atol=1e-7,
            what="(a.grad, b.grad, root.grad)",
        )

    c.stage = "engine comparison"
    for _trial in range(5):
        a, b = (float(v) for v in rng.uniform(-2, 2, 2))
        inp = f"tanh(a·b + a)·(b + a²) + b·b at a = {a:.4f}, b = {b:.4f} (the engine's Tensor)"
        got = _grads(c, backward, shared, (a, b), "like the engine", inp)
        c.close(
            "like the engine's Tensor",
            got,
            _engine_shared(a, b) + [1.0],
            inp,
            HINT_BACKWARD,
            _mistakes(shared, (a, b)),
            what="(a.grad, b.grad, root.grad)",
        )
