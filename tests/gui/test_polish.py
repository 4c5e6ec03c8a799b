"""What a user sees on every page: glyphs the fonts have, texts that fit, one palette, keyboard use."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtGui import QFontInfo, QFontMetrics
from PySide6.QtWidgets import QAbstractButton, QLabel


def _missing_glyphs(widget, text: str) -> set[str]:
    fm = QFontMetrics(widget.font())
    return {c for c in text if not c.isspace() and not fm.inFontUcs4(ord(c))}


def test_every_button_and_label_uses_glyphs_its_font_has(main_window, qtbot):
    """No missing-glyph boxes (⏸ is in no bundled font): every visible text on every page, in every state
    a page starts in, and the play buttons once running."""
    missing = {}
    for page in main_window.pages:
        main_window.show_page(page.objectName())
        qtbot.wait(20)
        for w in page.findChildren(QAbstractButton) + page.findChildren(QLabel):
            text = w.text()
            if isinstance(w, QLabel) and w.textFormat() != 0 and "<" in text:
                continue  # rich text: checked through its plain form below
            bad = _missing_glyphs(w, text)
            if bad:
                missing[f"{page.objectName()}/{w.objectName() or text}"] = bad
    assert missing == {}
    for name in ("playgroundPage", "perceptronPage"):
        page = main_window.page(name)
        main_window.show_page(name)
        button = page.play_button
        button.click()
        assert "Pause" in button.text() and not button.icon().isNull()
        assert _missing_glyphs(button, button.text()) == set()
        button.click()
        assert "Play" in button.text()


# ------------------------------------------------------------------ Backprop
def test_backprop_shows_new_values_after_the_update_and_writes_b_for_the_bias(make_page, qtbot):
    from nnstudio.core.lessons import backprop_narration as narration
    from nnstudio.gui.pages.backprop_page import BackpropPage
    from nnstudio.gui.widgets.network_diagram import _segment_distance

    page = make_page(BackpropPage, size=(1115, 770))
    t = page.trace
    update = next(k for k, s in enumerate(t.steps) if s.kind == "update")
    page.go_to(update)
    text = page.details.toPlainText()
    assert "w ← w − lr·g" in text and "b ← b − lr·g" in text
    # every "←" is drawn in a proportional font that has the glyph (monospace fonts draw it half size)
    doc = page.details.document()
    cursor = doc.find("←")
    found = 0
    while not cursor.isNull():
        font = cursor.charFormat().font()
        assert not QFontInfo(font).fixedPitch() and QFontMetrics(font).inFontUcs4(ord("←"))
        found += 1
        cursor = doc.find("←", cursor)
    assert found >= 2

    page.run_to_end()
    state = page.diagram.state
    assert state.values[-1][0] == pytest.approx(float(t.output_after[0]))
    assert state.values[-1][0] != pytest.approx(float(t.output[0]))
    # one convention: the input the weight W[1, j] comes from is x₁ (0-based, like W's indices)
    assert state.input_names == ["x₀", "x₁"]
    page.select_weight(0, 1, 0)
    assert "from input x₁ to neuron 0" in page.chain_label.toPlainText()

    # the step title stays on one line (elided, the whole title in its tooltip)
    label = page.step_label
    assert label.text() == narration.step_label(page.walk)
    assert label.height() < 2 * label.fontMetrics().lineSpacing()
    assert label.fontMetrics().horizontalAdvance(label.shown_text()) <= label.contentsRect().width()
    assert label.toolTip() == label.text()

    # the "w" of the picked weight is not drawn where two edges cross (x₀→h1 crosses x₁→h0 at its middle)
    page.select_weight(0, 0, 1)
    diagram = page.diagram
    spot = diagram.weight_label_pos(0, 0, 1)
    others = [(diagram.node_pos(0, i), diagram.node_pos(1, j)) for i in range(2) for j in range(2) if (i, j) != (0, 1)]
    assert min(_segment_distance(spot, a, b) for a, b in others) >= 8


# ------------------------------------------------------------------ Perceptron
def test_perceptron_caption_names_both_shadings_and_the_margin_is_explained(make_page):
    from nnstudio.gui.pages.perceptron_page import PerceptronPage

    page = make_page(PerceptronPage)
    page.problem_combo.setCurrentText("AND")
    hint = page.hint_label.text()
    assert "blue-shaded side" in hint and "orange-shaded side" in hint
    while not page.learner.converged:
        page.run_epoch()
    d, i = page.learner.perceptron.margin(page.learner.x)
    text = page.hint_label.text()
    # AND from zero weights converges to a line through (1, 0): said, with the reason
    assert d == pytest.approx(0.0) and tuple(page.learner.x[i]) == (1.0, 0.0)
    assert "Margin: the closest point, (1, 0), is 0.00 from the line" in text and "<i>greater</i>" in text
    for x, y, label in ((0, 0, 0), (1, 1, 1), (0.2, 0.9, 1), (0.9, 0.1, 0)):
        page.add_point(x, y, label)
    while not page.learner.converged:
        page.run_epoch()
    d, _ = page.learner.perceptron.margin(page.learner.x)
    assert d == pytest.approx(0.3748, abs=1e-4)  # a positive margin: drawn as two dotted lines
    assert all(c.getData()[0] is not None and len(c.getData()[0]) == 2 for c in page.margin_lines)
    assert "is 0.37 from the line (dotted lines" in page.hint_label.text()


# ------------------------------------------------------------------ Autograd
def test_autograd_messages_are_separate_sentences_and_never_move_the_page(make_page, qtbot):
    from nnstudio.gui.pages.autograd_page import AutogradPage

    page = make_page(AutogradPage, size=(1115, 770))
    page.set_expression("(x + 2)**2")
    y_examples = page.example_buttons[0].mapTo(page, page.example_buttons[0].rect().topLeft()).y()
    page.input.setText("")
    page.apply_expression()
    text = page.error.text()
    assert page.error.isVisible()
    assert "Type an expression, for example x**2 + 3*x + 5." in text and "position" not in text
    assert ". <i>Still showing the last expression that worked.</i>" in text  # two sentences, not run together
    page.input.setText("(x + 2))")
    page.apply_expression()
    assert "Unmatched &#x27;)&#x27; at position 8." in page.error.text()
    qtbot.wait(10)
    # the error takes the derivative's slot of fixed height: nothing below it moves
    assert page.example_buttons[0].mapTo(page, page.example_buttons[0].rect().topLeft()).y() == y_examples
    assert page.error.heightForWidth(page.message_slot.width()) <= page.message_slot.height()
    page.set_expression("x**3")
    assert not page.error.isVisible() and page.derivative_label.isVisible()
    assert page.example_buttons[0].mapTo(page, page.example_buttons[0].rect().topLeft()).y() == y_examples


def test_autograd_one_over_x_at_zero_says_undefined_everywhere(make_page):
    from nnstudio.gui.pages.autograd_page import AutogradPage

    page = make_page(AutogradPage, size=(1115, 770))
    page.values["x"] = 0.0
    page.set_expression("1/x")
    while page.step_button.isEnabled():
        page.step_button.click()
    assert "undefined" in page.readout.text() and "x = 0" in page.readout.text()
    # the step text and the boxes agree: "undefined", never "-inf"
    text = page.chain_text.toPlainText()
    assert "dy/dx = -1/x² = -1/0² = undefined" in text and "inf" not in text
    # the edge's label is drawn after (over) the boxes, so a short edge cannot hide it
    assert page.graph_view.edge_labels


# ------------------------------------------------------------------ Memory lab
def test_memory_lab_texts_fit_and_say_what_they_count(make_page):
    from nnstudio.gui.pages.memory_page import MemoryPage

    page = make_page(MemoryPage, size=(1115, 770))
    for combo in (page.images_box, page.network_box):
        for i in range(combo.count()):  # every item fits the closed combo box: nothing cut off
            needed = combo.fontMetrics().horizontalAdvance(combo.itemText(i))
            assert needed < combo.width() - 20, combo.itemText(i)
    assert page.width() >= page.minimumSizeHint().width()
    assert "the course" not in page.explain.text()
    assert "Chen et al. 2016" in page.explain.text() and "Micikevicius et al. 2018" in page.explain.text()
    # the charts leave out what the table's step peak includes, and say so
    assert "left out" in page.chart_note.text() and "step peak includes them" in page.chart_note.text()
    page.resident_check.setChecked(True)
    assert "as in the table's step peak" in page.chart_note.text()
    assert page.table.verticalHeaderItem(0).text() == "Step peak, measured (all)"
    # the loss-scale axis labels powers of two, at most ~6 of them (they never overlap)
    axis = page.scale_plot.getAxis("left")
    ((spacing, _),) = axis.tickSpacing(16, 30, 100)
    assert spacing >= 2 and axis.tickStrings([16.0, 18.0, 20.5], 1, spacing) == ["2^16", "2^18", ""]
    # the explanation scrolls rather than being cut off
    from PySide6.QtWidgets import QScrollArea

    scroll = page.findChild(QScrollArea, "memoryExplanationScroll")
    assert scroll is not None and scroll.widget() is page.explain


# ------------------------------------------------------------------ dark theme and the one palette
def test_dark_theme_reaches_every_chart_title_and_check_box(main_window, qtbot):
    import pyqtgraph as pg
    from PySide6.QtGui import QImage, QPalette
    from PySide6.QtWidgets import QApplication, QCheckBox

    try:
        main_window.set_theme("dark")
        qtbot.wait(50)
        base = QApplication.instance().palette().color(QPalette.Base)
        # every chart on every page has the dark background (none stays white, none stays pyqtgraph black)
        for plot in main_window.findChildren(pg.PlotWidget):
            assert plot.backgroundBrush().color() == base, plot.objectName()
        # the weight view's titles are light on dark
        studio = main_window.page("studioPage")
        qtbot.waitUntil(lambda: studio.net is not None, timeout=20000)
        titles = studio.weight_view.titles
        assert titles and all(pg.mkColor(t.opts["color"]).lightness() > 160 for t in titles)
        # an unchecked check box shows a frame that stands out from the window
        main_window.show_page("playgroundPage")
        box = next(b for b in main_window.page("playgroundPage").findChildren(QCheckBox) if not b.isChecked())
        qtbot.wait(20)
        img = box.grab().toImage().convertToFormat(QImage.Format_RGB32)
        window = QApplication.instance().palette().color(QPalette.Window)
        brightest = max(
            img.pixelColor(x, y).lightness() for x in range(min(20, img.width())) for y in range(img.height())
        )
        assert brightest - window.lightness() > 60
    finally:
        main_window.set_theme("light")


def test_one_diverging_palette_everywhere():
    from nnstudio.gui import theme
    from nnstudio.gui.widgets import network_diagram, playground_colors, weight_view

    lut = theme.diverging_lut()
    assert tuple(lut[-1][:3]) == theme.POSITIVE and tuple(lut[0][:3]) == theme.NEGATIVE
    assert weight_view.diverging_lut is theme.diverging_lut
    assert network_diagram.POSITIVE.getRgb()[:3] == theme.POSITIVE
    assert network_diagram.NEGATIVE.getRgb()[:3] == theme.NEGATIVE
    assert (playground_colors.POSITIVE, playground_colors.NEGATIVE) == (theme.POSITIVE, theme.NEGATIVE)
    # colour-blind safe: blue against orange lies on the blue-yellow axis that red-green colour blindness
    # keeps (not red against green)
    from PySide6.QtGui import QColor

    assert QColor(*theme.POSITIVE).hue() in range(195, 225) and QColor(*theme.NEGATIVE).hue() in range(15, 40)


# ------------------------------------------------------------------ Draw
def test_draw_caption_sits_right_under_its_image(main_window, qtbot):
    page = main_window.page("drawPage")
    main_window.show_page("drawPage")
    page.hidden_box.setMinimumHeight(420)  # a deep model's activations make the neighbouring box this tall
    qtbot.wait(50)
    image, caption = page.input_view, page.input_caption
    bottom = image.mapTo(page, image.rect().bottomLeft()).y()
    # where the text is drawn: a QLabel centres its text in whatever height the layout gives it
    text_top = (
        caption.mapTo(page, caption.rect().topLeft()).y() + (caption.height() - caption.fontMetrics().height()) / 2
    )
    assert 0 <= text_top - bottom <= 14


# ------------------------------------------------------------------ Build & Train
def test_mistakes_gallery_reflows_instead_of_being_cut_off(qtbot):
    import numpy as np
    from PySide6.QtWidgets import QScrollArea

    from nnstudio.gui.widgets.studio_results import ResultsView

    view = ResultsView()
    qtbot.addWidget(view)
    view.resize(700, 420)
    view.show()
    qtbot.waitExposed(view)
    names = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
    images = np.random.default_rng(0).integers(0, 255, (20, 28, 28), dtype=np.uint8)
    mistakes = [(i, i % 10, (i + 3) % 10, 0.99) for i in range(20)]
    view.gallery.set_mistakes(mistakes, images, names, epoch=1)
    qtbot.wait(20)
    viewport = view.findChild(QScrollArea).viewport()
    for cell in view.gallery.cell_widgets:
        right = cell.mapTo(viewport, cell.rect().topRight()).x()
        assert right <= viewport.width(), (right, viewport.width())
    assert view.gallery.columns < 5  # long captions: fewer columns, all of each visible


def test_studio_weights_tab_shows_the_edited_network_and_says_it_is_not_built(studio, qtbot):
    page = studio
    page.tabs.setCurrentWidget(page.weight_view)
    built = page.net
    assert [img.image.shape for img in page.weight_view.images][1] == (10, 128)
    assert not page.weight_view.status.isVisible()
    page.editor.add_layer()  # one more hidden layer, not built yet
    qtbot.wait(20)
    sizes = page.editor.sizes()
    assert len(sizes) == 4
    view = page.weight_view
    assert page.net is built and len(view.images) == 3
    assert [img.image.shape for img in view.images][1:] == [(sizes[2], sizes[1]), (10, sizes[2])]
    assert view.status.isVisible() and "not built yet" in view.status.text()
    # the preview is exactly what Train will start from (same seed)
    fresh = page.editor.build(page.seed.value())
    assert view.images[2].image == pytest.approx(fresh.dense_layers()[2].W.data.T)
    # building it (Reset) makes the message go away
    page.build_network()
    qtbot.wait(20)
    assert not view.status.isVisible() and page.net.sizes() == sizes


def test_studio_caps_are_explained_and_cards_fit(studio, qtbot):
    from nnstudio.core.limits import LIMITS
    from nnstudio.gui.widgets.layer_editor import MAX_HIDDEN

    page = studio
    editor = page.editor
    while len(editor.rows()) < MAX_HIDDEN:
        editor.add_layer({"units": 8, "activation": "relu", "dropout": 0.0})
    assert not editor.add_button.isEnabled()
    assert f"{MAX_HIDDEN} hidden layers is the most" in editor.add_button.toolTip()
    assert f"up to {MAX_HIDDEN}" in editor.findChild(QLabel, "layerHeader").text()
    # the batch size states its allowed range, from the one limits table
    assert f"Allowed: {LIMITS['batch_size'].describe()}" in page.batch_size.toolTip()
    page.batch_size.setValue(60000)
    assert page.batch_size.problem == ""
    # a long learning rate fits its card (the font shrinks rather than the last digit being cut)
    card = page.cards["lr"]
    for text in ("0.000284", "0.00123457", "1.23457e-05"):
        card.set(text)
        qtbot.wait(5)
        assert card.value.fontMetrics().horizontalAdvance(text) <= card.value.contentsRect().width(), text
    assert "learning rate: 1.23457e-05" in card.accessibleDescription()


def test_studio_charts_before_training_span_the_planned_run(studio, qtbot):
    page = studio
    page.epochs.setValue(7)
    (x0, x1), (y0, y1) = page.loss_plot.getPlotItem().vb.viewRange()
    assert x0 <= 0.1 and 6.9 <= x1 <= 7.3 and y0 == 0 and y1 == pytest.approx(2.5)
    (ax0, ax1), (ay0, ay1) = page.accuracy_plot.getPlotItem().vb.viewRange()
    assert ax0 <= 1 and ax1 >= 7 and ay0 <= 0 and ay1 >= 100
    (gx0, gx1), (gy0, gy1) = page.gradient_chart.getPlotItem().vb.viewRange()
    assert gx1 >= 7 and gy0 <= -5 and gy1 >= 0  # 1e-5 to 1 on the log axis
    # the gradient chart's key is in its title, outside the plot area, so it covers no curve
    assert page.gradient_chart.getPlotItem().legend is None
    title = page.gradient_chart.getPlotItem().titleLabel.text
    assert "layer 1" in title and "layer 2 (output)" in title
    assert page.loss_chart.accessibleDescription() == "Loss chart: no training steps yet."


# ------------------------------------------------------------------ Accessibility
def test_the_digit_canvas_draws_from_the_keyboard(main_window, qtbot):
    from PySide6.QtCore import Qt

    page = main_window.page("drawPage")
    main_window.show_page("drawPage")
    canvas = page.canvas
    canvas.setFocus()
    qtbot.waitUntil(canvas.hasFocus)
    start = (canvas.pen_cursor.x(), canvas.pen_cursor.y())
    qtbot.keyClick(canvas, Qt.Key_Up)
    qtbot.keyClick(canvas, Qt.Key_Up)
    assert canvas.is_empty() and canvas.pen_cursor.y() == pytest.approx(start[1] - 2 * canvas.resolution / 14)
    qtbot.keyClick(canvas, Qt.Key_Space)  # pen down
    for _ in range(4):
        qtbot.keyClick(canvas, Qt.Key_Down)
    qtbot.keyClick(canvas, Qt.Key_Space)  # pen up: the page reads the stroke
    assert len(canvas.strokes) == 1 and len(canvas.strokes[0][1]) == 5
    ink = canvas.to_array()
    x = int(start[0])
    column = ink[:, x]
    inked = np.flatnonzero(column > 0.5)
    # a vertical bar from two steps above the centre to two steps below it
    assert (
        inked.min() < start[1] - 1.5 * canvas.resolution / 14 and inked.max() > start[1] + 1.5 * canvas.resolution / 14
    )
    assert ink[:, : x - int(canvas.pen_width)].max() == 0  # nothing drawn left of the bar
    qtbot.waitUntil(lambda: page.prediction_label.text() not in ("", "–"), timeout=5000)
    qtbot.keyClick(canvas, Qt.Key_Backspace)
    assert canvas.is_empty() and canvas.to_array().max() == 0


CONTROL_TYPES = None


def _controls(page):
    from PySide6.QtWidgets import QAbstractButton, QAbstractSpinBox, QComboBox, QLineEdit, QSlider, QWidget

    kinds = (QAbstractButton, QComboBox, QAbstractSpinBox, QLineEdit, QSlider)
    return [
        w
        for w in page.findChildren(QWidget)
        if isinstance(w, kinds)
        and w.isVisible()
        and w.objectName() not in ("qt_spinbox_lineedit", "qt_tableview_cornerbutton")
    ]


def test_every_control_has_a_name_and_a_tab_stop(main_window, qtbot):
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QAbstractButton

    problems = []
    for page in main_window.pages:
        main_window.show_page(page.objectName())
        qtbot.wait(20)
        buddies = {id(label.buddy()) for label in page.findChildren(QLabel) if label.buddy() is not None}
        for w in _controls(page):
            worded = isinstance(w, QAbstractButton) and any(c.isalnum() for c in w.text())
            if not (w.accessibleName() or worded or id(w) in buddies):
                problems.append(f"{page.objectName()}: {w.metaObject().className()} {w.objectName()} has no name")
            if not w.focusPolicy() & Qt.TabFocus:
                problems.append(f"{page.objectName()}: {w.objectName()} cannot be reached with Tab")
    assert problems == []


def _tab_walk(qtbot, start, steps):
    """Press Tab ``steps`` times from ``start``; the objectName (else accessible name) of each stop."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication

    start.setFocus(Qt.TabFocusReason)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is not None)
    names = []
    for _ in range(steps):
        w = QApplication.focusWidget()
        if w.objectName() == "qt_spinbox_lineedit":
            w = w.parentWidget()
        names.append(w.objectName() or w.accessibleName())
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key_Tab)
    return names


