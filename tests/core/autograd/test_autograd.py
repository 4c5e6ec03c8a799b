"""The autograd engine: every op against central differences (gradcheck), an MLP against the Layer engine."""

import numpy as np
import pytest

from nnstudio.core.autograd import Tensor, gradcheck, no_grad, softmax_cross_entropy
from nnstudio.core.nn import Sequential, SoftmaxCrossEntropy


def check(op, *arrays, rtol=1e-4, atol=1e-7):
    """The engine's Jacobian of op(*arrays) against central differences (float64, eps 1e-6), every element."""
    assert gradcheck(op, tuple(Tensor(a, requires_grad=True) for a in arrays), eps=1e-6, rtol=rtol, atol=atol)


rng = np.random.default_rng(0)


def R(*shape, low=None):
    a = rng.standard_normal(shape)
    if low is not None:
        a = np.abs(a) + low
    return a


BINARY_CASES = [
    ("add", lambda a, b: a + b, (3, 4), (3, 4)),
    ("add broadcast row", lambda a, b: a + b, (3, 4), (4,)),
    ("sub broadcast col", lambda a, b: a - b, (3, 1), (3, 4)),
    ("mul broadcast", lambda a, b: a * b, (2, 3, 4), (3, 1)),
    ("div broadcast", lambda a, b: a / b, (3, 4), (1, 4)),
    ("pow tensor exponent", lambda a, b: a**b, (3, 4), (4,)),
    ("matmul", lambda a, b: a @ b, (3, 5), (5, 2)),
]


@pytest.mark.parametrize("name,op,sa,sb", BINARY_CASES, ids=[c[0] for c in BINARY_CASES])
def test_binary_ops_match_central_differences(name, op, sa, sb):
    a = R(*sa, low=0.5) if "pow" in name else R(*sa)
    b = R(*sb, low=0.5) if name.startswith("div") else R(*sb)
    check(op, a, b)


UNARY_CASES = [
    ("neg", lambda a: -a, None),
    ("scalar pow", lambda a: a**3, None),
    ("fractional pow", lambda a: a**0.5, 0.5),
    ("scalar radd rsub rmul rdiv", lambda a: (2 - a) * 3 + 1 / a, 0.5),
    ("scalar rpow", lambda a: 2**a, None),
    ("exp", lambda a: a.exp(), None),
    ("log", lambda a: a.log(), 0.3),
    ("sqrt", lambda a: a.sqrt(), 0.3),
    ("abs", lambda a: a.abs(), 0.1),
    ("sin", lambda a: a.sin(), None),
    ("cos", lambda a: a.cos(), None),
    ("tan", lambda a: (a * 0.3).tan(), None),
    ("tanh", lambda a: a.tanh(), None),
    ("sigmoid", lambda a: a.sigmoid(), None),
    ("relu", lambda a: (a + 0.05).relu(), None),
    ("sum all", lambda a: a.sum(), None),
    ("sum axis", lambda a: a.sum(axis=1), None),
    ("sum keepdims", lambda a: a.sum(axis=0, keepdims=True) * a, None),
    ("mean axis tuple", lambda a: a.mean(axis=(0, 2)), None),
    ("max all", lambda a: a.max(), None),
    ("max axis", lambda a: a.max(axis=-1), None),
    ("max keepdims", lambda a: a - a.max(axis=1, keepdims=True), None),
    ("reshape", lambda a: a.reshape(6, 4) * np.arange(24.0).reshape(6, 4), None),
    ("transpose", lambda a: a.transpose(2, 0, 1) * np.arange(24.0).reshape(4, 2, 3), None),
    ("index slice", lambda a: a[1:, ::2, 0], None),
    ("index repeated", lambda a: a[np.array([0, 1, 0]), 2], None),
    ("used twice", lambda a: a * a.sin() + a, None),
]


@pytest.mark.parametrize("name,op,low", UNARY_CASES, ids=[c[0] for c in UNARY_CASES])
def test_unary_ops_match_central_differences(name, op, low):
    check(op, R(2, 3, 4, low=low))


