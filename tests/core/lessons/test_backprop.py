"""The backprop trace: its numbers are the engine's, and the engine's gradients are right."""

import numpy as np
import pytest

from nnstudio.core.lessons.backprop import (
    BackpropTracer,
    TraceError,
    find_mistakes,
    tiny_problem,
    toy_clusters,
    trace_step,
    xor_data,
)
from nnstudio.core.nn import Dense, Dropout, ReLU, Sequential, Sigmoid, Tanh, make_loss, make_optimizer


def engine_step(net, x, target, loss_name, optimizer, lr, **kw):
    """The plain engine (no tracer): forward, loss, backward, step on a float64 copy."""
    net = net.copy(np.float64)
    loss = make_loss(loss_name)
    tgt = np.array([target]) if loss_name == "cross_entropy" else np.asarray(target, float).reshape(1, -1)
    out = net.forward(np.asarray(x, float).reshape(1, -1))
    value = loss.forward(out, tgt)
    net.backward(loss.backward())
    grads = [p.grad.copy() for p in net.parameters()]
    opt = make_optimizer(optimizer, net.parameters(), lr=lr, **kw)
    opt.step()
    return value, grads, [p.data.copy() for p in net.parameters()]


def loss_of(net, x, target, loss_name):
    out = net.forward(np.asarray(x, float).reshape(1, -1), training=False)
    tgt = np.array([target]) if loss_name == "cross_entropy" else np.asarray(target, float).reshape(1, -1)
    return make_loss(loss_name).forward(out, tgt)


def finite_difference(net, x, target, loss_name, eps=1e-6):
    net = net.copy(np.float64)
    grads = []
    for p in net.parameters():
        g = np.zeros_like(p.data)
        for idx in np.ndindex(p.data.shape):
            old = p.data[idx]
            p.data[idx] = old + eps
            up = loss_of(net, x, target, loss_name)
            p.data[idx] = old - eps
            down = loss_of(net, x, target, loss_name)
            p.data[idx] = old
            g[idx] = (up - down) / (2 * eps)
        grads.append(g)
    return grads


@pytest.mark.parametrize("key", ["xor", "toy"])
@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_tiny_trace_matches_engine_and_finite_differences(key, optimizer):
    prob = tiny_problem(key)
    x, y = prob.x[2], prob.y[2]
    lr = 0.05 if optimizer == "adam" else prob.lr
    trace = BackpropTracer(prob.net, optimizer, lr=lr, loss=prob.loss).record(x, y)
    value, grads, after = engine_step(prob.net, x, y, prob.loss, optimizer, lr)
    assert trace.loss == pytest.approx(value, rel=1e-12)
    for got, want in zip(trace.gradients(), grads):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
    for got, want in zip(trace.gradients(), finite_difference(prob.net, x, y, prob.loss)):
        np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-8)
    # The update is exactly the engine's optimizer step.
    for u, want in zip(trace.updates, after):
        np.testing.assert_allclose(u.after, want, rtol=1e-12)
    # Loss after the update is the loss of the updated weights.
    updated = prob.net.copy(np.float64)
    updated.set_weights(after)
    assert trace.loss_after == pytest.approx(loss_of(updated, x, y, prob.loss), rel=1e-12)
    assert trace.loss_after < trace.loss
    assert "went down" in trace.verdict


def test_mnist_sized_trace_gradients_match_engine_and_finite_differences():
    net = Sequential.mlp([784, 128, 10], seed=1)
    rng = np.random.default_rng(0)
    x = (rng.random(784) < 0.2) * rng.random(784)  # sparse, like a digit
    trace = trace_step(net, x, 7, optimizer="sgd", lr=0.01)
    value, grads, _ = engine_step(net, x, 7, "cross_entropy", "sgd", 0.01)
    assert trace.sizes == [784, 128, 10]
    assert trace.loss == pytest.approx(value, rel=1e-12)
    for got, want in zip(trace.gradients(), grads):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
    # Finite differences on a sample of weights (all 101,770 would take too long).
    net64 = net.copy(np.float64)
    eps = 1e-6
    dense0, dense1 = net64.layers[0], net64.layers[2]
    active = np.flatnonzero(x)[:4]
    checks = (
        [(dense0.W, 0, (i, j)) for i in active for j in (0, 5, 77)]
        + [(dense1.W, 2, (i, j)) for i in (3, 60, 127) for j in (0, 7, 9)]
        + [(dense1.b, 3, (7,))]
    )
    for param, k, idx in checks:
        old = param.data[idx]
        param.data[idx] = old + eps
        up = loss_of(net64, x, 7, "cross_entropy")
        param.data[idx] = old - eps
        down = loss_of(net64, x, 7, "cross_entropy")
        param.data[idx] = old
        fd = (up - down) / (2 * eps)
        assert trace.gradients()[k][idx] == pytest.approx(fd, rel=1e-3, abs=1e-8)
    assert trace.loss_after < trace.loss


