"""The Draw page, driven like a user: real mouse events into the canvas, real files, the shipped models."""

import itertools
import json
import math

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QImage, QLinearGradient, QPainter, QPen
from PySide6.QtTest import QTest


def arc(cx, cy, rx, ry, a0, a1, n=24):
    """Points on an ellipse from angle a0 to a1 in degrees (0 = right, 90 = down: screen coordinates)."""
    return [(cx + rx * math.cos(a), cy + ry * math.sin(a)) for a in np.radians(np.linspace(a0, a1, n))]


# Pen strokes of the digits 0-9 in a unit box (y down), drawn the way people write them.
TEMPLATES = {
    0: [arc(0.5, 0.5, 0.42, 0.5, -100, 265, 32)],
    1: [[(0.55, 0.0), (0.45, 1.0)]],
    2: [arc(0.5, 0.3, 0.42, 0.3, 195, 380, 16) + [(0.05, 1.0), (0.95, 1.0)]],
    3: [arc(0.48, 0.26, 0.36, 0.26, 200, 450, 16) + arc(0.48, 0.74, 0.42, 0.26, -90, 150, 16)],
    4: [[(0.2, 0.0), (0.05, 0.62), (0.95, 0.62)], [(0.72, 0.05), (0.72, 1.0)]],
    5: [[(0.9, 0.0), (0.25, 0.0), (0.18, 0.45)] + arc(0.5, 0.69, 0.42, 0.31, -130, 150, 18)],
    6: [[(0.75, 0.0), (0.45, 0.15), (0.22, 0.42), (0.12, 0.7)] + arc(0.5, 0.71, 0.38, 0.29, 180, 540, 24)],
    7: [[(0.05, 0.02), (0.95, 0.02), (0.35, 1.0)]],
    8: [arc(0.5, 0.25, 0.32, 0.25, -90, 270, 20), arc(0.5, 0.73, 0.4, 0.27, -90, 270, 22)],
    9: [arc(0.5, 0.3, 0.42, 0.3, 0, 360, 24) + [(0.9, 0.35), (0.8, 1.0)]],
}


