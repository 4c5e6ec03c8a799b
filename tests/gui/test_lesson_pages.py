"""The three first lessons: perceptron, activation functions and the 2-D playground."""

import json

import numpy as np
import pytest
from PySide6.QtCore import QPointF, QSettings, Qt

from nnstudio.gui.context import AppContext


@pytest.fixture
def context(qapp, tmp_path):
    import nnstudio.gui  # noqa: F401  (pyqtgraph options)

    return AppContext(QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat))


def _show(qtbot, page):
    qtbot.addWidget(page)
    page.resize(1200, 800)
    page.show()
    qtbot.waitExposed(page)
    return page


def _click_plot(qtbot, plot, x, y, button=Qt.LeftButton, modifier=Qt.NoModifier):
    vb = plot.getPlotItem().vb
    pos = plot.mapFromScene(vb.mapViewToScene(QPointF(x, y)))
    qtbot.mouseClick(plot.viewport(), button, modifier, pos)


# -- perceptron ------------------------------------------------------------------------------
@pytest.fixture
def perceptron(qtbot, context):
    from nnstudio.gui.pages.perceptron_page import PerceptronPage

    return _show(qtbot, PerceptronPage(context))


def test_beach_sum_and_decision_follow_inputs_and_sliders(perceptron):
    p = perceptron
    assert p.objectName() == "perceptronPage" and p.title == "Perceptron"
    p.sunny_check.setChecked(True)
    p.weekend_check.setChecked(False)  # 1*0.6 + 0*0.4 = 0.6 > 0.5
    assert "0.60" in p.sum_label.text() and "Go to the beach" in p.decision_label.text()
    p.sunny_check.setChecked(False)
    p.weekend_check.setChecked(True)  # 0.4 <= 0.5
    assert "0.40" in p.sum_label.text() and "Stay" in p.decision_label.text()
    p.w_weekend.setValue(9)  # weekend weight 0.9 -> 0.9 > 0.5
    assert "0.90" in p.sum_label.text() and "Go to the beach" in p.decision_label.text()
    p.threshold_slider.setValue(10)  # threshold 1.0 -> stay
    assert "Stay" in p.decision_label.text()


def test_perceptron_learns_and_gate_step_by_step(perceptron, qtbot):
    p = perceptron
    p.problem_combo.setCurrentText("AND")
    lines = []
    for _ in range(40):
        qtbot.mouseClick(p.step_button, Qt.LeftButton)
        lines.append(tuple(p.line.getData()[1]) if p.line.getData()[1] is not None else None)
        if p.learner.converged:
            break
    assert p.learner.converged
    assert "Converged" in p.status_label.text()
    assert len(set(lines)) > 2, "the decision line should move as the rule updates the weights"
    np.testing.assert_array_equal(p.learner.predict(p.learner.x), [0, 0, 0, 1])


def test_xor_does_not_converge_then_2_2_1_solves_it(perceptron, qtbot, tmp_path):
    p = perceptron
    p.problem_combo.setCurrentText("XOR")
    for _ in range(20):
        qtbot.mouseClick(p.epoch_button, Qt.LeftButton)
    assert not p.learner.converged and p.learner.epoch == 20
    assert "Not converged" in p.status_label.text() and "no straight line" in p.hint_label.text()
    assert p.xor_button.isVisible()
    heights = p.mistake_bars.opts["height"]
    assert len(heights) == 20 and min(heights) > 0  # a mistake in every single epoch
    qtbot.mouseClick(p.xor_button, Qt.LeftButton)
    assert p.xor_solution is not None
    np.testing.assert_array_equal(p.xor_solution.predict(p.learner.x), [0, 1, 1, 0])
    for curve in p.hidden_curves:  # both hidden lines are drawn
        assert len(curve.getData()[0]) == 2
    assert "2-2-1" in p.status_label.text()
    p.grab().save(str(tmp_path / "perceptron.png"))


def test_clicked_points_are_learned(perceptron, qtbot):
    p = perceptron
    p.problem_combo.setCurrentText("Your points")
    _click_plot(qtbot, p.plot, 1.2, 1.2)  # blue (1)
    _click_plot(qtbot, p.plot, 1.0, 1.3)  # blue
    _click_plot(qtbot, p.plot, -0.2, 0.0, modifier=Qt.ShiftModifier)  # orange (0)
    _click_plot(qtbot, p.plot, 0.1, -0.3, button=Qt.RightButton)  # orange
    assert [pt[2] for pt in p.user_points] == [1, 1, 0, 0]
    assert p.user_points[0][0] == pytest.approx(1.2, abs=0.05)
    for _ in range(30):
        qtbot.mouseClick(p.epoch_button, Qt.LeftButton)
        if p.learner.converged:
            break
    assert p.learner.converged and p.learner.accuracy() == 1.0
    qtbot.mouseClick(p.clear_button, Qt.LeftButton)
    assert p.user_points == [] and len(p.learner.x) == 0
    qtbot.mouseClick(p.step_button, Qt.LeftButton)  # no points: a message, no crash
    assert "Add some points" in p.status_label.text()


