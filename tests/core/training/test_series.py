"""A curve in a fixed memory budget: the trainer's loss history and the window's charts."""

import numpy as np
import pytest

from nnstudio.core.nn import Adam, Sequential
from nnstudio.core.training import DecimatedSeries, History, Trainer

from .test_trainer import blobs


def test_a_million_points_fit_in_the_budget_and_keep_the_curve():
    s = DecimatedSeries(1024)
    nbytes = s.nbytes
    x = np.arange(1, 1_000_001, dtype=np.float64)
    y = 3.0 - 2e-6 * x  # a steadily falling loss
    for i in range(0, len(x), 4096):
        s.extend(x[i : i + 4096], y[i : i + 4096])
    for v in range(1_000_001, 1_000_101):  # and the trainer's one-at-a-time path
        s.append(v, 3.0 - 2e-6 * v)
    sx, sy = s.view()
    assert len(s) <= 1024 and s.nbytes == nbytes and s.added == 1_000_100
    assert np.all(np.diff(sx) > 0) and sx[0] < 20_000 and sx[-1] == 1_000_100
    np.testing.assert_allclose(sy, 3.0 - 2e-6 * sx, rtol=1e-12)  # every merged point lies on the line
    # the newest points are at full resolution, older ones coarser (multi-resolution) ...
    assert np.all(np.diff(sx[-16:]) == 1) and np.diff(sx[:2])[0] > 1000
    # ... and every stretch of the session keeps points: the older half as well as the newest steps
    assert np.count_nonzero(sx < 500_000) >= 16 and np.count_nonzero((sx > 500_000) & (sx < 750_000)) >= 16


def test_a_jump_in_the_loss_survives_decimation_and_a_nan_stays_visible():
    s = DecimatedSeries(256)
    y = np.r_[np.full(5000, 0.1), np.full(5000, 2.3)]
    y[7000] = np.nan
    s.extend(np.arange(1, 10_001), y)
    sx, sy = s.view()
    finite = np.isfinite(sy)
    assert np.allclose(sy[finite & (sx < 4000)], 0.1) and np.allclose(sy[finite & (sx > 6000)], 2.3)
    assert np.isnan(sy).any()


def test_bad_capacity_is_refused():
    with pytest.raises(ValueError):
        DecimatedSeries(8)


def test_a_long_history_stays_bounded_and_round_trips_through_a_model_file_dict():
    x, y = blobs(600)
    net = Sequential.mlp([4, 16, 3], "relu", seed=0)
    history = History(capacity=16)
    t = Trainer(net, Adam(net.parameters(), lr=0.01), (x, y), batch_size=32, epochs=4, history=history)
    t.run()
    assert t.step_count == history.steps == 4 * t.batches_per_epoch == 76
    assert len(history.step_loss) <= 16 and history.step_index[-1] == 76
    d = history.to_dict()
    assert len(d["step_loss"]) == len(d["step_index"]) <= 16
    again = History.from_dict(d)
    assert again.steps == 76 and again.to_dict() == d
    # an old file: one loss per step, no index
    old = History.from_dict({"step_loss": [1.0, 0.5, 0.25], "epochs": []})
    assert old.steps == 3 and list(old.step_index) == [1, 2, 3] and "step_index" not in old.to_dict()
