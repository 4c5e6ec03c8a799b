import numpy as np
import pytest

from nnstudio.core.data import toy


@pytest.mark.parametrize("name", toy.CLASSIFICATION_SETS)
def test_classification_sets_are_seeded_balanced_two_class(name):
    x, y = toy.generate(name, 300, noise=0.1, seed=5)
    x2, y2 = toy.generate(name, 300, noise=0.1, seed=5)
    x3, _ = toy.generate(name, 300, noise=0.1, seed=6)
    assert x.shape == (300, 2) and x.dtype == np.float32 and y.shape == (300,)
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)
    assert not np.array_equal(x, x3)
    assert set(np.unique(y)) == {0, 1}
    assert 0.4 < y.mean() < 0.6
    assert np.abs(x).max() < toy.DOMAIN + 1


def test_noise_moves_points():
    x0, _ = toy.generate("circle", 200, noise=0.0, seed=1)
    x1, _ = toy.generate("circle", 200, noise=0.5, seed=1)
    r0 = np.hypot(*x0.T)
    # without noise the inner disc and outer ring do not overlap
    assert r0[:100].max() < r0[100:].min()
    assert not np.allclose(x0, x1)


def test_xor_labels_follow_quadrants():
    x, y = toy.generate("xor", 400, noise=0.0, seed=0)
    np.testing.assert_array_equal(y, (x[:, 0] * x[:, 1] > 0).astype(int))


@pytest.mark.parametrize("name", toy.REGRESSION_SETS)
def test_regression_sets(name):
    x, y = toy.generate(name, 200, noise=0.0, seed=0)
    assert y.dtype == np.float32 and y.shape == (200,)
    assert y.min() >= -1 and y.max() <= 1
    np.testing.assert_allclose(y, np.clip(toy.regression_target(name, x), -1, 1), atol=1e-6)
    assert toy.task_of(name) == "regression"


def test_split_is_disjoint_and_seeded():
    d = toy.make_toy("moons", n=100, test_fraction=0.3, seed=2)
    assert len(d.x_train) == 70 and len(d.x_test) == 30
    all_pts = np.concatenate([d.x_train, d.x_test])
    assert len(np.unique(all_pts, axis=0)) == 100
    d2 = toy.make_toy("moons", n=100, test_fraction=0.3, seed=2)
    np.testing.assert_array_equal(d.x_test, d2.x_test)


def test_feature_expansion():
    x = np.array([[3.0, -2.0], [0.0, 6.0]], dtype=np.float32)
    f = toy.expand_features(x, ["x1", "x2", "x1sq", "x2sq", "x1x2", "sin_x1", "sin_x2"])
    assert f.shape == (2, 7)
    np.testing.assert_allclose(f[0], [0.5, -2 / 6, 9 / 36, 4 / 36, -6 / 36, np.sin(3), np.sin(-2)], rtol=1e-6)
    np.testing.assert_allclose(f[1, :2], [0, 1])
    with pytest.raises(ValueError, match="at least one"):
        toy.expand_features(x, [])
    with pytest.raises(ValueError, match="unknown feature"):
        toy.expand_features(x, ["x3"])


def test_bad_arguments_have_clear_messages():
    with pytest.raises(ValueError, match="unknown toy dataset"):
        toy.generate("donut")
    with pytest.raises(ValueError, match="noise"):
        toy.generate("circle", noise=2)
    with pytest.raises(ValueError, match="at least 4"):
        toy.generate("circle", n=2)


def test_grid_covers_domain():
    pts, coords = toy.grid(10)
    assert pts.shape == (100, 2)
    assert coords[0] > -toy.DOMAIN and coords[-1] < toy.DOMAIN
    # row-major with y increasing by row
    assert pts[0, 1] == pts[9, 1] and pts[10, 1] > pts[0, 1]
