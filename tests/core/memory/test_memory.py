"""Memory tools: accounting vs tracemalloc, checkpointing, mixed precision, batch-size search."""

import copy

import numpy as np
import pytest

from nnstudio.core.memory import (
    BudgetTooSmall,
    Checkpointed,
    CheckpointedTrainer,
    GradScaler,
    MiB,
    MixedPrecision,
    MixedPrecisionTrainer,
    PlainStep,
    account,
    find_max_batch_size,
    make_strategy,
    memory_curve,
    parse_budget,
    profile_step,
)
from nnstudio.core.nn import Sequential, make_optimizer
from nnstudio.core.training import Trainer


def _random_data(n=512, d=784, k=10, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, d), dtype=np.float32), rng.integers(0, k, n)


def _grads(net):
    return [p.grad.copy() for p in net.parameters()]


# -- checkpointing ----------------------------------------------------------------
@pytest.mark.parametrize(
    "segments,balance", [(1, "memory"), (2, "memory"), (3, "layers"), (4, "memory"), (50, "memory")]
)
def test_checkpointed_gradients_equal_plain_ones(segments, balance):
    # dropout too: the recomputation must draw the same masks
    net = Sequential.mlp([784, 96, 64, 64, 48, 10], "tanh", dropout=0.2, seed=3)
    twin = copy.deepcopy(net)
    x, y = _random_data(200)
    loss_plain, out_plain = PlainStep(net).forward_backward(x, y)
    loss_ck, out_ck = Checkpointed(twin, segments, balance=balance).forward_backward(x, y)
    assert loss_ck == loss_plain
    np.testing.assert_array_equal(out_ck, out_plain)
    for g_plain, g_ck in zip(_grads(net), _grads(twin)):
        np.testing.assert_array_equal(g_ck, g_plain)
    assert any(np.abs(g).max() > 0 for g in _grads(twin))


def test_plain_step_matches_the_trainer():
    net = Sequential.mlp([784, 64, 10], seed=1)
    twin = copy.deepcopy(net)
    x, y = _random_data(128)
    trainer = Trainer(net, make_optimizer("sgd", net.parameters(), lr=0.1), (x, y), batch_size=128, epochs=1)
    trainer.train_batch(x, y)
    step = PlainStep(twin)
    step.forward_backward(x, y)
    step.update(make_optimizer("sgd", twin.parameters(), lr=0.1))
    for a, b in zip(net.parameters(), twin.parameters()):
        np.testing.assert_array_equal(a.data, b.data)


def test_checkpointed_trainer_trains_exactly_like_the_plain_one(mnist):
    x, y = mnist.flat("train")
    x, y = x[:2000], y[:2000]
    nets = [Sequential.mlp([784, 64, 64, 64, 10], seed=0) for _ in range(2)]
    plain = Trainer(nets[0], make_optimizer("adam", nets[0].parameters()), (x, y), batch_size=100, epochs=1)
    ck = CheckpointedTrainer(
        nets[1], make_optimizer("adam", nets[1].parameters()), (x, y), batch_size=100, epochs=1, segments=3
    )
    plain.run()
    ck.run()
    for a, b in zip(nets[0].parameters(), nets[1].parameters()):
        np.testing.assert_array_equal(a.data, b.data)


def test_checkpointing_cuts_activation_memory_of_a_deep_network():
    # a scaled-down version of the 784 -> 16x1024 -> 10 (same depth, half width)
    net = Sequential.mlp([784] + [512] * 16 + [10], seed=0)
    x, y = _random_data(128)
    base = profile_step(PlainStep(copy.deepcopy(net)), None, x, y, 128)
    ck = profile_step(Checkpointed(copy.deepcopy(net), 4), None, x, y, 128)
    assert base.activation_peak / ck.activation_peak >= 2.5
    assert ck.measured_peak < base.measured_peak


# -- accounting ---------------------------------------------------------------------
def test_account_counts_the_arrays():
    net = Sequential.mlp([784, 128, 10], seed=0)
    opt = make_optimizer("adam", net.parameters())
    x, _ = _random_data(64)
    net.forward(x)
    rep = account(net, opt)
    n = net.num_parameters()
    assert rep.parameters == rep.gradients == 4 * n
    assert rep.optimizer_state == 12 * n  # Adam: m and v, and the scratch array of its update
    # Dense 0 keeps the batch, ReLU a bool mask, Dense 1 the ReLU output
    assert rep.activations == 64 * 784 * 4 + 64 * 128 * 1 + 64 * 128 * 4
    assert [b for _, b in rep.per_layer] == [64 * 784 * 4, 64 * 128, 64 * 128 * 4]