# -- activations -----------------------------------------------------------------------------
@pytest.fixture
def activations(qtbot, context):
    from nnstudio.gui.pages.activations_page import ActivationsPage

    return _show(qtbot, ActivationsPage(context))


def test_each_activation_plots_with_derivative_and_flat_ranges(activations, tmp_path):
    p = activations
    assert p.objectName() == "activationsPage" and p.list.count() == 8
    seen_norms = {}
    for row in range(p.list.count()):
        p.list.setCurrentRow(row)
        xs, ys = p.fn_curve.getData()
        _, ds = p.grad_curve.getData()
        assert len(xs) == 601 and np.isfinite(ys).all() and np.isfinite(ds).all()
        seen_norms[p.name] = p.current_norms.copy()
        counts, _ = p.histogram_counts["after"]
        assert counts.sum() == 4000
    assert set(seen_norms) == {"sigmoid", "tanh", "relu", "leaky_relu", "elu", "softplus", "gelu", "swish"}
    p.list.setCurrentRow(0)  # sigmoid
    assert p.name == "sigmoid" and len(p.flat_regions) == 2
    lo, hi = p.flat_regions[1].getRegion()
    assert lo == pytest.approx(2.89, abs=0.02) and hi == 6.0
    assert "vanishes" in p.grad_note.text()
    assert seen_norms["sigmoid"][0] < 1e-3 * seen_norms["sigmoid"][-1]
    text = p.show_readout(0.0)
    assert "f(x) = +0.5000" in text and "+0.2500" in text
    assert "flat" in p.show_readout(-5.0)
    _, edges = p.histogram_counts["after"]
    assert edges[0] >= 0 and edges[-1] <= 1  # sigmoid squashes the batch into (0, 1)
    p.list.setCurrentRow(2)  # relu
    assert p.name == "relu" and len(p.flat_regions) == 1
    assert "exactly 0" in p.hist_note.text()
    p.grab().save(str(tmp_path / "activations.png"))


def test_hover_moves_the_readout(activations, qtbot):
    p = activations
    p.list.setCurrentRow(1)  # tanh
    vb = p.fn_plot.getPlotItem().vb
    scene_pos = vb.mapViewToScene(QPointF(1.0, 0.0))
    p._on_mouse(scene_pos)
    assert "x = +1.00" in p.readout.text() and f"{np.tanh(1.0):+.4f}" in p.readout.text()


# -- playground --------------------------------------------------------------------------------
@pytest.fixture
def playground(qtbot, context):
    from nnstudio.gui.pages.playground_page import PlaygroundPage

    page = _show(qtbot, PlaygroundPage(context))
    yield page
    page.shutdown()


def test_playground_trains_and_redraws_while_playing(playground, qtbot, tmp_path):
    p = playground
    assert p.objectName() == "playgroundPage"
    p.layer_editor.add_layer()  # 4 hidden layers of 8
    assert p.playground.config.hidden == [8, 8, 8, 8]
    first_output = p.heatmap.image.image.copy()
    frames = p.frames
    qtbot.mouseClick(p.play_button, Qt.LeftButton)
    assert p.running and "Pause" in p.play_button.text()
    qtbot.waitUntil(lambda: p.frames >= frames + 5 and p.playground.epoch >= 5, timeout=10000)
    qtbot.mouseClick(p.play_button, Qt.LeftButton)
    assert not p.running
    assert p.heatmap.image.image.shape == (80, 80, 4)
    assert not np.array_equal(p.heatmap.image.image, first_output)
    assert len(p.playground.history["train_loss"]) > 2
    assert p.playground.history["train_loss"][-1] < p.playground.history["train_loss"][0]
    # every neuron has its map: 4 inputs + 4x8 hidden + 1 output
    assert sum(len(c) for c in p.diagram._images) == 4 + 32 + 1
    p.diagram.repaint()
    # hovering the middle of a weight line tells its value
    x1, y1, x2, y2 = p.diagram._segments[0]
    text = p.diagram.describe_at(QPointF((x1 + x2) / 2, (y1 + y2) / 2))
    w = float(p.playground.weights()[0][0, 0])
    assert text.startswith(f"weight {w:+.3f}")
    # clicking a neuron shows its map in the big view; clicking it again goes back to the output
    node = p.diagram._nodes[2][3]
    qtbot.mouseClick(p.diagram, Qt.LeftButton, Qt.NoModifier, node.center().toPoint())
    assert p.focus_neuron == (2, 3) and "Neuron 4 of hidden layer 2" in p.output_title.text()
    qtbot.mouseClick(p.diagram, Qt.LeftButton, Qt.NoModifier, node.center().toPoint())
    assert p.focus_neuron is None and "Output" in p.output_title.text()
    epoch = p.playground.epoch
    qtbot.mouseClick(p.step_button, Qt.LeftButton)
    assert p.playground.epoch == pytest.approx(epoch + 1, abs=0.1)
    p.grab().save(str(tmp_path / "playground.png"))


