import numpy as np
import pytest

from nnstudio.core.lessons import activations as A
from nnstudio.core.nn import Dense, FunctionLayer, Sequential
from nnstudio.core.nn import functional as F

NAMES = ["sigmoid", "tanh", "relu", "leaky_relu", "elu", "softplus", "gelu", "swish"]


def test_all_eight_are_registered():
    assert sorted(F.ACTIVATIONS) == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_derivative_matches_finite_differences(name):
    act = F.get(name)
    # avoid the kink at 0 for the piecewise functions
    x = np.concatenate([np.linspace(-8, -0.01, 200), np.linspace(0.01, 8, 200)]).astype(np.float64)
    eps = 1e-6
    numeric = (act.fn(x + eps) - act.fn(x - eps)) / (2 * eps)
    np.testing.assert_allclose(act.grad(x), numeric, rtol=1e-3, atol=1e-7)


def test_known_values():
    assert F.sigmoid(np.array(0.0)) == pytest.approx(0.5)
    assert F.relu(np.array([-2.0, 3.0])).tolist() == [0.0, 3.0]
    assert F.leaky_relu(np.array([-2.0]))[0] == pytest.approx(-0.02)
    assert F.elu(np.array([-50.0]))[0] == pytest.approx(-1.0)
    assert F.softplus(np.array([0.0]))[0] == pytest.approx(np.log(2))
    assert F.softplus(np.array([1000.0]))[0] == pytest.approx(1000.0)  # no overflow
    assert F.gelu(np.array([1.0]))[0] == pytest.approx(0.8412, abs=1e-3)
    assert F.swish(np.array([2.0]))[0] == pytest.approx(2 / (1 + np.exp(-2)))
    with pytest.raises(ValueError, match="unknown activation"):
        F.get("banana")


def test_vanishing_ranges_mark_flat_regions():
    sig = A.vanishing_ranges("sigmoid", -6, 6, threshold=0.05)
    # sigmoid'(x) < 0.05 for |x| > ~2.887 (s(1-s) = 0.05): one range at each end
    assert len(sig) == 2
    assert sig[0][0] == -6 and sig[0][1] == pytest.approx(-2.887, abs=0.01)
    assert sig[1][1] == 6 and sig[1][0] == pytest.approx(2.887, abs=0.01)
    relu = A.vanishing_ranges("relu", -6, 6)
    assert len(relu) == 1 and relu[0][0] == -6 and relu[0][1] <= 0
    assert A.vanishing_ranges("leaky_relu", -6, 6, threshold=0.005) == []


def test_function_layer_backward_matches_finite_differences():
    rng = np.random.default_rng(0)
    net = Sequential(
        [Dense(3, 4, dtype=np.float64, seed=1), FunctionLayer("gelu"), Dense(4, 1, dtype=np.float64, seed=2)]
    )
    x = rng.standard_normal((5, 3))
    net.forward(x)
    gx = net.backward(np.ones((5, 1)))
    eps = 1e-6
    num = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[i] += eps
        xm[i] -= eps
        num[i] = (net.forward(xp).sum() - net.forward(xm).sum()) / (2 * eps)
    np.testing.assert_allclose(gx, num, rtol=1e-3, atol=1e-9)


def test_gradient_norms_vanish_through_sigmoid_but_not_relu():
    sig = A.gradient_norms("sigmoid", depth=10)
    relu = A.gradient_norms("relu", depth=10, init="he")
    assert sig.shape == relu.shape == (10,)
    # sigmoid: the first layer gets orders of magnitude less gradient than the last
    assert sig[0] < sig[-1] * 1e-3
    # relu with He init keeps gradients within an order of magnitude
    assert relu[0] > relu[-1] * 0.1


def test_histograms_before_and_after():
    x = np.random.default_rng(0).normal(0, 3, 1000)
    h = A.histograms("tanh", x, bins=20)
    counts, edges = h["after"]
    assert counts.sum() == 1000
    assert edges[0] >= -1 and edges[-1] <= 1
    assert h["before"][0].sum() == 1000
