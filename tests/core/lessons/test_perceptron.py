import numpy as np
import pytest

from nnstudio.core.lessons.perceptron import (
    GATES,
    Perceptron,
    PerceptronLearner,
    decide,
    gate_data,
    line_points,
    train_perceptron,
    train_xor_network,
    weighted_sum,
)


def test_beach_decision_follows_weighted_sum_and_threshold():
    # sunny matters more than weekend; threshold 0.5
    weights = [0.6, 0.4]
    assert weighted_sum([1, 0], weights) == pytest.approx(0.6)
    assert decide([1, 0], weights, 0.5) == 1  # sunny weekday: go
    assert decide([0, 1], weights, 0.5) == 0  # rainy weekend: stay
    assert decide([0, 0], weights, 0.5) == 0
    assert decide([1, 1], weights, 0.9) == 1  # 1.0 > 0.9
    assert decide([1, 1], weights, 1.0) == 0  # strictly greater than the threshold


def test_weighted_sum_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="2 inputs but 3 weights"):
        weighted_sum([1, 0], [1, 2, 3])


@pytest.mark.parametrize("gate", ["AND", "OR", "NAND"])
def test_linearly_separable_gates_converge(gate):
    x, y = gate_data(gate)
    learner = train_perceptron(x, y, lr=0.1, max_epochs=100)
    assert learner.converged
    assert learner.epoch < 100
    np.testing.assert_array_equal(learner.predict(x), GATES[gate])
    assert learner.mistakes_per_epoch[-1] == 0


def test_xor_never_converges():
    x, y = gate_data("XOR")
    learner = train_perceptron(x, y, lr=0.1, max_epochs=500)
    assert not learner.converged
    assert learner.epoch == 500
    assert all(m > 0 for m in learner.mistakes_per_epoch)
    assert learner.accuracy() <= 0.75  # a line gets at most 3 of the 4 XOR points right


def test_step_applies_rule_once_per_example():
    x, y = gate_data("AND")
    learner = PerceptronLearner(x, y, lr=0.5)
    r = learner.step()  # (0,0) -> 0, output 0 (0 > 0 is false): correct, no change
    assert (r.index, r.target, r.output, r.updated) == (0, 0, 0, False)
    for _ in range(3):
        r = learner.step()
    # (1,1) target 1, output 0 -> w += 0.5*(1,1), threshold -= 0.5
    assert r.updated and r.epoch_done
    np.testing.assert_allclose(learner.weights, [0.5, 0.5])
    assert learner.threshold == pytest.approx(-0.5)
    assert learner.epoch == 1 and learner.mistakes_per_epoch == [1]


def test_user_points_learner_validates_input():
    with pytest.raises(ValueError, match="one label per point"):
        PerceptronLearner(np.zeros((3, 2)), [0, 1])
    with pytest.raises(ValueError, match="0 or 1"):
        PerceptronLearner(np.zeros((2, 2)), [0, 2])
    with pytest.raises(ValueError, match="no points"):
        PerceptronLearner(np.zeros((0, 2)), []).step()


def test_clicked_points_separable_by_a_line_converge():
    rng = np.random.default_rng(3)
    x = rng.uniform(-1, 1, (30, 2))
    y = (x[:, 0] + 2 * x[:, 1] > 0.2).astype(int)
    learner = train_perceptron(x, y, lr=0.1, max_epochs=1000)
    assert learner.converged and learner.accuracy() == 1.0


def test_line_points_lie_on_the_line():
    xs, ys = line_points(1.0, 2.0, 0.5, -1, 2)
    np.testing.assert_allclose(1.0 * xs + 2.0 * ys, 0.5)
    xs, ys = line_points(3.0, 0.0, 1.5, -1, 2)
    np.testing.assert_allclose(xs, 0.5)
    assert line_points(0, 0, 1, -1, 1) is None
    p = Perceptron([1.0, 1.0], 1.5)
    np.testing.assert_array_equal(p.predict(gate_data("AND")[0]), [0, 0, 0, 1])


def test_xor_solved_by_2_2_1_network():
    x, y = gate_data("XOR")
    sol = train_xor_network(seed=0)
    np.testing.assert_array_equal(sol.predict(x), y)
    lines = sol.hidden_lines()
    assert len(lines) == 2
    # each hidden unit's line separates the four corners differently; together they carve XOR
    sides = [tuple(int(a * p[0] + b * p[1] > c) for p in x) for a, b, c in lines]
    assert sides[0] != sides[1]
    assert all(0 < sum(s) < 4 for s in sides)


def test_margin_is_the_distance_of_the_nearest_point_to_the_line():
    from nnstudio.core.lessons.perceptron import Perceptron

    p = Perceptron(np.array([3.0, 4.0]), threshold=5.0)  # 3x + 4y = 5, |w| = 5
    d, i = p.margin(np.array([[0.0, 0.0], [1.0, 1.0], [1.0, 0.5]]))
    assert (d, i) == (pytest.approx(0.0), 2)  # (1, 0.5) lies on the line
    d, i = p.margin(np.array([[0.0, 0.0], [1.0, 1.0]]))
    assert (d, i) == (pytest.approx(2 / 5), 1)  # |7 - 5| / 5
    assert Perceptron(np.zeros(2), 1.0).margin(np.zeros((1, 2))) == (float("inf"), -1)
