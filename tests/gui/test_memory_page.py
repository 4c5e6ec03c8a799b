"""The Memory lab page, driven through its widgets on real MNIST."""

import numpy as np
import pytest
from PySide6.QtCore import Qt

from nnstudio.core.data import cached_arrays

SMALL_NET = 3  # "784 → 128 → 10" in the network list


@pytest.fixture
def page(main_window, mnist, qtbot):
    page = main_window.page("memoryPage")
    main_window.show_page("memoryPage")
    page.network_box.setCurrentIndex(SMALL_NET)
    page.segments_spin.setValue(2)
    page.batch_spin.setValue(128)
    return page


def _wait_idle(qtbot, page, timeout=120_000):
    qtbot.waitUntil(lambda: not page.worker.busy, timeout=timeout)
    qtbot.wait(50)  # let the queued result signals arrive


def test_three_ways_side_by_side(page, qtbot):
    assert page.title == "Memory lab"
    page.high_scale_check.setChecked(True)  # watch the scaler back off from 2**30
    qtbot.mouseClick(page.run_button, Qt.LeftButton)
    assert not page.run_button.isEnabled() and page.stop_button.isEnabled()
    _wait_idle(qtbot, page)
    assert set(page.runs) == {"baseline", "checkpoint", "mixed"}, page.status.text()
    # the lab trained on the one float copy of MNIST that Build & Train uses too
    studio = page.window().page("studioPage")
    qtbot.waitUntil(lambda: studio.arrays is not None, timeout=20_000)
    (x_train, _), _ = page._load_data()
    assert x_train is studio.arrays.x_train is cached_arrays("mnist", page.context.data_dir).x_train
    base, ck, mixed = (page.runs[k] for k in ("baseline", "checkpoint", "mixed"))
    # every column of the table is filled with numbers from the runs
    for col in range(3):
        for row in range(page.table.rowCount() - 1):
            assert page.table.item(row, col).text() not in ("", "—")
    assert page.table.item(0, 0).text().startswith(f"{base.profile.measured_peak / 2**20:.1f} MiB")
    # memory: accounting agrees with tracemalloc; mixed keeps half the activation bytes
    for run in (base, ck, mixed):
        assert abs(run.profile.agreement - 1) < 0.1
        x, _ = page.timelines[run.kind].fills["activations"].getData()
        assert len(x) == len(run.profile.timeline.labels) > 5
    assert base.profile.activation_peak / mixed.profile.activation_peak >= 1.9
    # accuracy after one epoch on 10 000 images, the same for all three within a point
    accs = [r.test_accuracy[-1] for r in (base, ck, mixed)]
    assert min(accs) > 0.85 and max(accs) - min(accs) < 0.01
    assert ck.test_accuracy == base.test_accuracy  # checkpointing changes nothing numerically
    # the loss scale started at 2**30, overflowed, halved, then held
    assert mixed.skipped_steps > 0 and mixed.scale_history[-1] < 2.0**30
    sx, _ = page.scale_curve.getData()
    assert len(sx) == len(mixed.scale_history)
    mx, _ = page.skip_marks.getData()
    assert len(mx) == mixed.skipped_steps
    # the explanation quotes this machine's numbers, not the course's
    text = page.explain.text()
    assert f"{base.profile.activation_peak / mixed.profile.activation_peak:.1f}" in text
    assert "NumPy has no fp16 arithmetic" in text
    # and the resident toggle redraws with weights etc. included
    page.resident_check.setChecked(True)
    _, top = page.timelines["baseline"].fills["parameters"].getData()
    assert len(top) and top[0] > 0
    page.grab().save("/tmp/memory-page-test.png")


def test_budget_tab_finds_batches_within_the_budget(page, qtbot):
    page.tabs.setCurrentIndex(1)
    _wait_idle(qtbot, page)
    assert page.curve is not None and page.budget_slider.isEnabled()
    page.budget_slider.setValue(400)
    qtbot.waitUntil(lambda: page.worker.busy or page.search_result is not None, timeout=5000)
    _wait_idle(qtbot, page)
    qtbot.waitUntil(lambda: page.search_result is not None, timeout=60_000)
    res = page.search_result
    budget = page.budget()
    assert res["budget"] == budget
    for kind in ("baseline", "checkpoint", "mixed"):
        r = res[kind]
        assert not isinstance(r, str), r
        assert r.peak <= budget and all(p <= budget for _, p in r.trials)
        assert page.found_lines[kind].isVisible() and page.found_lines[kind].value() == r.batch_size
    assert res["mixed"].batch_size > res["baseline"].batch_size
    assert f"{res['baseline'].batch_size:,}" in page.search_label.text()
    page.grab().save("/tmp/memory-page-budget-test.png")


def test_stop_and_shutdown_end_the_work(page, qtbot):
    page.network_box.setCurrentIndex(0)
    page.images_box.setCurrentIndex(1)
    qtbot.mouseClick(page.run_button, Qt.LeftButton)
    qtbot.wait(300)
    qtbot.mouseClick(page.stop_button, Qt.LeftButton)
    _wait_idle(qtbot, page, timeout=60_000)
    assert page.run_button.isEnabled()
    page.shutdown()
    assert not page.worker.busy


def test_missing_data_is_explained(main_window, qtbot, tmp_path):
    page = main_window.page("memoryPage")
    page.context.data_dir = str(tmp_path)  # an empty folder: no MNIST there
    qtbot.mouseClick(page.run_button, Qt.LeftButton)
    assert "MNIST is needed" in page.status.text()
    assert not page.worker.busy and page.run_button.isEnabled()
    assert np.all([page.table.item(r, c) is None for r in range(page.table.rowCount()) for c in range(3)])