def test_tab_order_follows_the_layout(main_window, qtbot):
    from PySide6.QtWidgets import QToolButton

    main_window.activateWindow()
    studio = main_window.page("studioPage")
    main_window.show_page("studioPage")
    studio.editor.add_layer()
    qtbot.wait(20)
    names = _tab_walk(qtbot, studio.dataset_combo, 16)
    want = ["datasetCombo", "presetCombo", "addLayerButton", "unitsSpin", "activationCombo", "dropoutSpin"]
    assert names[: len(want)] == want
    # the second row follows the first, and the weight init comes after the rows
    assert names.count("unitsSpin") == 2
    assert names.index("initCombo") > len(names) - 1 - names[::-1].index("unitsSpin")

    # the point's spin boxes (built for each expression) come right after the examples, as on screen
    main_window.show_page("autogradPage")
    autograd = main_window.page("autogradPage")
    autograd.set_expression("w*x + b")
    qtbot.wait(20)
    names = _tab_walk(qtbot, autograd.example_buttons[-1], 6)
    spins = [f"value_{v}" for v in autograd.expression.variables]
    assert names[1 : 1 + len(spins)] == spins
    assert names.index("xMin") > names.index(spins[-1])

    # a hidden layer's neuron count and activation follow the + button, before the training settings
    main_window.show_page("playgroundPage")
    playground = main_window.page("playgroundPage")
    qtbot.wait(20)
    names = _tab_walk(qtbot, playground.findChild(QToolButton, "addLayer"), 4)
    assert names[1:3] == ["Neurons in hidden layer 1", "Activation of hidden layer 1"]


