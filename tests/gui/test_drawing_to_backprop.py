"""A digit drawn on the Draw page can be stepped through on the Backprop page."""

import numpy as np
from PySide6.QtCore import QPoint, Qt


def test_my_drawing_is_a_backprop_sample(main_window, qtbot):
    backprop = main_window.page("backpropPage")
    combo = backprop.network_combo
    combo.setCurrentIndex(combo.findData("mnist"))
    assert backprop.net.input_size == 784
    sources = [backprop.source_combo.itemData(i) for i in range(backprop.source_combo.count())]
    assert "drawing" in sources
    backprop.source_combo.setCurrentIndex(backprop.source_combo.findData("drawing"))
    assert "No drawing yet" in backprop._sample_text
    assert not backprop._sample_x.any()

    # draw a "1": one vertical stroke, as real mouse events
    main_window.show_page("drawPage")
    draw = main_window.page("drawPage")
    canvas = draw.canvas
    w, h = canvas.width(), canvas.height()
    qtbot.mousePress(canvas, Qt.LeftButton, pos=QPoint(w // 2, h // 5))
    for i in range(1, 21):
        qtbot.mouseMove(canvas, QPoint(w // 2, h // 5 + i * (3 * h // 5) // 20))
    qtbot.mouseRelease(canvas, Qt.LeftButton, pos=QPoint(w // 2, 4 * h // 5))
    qtbot.waitUntil(lambda: main_window.context.drawing is not None, timeout=5000)

    main_window.show_page("backpropPage")
    backprop.sample_spin.setValue(1)
    np.testing.assert_allclose(backprop._sample_x, main_window.context.drawing)
    assert backprop._sample_y == 1 and "Your drawing" in backprop._sample_text
    backprop.run_to_end()  # the whole step works on the drawing
    assert backprop.step == backprop.n_steps - 1
    assert backprop.step_label.text().startswith(f"Step {backprop.n_steps} of {backprop.n_steps}")
