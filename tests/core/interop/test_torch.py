"""PyTorch on both sides: our safetensors and PyTorch code loaded by torch, and a network trained in torch
opened here. Skipped where torch is not installed (CI installs the CPU build as its last, optional step)."""

import runpy
import warnings

import numpy as np
import pytest

from nnstudio.core.interop import export_model, open_model, state_dict

pytestmark = pytest.mark.torch
torch = pytest.importorskip("torch")


def accuracy(scores, labels) -> float:
    return float((np.asarray(scores).argmax(1) == labels).mean())


def test_safetensors_file_is_what_the_reference_reader_reads(shipped, tmp_path):
    safetensors_numpy = pytest.importorskip("safetensors.numpy")
    path = tmp_path / "m.safetensors"
    export_model(shipped, path)
    tensors = safetensors_numpy.load_file(str(path))
    # The shipped net is Dense, ReLU, Dropout, Dense: PyTorch's nn.Sequential numbers them 0..3.
    assert sorted(tensors) == ["0.bias", "0.weight", "3.bias", "3.weight"]
    assert tensors["0.weight"].shape == (128, 784) and tensors["3.weight"].shape == (10, 128)
    for key, value in state_dict(shipped).items():
        assert np.array_equal(tensors[key], value)
    assert np.array_equal(tensors["0.weight"].T, shipped.layers[0].W.data)


def test_safetensors_strict_load_in_torch_gives_the_same_classes(shipped, mnist, tmp_path):
    from safetensors.torch import load_file
    from torch import nn

    path = tmp_path / "m.safetensors"
    export_model(shipped, path)
    model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Dropout(0.2), nn.Linear(128, 10)).eval()
    model.load_state_dict(load_file(str(path)), strict=True)
    x, y = mnist.flat("test")
    with torch.no_grad():
        probs = torch.softmax(model(torch.from_numpy(x)), dim=-1).numpy()
    ours = shipped.predict_proba(x)
    assert np.array_equal(probs.argmax(1), ours.argmax(1))
    assert np.abs(probs - ours).max() <= 1e-5
    assert accuracy(probs, y) == accuracy(ours, y)


def test_exported_pytorch_code_builds_the_network_and_loads_its_weights(every_layer, tmp_path):
    pytest.importorskip("safetensors")
    written = export_model(every_layer, tmp_path / "net.py")
    assert [p.name for p in written] == ["net.safetensors", "net.py"]
    namespace = runpy.run_path(str(tmp_path / "net.py"))  # strict=True inside: every key matches
    model = namespace["model"]
    assert len(model) == len(every_layer.layers) and not model.training
    x = np.random.default_rng(1).random((200, 784), dtype=np.float32)
    with torch.no_grad():
        theirs = model(torch.from_numpy(x)).numpy()
    assert np.abs(theirs - every_layer.predict(x)).max() < 1e-4


def train_torch_mlp(mnist, seed=0, n=12_000, epochs=2):
    """Flatten -> Linear -> ReLU -> Linear -> Tanh -> Linear, trained in PyTorch on a subset (a few seconds)."""
    from torch import nn

    torch.manual_seed(seed)
    x, y = mnist.flat("train")
    images = torch.from_numpy(x[:n].reshape(-1, 1, 28, 28))
    labels = torch.from_numpy(y[:n].astype(np.int64))
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 32), nn.Tanh(), nn.Linear(32, 10))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    generator = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        for idx in torch.randperm(n, generator=generator).split(128):
            opt.zero_grad()
            nn.functional.cross_entropy(model(images[idx]), labels[idx]).backward()
            opt.step()
    return model.eval()


@pytest.fixture
def one_torch_thread():
    """One thread: a small MLP trains in about a second; two threads on a busy 2-core machine take 10x longer."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_network_trained_in_torch_opens_here_with_torch_accuracy(mnist, tmp_path, one_torch_thread):
    pytest.importorskip("onnx")
    model = train_torch_mlp(mnist)
    x, y = mnist.flat("test")
    with torch.no_grad():
        torch_logits = model(torch.from_numpy(x.reshape(-1, 1, 28, 28))).numpy()
    torch_accuracy = accuracy(torch_logits, y)
    path = tmp_path / "torch-mlp.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter announces that it is the old one
        # dynamo=False: the TorchScript exporter needs nothing beyond torch (the default one needs onnxscript).
        torch.onnx.export(
            model,
            (torch.zeros(1, 1, 28, 28),),
            str(path),
            input_names=["image"],
            output_names=["logits"],
            dynamic_axes={"image": {0: "batch"}},
            dynamo=False,
        )
    net = open_model(path)
    assert [layer.kind for layer in net.layers] == ["Dense", "ReLU", "Dense", "Tanh", "Dense"]
    assert net.input_size == 784 and net.output_size == 10
    ours = net.predict(x)
    assert torch_accuracy > 0.9
    assert abs(accuracy(ours, y) - torch_accuracy) <= 0.0005
    assert np.abs(ours - torch_logits).max() < 1e-4