def test_charts_describe_their_latest_values_in_words(make_page, qtbot):
    from nnstudio.gui.pages.playground_page import PlaygroundPage
    from nnstudio.gui.widgets.training_charts import AccuracyChart, GradientChart, LossChart

    loss = LossChart()
    qtbot.addWidget(loss)
    loss.set_batches_per_epoch(2)
    loss.add_steps(1, np.array([2.3, 2.1]))
    loss.add_test_point(1, 1.95)
    text = loss.plot.accessibleDescription()
    assert text.startswith("Loss chart: 2 steps, epoch 1.00; last batch loss 2.1000")
    assert "test loss after epoch 1: 1.9500" in text
    acc = AccuracyChart()
    qtbot.addWidget(acc)
    acc.add_epoch(1, 0.9123, 0.9050)
    assert acc.accessibleDescription() == "Accuracy chart: train 91.23% after epoch 1, test 90.50% after epoch 1"
    grad = GradientChart()
    qtbot.addWidget(grad)
    grad.reset(2)
    grad.add(np.array([1.0]), np.array([[0.01, 0.2]]))
    assert grad.accessibleDescription() == "Gradient chart, latest RMS gradient per layer: layer 1 0.01, layer 2 0.2"

    page = make_page(PlaygroundPage)
    page.step_button.click()
    assert page.loss_plot.accessibleDescription().startswith("Loss chart at epoch 1: Train loss ")
