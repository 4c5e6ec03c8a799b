import numpy as np
import pytest

from nnstudio.core.nn import Sequential
from nnstudio.core.training import classification_report, confusion_matrix, evaluate, gradient_rms


def test_report_agrees_with_evaluate_and_counts_every_sample():
    rng = np.random.default_rng(0)
    net = Sequential.mlp([5, 8, 3], seed=0)
    x = rng.standard_normal((200, 5)).astype(np.float32)
    y = rng.integers(0, 3, 200)
    report = classification_report(net, x, y, ["a", "b", "c"], n_mistakes=5)
    loss, acc = evaluate(net, x, y)
    assert report.accuracy == pytest.approx(acc)
    assert report.loss == pytest.approx(loss, rel=1e-5)
    assert report.confusion.sum() == 200 and np.trace(report.confusion) == round(acc * 200)
    d = report.to_dict()
    assert len(d["per_class_accuracy"]) == 3 and d["class_names"] == ["a", "b", "c"]
    assert len(report.mistakes) == 5
    confs = [m[3] for m in report.mistakes]
    assert confs == sorted(confs, reverse=True)


def test_confusion_matrix_rows_are_true_classes():
    cm = confusion_matrix(np.array([0, 0, 1, 2]), np.array([0, 1, 1, 1]), 3)
    assert cm.tolist() == [[1, 1, 0], [0, 1, 0], [0, 1, 0]]


def test_gradient_rms_one_value_per_dense_layer():
    net = Sequential.mlp([4, 6, 2])
    net.layers[0].W.grad[...] = 2.0
    net.layers[2].W.grad[...] = 0.0
    np.testing.assert_allclose(gradient_rms(net), [2.0, 0.0])