def variants(seed, count):
    """Random ways of writing: size (a quarter to nearly all of the canvas), place, slant, tilt, pen width."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        h = rng.uniform(0.25, 0.95)
        w = h * rng.uniform(0.55, 0.8)
        mx, my = w / 2 + 0.05, h / 2 + 0.05
        out.append(
            {
                "height": h,
                "width": w,
                "cx": rng.uniform(mx, 1 - mx) if mx < 0.5 else 0.5,
                "cy": rng.uniform(my, 1 - my) if my < 0.5 else 0.5,
                "slant": rng.uniform(-0.2, 0.45),
                "rotation": rng.uniform(-15, 15),
                "pen": float(rng.integers(8, 35)),
                "step": rng.uniform(3, 14),
            }
        )
    return out


def place(template, v, rect):
    """The template's strokes in widget coordinates inside ``rect`` (the canvas square), as mouse positions
    every ``v['step']`` pixels: fast strokes give few, far-apart events."""
    rot = math.radians(v["rotation"])
    side = rect.width()
    strokes = []
    for stroke in template:
        pts = []
        for x, y in stroke:
            u, w = (x - 0.5) * v["width"], (y - 0.5) * v["height"]
            u -= v["slant"] * w  # italic: the top leans right
            u, w = u * math.cos(rot) - w * math.sin(rot), u * math.sin(rot) + w * math.cos(rot)
            pts.append((rect.x() + (v["cx"] + u) * side, rect.y() + (v["cy"] + w) * side))
        dense = [pts[0]]
        for (x0, y0), (x1, y1) in itertools.pairwise(pts):
            n = max(1, int(math.hypot(x1 - x0, y1 - y0) / v.get("step", 6)))
            dense += [(x0 + (x1 - x0) * k / n, y0 + (y1 - y0) * k / n) for k in range(1, n + 1)]
        strokes.append([QPoint(round(x), round(y)) for x, y in dense])
    return strokes


def draw(canvas, strokes):
    """Replay strokes as real mouse press / move / release events."""
    for pts in strokes:
        QTest.mousePress(canvas, Qt.LeftButton, Qt.NoModifier, pts[0])
        for p in pts[1:]:
            QTest.mouseMove(canvas, p)
        QTest.mouseRelease(canvas, Qt.LeftButton, Qt.NoModifier, pts[-1])


def draw_digit(page, digit, v):
    page.canvas.pen_width = v["pen"]
    draw(page.canvas, place(TEMPLATES[digit], v, page.canvas._target_rect()))


@pytest.fixture
def page(make_page, tmp_path, monkeypatch):
    monkeypatch.setenv("NNSTUDIO_HOME", str(tmp_path / "user"))
    from nnstudio.gui.pages.draw_page import DrawPage

    p = make_page(DrawPage, (1000, 720))
    yield p
    p.shutdown()


def predicted(page):
    return page.prediction_label.text().split(" (")[0]


def test_drawn_digits_are_read_correctly(page, qtbot):
    """120 digits at different positions, sizes, slants, tilts and pen widths, drawn with the mouse."""
    wrong, total, shots = [], 0, []
    for v in variants(seed=7, count=12):
        for digit in range(10):
            page.canvas.clear()
            with qtbot.waitSignal(page.prediction_updated, timeout=2000):
                draw_digit(page, digit, v)
            total += 1
            if predicted(page) != str(digit):
                wrong.append((digit, page.prediction_label.text()))
            if total <= 3:
                shots.append(page.reading.inputs)
    accuracy = 1 - len(wrong) / total
    print(f"drawn digits read correctly: {accuracy:.1%} of {total}; misread: {wrong}")
    assert accuracy >= 0.95, f"read {accuracy:.1%} correctly; misread: {wrong}"
    # The text starts with the class and gives the confidence, e.g. "7 (98%)".
    assert page.prediction_label.text().endswith("%)")
    assert sum(bar.value() for bar in page.prob_bars) == pytest.approx(1000, abs=6)
    assert page.hidden_views and page.hidden_views[0][1].pixmap() is not None


def test_fast_strokes_have_no_gaps(page):
    rect = page.canvas._target_rect()
    y = rect.y() + rect.height() / 2
    xs = [rect.x() + rect.width() * f for f in (0.1, 0.5, 0.9)]  # two huge jumps between events
    draw(page.canvas, [[QPoint(round(x), round(y)) for x in xs]])
    img = page.canvas.to_array()
    row = img[img.shape[0] // 2]
    lit = np.flatnonzero(row > 0.5)
    assert lit[-1] - lit[0] > 0.75 * img.shape[1] and len(lit) == lit[-1] - lit[0] + 1


def test_empty_canvas_clear_and_undo(page, qtbot):
    assert page.prediction_label.text() == "draw a digit"
    assert all(bar.value() == 0 for bar in page.prob_bars) and not page.add_digit_button.isEnabled()
    v = {"height": 0.7, "width": 0.5, "cx": 0.5, "cy": 0.5, "slant": 0.0, "rotation": 0.0, "pen": 20}
    with qtbot.waitSignal(page.prediction_updated):
        draw_digit(page, 4, v)
    assert predicted(page) == "4" and len(page.canvas.strokes) == 2
    # Ctrl+Z removes the vertical stroke only.
    with qtbot.waitSignal(page.prediction_updated):
        QTest.keyClick(page.canvas, Qt.Key_Z, Qt.ControlModifier)
    assert len(page.canvas.strokes) == 1 and page.reading is not None and not page.reading.blank
    QTest.mouseClick(page.clear_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: page.prediction_label.text() == "draw a digit")
    assert page.canvas.is_empty() and page.canvas.to_array().max() == 0
    assert all(bar.value() == 0 for bar in page.prob_bars)
    draw_digit(page, 7, v)
    qtbot.waitUntil(lambda: predicted(page) == "7")
    QTest.keyClick(page.canvas, Qt.Key_Escape)
    qtbot.waitUntil(lambda: page.prediction_label.text() == "draw a digit")


def test_prediction_never_runs_inside_the_pen_handler(page, qtbot):
    """A burst of mouse moves is all drawn before any prediction; the prediction comes after, once."""
    count = []
    page.prediction_updated.connect(lambda: count.append(1))
    rect = page.canvas._target_rect()
    pts = [
        QPoint(round(rect.x() + rect.width() * (0.2 + 0.6 * t)), round(rect.y() + rect.height() * 0.5))
        for t in np.linspace(0, 1, 60)
    ]
    QTest.mousePress(page.canvas, Qt.LeftButton, Qt.NoModifier, pts[0])
    for p in pts[1:]:
        QTest.mouseMove(page.canvas, p)
    assert count == [] and len(page.canvas.strokes[0][1]) == 60
    qtbot.waitUntil(lambda: len(count) == 1)
    QTest.mouseRelease(page.canvas, Qt.LeftButton, Qt.NoModifier, pts[-1])
    qtbot.waitUntil(lambda: len(count) == 2)
    assert page.reading is not None and not page.reading.blank


def _paper_photo(path, digit, fmt):
    """A digit written in dark ink on unevenly lit paper, saved as a PNG or JPEG file."""
    img = QImage(480, 360, QImage.Format_RGB32)
    p = QPainter(img)
    grad = QLinearGradient(0, 0, 480, 360)
    grad.setColorAt(0, QColor(150, 145, 135))  # shadow on the left
    grad.setColorAt(1, QColor(250, 248, 240))
    p.fillRect(img.rect(), grad)
    p.setRenderHint(QPainter.Antialiasing)
    pen = QPen(QColor(30, 30, 60), 16)
    pen.setCapStyle(Qt.RoundCap)
    p.setPen(pen)
    from PySide6.QtCore import QRect

    v = {"height": 0.7, "width": 0.5, "cx": 0.5, "cy": 0.5, "slant": 0.1, "rotation": 0.0, "step": 4}
    for pts in place(TEMPLATES[digit], v, QRect(60, 0, 360, 360)):
        for a, b in itertools.pairwise(pts):
            p.drawLine(a, b)
    p.end()
    assert img.save(str(path), fmt)


@pytest.mark.parametrize("digit, fmt", [(2, "PNG"), (5, "JPG"), (6, "PNG"), (3, "BMP")])
def test_open_a_photo_of_dark_ink_on_paper(page, tmp_path, capsys, digit, fmt):
    path = tmp_path / f"scan.{fmt.lower()}"
    _paper_photo(path, digit, fmt)
    assert page.open_image(str(path))
    assert predicted(page) == str(digit)
    ink = page.canvas.to_array()
    assert ink[:20, :20].max() < 0.1  # the paper became black
    # `nnstudio predict` reads the same file to the same probabilities, to the last digit
    from nnstudio.cli import main
    from nnstudio.resources import pretrained_model_path

    assert main(["predict", str(pretrained_model_path("mnist")), str(path), "--json"]) == 0
    cli = json.loads(capsys.readouterr().out)[0]
    assert cli["prediction"] == str(digit)
    np.testing.assert_array_equal(cli["probabilities"], page.reading.probabilities)


def test_bad_image_file_is_reported_and_changes_nothing(page, qtbot, tmp_path):
    v = {"height": 0.7, "width": 0.5, "cx": 0.5, "cy": 0.5, "slant": 0.0, "rotation": 0.0, "pen": 20}
    with qtbot.waitSignal(page.prediction_updated):
        draw_digit(page, 3, v)
    before = page.canvas.to_array().copy()
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    assert not page.open_image(str(bad))
    assert "broken.png" in page.last_error
    assert np.array_equal(page.canvas.to_array(), before) and predicted(page) == "3"


def test_model_selector_fashion_labels_and_studio_model(page, qtbot):
    page.select_model("fashion-mnist")
    assert page.class_labels[9].text() == "Ankle boot" and page.class_labels[0].text() == "T-shirt/top"
    v = {"height": 0.8, "width": 0.3, "cx": 0.5, "cy": 0.5, "slant": 0.0, "rotation": 0.0, "pen": 30}
    with qtbot.waitSignal(page.prediction_updated):
        draw(
            page.canvas,
            place(
                [[(0.3, 0.0), (0.1, 1.0)], [(0.7, 0.0), (0.9, 1.0)], [(0.3, 0.0), (0.7, 0.0)]],
                v,
                page.canvas._target_rect(),
            ),
        )
    names = [lab.text() for lab in page.class_labels]
    assert predicted(page) in names
    # A freshly built studio network is offered but not chosen until it has trained.
    from nnstudio.core.nn import Sequential, load_model
    from nnstudio.resources import pretrained_model_path

    page.select_model("mnist")
    fresh = Sequential.mlp([784, 32, 10], seed=3)
    page.context.set_model(fresh, "mnist")
    assert page.model_combo.currentData() == "mnist" and "untrained" in page.model_combo.itemText(0)
    fresh.parameters()[0].data += 0.01  # an epoch of training went by
    page.context.set_model(fresh, "mnist")
    assert page.model_combo.currentData() == "studio" and "untrained" not in page.model_combo.currentText()
    # A trained model loaded in the studio becomes the default and is read from a private copy.
    studio = load_model(pretrained_model_path("mnist"))
    page.context.set_model(studio, "mnist")
    assert page.model_combo.currentData() == "studio" and page.class_labels[0].text() == "0"
    assert page.entry.net is not studio
    assert predicted(page) in [str(i) for i in range(10)]
    # A model that cannot read 28x28 images is explained, not crashed on.
    page.context.set_model(Sequential.mlp([2, 8, 2]), "toy")
    assert page.model_combo.currentData() == "studio" and "784 inputs" in page.model_info.text()
    assert page.prediction_label.text() == "no model"
    page.context.set_model(None)
    assert page.model_combo.findData("studio") == -1 and page.model_combo.currentData() == "mnist"


def test_my_digits_add_browse_evaluate_and_damaged_file(page, qtbot, tmp_path):
    from nnstudio.core.data.mydigits import MyDigits
    from nnstudio.gui.pages.draw_page import MyDigitsDialog

    v = {"height": 0.7, "width": 0.45, "cx": 0.5, "cy": 0.5, "slant": 0.1, "rotation": 0.0, "pen": 20}
    for digit in (3, 7, 7):
        page.canvas.clear()
        with qtbot.waitSignal(page.prediction_updated):
            draw_digit(page, digit, v)
        assert page.digit_label_spin.value() == digit  # pre-filled with the prediction
        QTest.mouseClick(page.add_digit_button, Qt.LeftButton)
    store = MyDigits(tmp_path / "user" / "my-digits.npz")
    assert store.labels.tolist() == [3, 7, 7]
    assert np.allclose(store.images[-1] / 255, page.reading.inputs.reshape(28, 28), atol=1 / 255)
    assert "3 of your 3" in page.evaluate_my_digits()

    dialog = MyDigitsDialog(page.my_digits, page)
    qtbot.addWidget(dialog)
    assert dialog.list.count() == 3
    dialog.list.item(0).setSelected(True)
    dialog.relabel_spin.setValue(8)
    dialog.relabel_button.click()
    dialog.list.item(2).setSelected(True)
    dialog.delete_button.click()
    assert MyDigits(store.path).labels.tolist() == [8, 7]
    assert "1 of your 2" in page.evaluate_my_digits()

    store.path.write_bytes(b"garbage")
    page.my_digits.reload()
    page._refresh_my_digits()
    assert "damaged" in page.my_digits_status.text()
    QTest.mouseClick(page.add_digit_button, Qt.LeftButton)
    assert store.path.read_bytes() == b"garbage"  # reported, never overwritten


def test_fine_tune_on_my_digits_adds_a_model(page, qtbot, mnist):
    for i in range(12):  # "handwriting" the model misreads: mirrored
        page.my_digits.add(mnist.x_test[i][:, ::-1], int(mnist.y_test[i]))
    page._refresh_my_digits()
    assert page.fine_tune_button.isEnabled()
    page.fine_tune_button.click()
    qtbot.waitUntil(lambda: page.model_combo.findData("fine-tuned") >= 0, timeout=60000)
    assert page.model_combo.currentData() == "fine-tuned"
    assert "12 of your 12" in page.my_digits_status.text()


def test_draw_page_is_in_the_main_window(main_window):
    page = main_window.page("drawPage")
    main_window.show_page("drawPage")
    assert page.title == "Draw" and page.isVisible()
    assert page.findChild(type(page.canvas), "digitCanvas") is page.canvas


def test_switching_models_keeps_one_view_per_hidden_layer(page):
    """Many model changes in a row (one per epoch while the studio trains) never pile up stale views."""
    for _ in range(5):
        page.select_model("fashion-mnist")
        page.select_model("mnist")
    labels = [page.hidden_layout.itemAt(i).widget() for i in range(page.hidden_layout.count())]
    assert len(labels) == 3  # "Layer 1: 128 neurons", its view, the note
    assert page.sizeHint().height() < 900
