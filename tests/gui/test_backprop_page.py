"""The backprop page: step through a full training step on a tiny and on a 784-128-10 network."""

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton

from nnstudio.core.lessons.backprop import fmt, tiny_problem, trace_step
from nnstudio.core.nn import Dense, ReLU, Sequential
from nnstudio.gui.pages.backprop_page import BackpropPage


@pytest.fixture
def page(make_page):
    return make_page(BackpropPage, (1280, 760))


def choose(combo, key):
    index = combo.findData(key)
    assert index >= 0, key
    combo.setCurrentIndex(index)


def step_label(page):
    return page.findChild(type(page.step_label), "backpropStepLabel").text()


def walk_with_next_button(qtbot, page):
    """Click Next until the end; return the step kinds and labels seen."""
    next_button = page.findChild(QPushButton, "backpropNextButton")
    seen = [(page.current_step().kind, step_label(page))]
    while next_button.isEnabled():
        qtbot.mouseClick(next_button, Qt.LeftButton)
        seen.append((page.current_step().kind, step_label(page)))
    return seen


def test_full_cycle_on_xor_with_buttons_and_keys(qtbot, page):
    choose(page.network_combo, "xor")
    assert page.view_stack.currentWidget() is page.diagram
    trace = page.trace
    assert trace.sizes == [2, 2, 1]
    # The trace the page shows is the engine's step for the chosen point (lr 1, SGD).
    prob = tiny_problem("xor")
    expected = trace_step(prob.net, prob.x[1], prob.y[1], lr=1.0, loss="mse")
    for got, want in zip(trace.gradients(), expected.gradients()):
        np.testing.assert_allclose(got, want, rtol=1e-12)

    seen = walk_with_next_button(qtbot, page)
    kinds = [k for k, _ in seen]
    assert kinds == ["input"] + ["forward"] * 4 + ["loss"] + ["backward"] * 4 + ["update"] * 2 + ["after"]
    labels = [label for _, label in seen]
    assert len(set(labels)) == len(labels)  # the label follows every click (its wording: core tests)
    assert labels[0].startswith("Step 1 of 13") and labels[-1].startswith("Step 13 of 13")
    assert trace.verdict in page.details.toPlainText()
    assert not page.next_button.isEnabled()

    # Previous button and the arrow keys.
    qtbot.mouseClick(page.findChild(QPushButton, "backpropPrevButton"), Qt.LeftButton)
    assert page.step == 11
    page.setFocus()
    qtbot.keyClick(page, Qt.Key_Left)
    assert page.step == 10
    qtbot.keyClick(page, Qt.Key_Right)
    qtbot.keyClick(page, Qt.Key_Right)
    assert page.step == 12
    qtbot.keyClick(page, Qt.Key_Home)
    assert page.step == 0
    qtbot.mouseClick(page.run_button, Qt.LeftButton)
    assert page.step == 12

    # Repeat: the next step starts from the updated weights, with the loss the last one ended at.
    qtbot.mouseClick(page.repeat_button, Qt.LeftButton)
    assert page.step == 0 and page.trace.t == 2
    assert page.trace.loss == pytest.approx(trace.loss_after, rel=1e-12)
    qtbot.mouseClick(page.reset_button, Qt.LeftButton)
    assert page.trace.t == 1 and page.trace.loss == pytest.approx(trace.loss, rel=1e-12)


def test_diagram_shows_gradients_only_from_the_backward_pass(qtbot, page):
    choose(page.network_combo, "toy")
    trace = page.trace
    assert trace.sizes == [2, 3, 2]
    page.go_to(3)  # forward, layer 2
    state = page.diagram.state
    assert all(g is None for g in state.edge_grads)
    np.testing.assert_array_equal(state.values[1], trace.layers[1].y)  # hidden a (after ReLU)
    assert state.values[2] is not None
    first_backward = [s.kind for s in trace.steps].index("backward")
    page.go_to(first_backward)
    state = page.diagram.state
    np.testing.assert_array_equal(state.edge_grads[1], trace.dense(1).dW)
    assert state.edge_grads[0] is None
    page.run_to_end()
    state = page.diagram.state
    np.testing.assert_array_equal(state.weights[0], trace.update(0, "W").after)


