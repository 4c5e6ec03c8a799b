"""Every layer and loss against central finite differences in float64 (eps 1e-6, rtol 1e-3)."""

import numpy as np
import pytest

from nnstudio.core.nn import (
    MSE,
    Dense,
    Dropout,
    Identity,
    LeakyReLU,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    SoftmaxCrossEntropy,
    Tanh,
    activation,
    layer_from_config,
)

EPS = 1e-6
RTOL = 1e-3


def numeric_grad(f, x):
    g = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + EPS
        fp = f()
        x[i] = old - EPS
        fm = f()
        x[i] = old
        g[i] = (fp - fm) / (2 * EPS)
    return g


def assert_close(analytic, numeric):
    np.testing.assert_allclose(analytic, numeric, rtol=RTOL, atol=1e-7)


def make_input(rng, shape):
    x = rng.standard_normal(shape)
    # keep kink-functions away from their kink so finite differences are valid
    x[np.abs(x) < 1e-2] = 0.5
    return x


@pytest.mark.parametrize(
    "layer_factory",
    [ReLU, lambda: LeakyReLU(0.1), Sigmoid, Tanh, Softmax, Identity],
    ids=["relu", "leaky_relu", "sigmoid", "tanh", "softmax", "linear"],
)
def test_activation_input_gradient(layer_factory):
    rng = np.random.default_rng(0)
    layer = layer_factory()
    x = make_input(rng, (4, 5))
    w = rng.standard_normal((4, 5))  # random projection makes the output a scalar

    def f():
        return float(np.sum(layer.forward(x) * w))

    f()
    analytic = layer.backward(w.copy())
    assert_close(analytic, numeric_grad(f, x))


def test_dense_gradients_for_input_weights_and_bias():
    rng = np.random.default_rng(1)
    layer = Dense(6, 3, seed=3, dtype=np.float64)
    x = rng.standard_normal((5, 6))
    w = rng.standard_normal((5, 3))

    def f():
        return float(np.sum(layer.forward(x) * w))

    f()
    gx = layer.backward(w)
    assert_close(gx, numeric_grad(f, x))
    f()
    layer.backward(w)
    gW, gb = layer.W.grad.copy(), layer.b.grad.copy()
    assert_close(gW, numeric_grad(f, layer.W.data))
    assert_close(gb, numeric_grad(f, layer.b.data))


def test_dropout_gradient_uses_the_same_mask():
    rng = np.random.default_rng(2)
    layer = Dropout(0.3, seed=5)
    x = rng.standard_normal((8, 10))
    w = rng.standard_normal((8, 10))
    y = layer.forward(x)
    mask = layer._mask
    assert 0.5 < np.mean(mask > 0) < 0.9  # about 70% kept
    np.testing.assert_allclose(y, x * mask)
    np.testing.assert_allclose(layer.backward(w), w * mask)
    assert np.array_equal(layer.forward(x, training=False), x)  # inference: identity


@pytest.mark.parametrize("labels", ["int", "onehot"])
def test_softmax_cross_entropy_gradient(labels):
    rng = np.random.default_rng(3)
    logits = rng.standard_normal((6, 4)) * 3
    y = rng.integers(0, 4, size=6)
    target = y if labels == "int" else np.eye(4)[y]
    loss = SoftmaxCrossEntropy()

    def f():
        return loss.forward(logits, target)

    f()
    analytic = loss.backward().copy()
    assert_close(analytic, numeric_grad(f, logits))


def test_softmax_cross_entropy_is_stable_for_huge_logits():
    loss = SoftmaxCrossEntropy()
    logits = np.array([[1000.0, 0.0, -1000.0], [0.0, 1e4, 0.0]])
    value = loss.forward(logits, np.array([0, 0]))
    assert np.isfinite(value)
    assert value == pytest.approx(1e4 / 2, rel=1e-9)  # first sample: loss 0, second: 1e4
    assert np.all(np.isfinite(loss.backward()))


def test_mse_gradient():
    rng = np.random.default_rng(4)
    pred = rng.standard_normal((5, 2))
    target = rng.standard_normal((5, 2))
    loss = MSE()

    def f():
        return loss.forward(pred, target)

    f()
    assert_close(loss.backward(), numeric_grad(f, pred))


@pytest.mark.parametrize("act", ["relu", "tanh", "sigmoid", "leaky_relu"])
def test_whole_network_gradients(act):
    rng = np.random.default_rng(5)
    net = Sequential.mlp([7, 5, 4, 3], act, seed=2, dtype=np.float64)
    x = make_input(rng, (6, 7))
    y = rng.integers(0, 3, size=6)
    loss = SoftmaxCrossEntropy()

    def f():
        return loss.forward(net.forward(x), y)

    f()
    net.backward(loss.backward())
    grads = [p.grad.copy() for p in net.parameters()]
    for p, g in zip(net.parameters(), grads):
        assert_close(g, numeric_grad(f, p.data))


def test_init_schemes_have_their_documented_spread():
    he = Dense(1000, 500, init="he", seed=0).W.data
    xavier = Dense(1000, 500, init="xavier", seed=0).W.data
    assert he.std() == pytest.approx(np.sqrt(2 / 1000), rel=0.02)
    assert xavier.std() == pytest.approx(np.sqrt(2 / 1500), rel=0.02)
    assert he.dtype == np.float32
    # same seed -> same weights; different seed -> different weights
    assert np.array_equal(Dense(10, 4, seed=7).W.data, Dense(10, 4, seed=7).W.data)
    assert not np.array_equal(Dense(10, 4, seed=7).W.data, Dense(10, 4, seed=8).W.data)


def test_bad_layer_arguments_are_refused_with_a_message():
    with pytest.raises(ValueError, match="positive"):
        Dense(0, 10)
    with pytest.raises(ValueError, match="unknown init"):
        Dense(3, 3, init="zeros")
    with pytest.raises(ValueError, match="dropout"):
        Dropout(1.0)
    with pytest.raises(ValueError, match="unknown activation"):
        activation("swishy")
    with pytest.raises(ValueError, match="unknown layer"):
        layer_from_config({"type": "Conv2D"})
