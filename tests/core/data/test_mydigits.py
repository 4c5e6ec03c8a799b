"""The user's own digits: saved, relabelled, deleted, damaged files kept, used for evaluation and fine-tuning."""

import numpy as np
import pytest

from nnstudio.core.data import read_idx
from nnstudio.core.data.mydigits import (
    MyDigits,
    MyDigitsError,
    default_path,
    fine_tuning_set,
)


def test_add_relabel_delete_survive_reopening(tmp_path, mnist):
    x, y = mnist.flat("test")
    path = tmp_path / "sub" / "my-digits.npz"
    store = MyDigits(path)
    assert len(store) == 0 and not store.damaged and not path.exists()
    for i in range(5):
        assert store.add(x[i], int(y[i])) == i
    store.relabel(2, 9)
    store.delete([0, 4])
    again = MyDigits(path)
    assert len(again) == 3
    assert again.labels.tolist() == [int(y[1]), 9, int(y[3])]
    np.testing.assert_array_equal(again.images[0], np.round(x[1] * 255).reshape(28, 28).astype(np.uint8))
    assert again.counts().sum() == 3 and again.counts()[9] >= 1
    assert (again.added > 1.6e9).all()


def test_default_location_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("NNSTUDIO_HOME", str(tmp_path))
    assert default_path() == tmp_path / "my-digits.npz"


@pytest.mark.parametrize("bad", [b"not a zip file at all", None])
def test_damaged_file_is_reported_and_never_overwritten(tmp_path, mnist, bad):
    x, y = mnist.flat("test")
    path = tmp_path / "my-digits.npz"
    good = MyDigits(path)
    for i in range(3):
        good.add(x[i], int(y[i]))
    raw = path.read_bytes()
    content = bad if bad is not None else raw[: len(raw) // 2]  # garbage, or a truncated file
    path.write_bytes(content)

    store = MyDigits(path)
    assert store.damaged and "my-digits.npz" in store.error and len(store) == 0
    with pytest.raises(MyDigitsError, match="Nothing was changed"):
        store.add(x[5], int(y[5]))
    assert path.read_bytes() == content  # untouched

    moved = store.set_aside()
    assert moved.exists() and moved.read_bytes() == content and "damaged" in moved.name
    assert not store.damaged
    store.add(x[5], int(y[5]))
    assert len(MyDigits(path)) == 1


def test_invalid_labels_and_images_are_refused(tmp_path):
    store = MyDigits(tmp_path / "d.npz")
    for label in (10, -1, 2.5, "x"):
        with pytest.raises(MyDigitsError, match="label"):
            store.add(np.zeros(784), label)
    with pytest.raises(MyDigitsError, match="28x28"):
        store.add(np.zeros((20, 20)), 3)
    with pytest.raises(MyDigitsError, match="no digit number"):
        store.relabel(0, 1)
    assert len(store) == 0 and not (tmp_path / "d.npz").exists()


def test_foreign_npz_is_not_taken_for_my_digits(tmp_path):
    path = tmp_path / "other.npz"
    np.savez(path, images=np.zeros((2, 28, 28), np.uint8), labels=np.zeros(2, np.uint8))
    store = MyDigits(path)
    assert store.damaged and "__meta__" in store.error


def test_export_as_idx_matches_mnist_format(tmp_path, mnist):
    store = MyDigits(tmp_path / "d.npz")
    for i in range(4):
        store.add(mnist.x_test[i], int(mnist.y_test[i]))
    images, labels = store.export_idx(tmp_path / "idx")
    np.testing.assert_array_equal(read_idx(images), mnist.x_test[:4])
    np.testing.assert_array_equal(read_idx(labels), mnist.y_test[:4])


def test_fine_tuning_needs_some_digits(tmp_path):
    with pytest.raises(MyDigitsError, match="no digits"):
        fine_tuning_set(MyDigits(tmp_path / "d.npz"))


def test_my_digits_is_a_dataset_by_name(tmp_path, monkeypatch, mnist):
    from nnstudio.core.data import DataError, load_dataset

    monkeypatch.setenv("NNSTUDIO_HOME", str(tmp_path))
    with pytest.raises(DataError, match="no digits of your own"):
        load_dataset("my-digits")
    store = MyDigits()
    for i in range(6):
        store.add(mnist.x_test[i], int(mnist.y_test[i]))
    data = load_dataset("my_digits")
    x, y = data.flat("test")
    assert x.shape == (6, 784) and y.tolist() == mnist.y_test[:6].tolist()
    (tmp_path / "my-digits.npz").write_bytes(b"broken")
    with pytest.raises(DataError, match="damaged"):
        load_dataset("my-digits")