def test_clicking_an_edge_writes_its_chain_rule(qtbot, page):
    choose(page.network_combo, "xor")
    page.run_to_end()
    diagram = page.diagram
    a, c = diagram.node_pos(0, 1), diagram.node_pos(1, 0)  # x2 -> hidden neuron 0
    mid = a + (c - a) * 0.3  # not the middle: the two crossing edges meet there
    assert diagram.edge_at(mid) == (0, 1, 0)
    qtbot.mouseClick(diagram, Qt.LeftButton, pos=mid.toPoint())
    assert page.selected == (0, 1, 0)
    assert (page.weight_block.currentIndex(), page.weight_from.value(), page.weight_to.value()) == (0, 1, 0)
    assert page.trace.chain_rule(0, 1, 0).text() in page.chain_label.toPlainText()


def test_full_cycle_on_784_128_10_studio_model(qtbot, page):
    net = Sequential.mlp([784, 128, 10], seed=3)
    page.context.set_model(net, dataset=None)
    choose(page.network_combo, "studio")
    choose(page.source_combo, "random")
    assert page.view_stack.currentWidget() is page.matrix_view
    trace = page.trace
    assert trace.sizes == [784, 128, 10]
    page.setFocus()
    labels = [step_label(page)]
    for _ in range(len(trace.steps) - 1):
        qtbot.keyClick(page, Qt.Key_Right)
        labels.append(step_label(page))
        view = page.matrix_view
        assert view.input_image.image.shape == (28, 28)
        b = page.walk.view_block()
        assert view.matrix_image.image.shape == (trace.sizes[b + 1], trace.sizes[b])
        if b == 0:
            assert view.neuron_image.image.shape == (28, 28)  # a hidden neuron's weights as an image
    assert len(labels) == 11 and labels[-1].startswith("Step 11 of 11")
    assert [s.kind for s in trace.steps] == (
        ["input"] + ["forward"] * 3 + ["loss"] + ["backward"] * 3 + ["update"] * 2 + ["after"]
    )
    # Gradients shown are the engine's, and the user's model is untouched by the trace.
    engine = trace_step(net, page._sample_x, page._sample_y, lr=page.lr_spin.value())
    for got, want in zip(trace.gradients(), engine.gradients()):
        np.testing.assert_allclose(got, want, rtol=1e-12)
    assert page.context.model is net
    np.testing.assert_array_equal(net.layers[0].W.data, Sequential.mlp([784, 128, 10], seed=3).layers[0].W.data)
    # Neuron picker: pick hidden neuron 17, input pixel 300.
    page.go_to(7)  # backward, layer 1: dL/dW
    assert page.current_step().kind == "backward" and page.trace.layers[page.current_step().layer].kind == "Dense"
    page.weight_block.setCurrentIndex(0)
    page.weight_to.setValue(17)
    page.weight_from.setValue(300)
    assert page.selected == (0, 300, 17)
    np.testing.assert_array_equal(page.matrix_view.neuron_image.image.reshape(-1), trace.dense(0).dW[:, 17])
    assert trace.chain_rule(0, 300, 17).text() in page.chain_label.toPlainText()


def test_mnist_sample_with_adam_shows_state_and_bias_correction(qtbot, page, mnist):
    page.context.data_dir = None  # found through NNSTUDIO_DATA_DIR, like the fixture
    choose(page.network_combo, "mnist")
    choose(page.source_combo, "test")
    page.sample_spin.setValue(7)
    choose(page.optimizer_combo, "adam")
    assert page.lr_spin.value() == pytest.approx(0.001)
    trace = page.trace
    assert int(trace.target) == int(mnist.y_test[7])
    np.testing.assert_allclose(trace.layers[0].x, mnist.x_test[7].reshape(-1) / 255.0, rtol=1e-6)
    assert "label" in page.info_label.text()
    assert trace.optimizer["optimizer"] == "Adam"
    page.run_to_end()
    assert trace.verdict in page.details.toPlainText()