@pytest.mark.parametrize("kind", ["baseline", "checkpoint", "mixed"])
@pytest.mark.parametrize("sizes,batch", [([784, 128, 10], 128), ([784, 256, 128, 10], 500)])
def test_accounting_agrees_with_tracemalloc_on_mnist_models(mnist, kind, sizes, batch):
    x, y = mnist.flat("train")
    net = Sequential.mlp(sizes, seed=0)
    strategy = make_strategy(kind, net, segments=2)
    opt = make_optimizer("adam", net.parameters())
    prof = profile_step(strategy, opt, strategy.prepare_inputs(x[:5000]), y[:5000], batch)
    assert abs(prof.accounted_peak / prof.measured_peak - 1) <= 0.10
    # the timeline's own tracemalloc samples never exceed the measured peak
    assert max(prof.timeline.measured) <= prof.measured_peak


# -- mixed precision ----------------------------------------------------------------
def test_grad_scaler_follows_pytorchs_rules():
    s = GradScaler()
    assert s.scale == 2.0**16
    for _ in range(1999):
        s.update(found_inf=False)
    assert s.scale == 2.0**16
    s.update(found_inf=False)
    assert s.scale == 2.0**17  # doubled after 2000 clean steps
    s.update(found_inf=True)
    assert s.scale == 2.0**16 and s.skipped_steps == 1 and s.growth_tracker == 0 and s.skipped_at == [2001]
    for _ in range(1999):
        s.update(found_inf=False)
    assert s.scale == 2.0**16  # the count restarted after the overflow


def test_mixed_precision_skips_an_overflowing_step_and_halves_the_scale():
    net = Sequential.mlp([784, 64, 10], seed=0)
    x, y = _random_data(256)
    opt = make_optimizer("sgd", net.parameters(), lr=0.1)
    mp = MixedPrecision(net)
    before = [p.data.copy() for p in net.parameters()]
    mp.inject_overflow = True
    mp.forward_backward(x[:64], y[:64])
    assert mp.update(opt) is False
    assert mp.scaler.scale == 2.0**15 and mp.scaler.skipped_steps == 1
    for a, b in zip(before, net.parameters()):
        np.testing.assert_array_equal(a, b.data)  # skipped: weights untouched
    mp.forward_backward(x[64:128], y[64:128])
    assert mp.update(opt) is True
    assert mp.scaler.scale == 2.0**15 and mp.scaler.skipped_steps == 1
    assert any(not np.array_equal(a, b.data) for a, b in zip(before, net.parameters()))


def test_mixed_precision_recovers_from_a_real_fp16_overflow(mnist):
    # a loss scale of 2**40 overflows fp16 gradients: steps are skipped and the
    # scale halves until it fits, then training proceeds normally
    x, y = mnist.flat("train")
    net = Sequential.mlp([784, 64, 10], seed=0)
    trainer = MixedPrecisionTrainer(
        net,
        make_optimizer("adam", net.parameters()),
        (x[:6000], y[:6000]),
        (x[-2000:], y[-2000:]),
        batch_size=100,
        epochs=1,
        scaler=GradScaler(init_scale=2.0**40),
    )
    hist = trainer.run()
    sc = trainer.scaler
    assert 10 <= sc.skipped_steps < 40 and trainer.skipped_steps == sc.skipped_steps
    assert sc.scale_history[: sc.skipped_steps] == [2.0 ** (39 - i) for i in range(sc.skipped_steps)]
    assert sc.scale < 2.0**30
    assert hist.epochs[-1]["test_accuracy"] > 0.85


def test_mixed_precision_gradients_are_close_to_fp32():
    net = Sequential.mlp([784, 128, 64, 10], seed=0)
    twin = copy.deepcopy(net)
    x, y = _random_data(256)
    PlainStep(net).forward_backward(x, y)
    mp = MixedPrecision(twin)
    mp.forward_backward(x, y)
    assert mp.unscale_()
    for g, p in zip(_grads(net), twin.parameters()):
        # fp16 keeps ~3 significant digits; sums over the batch cancel, which
        # magnifies that (rounding only the input batch to fp16 gives ~1% here)
        assert np.linalg.norm(p.grad - g) <= 0.05 * np.linalg.norm(g)
        assert np.dot(p.grad.ravel(), g.ravel()) >= 0.998 * np.linalg.norm(p.grad) * np.linalg.norm(g)


