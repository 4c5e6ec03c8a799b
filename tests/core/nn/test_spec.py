"""MLPSpec: one description of an MLP for the CLI and the window; its memory estimate agrees with the arrays."""

import numpy as np
import pytest

from nnstudio.core.memory import account, training_footprint
from nnstudio.core.nn import Sequential, make_optimizer
from nnstudio.core.nn.spec import MLPSpec
from nnstudio.core.training import Trainer


@pytest.mark.parametrize(
    "acts, drops, optimizer",
    [
        (["relu", "sigmoid"], [0.2, 0.0], "adam"),
        (["tanh", "linear"], [0.0, 0.5], "momentum"),
        (["leaky_relu", "relu"], [0.0, 0.0], "sgd"),
        (["gelu", "softmax"], [0.1, 0.1], "adam"),
        (["swish", "elu"], [0.0, 0.3], "momentum"),
    ],
)
def test_estimate_matches_the_arrays_of_a_training_step(acts, drops, optimizer):
    """The estimate (from shapes, nothing allocated) equals what the live network holds, byte for byte."""
    spec = MLPSpec(784, [64, 32], 10, acts, drops)
    net = spec.build(seed=0)
    opt = make_optimizer(optimizer, net.parameters(), lr=1e-3)
    x = np.random.default_rng(0).random((50, 784), dtype=np.float32)
    net.forward(x[np.arange(50)], training=True)  # a gathered batch, as the trainer makes one
    live = account(net, opt)
    est = spec.estimate_bytes(50, optimizer)
    assert (est.parameters, est.gradients, est.optimizer_state, est.activations) == (
        live.parameters,
        live.gradients,
        live.optimizer_state,
        live.activations,
    )
    assert est.count == net.num_parameters()


def test_footprint_of_a_live_network_scales_cached_activations_to_the_batch():
    net = Sequential.mlp([784, 128, 10], "relu", seed=0)
    opt = make_optimizer("adam", net.parameters(), lr=0.001)
    shape_only, measured = training_footprint(net, opt, batch_size=64)
    assert not measured
    n = net.num_parameters()
    assert shape_only.parameters == shape_only.gradients == 4 * n
    assert shape_only.optimizer_state == 3 * 4 * n  # m, v and Adam's scratch
    # Dense keeps its (64, 784) float input, ReLU its (64, 128) boolean mask, Dense 2 its (64, 128) input
    assert shape_only.activations == 64 * (784 * 4 + 128 + 128 * 4)
    net.forward(np.zeros((32, 784), np.float32))
    live, measured = training_footprint(net, opt, batch_size=64)
    assert measured and live.activations == shape_only.activations


def test_a_wide_layer_is_estimated_with_everything_training_holds():
    """784-50000-10 with Adam: the first version said '≈662 MB'; the trainer's snapshots and Adam's
    state make it several times that, and the estimate says so."""
    spec = MLPSpec(784, [50000], 10)
    est = spec.estimate_bytes(128, "adam", snapshots=Trainer.SNAPSHOTS)
    params = spec.num_parameters() * 4
    assert est.parameters == params and est.optimizer_state == 3 * params
    assert est.snapshots == 3 * params  # weights + m + v, once: the best weights the guard keeps
    assert est.total > 8 * params


def test_spec_round_trips_through_a_network_and_the_editor_form():
    spec = MLPSpec(784, [64, 32], 10, ["tanh", "gelu"], [0.25, 0.0], "xavier")
    net = spec.build(seed=3)
    again = MLPSpec.from_network(net)
    assert again == spec
    assert MLPSpec.from_editor(spec.to_editor(), 784, 10) == spec
    assert spec.describe() == "784 → 64 → 32 → 10"
    twin = again.build(seed=3)
    assert all(np.array_equal(a.data, b.data) for a, b in zip(net.parameters(), twin.parameters()))


def test_problems_name_the_limit():
    assert MLPSpec(784, [0], 10).problems() == [
        "hidden layer 1: layer size 0 is out of range: it must be in [1, 65,536]"
    ]
    assert "dropout rate 0.99" in MLPSpec(784, [8], 10, ["relu"], [0.99]).problems()[0]
    assert "unknown activation" in MLPSpec(784, [8], 10, ["banana"]).problems()[0]
    with pytest.raises(ValueError, match="layer size 0"):
        MLPSpec(784, [0], 10).build()
