"""The Autograd page: typing, errors, the plot's point and tangent, the graph and the backward stepper."""

import itertools

import numpy as np
import pytest
from PySide6.QtCore import Qt


@pytest.fixture
def page(main_window, qtbot):
    main_window.show_page("autogradPage")
    p = main_window.page("autogradPage")
    qtbot.waitExposed(p)
    return p


def type_expression(qtbot, page, text):
    page.input.clear()
    qtbot.keyClicks(page.input, text)


def test_page_is_registered_with_its_title(main_window):
    p = main_window.page("autogradPage")
    assert p.title == "Autograd"
    assert p.findChild(type(p.input), "expressionInput") is p.input


def test_backward_stepper_walks_the_chain_rule_for_x_plus_2_squared(page, qtbot, tmp_path):
    page.load_example(1)  # (x + 2)**2 at x = 1
    assert page.expression.text == "(x + 2)**2" and page.spins["x"].value() == 1.0
    assert page.steps_done == 0 and page.graph_view.revealed == set()
    labels = []
    for _ in range(3):
        qtbot.mouseClick(page.step_button, Qt.LeftButton)
        labels.append(page.current_node.label)
        assert page.graph_view.current == page.current_node.index
    assert labels == ["y", "g", "x"]
    text = page.chain_text.toPlainText()
    assert "dy/dg = 2·g = 2 × 3 = 6" in text
    assert "dy/dx = dy/dg × dg/dx = 6 × 1 = 6" in text
    assert not page.step_button.isEnabled()  # nothing left to compute
    x_node = page.current_node
    g_node = page.graph.nodes[x_node.consumers[0]]
    assert page.graph_view.edge_labels == {(x_node.index, g_node.index): "×1"}
    page.grab().save(str(tmp_path / "autograd.png"))
    qtbot.mouseClick(page.reset_button, Qt.LeftButton)
    assert page.steps_done == 0 and page.graph_view.revealed == set()


def test_typing_updates_live_and_derivative_is_printed(page, qtbot):
    type_expression(qtbot, page, "x^2 + 3x + 5")
    qtbot.waitUntil(lambda: "dy/dx = 2*x + 3" in page.derivative_label.text(), timeout=3000)
    page.spins["x"].setValue(2.0)
    readout = page.readout.text()
    assert "y = 15" in readout and "dy/dx = 7" in readout
    xs, ys = page.tangent.getData()
    assert (ys[1] - ys[0]) / (xs[1] - xs[0]) == pytest.approx(7.0)
    assert np.interp(2.0, *page.f_curve.getData()) == pytest.approx(15.0, abs=0.01)
    assert np.interp(2.0, *page.df_curve.getData()) == pytest.approx(7.0, abs=1e-6)
    qtbot.mouseClick(page.run_button, Qt.LeftButton)
    assert "dy/dx = 7" in page.chain_text.toPlainText()


def test_dragging_the_x_line_moves_the_point(page, qtbot):
    page.load_example(1)
    page.x_line.setValue(3.0)
    assert page.spins["x"].value() == 3.0
    assert page.graph.value == 25.0
    assert page.graph.gradient() == {"x": 10.0}
    assert "dy/dx = 10" in page.readout.text()


@pytest.mark.parametrize(
    "bad,position", [("__import__('os')", 1), ("x.__class__", 2), ("(x + ", 6), ("9**9**9**9", 5), ("zz + 1", 1)]
)
def test_bad_input_shows_error_with_position_and_keeps_the_last_good_expression(page, qtbot, bad, position):
    page.load_example(0)
    before = page.derivative_label.text()
    type_expression(qtbot, page, bad)
    qtbot.waitUntil(lambda: page.error.isVisible(), timeout=3000)
    assert f"at position {position}" in page.error_text
    assert page.expression.text == "x**2 + 3*x + 5"
    assert page.derivative_label.text() == before
    type_expression(qtbot, page, "x**3")
    qtbot.waitUntil(lambda: not page.error.isVisible(), timeout=3000)
    assert "dy/dx = 3*x**2" in page.derivative_label.text()


def test_neuron_example_gets_a_spin_box_per_variable_and_all_gradients(page, qtbot):
    qtbot.mouseClick(page.example_buttons[2], Qt.LeftButton)
    assert set(page.spins) == {"w", "x", "b"}
    assert page.plot_variable == "x"
    qtbot.mouseClick(page.run_button, Qt.LeftButton)
    s = 1 / (1 + np.exp(-1.0))  # w=2, x=1, b=-1
    grads = page.graph.gradient()
    assert grads["w"] == pytest.approx(s * (1 - s))
    assert grads["x"] == pytest.approx(2 * s * (1 - s))
    variables = {n.index for n in page.graph.nodes if n.kind == "variable"}
    assert variables <= page.graph_view.revealed
    page.spins["w"].setValue(-1.0)  # another variable: curve changes, point stays
    assert page.spins["x"].value() == 1.0
    s2 = 1 / (1 + np.exp(2.0))  # z = -1*1 - 1 = -2
    assert page.graph.gradient()["x"] == pytest.approx(-1 * s2 * (1 - s2))


@pytest.mark.parametrize("text", ["sigmoid(w*x + b)", "x**2 + 3*x + 5", "exp(-x^2/2)*sin(3x) + log(x^2 + 1)/x"])
def test_graph_boxes_fit_and_do_not_overlap(page, qtbot, text):
    page.set_expression(text)
    view = page.graph_view
    rects = [view.node_rect(n.index) for n in page.graph.nodes]
    bounds = view.rect().toRectF().adjusted(-0.5, -0.5, 0.5, 0.5)
    assert all(bounds.contains(r) for r in rects)
    assert not any(a.intersects(b) for a, b in itertools.combinations(rects, 2))


def test_undefined_point_is_explained_not_crashing(page, qtbot):
    page.set_expression("log(x)")
    page.spins["x"].setValue(-1.0)
    assert "log(x) is undefined" in page.readout.text()
    page.spins["x"].setValue(1.0)
    assert "dy/dx = 1" in page.readout.text()


def test_big_graph_scrolls_to_the_box_being_computed(page, qtbot):
    page.set_expression("+".join(["sin(x)"] * 12))
    view, scroll = page.graph_view, page.graph_scroll
    qtbot.waitUntil(lambda: view.height() > scroll.viewport().height(), timeout=3000)  # too tall to fit: scrolls
    page.step_backward()
    page.step_backward()

    def current_box_visible():
        r = view.node_rect(page.current_node.index).toRect()
        top_left = view.mapTo(scroll.viewport(), r.topLeft())
        return scroll.viewport().rect().contains(top_left) and scroll.viewport().rect().contains(
            view.mapTo(scroll.viewport(), r.bottomRight())
        )

    qtbot.waitUntil(current_box_visible, timeout=3000)
    assert scroll.verticalScrollBar().value() > 0
