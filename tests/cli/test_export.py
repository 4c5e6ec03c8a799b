"""``nnstudio export`` and the commands that read a model (evaluate, predict) given an .onnx file."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from nnstudio.core.interop import open_model
from nnstudio.resources import pretrained_model_path

SHIPPED = str(pretrained_model_path("mnist"))


def run_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "nnstudio", *args], capture_output=True, text=True, env=dict(os.environ), timeout=300
    )


def test_export_onnx_then_evaluate_scores_what_the_original_scores(mnist, tmp_path):
    pytest.importorskip("onnx")
    out = tmp_path / "mnist.onnx"
    proc = run_cli("export", SHIPPED, str(out), "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == {
        "format": "onnx",
        "files": [str(out)],
        "parameters": 101_770,
    }
    original = json.loads(run_cli("evaluate", SHIPPED, "--json").stdout.splitlines()[-1])
    imported = json.loads(run_cli("evaluate", str(out), "--json").stdout.splitlines()[-1])
    assert imported["accuracy"] == original["accuracy"] > 0.97
    assert imported["confusion_matrix"] == original["confusion_matrix"]


def test_predict_reads_a_picture_with_an_onnx_model(mnist, tmp_path):
    pytest.importorskip("onnx")
    out = tmp_path / "mnist.onnx"
    assert run_cli("export", SHIPPED, str(out)).returncode == 0
    x, y = mnist.flat("test")
    picture = tmp_path / "digit.npy"
    np.save(picture, (x[0].reshape(28, 28) * 255).astype(np.uint8))
    both = [json.loads(run_cli("predict", model, str(picture), "--json").stdout)[0] for model in (SHIPPED, str(out))]
    assert both[0]["prediction"] == both[1]["prediction"] == str(y[0])
    assert np.abs(np.array(both[0]["probabilities"]) - both[1]["probabilities"]).max() < 1e-6


@pytest.mark.parametrize(
    "fmt, name, files", [(None, "w.safetensors", ["w.safetensors"]), ("pytorch", "net", ["net.safetensors", "net.py"])]
)
def test_export_safetensors_and_pytorch_code(tmp_path, fmt, name, files):
    args = ["export", SHIPPED, str(tmp_path / name)] + (["--format", fmt] if fmt else [])
    proc = run_cli(*args)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(files)
    assert proc.stdout.splitlines() == [f"wrote {tmp_path / f}" for f in files]


def test_export_reads_an_onnx_model_too(tmp_path):
    pytest.importorskip("onnx")
    onnx_file, back = tmp_path / "a.onnx", tmp_path / "b.onnx"
    assert run_cli("export", SHIPPED, str(onnx_file)).returncode == 0
    assert run_cli("export", str(onnx_file), str(back)).returncode == 0
    for a, b in zip(open_model(onnx_file).get_weights(), open_model(back).get_weights()):
        assert np.array_equal(a, b)


@pytest.mark.parametrize(
    "args, message",
    [
        (["export", SHIPPED, "out.bin"], "cannot tell the format from 'out.bin'"),
        (["export", "missing.npz", "out.onnx"], "no such model file: missing.npz"),
        (["export", SHIPPED, "out.onnx", "--format", "tflite"], "invalid choice: 'tflite'"),
    ],
)
def test_bad_export_is_one_line(tmp_path, args, message):
    proc = subprocess.run(
        [sys.executable, "-m", "nnstudio", *args], capture_output=True, text=True, cwd=tmp_path, timeout=300
    )
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], proc.stderr
    assert list(tmp_path.iterdir()) == []


def test_unsupported_onnx_operator_is_one_line_from_evaluate(tmp_path):
    onnx = pytest.importorskip("onnx")
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
    proc = run_cli("evaluate", str(path), "--no-download")
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "unsupported ONNX operator Conv (node 'conv1')" in lines[0], proc.stderr


@pytest.mark.parametrize(
    "command, message",
    [
        ("export", 'ONNX export needs the onnx package: pip install "nnstudio[interop]"'),
        ("evaluate", 'opening m.onnx needs the onnx package: pip install "nnstudio[interop]"'),
    ],
)
def test_without_onnx_the_cli_says_how_to_install_it(tmp_path, command, message):
    model = tmp_path / "m.onnx"
    model.write_bytes(b"\x08\x08")  # never read: the package is missing first
    args = [SHIPPED, str(tmp_path / "out.onnx")] if command == "export" else [str(model), "--no-download"]
    # What a user without onnx gets: `import onnx` fails inside the real entry point.
    code = (
        f"import sys; sys.modules['onnx'] = None; from nnstudio.cli import main; sys.exit(main({[command, *args]!r}))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], proc.stderr
    assert not (tmp_path / "out.onnx").exists()