def test_softmax_cross_entropy_matches_loss_class_and_central_differences():
    logits, labels = R(5, 4), np.array([0, 3, 1, 1, 2])
    check(lambda z: softmax_cross_entropy(z, labels), logits)
    onehot = np.eye(4)[labels]
    check(lambda z: z.cross_entropy(onehot), logits)
    t = Tensor(logits.copy(), requires_grad=True)
    loss = t.cross_entropy(labels)
    ref = SoftmaxCrossEntropy()
    assert loss.item() == pytest.approx(ref.forward(logits.copy(), labels), rel=1e-12)
    loss.backward()
    np.testing.assert_allclose(t.grad, ref.backward(), rtol=1e-10, atol=1e-14)


def test_seed_example_dy_dx_is_2x_plus_3():
    for x0 in (-3.0, 0.0, 2.0, 10.5):
        x = Tensor(x0, requires_grad=True)
        y = x**2 + 3 * x + 5
        y.backward()
        assert y.item() == x0**2 + 3 * x0 + 5
        assert x.grad == 2 * x0 + 3


def test_gradients_accumulate_until_zero_grad_and_intermediates_do_not_double():
    x = Tensor(3.0, requires_grad=True)
    y = (x + 2) ** 2
    y.backward()
    assert x.grad == 10.0
    y.backward()  # same graph again: leaf accumulates, exactly twice
    assert x.grad == 20.0
    x.zero_grad()
    y.backward()
    assert x.grad == 10.0
    g = y._prev[0]
    assert g.grad == 10.0  # intermediate keeps this pass's gradient for viewers


def test_long_chain_backward_does_not_hit_recursion_limit():
    x = Tensor(1.0, requires_grad=True)
    y = x
    for _ in range(20000):
        y = y * 1.0001
    y.backward()
    assert x.grad == pytest.approx(1.0001**20000, rel=1e-9)


def test_no_grad_and_detach_stop_the_graph():
    x = Tensor([1.0, 2.0], requires_grad=True)
    with no_grad():
        y = x * 2
    assert not y.requires_grad and y.is_leaf
    z = (x.detach() * x).sum()
    z.backward()
    np.testing.assert_array_equal(x.grad, [1.0, 2.0])  # detached factor is a constant
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.sum().backward()


def test_mlp_in_autograd_matches_layer_engine_gradients():
    net = Sequential.mlp([12, 16, 8, 5], "relu", seed=4, dtype=np.float64)
    data_rng = np.random.default_rng(7)
    x = data_rng.standard_normal((32, 12))
    y = data_rng.integers(0, 5, 32)
    loss_fn = SoftmaxCrossEntropy()
    ref_loss = loss_fn.forward(net.forward(x), y)
    net.backward(loss_fn.backward())
    ref_grads = [p.grad.copy() for p in net.parameters()]

    params = [Tensor(p.data.copy(), requires_grad=True) for p in net.parameters()]
    h = Tensor(x)
    for i in range(0, len(params), 2):
        h = h @ params[i] + params[i + 1]
        if i + 2 < len(params):
            h = h.relu()
    loss = h.cross_entropy(y)
    loss.backward()
    assert loss.item() == pytest.approx(ref_loss, rel=1e-12)
    assert len(params) == 6
    for p, ref in zip(params, ref_grads):
        np.testing.assert_allclose(p.grad, ref, rtol=1e-6, atol=1e-9)


def test_random_expression_graphs_agree_with_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    unary = ["exp", "tanh", "sigmoid", "sin", "cos", "relu"]
    for _trial in range(20):
        a0, b0 = rng.standard_normal((3, 4)), rng.standard_normal((4,))
        ops = rng.choice(unary, size=3)
        ours = [Tensor(a0, requires_grad=True), Tensor(b0, requires_grad=True)]
        theirs = [torch.tensor(a0, requires_grad=True), torch.tensor(b0, requires_grad=True)]
        results = []
        for (a, b), _lib in ((ours, "ours"), (theirs, "torch")):
            h = a * b + b
            for name in ops:
                h = getattr(h, name)() * 0.9 + h / 3
            out = (h**2).mean() + h.max()
            out.backward()
            results.append((float(out.item()), a.grad, b.grad))
        (ov, oga, ogb), (tv, tga, tgb) = results
        assert ov == pytest.approx(tv, rel=1e-10)
        np.testing.assert_allclose(oga, tga.numpy(), rtol=1e-8, atol=1e-12)
        np.testing.assert_allclose(ogb, tgb.numpy(), rtol=1e-8, atol=1e-12)