def test_playground_controls_change_the_state(playground, qtbot):
    p = playground
    p.dataset_combo.setCurrentIndex(p.dataset_combo.findData("xor"))
    assert p.playground.config.dataset == "xor"
    n_train = len(p.playground.x_train)
    p.split_slider.setValue(30)
    assert len(p.playground.x_test) == round(0.3 * 500) and len(p.playground.x_train) != n_train
    before = p.playground.data.x_train.copy()
    qtbot.mouseClick(p.regen_button, Qt.LeftButton)
    assert not np.array_equal(before, p.playground.data.x_train)
    p.feature_boxes["x1x2"].setChecked(True)
    assert p.playground.x_train.shape[1] == 5
    p.lr_combo.setCurrentIndex(p.lr_combo.findData(0.03))
    assert p.playground.optimizer.lr == pytest.approx(0.03)
    p.opt_combo.setCurrentIndex(p.opt_combo.findData("sgd"))
    assert p.playground.optimizer.kind == "SGD"
    p.batch_spin.setValue(32)
    assert p.playground.config.batch_size == 32
    p.reg_combo.setCurrentIndex(p.reg_combo.findData("l2"))
    p.reg_rate_combo.setCurrentIndex(p.reg_rate_combo.findData(0.001))
    assert (p.playground.config.regularization, p.playground.config.reg_rate) == ("l2", 0.001)
    p.discrete_check.setChecked(True)
    colours = {tuple(c) for c in p.heatmap.image.image.reshape(-1, 4)}
    assert len(colours) <= 3  # two classes (and the exact boundary)
    p.test_check.setChecked(True)
    assert p.heatmap.test_points.isVisible()
    p.dataset_combo.setCurrentIndex(p.dataset_combo.findData("bumps"))
    assert p.playground.task == "regression" and p.playground.net.output_size == 1


def test_unchecking_every_feature_is_refused(playground):
    p = playground
    for _key, box in p.feature_boxes.items():
        box.setChecked(False)
    assert p.playground.config.features  # never empty
    assert "at least one input feature" in p.error_label.text()
    assert any(b.isChecked() for b in p.feature_boxes.values())


def test_playground_saves_and_opens(playground, qtbot, tmp_path):
    p = playground
    p.dataset_combo.setCurrentIndex(p.dataset_combo.findData("moons"))
    p.noise_slider.setValue(25)
    p.layer_editor.remove_layer()
    p.step()
    path = tmp_path / "lesson.json"
    assert p.save_to(str(path))
    saved_weights = p.playground.net.get_weights()
    qtbot.mouseClick(p.reset_button, Qt.LeftButton)
    p.dataset_combo.setCurrentIndex(p.dataset_combo.findData("circle"))
    assert p.open_from(str(path))
    assert p.dataset_combo.currentData() == "moons" and p.noise_slider.value() == 25
    assert p.layer_editor.sizes() == [8, 8]
    for a, b in zip(saved_weights, p.playground.net.get_weights()):
        np.testing.assert_allclose(a, b)
    # a damaged file: a clear message and nothing changes
    bad = tmp_path / "bad.json"
    d = json.loads(path.read_text())
    d["config"]["hidden"] = [8, 99]
    bad.write_text(json.dumps(d))
    assert not p.open_from(str(bad))
    assert "Could not open" in p.error_label.text() and "16 neurons" in p.error_label.text()
    assert p.playground.config.dataset == "moons"


def test_pages_are_registered():
    from nnstudio.gui.pages import PAGES

    for entry in [
        ("nnstudio.gui.pages.perceptron_page", "PerceptronPage"),
        ("nnstudio.gui.pages.activations_page", "ActivationsPage"),
        ("nnstudio.gui.pages.playground_page", "PlaygroundPage"),
    ]:
        assert entry in PAGES