def test_chain_rule_factors_multiply_to_the_engine_gradient():
    for key in ("xor", "toy"):
        prob = tiny_problem(key)
        trace = trace_step(prob.net, prob.x[1], prob.y[1], lr=prob.lr, loss=prob.loss)
        for b in range(trace.n_blocks):
            W = trace.dense(b).W
            for i, j in np.ndindex(W.shape):
                rule = trace.chain_rule(b, i, j)
                assert rule.product == pytest.approx(rule.engine, rel=1e-12, abs=1e-15)
                assert rule.engine == trace.dense(b).dW[i, j]
                # dz/dw is the input the weight multiplies.
                assert rule.terms[-1].value == trace.dense(b).x[i]
    # Hidden layer: dL/da_j is the sum of what the next layer sends back.
    prob = tiny_problem("xor")
    trace = trace_step(prob.net, prob.x[3], prob.y[3], lr=1.0, loss="mse")
    rule = trace.chain_rule(0, 1, 1)
    assert sum(g * w for _, g, w in rule.upstream) == pytest.approx(rule.terms[0].value, rel=1e-12)
    text = rule.text()
    assert text.startswith("∂L/∂w = ∂L/∂a · ∂a/∂z · ∂z/∂w = (")
    assert text.endswith(f"= {rule.product:.4g}")
    assert abs(rule.product) > 1e-3


def test_cross_entropy_output_chain_is_p_minus_y():
    prob = tiny_problem("toy")
    trace = trace_step(prob.net, prob.x[0], prob.y[0], lr=0.5, loss="cross_entropy")
    label = int(prob.y[0])
    rule = trace.chain_rule(1, 2, label)
    assert rule.terms[0].symbol == "∂L/∂z"
    assert rule.terms[0].value == pytest.approx(trace.probs[label] - 1.0, rel=1e-12)
    np.testing.assert_allclose(trace.grad_output, trace.probs - np.eye(2)[label], rtol=1e-12)


def test_tracing_leaves_the_users_network_unchanged():
    net = Sequential.mlp([4, 3, 2], seed=2)
    before = net.get_weights()
    trace_step(net, np.ones(4), 1, optimizer="adam", lr=0.1)
    for a, b in zip(before, net.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert net.parameters()[0].data.dtype == np.float32


def test_adam_state_and_bias_correction():
    prob = tiny_problem("toy")
    tracer = BackpropTracer(prob.net, "adam", lr=0.05, loss="cross_entropy")
    first = tracer.record(prob.x[0], prob.y[0])
    u = first.update(0, "W")
    assert first.t == 1
    assert first.bias_correction == pytest.approx((0.1, 1 - 0.999))
    np.testing.assert_allclose(u.state_before["m"], 0)
    np.testing.assert_allclose(u.state_after["m"], 0.1 * u.grad, rtol=1e-12)
    np.testing.assert_allclose(u.m_hat, u.grad, rtol=1e-12)  # bias correction undoes the 0.1
    np.testing.assert_allclose(u.v_hat, u.grad**2, rtol=1e-9)
    # First Adam step moves every weight with a non-zero gradient by about lr.
    moved = np.abs(u.delta[np.abs(u.grad) > 1e-6])
    np.testing.assert_allclose(moved, 0.05, rtol=1e-3)
    second = tracer.record(prob.x[1], prob.y[1])  # "repeat": continues with the new weights and state
    assert second.t == 2
    np.testing.assert_allclose(second.update(0, "W").state_before["m"], u.state_after["m"])
    np.testing.assert_allclose(second.dense(0).W, u.after)


def test_momentum_state_is_carried_between_steps():
    prob = tiny_problem("xor")
    tracer = BackpropTracer(prob.net, "momentum", lr=0.5, loss="mse", momentum=0.9)
    first = tracer.record(prob.x[1], prob.y[1])
    np.testing.assert_allclose(first.update(1, "W").state_after["v"], first.update(1, "W").grad)
    second = tracer.record(prob.x[1], prob.y[1])
    u = second.update(1, "W")
    np.testing.assert_allclose(u.state_after["v"], 0.9 * u.state_before["v"] + u.grad, rtol=1e-12)
    np.testing.assert_allclose(u.delta, -0.5 * u.state_after["v"], rtol=1e-12)


def test_too_large_a_step_is_explained():
    # One linear neuron, w = 1, x = 3, target 0: the gradient 2*x*(w*x) = 18 with lr 1 jumps to w = -17.
    net = Sequential([Dense(1, 1, dtype=np.float64)])
    net.layers[0].W.data[:] = 1.0
    trace = trace_step(net, [3.0], [0.0], lr=1.0, loss="mse")
    assert trace.loss == pytest.approx(9.0)
    assert trace.update(0, "W").after[0, 0] == pytest.approx(1.0 - 18.0)
    assert trace.loss_after > trace.loss
    assert "learning rate" in trace.verdict and "went up" in trace.verdict


def test_dead_relu_has_zero_slope_and_zero_gradient():
    net = Sequential([Dense(2, 2, seed=0, dtype=np.float64), ReLU(), Dense(2, 2, seed=1, dtype=np.float64)])
    net.layers[0].W.data[:, 0] = -1.0  # neuron 0 is dead for positive inputs
    trace = trace_step(net, [1.0, 2.0], 0, lr=0.1)
    relu = trace.layers[1]
    assert relu.local[0] == 0 and relu.y[0] == 0
    rule = trace.chain_rule(0, 1, 0)
    assert rule.terms[1].value == 0 and rule.engine == 0
    np.testing.assert_array_equal(trace.dense(0).dW[:, 0], 0)


def test_steps_walk_forward_loss_backward_update_after():
    prob = tiny_problem("xor")
    trace = trace_step(prob.net, prob.x[3], prob.y[3], lr=1.0, loss="mse")
    kinds = [s.kind for s in trace.steps]
    assert kinds == ["input"] + ["forward"] * 4 + ["loss"] + ["backward"] * 4 + ["update"] * 2 + ["after"]
    backward_layers = [s.layer for s in trace.steps if s.kind == "backward"]
    assert backward_layers == [3, 2, 1, 0]


def test_other_activations_and_dropout_trace():
    net = Sequential([Dense(3, 4, seed=0), Tanh(), Dropout(0.5), Dense(4, 2, seed=1), Sigmoid()])
    trace = trace_step(net, [0.5, -1.0, 2.0], [1.0, 0.0], lr=0.1, loss="mse")
    value, grads, _ = engine_step(net, [0.5, -1.0, 2.0], [1.0, 0.0], "mse", "sgd", 0.1)
    # Dropout is off while tracing; the engine above ran in training mode with dropout,
    # so compare with finite differences instead.
    for got, want in zip(trace.gradients(), finite_difference(net, [0.5, -1.0, 2.0], [1.0, 0.0], "mse")):
        np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-8)
    for b in range(2):
        for i, j in np.ndindex(trace.dense(b).W.shape):
            rule = trace.chain_rule(b, i, j)
            assert rule.product == pytest.approx(rule.engine, rel=1e-10, abs=1e-15)


