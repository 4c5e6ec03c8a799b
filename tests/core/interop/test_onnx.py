"""ONNX export checked by a second runtime (onnxruntime), import of graphs written the ways other tools write
them, the round trip, and the one-line refusals."""

import json
import sys

import numpy as np
import pytest

from nnstudio.core.interop import OPSET, export_model, open_model
from nnstudio.core.nn import ModelFileError

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402


def run_onnxruntime(path, x):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return session.run(None, {name: x})


def test_shipped_model_scores_the_same_in_onnxruntime(shipped, mnist, tmp_path):
    path = tmp_path / "mnist.onnx"
    export_model(shipped, path)
    model = onnx.load(str(path))
    onnx.checker.check_model(model, full_check=True)
    assert model.opset_import[0].version >= 17
    assert [o.name for o in model.graph.output] == ["logits", "probabilities"]
    dims = model.graph.input[0].type.tensor_type.shape.dim
    assert model.graph.input[0].name == "input" and dims[0].dim_param == "batch" and dims[1].dim_value == 784
    # Dropout does nothing at inference: it is not in the graph.
    assert [n.op_type for n in model.graph.node] == ["Gemm", "Relu", "Gemm", "Softmax"]
    props = {p.key: p.value for p in model.metadata_props}
    assert props["dataset"] == "mnist" and json.loads(props["class_names"]) == [str(i) for i in range(10)]
    assert props["nnstudio_version"]

    x, y = mnist.flat("test")
    logits, probs = run_onnxruntime(path, x)
    ours = shipped.predict_proba(x)
    assert np.abs(probs - ours).max() <= 1e-5
    assert np.array_equal(probs.argmax(1), ours.argmax(1))
    assert np.array_equal(logits.argmax(1), ours.argmax(1))
    assert (probs.argmax(1) == y).mean() == (ours.argmax(1) == y).mean() > 0.97
    # The batch dimension is dynamic: one image at a time gives the same answer.
    one = run_onnxruntime(path, x[:1])[1]
    assert one.shape == (1, 10) and np.abs(one - ours[:1]).max() <= 1e-5


def test_every_layer_kind_round_trips_exactly(every_layer, tmp_path):
    path = tmp_path / "all.onnx"
    export_model(every_layer, path)
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    back = open_model(path)
    # Dropout and Identity are not in the graph; the layer list in the metadata puts them back.
    assert back.config() == every_layer.config()
    for a, b in zip(every_layer.get_weights(), back.get_weights()):
        assert a.dtype == b.dtype and np.array_equal(a, b)
    x = np.random.default_rng(0).random((256, 784), dtype=np.float32)
    assert np.array_equal(back.predict(x), every_layer.predict(x))
    assert back.meta["class_names"] == every_layer.meta["class_names"] and back.meta["dataset"] == "mnist"
    # ...and onnxruntime computes the same function (GELU's tanh form included).
    logits, probs = run_onnxruntime(path, x)
    assert np.abs(logits - every_layer.predict(x)).max() < 1e-4
    assert np.abs(probs - every_layer.predict_proba(x)).max() <= 1e-5


# -- graphs written the ways other tools write them ----------------------------------------------
def foreign_model(nodes, initializers, input_shape, opset=OPSET, output="y"):
    graph = helper.make_graph(
        nodes,
        "foreign",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, input_shape)],
        [helper.make_tensor_value_info(output, TensorProto.FLOAT, ["N", None])],
        initializer=[numpy_helper.from_array(v.astype(np.float32), k) for k, v in initializers.items()],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=8)


def save(model, path):
    path.write_bytes(model.SerializeToString())
    return path


def test_foreign_mlp_forms_compute_what_onnxruntime_computes(tmp_path):
    """(N,1,28,28) + Reshape, Gemm with transB=0 and alpha/beta, MatMul+Add (bias first), LeakyRelu,
    a MatMul without bias, a final Softmax: nnstudio's probabilities match onnxruntime's."""
    rng = np.random.default_rng(3)
    w = {
        "shape": np.array([-1, 784], np.int64),
        "w1": rng.normal(0, 0.05, (784, 40)),
        "b1": rng.normal(0, 0.1, (1, 40)),
        "w2": rng.normal(0, 0.2, (40, 30)),
        "b2": rng.normal(0, 0.1, (30,)),
        "w3": rng.normal(0, 0.2, (30, 10)),
    }
    shape = w.pop("shape")
    nodes = [
        helper.make_node("Reshape", ["x", "shape"], ["f"]),
        helper.make_node("Gemm", ["f", "w1", "b1"], ["h1"], alpha=0.5, beta=2.0),
        helper.make_node("LeakyRelu", ["h1"], ["a1"], alpha=0.1),
        helper.make_node("MatMul", ["a1", "w2"], ["m2"]),
        helper.make_node("Add", ["b2", "m2"], ["h2"]),
        helper.make_node("Sigmoid", ["h2"], ["a2"]),
        helper.make_node("Dropout", ["a2"], ["d2"]),
        helper.make_node("MatMul", ["d2", "w3"], ["h3"]),
        helper.make_node("Softmax", ["h3"], ["y"], axis=-1),
    ]
    model = foreign_model(nodes, w, ["N", 1, 28, 28])
    model.graph.initializer.append(numpy_helper.from_array(shape, "shape"))
    onnx.checker.check_model(model, full_check=True)
    path = save(model, tmp_path / "foreign.onnx")

    net = open_model(path)
    assert [layer.kind for layer in net.layers] == ["Dense", "LeakyReLU", "Dense", "Sigmoid", "Dropout", "Dense"]
    assert net.input_size == 784 and net.output_size == 10 and net.layers[1].alpha == 0.1
    x = rng.random((500, 1, 28, 28), dtype=np.float32)
    (theirs,) = run_onnxruntime(path, x)
    ours = net.predict_proba(x.reshape(500, 784))
    assert np.abs(theirs - ours).max() <= 1e-5
    assert np.array_equal(theirs.argmax(1), ours.argmax(1))


