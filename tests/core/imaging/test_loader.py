"""The one image loader every surface uses: formats, transparency, big pictures, bad files."""

import numpy as np
import pytest
from PIL import Image

from nnstudio.core.imaging import load_image_file, preprocess_digit, read_image
from nnstudio.core.imaging.loader import MAX_SIDE
from nnstudio.core.nn import load_model
from nnstudio.resources import pretrained_model_path


@pytest.fixture(scope="module")
def shipped():
    return load_model(pretrained_model_path("mnist"))


@pytest.fixture(scope="module")
def digit(mnist):
    x, y = mnist.flat("test")
    return (x[3].reshape(28, 28) * 255).astype(np.uint8), int(y[3])


def paper_of(digit28, scale=4):
    """Dark ink on white paper, enlarged: what a scan of the digit looks like."""
    return 255 - np.kron(digit28, np.ones((scale, scale), np.uint8))


@pytest.mark.parametrize(
    "name, make",
    [
        ("d.png", lambda p: Image.fromarray(p)),  # 8-bit grey
        ("rgb.png", lambda p: Image.fromarray(np.stack([p] * 3, -1))),  # RGB
        ("p16.png", lambda p: Image.fromarray(p.astype(np.uint16) * 257)),  # 16-bit grey
        ("pal.png", lambda p: Image.fromarray(p).convert("P")),  # palette
        ("d.jpg", lambda p: Image.fromarray(p)),  # JPEG
        ("d.bmp", lambda p: Image.fromarray(p)),
        ("d.webp", lambda p: Image.fromarray(p)),
        ("d.pgm", lambda p: Image.fromarray(p)),
        ("d.tif", lambda p: Image.fromarray(p)),
    ],
)
def test_every_common_format_reads_as_white_ink_on_black(tmp_path, digit, shipped, name, make):
    img28, label = digit
    make(paper_of(img28)).save(tmp_path / name)
    img = load_image_file(tmp_path / name)
    assert img.dtype == np.float32 and 60 <= max(img.shape) <= 112  # cropped to the digit and its margin
    assert img[0, 0] < 0.05 and img.max() == pytest.approx(1.0, abs=0.02)  # inverted: paper black, ink white
    assert shipped.predict(preprocess_digit(img)).argmax() == label


def test_npy_arrays_read_like_pictures(tmp_path, digit, shipped):
    img28, label = digit
    np.save(tmp_path / "d.npy", img28)
    np.save(tmp_path / "flat.npy", img28.reshape(-1).astype(np.float32) / 255)
    np.save(tmp_path / "rgb.npy", np.stack([paper_of(img28)] * 3, -1))
    for name in ("d.npy", "flat.npy", "rgb.npy"):
        img = load_image_file(tmp_path / name)
        assert shipped.predict(preprocess_digit(img)).argmax() == label, name


def test_transparent_background_is_the_paper(tmp_path, digit, shipped):
    """White ink on a transparent background and black ink on one both read as the digit."""
    img28, label = digit
    ink = np.kron(img28, np.ones((4, 4), np.uint8))
    for colour in (255, 0):
        rgba = np.zeros((112, 112, 4), np.uint8)
        rgba[..., :3] = colour
        rgba[..., 3] = ink  # only the strokes are opaque
        Image.fromarray(rgba, "RGBA").save(tmp_path / f"t{colour}.png")
        reading = read_image(shipped, load_image_file(tmp_path / f"t{colour}.png"))
        assert not reading.blank and reading.top_class == label, colour


def test_a_big_photo_is_reduced_while_it_is_read(tmp_path, digit, shipped):
    img28, label = digit
    big = Image.fromarray(paper_of(img28, 1)).resize((4000, 4000), Image.Resampling.BILINEAR)
    big.save(tmp_path / "big.jpg", quality=90)
    img = load_image_file(tmp_path / "big.jpg")
    assert max(img.shape) <= MAX_SIDE
    assert shipped.predict(preprocess_digit(img)).argmax() == label


@pytest.mark.parametrize(
    "content, message",
    [
        (b"\xff\xd8\xff\xe0" + b"\0" * 100, "damaged|not a picture"),
        (b"GIF89a" + b"\0" * 100, "damaged|not a picture"),
        (b"hello, this is text", "not a picture nnstudio can read"),
        (b"\x93NUMPY\x01\x00" + b"\0" * 20, "not a readable .npy"),
    ],
)
def test_bad_image_files_give_a_clear_message(tmp_path, content, message):
    path = tmp_path / ("bad.npy" if content.startswith(b"\x93NUMPY") else "bad.png")
    path.write_bytes(content)
    with pytest.raises(ValueError, match=message):
        load_image_file(path)
    with pytest.raises(ValueError, match="no such image file"):
        load_image_file(tmp_path / "missing.png")


def test_an_oversized_array_is_refused_before_it_is_read(tmp_path):
    path = tmp_path / "huge.npy"
    np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=(20000, 20000))  # sparse on disk
    with pytest.raises(ValueError, match="too large"):
        load_image_file(path)