def test_mixed_precision_halves_activation_memory():
    net = Sequential.mlp([784, 128, 10], seed=0)
    x, y = _random_data(256)
    base = profile_step(PlainStep(copy.deepcopy(net)), None, x, y, 256)
    mp = MixedPrecision(copy.deepcopy(net))
    mixed = profile_step(mp, None, mp.prepare_inputs(x), y, 256)
    assert base.activation_peak / mixed.activation_peak >= 1.9


def test_mixed_precision_rejects_unsupported_layers():
    from nnstudio.core.nn import Softmax

    net = Sequential.mlp([4, 3], seed=0).add(Softmax())
    with pytest.raises(ValueError, match="does not support Softmax"):
        MixedPrecision(net)


@pytest.mark.slow
def test_mixed_precision_trains_mnist_within_half_a_point_of_fp32(mnist):
    x, y = mnist.flat("train")
    xt, yt = mnist.flat("test")
    acc = {}
    for name, cls in (("fp32", Trainer), ("mixed", MixedPrecisionTrainer)):
        net = Sequential.mlp([784, 128, 10], seed=0)
        trainer = cls(
            net, make_optimizer("adam", net.parameters(), lr=1e-3), (x, y), (xt, yt), batch_size=128, epochs=2, seed=0
        )
        acc[name] = trainer.run().epochs[-1]["test_accuracy"]
    assert acc["fp32"] > 0.95
    assert abs(acc["mixed"] - acc["fp32"]) <= 0.005


# -- budgets and batch-size search ------------------------------------------------
def test_parse_budget():
    assert parse_budget("2GB")[0] == 2_000_000_000
    assert parse_budget("512 MiB")[0] == 512 * MiB
    assert parse_budget("1.5gib")[0] == int(1.5 * 1024**3)
    assert parse_budget(123456)[0] == 123456
    laptop, text = parse_budget("16 GB laptop")
    assert 0 < laptop <= 0.6 * 16e9 and "16 GB laptop" in text
    for bad in ("", "lots", "-3GB", "0", "2 parsecs"):
        with pytest.raises(ValueError):
            parse_budget(bad)


@pytest.mark.parametrize("kind", ["baseline", "checkpoint", "mixed"])
def test_batch_search_respects_its_budget_and_finds_the_maximum(kind):
    net = Sequential.mlp([784, 256, 256, 10], seed=0)
    weights = [p.data.copy() for p in net.parameters()]
    opt = make_optimizer("adam", net.parameters())
    strategy = make_strategy(kind, net, segments=2)
    x, y = _random_data(3000)
    budget = 12 * MiB
    res = find_max_batch_size(strategy, opt, x, y, budget)
    assert all(peak <= budget for _, peak in res.trials)  # never allocated past the budget
    assert res.peak <= budget and not res.capped
    b = res.batch_size
    (_, at_b), (_, above) = memory_curve(strategy, opt, x, y, [b, int(b * 1.05) + 1])
    assert at_b <= budget < above  # within 5% of the true maximum
    for w, p in zip(weights, net.parameters()):  # the caller's network is untouched
        np.testing.assert_array_equal(w, p.data)


def test_batch_search_caps_at_the_dataset_and_refuses_tiny_budgets():
    net = Sequential.mlp([784, 32, 10], seed=0)
    opt = make_optimizer("sgd", net.parameters(), lr=0.1)
    x, y = _random_data(300)
    res = find_max_batch_size(PlainStep(net), opt, x, y, 200 * MiB)
    assert res.batch_size == 300 and res.capped
    with pytest.raises(BudgetTooSmall, match="smaller than the weights"):
        find_max_batch_size(PlainStep(net), opt, x, y, 1000)


def test_mixed_precision_with_checkpointing_gives_the_same_gradients_with_fewer_activations():
    net = Sequential.mlp([784] + [256] * 8 + [10], dropout=0.1, seed=2)
    twin = copy.deepcopy(net)
    x, y = _random_data(128)
    mp, both = MixedPrecision(net), make_strategy("mixed+checkpoint", twin, segments=3)
    assert mp.forward_backward(x, y)[0] == both.forward_backward(x, y)[0]
    for g_mp, g_both in zip(_grads(net), _grads(twin)):
        np.testing.assert_array_equal(g_both, g_mp)
    a = profile_step(MixedPrecision(copy.deepcopy(net)), None, mp.prepare_inputs(x), y, 128)
    b = profile_step(
        make_strategy("mixed+checkpoint", copy.deepcopy(net), segments=3), None, mp.prepare_inputs(x), y, 128
    )
    assert b.activation_peak < 0.7 * a.activation_peak
