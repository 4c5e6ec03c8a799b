"""Importing a folder of pictures into My digits: labels from folders or names, the shared loader, skips."""

import numpy as np
import pytest
from PIL import Image

from nnstudio.core.data import MyDigits
from nnstudio.core.imaging import import_folder, load_picture, preprocess_digit, read_folder
from nnstudio.core.imaging.folder import label_of


@pytest.mark.parametrize(
    "path, label",
    [
        ("digits/7/a.jpg", 7),
        ("digits/3.png", 3),
        ("digits/3_b.jpg", 3),
        ("digits/5 (2).webp", 5),
        ("digits/7-photo.bmp", 7),
        ("digits/12.png", None),
        ("digits/photo.png", None),
        ("digits/12/4.png", 4),
    ],
)
def test_labels_come_from_the_folder_or_the_file_name(path, label):
    from pathlib import Path

    assert label_of(Path(path)) == label


def test_a_folder_is_imported_through_the_shared_loader(tmp_path, mnist):
    folder = tmp_path / "mine"
    (folder / "2").mkdir(parents=True)
    files = {}
    for i in range(6):
        digit, label = mnist.x_test[i], int(mnist.y_test[i])
        paper = 255 - np.kron(digit, np.ones((5, 5), np.uint8))  # dark ink on white paper
        path = folder / f"{label}_{i}.jpg" if i % 2 else folder / str(label) / f"x{i}.png"
        path.parent.mkdir(exist_ok=True)
        Image.fromarray(paper).save(path)
        files[path] = label
    (folder / "notes.png").write_bytes(b"not a picture")  # unlabelled: skipped before reading
    (folder / "4_broken.png").write_bytes(b"\x89PNG\r\n\x1a\nbroken")
    Image.fromarray(np.full((50, 50), 230, np.uint8)).save(folder / "6_blank.png")
    (folder / "readme.txt").write_text("not a picture")  # not even looked at

    store = MyDigits(tmp_path / "my.npz")
    found = import_folder(store, folder)
    assert sorted(found.files) == sorted(files)
    assert found.labels.tolist() == [files[p] for p in found.files]
    reasons = {p.name: why for p, why in found.skipped}
    assert set(reasons) == {"notes.png", "4_broken.png", "6_blank.png"}
    assert "no label" in reasons["notes.png"] and "no ink" in reasons["6_blank.png"]
    assert "4_broken.png" in reasons["4_broken.png"] and "not a picture" in reasons["4_broken.png"]
    assert "6 pictures read" in found.summary() and "3 skipped" in found.summary()
    # stored exactly as `nnstudio predict` and the Draw page read them (to the uint8 the file keeps)
    reopened = MyDigits(tmp_path / "my.npz")
    assert len(reopened) == 6 and reopened.labels.tolist() == found.labels.tolist()
    for img, path in zip(reopened.images, found.files):
        want = np.round(preprocess_digit(load_picture(path).ink) * 255).reshape(28, 28)
        np.testing.assert_array_equal(img, want)


def test_a_missing_folder_is_one_clear_error(tmp_path):
    with pytest.raises(ValueError, match="no such folder"):
        read_folder(tmp_path / "nowhere")
