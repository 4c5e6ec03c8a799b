"""File ▸ Open of an ONNX model made elsewhere (used on Build & Train, Draw and Backprop) and File ▸ Export…"""

import runpy
from pathlib import Path

import numpy as np
import pytest

from nnstudio.core.interop import open_model, pytorch_code
from nnstudio.core.nn import load_model
from nnstudio.resources import pretrained_model_path

onnx = pytest.importorskip("onnx")


def foreign_onnx(path: Path) -> Path:
    """The shipped MNIST weights written the way other tools write an MLP: an image input (N, 1, 28, 28),
    Flatten, Gemm with (out, in) weights, Relu, MatMul + Add, and a final Softmax."""
    from onnx import TensorProto, helper, numpy_helper

    net = load_model(pretrained_model_path("mnist"))
    w1, b1, w2, b2 = net.get_weights()
    graph = helper.make_graph(
        [
            helper.make_node("Flatten", ["image"], ["flat"], name="flatten"),
            helper.make_node("Gemm", ["flat", "fc1.weight", "fc1.bias"], ["h"], name="fc1", transB=1),
            helper.make_node("Relu", ["h"], ["a"], name="relu"),
            helper.make_node("MatMul", ["a", "fc2.weight"], ["m"], name="fc2"),
            helper.make_node("Add", ["m", "fc2.bias"], ["logits"], name="fc2_bias"),
            helper.make_node("Softmax", ["logits"], ["probs"], name="softmax", axis=1),
        ],
        "elsewhere",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 1, 28, 28])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["N", 10])],
        initializer=[
            numpy_helper.from_array(np.ascontiguousarray(w1.T), "fc1.weight"),
            numpy_helper.from_array(b1, "fc1.bias"),
            numpy_helper.from_array(w2, "fc2.weight"),
            numpy_helper.from_array(b2, "fc2.bias"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="elsewhere")
    onnx.checker.check_model(model, full_check=True)
    path.write_bytes(model.SerializeToString())
    return path


def test_open_onnx_made_elsewhere_works_on_every_page(main_window, studio, qtbot, tmp_path, mnist, monkeypatch):
    path = foreign_onnx(tmp_path / "elsewhere.onnx")
    # File ▸ Open: the dialog offers .onnx files and opens the one chosen.
    from PySide6.QtWidgets import QFileDialog

    offered = {}

    def choose(parent, title, folder, filters):
        offered["filters"] = filters
        return str(path), filters

    monkeypatch.setattr(QFileDialog, "getOpenFileName", choose)
    main_window.open_action.trigger()
    assert "*.onnx" in offered["filters"].split(";;")[0]
    assert [layer.kind for layer in studio.net.layers] == ["Dense", "ReLU", "Dense"]
    assert main_window.context.model is studio.net
    assert studio.path is None  # Save asks where to write nnstudio's own file; it never overwrites the .onnx
    assert str(path.resolve()) in main_window.recent_files()
    assert "elsewhere.onnx" in main_window.statusBar().currentMessage()

    # Draw reads with it (it was trained elsewhere, so it is chosen at once).
    draw = main_window.page("drawPage")
    assert draw.model_combo.currentData() == "studio" and "untrained" not in draw.model_combo.currentText()
    x, y = mnist.flat("test")
    for i in range(5):
        picture = tmp_path / f"digit{i}.npy"
        np.save(picture, (x[i].reshape(28, 28) * 255).round().astype(np.uint8))
        assert draw.open_image(str(picture))
        assert draw.prediction_label.text().split(" (")[0] == str(y[i])

    # Backprop can trace it.
    backprop = main_window.page("backpropPage")
    assert backprop.network_combo.model().item(2).isEnabled()

    # Build & Train continues training it: one batch changes its weights and the loss is that of a trained net.
    before = studio.net.get_weights()
    studio.step()
    qtbot.waitUntil(lambda: studio.trainer is not None and studio.trainer.step_count == 1, timeout=20000)
    studio.stop()
    qtbot.waitUntil(lambda: not studio.worker.running, timeout=20000)
    assert studio.net.layers[0].W.data.shape == (784, 128)  # the same network, not a fresh one
    assert any(not np.array_equal(a, b) for a, b in zip(before, studio.net.get_weights()))
    assert studio.history.step_loss[0] < 0.5  # a random 784-128-10 net starts near ln(10) = 2.3


def test_open_unsupported_onnx_says_why_and_keeps_the_model(main_window, studio, tmp_path):
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "k"], ["y"], name="conv1")],
        "cnn",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, 28, 28])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4, 26, 26])],
        initializer=[onnx.numpy_helper.from_array(np.ones((4, 1, 3, 3), np.float32), "k")],
    )
    path = tmp_path / "cnn.onnx"
    path.write_bytes(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString())
    net = studio.net
    assert not main_window.open_model(str(path))
    assert studio.net is net
    assert "unsupported ONNX operator Conv (node 'conv1')" in studio.message()


