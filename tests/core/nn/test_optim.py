import numpy as np
import pytest

from nnstudio.core.nn import SGD, Adam, CosineAnnealingLR, Momentum, Parameter, make_optimizer


def param(values, grad):
    p = Parameter(np.array(values, dtype=np.float64))
    p.grad[...] = grad
    return p


def test_sgd_step_and_zero_grad():
    p = param([1.0, -2.0], [0.5, 1.0])
    opt = SGD([p], lr=0.1)
    opt.step()
    np.testing.assert_allclose(p.data, [0.95, -2.1])
    opt.zero_grad()
    assert not p.grad.any()


def test_momentum_matches_pytorch_formula_and_nesterov_differs():
    p = param([1.0], [1.0])
    opt = Momentum([p], lr=0.1, momentum=0.9)
    opt.step()  # v=1, w=0.9
    p.grad[...] = 1.0
    opt.step()  # v=1.9, w=0.71
    np.testing.assert_allclose(p.data, [0.71])
    q = param([1.0], [1.0])
    nes = Momentum([q], lr=0.1, momentum=0.9, nesterov=True)
    nes.step()  # v=1, g+mu*v=1.9, w=0.81
    np.testing.assert_allclose(q.data, [0.81])


def test_adam_matches_reference_implementation():
    rng = np.random.default_rng(0)
    w0 = rng.standard_normal(5)
    grads = rng.standard_normal((4, 5))
    p = param(w0.copy(), 0)
    opt = Adam([p], lr=0.01, betas=(0.9, 0.999), eps=1e-8)
    m = v = np.zeros(5)
    w = w0.copy()
    for t, g in enumerate(grads, 1):
        p.grad[...] = g
        opt.step()
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        mhat, vhat = m / (1 - 0.9**t), v / (1 - 0.999**t)
        w = w - 0.01 * mhat / (np.sqrt(vhat) + 1e-8)
    np.testing.assert_allclose(p.data, w, rtol=1e-10)


def test_adam_decoupled_weight_decay_shrinks_weights_without_gradient():
    p = param([2.0], [0.0])
    Adam([p], lr=0.1, weight_decay=0.5).step()
    assert p.data[0] == pytest.approx(2.0 * (1 - 0.05))


def test_learning_rate_change_applies_to_the_next_step():
    p = param([0.0], [1.0])
    opt = SGD([p], lr=0.1)
    opt.step()
    opt.lr = 1.0
    opt.step()
    np.testing.assert_allclose(p.data, [-1.1])


def test_cosine_schedule_runs_from_base_to_min():
    p = param([0.0], [0.0])
    opt = SGD([p], lr=0.2)
    sched = CosineAnnealingLR(opt, T_max=10, eta_min=0.0)
    lrs = []
    for _ in range(10):
        sched.step()
        lrs.append(opt.lr)
    assert lrs[4] == pytest.approx(0.1)  # half way: half the rate
    assert lrs[-1] == pytest.approx(0.0, abs=1e-12)
    assert all(a >= b for a, b in zip(lrs, lrs[1:]))


def test_state_dict_round_trip_and_bad_values():
    p = param([1.0, 2.0], [0.3, -0.2])
    opt = Adam([p], lr=0.01)
    opt.step()
    state = opt.state_dict()
    q = param([1.0, 2.0], [0.3, -0.2])
    other = Adam([q], lr=0.01)
    other.load_state_dict(state)
    assert other.steps == 1 and np.array_equal(other.m[0], opt.m[0])
    for bad in (0, -1, float("nan"), float("inf"), 1e6):
        with pytest.raises(ValueError, match="learning rate"):
            SGD([p], lr=bad)
    with pytest.raises(ValueError, match="unknown optimizer"):
        make_optimizer("rmsprop", [p])
    with pytest.raises(ValueError, match="momentum"):
        Momentum([p], momentum=1.5)