def test_bad_samples_raise_clear_errors():
    net = Sequential.mlp([4, 3, 2])
    with pytest.raises(TraceError, match="expects 4"):
        trace_step(net, np.ones(5), 0)
    with pytest.raises(TraceError, match="label 5"):
        trace_step(net, np.ones(4), 5)
    with pytest.raises(TraceError, match="NaN"):
        trace_step(net, [1, np.nan, 0, 0], 0)


def test_find_mistakes_and_toy_data():
    net = Sequential([Dense(2, 2, seed=0, dtype=np.float64)])
    net.layers[0].W.data[:] = [[1, 0], [0, 1]]
    x = np.array([[1.0, 0.0], [0.0, 1.0], [2.0, 1.0]])
    np.testing.assert_array_equal(find_mistakes(net, x, np.array([0, 0, 0])), [1])
    x, y = xor_data()
    assert y.tolist() == [0, 1, 1, 0]
    x, y = toy_clusters()
    assert x.shape == (12, 2) and sorted(set(y.tolist())) == [0, 1]


def test_written_out_lines_use_the_recorded_numbers():
    prob = tiny_problem("toy")
    trace = trace_step(prob.net, prob.x[6], prob.y[6], lr=0.3, loss="cross_entropy")
    d = trace.dense(0)
    # z_j written as its terms, ending in the engine's z_j
    line = trace.forward_line(0, 2)
    assert line.startswith("z₂ = Σᵢ Wᵢ₂·aᵢ + b₂ = ") and line.endswith(f"= {float(d.y[2]):.4g}")
    contrib = trace.contributions(0, 2)
    assert sum(p for *_, p in contrib) + d.b[2] == pytest.approx(d.y[2], rel=1e-12)
    assert abs(contrib[0][3]) >= abs(contrib[1][3])
    u = trace.update(1, "W")
    (sgd_line,) = trace.update_lines(1, "W", (0, 1))
    assert sgd_line == (
        f"w ← w − lr·g = {float(u.before[0, 1]):.4g} − 0.3·({float(u.grad[0, 1]):.4g}) = {float(u.after[0, 1]):.4g}"
    )
    adam = trace_step(prob.net, prob.x[6], prob.y[6], optimizer="adam", lr=0.05, loss="cross_entropy")
    lines = adam.update_lines(0, "b", 1)
    # a bias is written b ← b − ..., a weight w ← w − ...
    assert [line.split(" ")[0] for line in lines] == ["m", "v", "m̂", "v̂", "b"]
    assert lines[-1].startswith("b ← b − lr·m̂/(√v̂ + ε) = ")
    (sgd_bias,) = trace.update_lines(1, "b", 1)
    ub = trace.update(1, "b")
    assert (
        sgd_bias
        == f"b ← b − lr·g = {float(ub.before[1]):.4g} − 0.3·({float(ub.grad[1]):.4g}) = {float(ub.after[1]):.4g}"
    )
    assert lines[2].endswith(f"= {float(adam.update(0, 'b').m_hat[1]):.4g}")
    assert lines[-1].endswith(f"= {float(adam.update(0, 'b').after[1]):.4g}")