def run_export(main_window, qtbot, act):
    """Trigger File ▸ Export… and run ``act(dialog)`` while it is open; returns what the action returned."""
    from PySide6.QtCore import QTimer

    def inside():
        dialog = getattr(main_window, "export_dialog", None)
        if dialog is None or not dialog.isVisible():
            QTimer.singleShot(20, inside)
            return
        act(dialog)

    QTimer.singleShot(0, inside)
    return main_window.export_model()


@pytest.mark.parametrize("fmt", ["onnx", "safetensors", "pytorch"])
def test_export_dialog_writes_each_format(main_window, studio, qtbot, tmp_path, fmt):
    out = tmp_path / "out"
    out.mkdir()
    target = out / "exported"
    results = {}

    def act(dialog):
        dialog.format_box.setCurrentIndex(dialog.format_box.findData(fmt))
        results["path"] = dialog.path_edit.text()
        dialog.path_edit.setText(str(target) + Path(results["path"]).suffix)
        results["code"] = dialog.code.toPlainText()
        dialog.export_button.click()

    assert run_export(main_window, qtbot, act)
    assert results["path"].endswith({"onnx": ".onnx", "safetensors": ".safetensors", "pytorch": ".py"}[fmt])
    # The code shown is the code `--format pytorch` writes, naming the weights file beside it.
    assert results["code"] == pytorch_code(studio.net, "exported.safetensors")
    written = sorted(p.name for p in out.iterdir())
    expected = {"onnx": ["exported.onnx"], "safetensors": ["exported.safetensors"]}
    assert written == expected.get(fmt, ["exported.py", "exported.safetensors"])
    if fmt == "onnx":
        back = open_model(out / "exported.onnx")
        for a, b in zip(studio.net.get_weights(), back.get_weights()):
            assert np.array_equal(a, b)
    if fmt == "pytorch":
        pytest.importorskip("torch")
        model = runpy.run_path(str(out / "exported.py"))["model"]
        assert len(model) == len(studio.net.layers)
    assert "Exported" in main_window.statusBar().currentMessage()


def test_export_dialog_without_onnx_says_how_to_install(main_window, studio, qtbot, tmp_path, monkeypatch):
    import nnstudio.gui.widgets.export_dialog as export_dialog_module

    monkeypatch.setattr(export_dialog_module, "onnx_available", lambda: False)
    seen = {}

    def act(dialog):
        seen["onnx_enabled"] = dialog.format_box.model().item(0).isEnabled()
        seen["format"] = dialog.fmt()
        seen["note"] = dialog.note.text() if dialog.note.isVisible() else ""
        dialog.reject()

    assert not run_export(main_window, qtbot, act)
    assert seen["onnx_enabled"] is False and seen["format"] == "pytorch"
    assert 'pip install "nnstudio[interop]"' in seen["note"]
    assert not list(tmp_path.glob("*.onnx")) and not list(tmp_path.glob("*.safetensors"))


def test_export_dialog_reports_an_unwritable_path(main_window, studio, qtbot, tmp_path):
    seen = {}

    def act(dialog):
        dialog.format_box.setCurrentIndex(dialog.format_box.findData("safetensors"))
        dialog.path_edit.setText(str(tmp_path / "no-such-folder" / "w.safetensors"))
        dialog.export_button.click()
        seen["open"] = dialog.isVisible()
        seen["error"] = dialog.error_label.text()
        dialog.reject()

    assert not run_export(main_window, qtbot, act)
    assert seen["open"] and "Could not write" in seen["error"]