def test_gemm_with_weights_stored_out_in(tmp_path):
    rng = np.random.default_rng(4)
    w = {"w": rng.normal(0, 0.05, (10, 784)), "b": rng.normal(0, 0.1, (10,))}
    nodes = [helper.make_node("Flatten", ["x"], ["f"]), helper.make_node("Gemm", ["f", "w", "b"], ["y"], transB=1)]
    path = save(foreign_model(nodes, w, [None, 784]), tmp_path / "t.onnx")
    net = open_model(path)
    x = rng.random((64, 784), dtype=np.float32)
    assert np.abs(run_onnxruntime(path, x)[0] - net.predict(x)).max() < 1e-5


@pytest.mark.parametrize(
    "node, extra, message",
    [
        (helper.make_node("Conv", ["x", "k"], ["y"], name="conv1"), {"k": np.ones((4, 1, 3, 3))}, "Conv"),
        (helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"]), {}, "BatchNormalization"),
        (helper.make_node("Mul", ["x", "x"], ["y"]), {}, "Mul"),
        (helper.make_node("Add", ["x", "k"], ["y"]), {"k": np.ones(784)}, "Add"),
    ],
)
def test_unsupported_operator_is_one_line_naming_it(tmp_path, node, extra, message):
    path = save(foreign_model([node], extra, ["N", 784]), tmp_path / "odd.onnx")
    with pytest.raises(ModelFileError) as info:
        open_model(path)
    text = str(info.value)
    assert "\n" not in text
    assert f"unsupported ONNX operator {message}" in text and "odd.onnx" in text and "Gemm" in text


def test_graph_that_is_not_a_chain_is_refused(tmp_path):
    rng = np.random.default_rng(5)
    w = {"w": rng.normal(size=(784, 10)), "v": rng.normal(size=(784, 10))}
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["a"]),
        helper.make_node("MatMul", ["x", "v"], ["b"]),
        helper.make_node("Add", ["a", "b"], ["y"]),
    ]
    with pytest.raises(ModelFileError, match="single chain"):
        open_model(save(foreign_model(nodes, w, ["N", 784]), tmp_path / "branch.onnx"))


def test_input_of_another_shape_is_refused(tmp_path):
    nodes = [helper.make_node("Relu", ["x"], ["y"])]
    with pytest.raises(ModelFileError, match=r"\(N, features\) or \(N, C, H, W\)"):
        open_model(save(foreign_model(nodes, {}, ["N", 28, 28]), tmp_path / "rank3.onnx"))


def test_huge_declared_initializer_is_refused_before_allocating(tmp_path):
    """A 784 x 10,000,000 weight matrix (31 GB) declared in a file of a few bytes: refused from its header."""
    nodes = [helper.make_node("Gemm", ["x", "w"], ["y"])]
    model = foreign_model(nodes, {}, ["N", 784])
    huge = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[784, 10_000_000], raw_data=b"\0" * 16)
    model.graph.initializer.append(huge)
    path = save(model, tmp_path / "huge.onnx")
    assert path.stat().st_size < 1000
    with pytest.raises(ModelFileError, match="7,840,000,000 values"):
        open_model(path)
    # Declared shape and stored bytes that disagree: corrupt, said so.
    model.graph.initializer[0].dims[:] = [784, 10]
    with pytest.raises(ModelFileError, match="corrupt"):
        open_model(save(model, tmp_path / "short.onnx"))


@pytest.mark.parametrize("content", [b"", b"\x00" * 100, b"not onnx at all \xff\xfe" * 10])
def test_corrupt_file_is_one_clear_line(tmp_path, content):
    path = tmp_path / "bad.onnx"
    path.write_bytes(content)
    with pytest.raises(ModelFileError) as info:
        open_model(path)
    assert "bad.onnx" in str(info.value) and "\n" not in str(info.value)


def test_without_onnx_installed_says_how_to_install(shipped, tmp_path, monkeypatch):
    path = tmp_path / "m.onnx"
    export_model(shipped, path)
    monkeypatch.setitem(sys.modules, "onnx", None)  # what `import onnx` sees when it is not installed
    with pytest.raises(ModelFileError, match=r'm\.onnx needs the onnx package: pip install "nnstudio\[interop\]"'):
        open_model(path)
    with pytest.raises(ImportError, match=r'ONNX export needs the onnx package: pip install "nnstudio\[interop\]"'):
        export_model(shipped, tmp_path / "again.onnx")
    assert not (tmp_path / "again.onnx").exists()
    # safetensors and PyTorch code need no package at all.
    assert [p.name for p in export_model(shipped, tmp_path / "net.py")] == ["net.safetensors", "net.py"]