def test_studio_choice_follows_the_context(qtbot, page):
    item = page.network_combo.model().item(page.network_combo.findData("studio"))
    assert not item.isEnabled()  # no model yet
    page.context.set_model(Sequential([ReLU(), Dense(2, 2)]))
    assert not item.isEnabled() and "cannot be traced" in item.toolTip()
    page.context.set_model(Sequential.mlp([2, 4, 2], seed=1))
    assert item.isEnabled()
    choose(page.network_combo, "studio")
    assert page.trace.sizes == [2, 4, 2] and page.view_stack.currentWidget() is page.diagram
    # A new model mid-walk-through is announced, not swapped in under the learner's feet.
    page.go_to(4)
    page.context.set_model(Sequential.mlp([2, 5, 2], seed=2))
    assert page.step == 4 and page.trace.sizes == [2, 4, 2]
    assert "Reset" in page.info_label.text()
    page.reset()
    assert page.trace.sizes == [2, 5, 2]


def test_page_is_registered_in_the_main_window(main_window):
    page = main_window.page("backpropPage")
    assert page.title == "Backprop"
    main_window.show_page("backpropPage")
    assert main_window.stack.currentWidget() is page


def test_hover_shows_values_and_arrow_keys_work_from_a_button(qtbot, page):
    from PySide6.QtWidgets import QToolTip

    choose(page.network_combo, "toy")
    page.run_to_end()
    diagram = page.diagram
    centre = diagram.node_pos(1, 1).toPoint()
    qtbot.mouseMove(diagram, centre)
    qtbot.waitUntil(lambda: QToolTip.isVisible() and "layer 1, neuron 1" in QToolTip.text(), timeout=2000)
    assert f"∂L/∂z = {fmt(float(page.trace.dense(0).grad_y[1]))}" in QToolTip.text()
    # Focus on a button inside the page: the arrow keys still step.
    page.activateWindow()
    page.reset_steps()
    page.next_button.setFocus()
    qtbot.keyClick(page.next_button, Qt.Key_Right)
    assert page.step == 1
    qtbot.keyClick(page.next_button, Qt.Key_End)
    assert page.step == page.n_steps - 1


def test_clicking_the_heatmaps_picks_weights(qtbot, page):
    page.context.set_model(Sequential.mlp([784, 128, 10], seed=3))
    choose(page.network_combo, "studio")
    choose(page.source_combo, "random")
    page.go_to(1)  # forward, layer 1: the view shows layer 1
    page._pick_pixel(10, 12)  # input image row 10, column 12 = pixel 292
    assert page.selected[:2] == (0, 292)
    page._pick_matrix(40, 500)  # matrix row = neuron 40, column = input 500
    assert page.selected == (0, 500, 40)
    page.go_to(3)  # forward, layer 2: hidden -> output
    assert page.selected[0] == 1
    page._pick_input(0, 77)  # the strip of hidden inputs: column = hidden neuron
    assert page.selected[:2] == (1, 77)
    page._pick_pixel(3, 3)  # the input image does not pick layer-2 weights
    assert page.selected[:2] == (1, 77)
    page.go_to(1)  # back in layer 1: its pick was remembered
    assert page.selected == (0, 500, 40)


def test_a_studio_model_that_does_not_fit_the_data_is_explained(qtbot, page, mnist):
    page.context.set_model(Sequential.mlp([784, 16, 3], seed=0))  # MNIST labels go up to 9
    choose(page.network_combo, "studio")
    choose(page.source_combo, "test")
    page.sample_spin.setValue(0)  # test image 0 is a 7
    assert page.source_combo.currentData() == "test"  # MNIST is there (the fixture checked)
    assert page.trace is None
    assert "label 7 is not one of the 3 outputs" in page.info_label.text()
    assert not page.next_button.isEnabled()
    choose(page.source_combo, "random")
    assert page.trace is not None and page.next_button.isEnabled()
