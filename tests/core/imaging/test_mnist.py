"""MNIST-style preprocessing of drawings and photos."""

import numpy as np
import pytest

from nnstudio.core.imaging.loader import ink_on_black
from nnstudio.core.imaging.mnist import center_of_mass, naive_downscale, preprocess_digit, read_digit, resize
from nnstudio.core.nn import load_model
from nnstudio.resources import pretrained_model_path


@pytest.fixture(scope="module")
def shipped():
    return load_model(pretrained_model_path("mnist"))


def on_big_canvas(img28, rng, side=280):
    """An MNIST digit enlarged 3-9x and put somewhere on a big black canvas, like a drawing."""
    s = rng.uniform(3, min(9, side / 28))
    big = np.clip(resize(img28, int(28 * s), int(28 * s)), 0, 1)
    canvas = np.zeros((side, side), np.float32)
    oy, ox = rng.integers(0, side - big.shape[0] + 1, 2)
    canvas[oy : oy + big.shape[0], ox : ox + big.shape[1]] = big
    return canvas


def test_mnist_recipe_reads_digits_anywhere_on_a_canvas(mnist, shipped):
    x, y = mnist.flat("test")
    rng = np.random.default_rng(0)
    n = 300
    canvases = [on_big_canvas(x[i].reshape(28, 28), rng) for i in range(n)]
    recipe = np.stack([preprocess_digit(c) for c in canvases])
    naive = np.stack([naive_downscale(c) for c in canvases])
    acc_recipe = (shipped.predict(recipe).argmax(1) == y[:n]).mean()
    acc_naive = (shipped.predict(naive).argmax(1) == y[:n]).mean()
    acc_original = (shipped.predict(x[:n]).argmax(1) == y[:n]).mean()
    assert acc_recipe >= acc_original - 0.02 and acc_recipe >= 0.95
    assert acc_naive < 0.7  # shrinking the whole canvas loses most digits


def test_preprocessing_an_mnist_digit_keeps_it_nearly_unchanged(mnist):
    x, _ = mnist.flat("test")
    diffs = [np.abs(preprocess_digit(x[i].reshape(28, 28)) - x[i]).mean() for i in range(100)]
    assert np.median(diffs) < 0.02


def test_ink_is_scaled_to_20_pixels_and_centred_by_mass():
    img = np.zeros((300, 400), np.float32)
    img[30:130, 300:340] = 1.0  # 100 tall, 40 wide, off in a corner
    out = preprocess_digit(img, stroke=False).reshape(28, 28)  # a block, not a pen stroke: keep it whole
    rows, cols = np.flatnonzero(out.max(1) > 0.05), np.flatnonzero(out.max(0) > 0.05)
    assert rows[-1] - rows[0] + 1 == 20
    assert cols[-1] - cols[0] + 1 == 8  # aspect ratio kept: 40/100 * 20
    cy, cx = center_of_mass(out)
    assert abs(cy - 14) <= 0.5 and abs(cx - 14) <= 0.5
    assert out.max() == pytest.approx(1.0)


def test_thin_strokes_survive_downscaling_without_gaps():
    img = np.zeros((560, 560), np.float32)
    for t in range(40, 520):  # a 3-pixel-wide diagonal line
        img[t, t - 1 : t + 2] = 1.0
    out = preprocess_digit(img).reshape(28, 28)
    rows = np.flatnonzero(out.max(axis=1) > 0.05)  # area filtering: grey, not missing
    assert len(rows) == 20 and rows[-1] - rows[0] == 19
    assert all(abs(int(np.argmax(out[r])) - r) <= 1 for r in rows)  # still on the diagonal
    assert out.dtype == np.float32 and out.min() >= 0 and out.max() <= 1


def test_blank_image_gives_no_input_and_no_prediction(shipped):
    assert not preprocess_digit(np.zeros((50, 80))).any()
    reading = read_digit(shipped, np.zeros((280, 280), np.float32))
    assert reading.blank and reading.top_class is None


def test_read_digit_returns_probabilities_and_hidden_activations(mnist, shipped):
    x, y = mnist.flat("test")
    reading = read_digit(shipped, x[0].reshape(28, 28) * 255)
    assert reading.top_class == y[0]
    assert reading.probabilities.sum() == pytest.approx(1.0)
    assert len(reading.hidden) == 1 and reading.hidden[0].shape == (128,)
    dense = shipped.dense_layers()[0]
    manual = np.maximum(reading.inputs @ dense.W.data + dense.b.data, 0)  # ReLU(xW + b)
    np.testing.assert_allclose(reading.hidden[0], manual, rtol=1e-4, atol=1e-5)
    assert (reading.hidden[0] >= 0).all() and reading.hidden[0].max() > 0


def photo_of(img28, rng, side=240):
    """Dark ink on unevenly lit grey paper with noise: what a phone photo of a digit looks like."""
    ink = on_big_canvas(img28, rng, side)
    yy, xx = np.mgrid[0:side, 0:side] / side
    paper = 0.55 + 0.35 * xx + 0.1 * yy  # a lamp on the right
    photo = paper * (1 - 0.8 * ink) + rng.normal(0, 0.03, (side, side))
    return np.clip(photo, 0, 1)


def test_photo_of_dark_ink_on_paper_is_inverted_and_levelled(mnist, shipped):
    x, y = mnist.flat("test")
    rng = np.random.default_rng(1)
    n, hits, corr = 60, 0, []
    for i in range(n):
        photo = photo_of(x[i].reshape(28, 28), rng)
        clean = ink_on_black(photo)
        assert clean[:10, :10].mean() < 0.05 and clean[:10, -10:].mean() < 0.05  # paper is black now
        z = preprocess_digit(clean)
        hits += shipped.predict(z).argmax() == y[i]
        corr.append(np.corrcoef(z, preprocess_digit(x[i].reshape(28, 28)))[0, 1])
    assert hits / n >= 0.93
    assert np.median(corr) > 0.85


def test_white_ink_on_black_is_not_inverted():
    img = np.zeros((100, 100), np.float32)
    img[20:80, 45:55] = 1
    out = ink_on_black(img)  # cropped to the bar and a margin of black
    assert 60 <= out.shape[0] <= 80 and 10 <= out.shape[1] <= 30
    assert out[out.shape[0] // 2, out.shape[1] // 2] == pytest.approx(1.0) and out[0, 0] == 0


def test_fat_and_fine_pens_are_brought_to_mnist_stroke_width(mnist, shipped):
    """A small digit drawn with a fat pen, or a big one with a fine pen, is read like a normal one."""
    from nnstudio.core.imaging.mnist import _morph, stroke_width

    x, y = mnist.flat("test")
    n = 100
    fat, fine = [], []
    for i in range(n):
        img = x[i].reshape(28, 28)
        small = np.pad(np.clip(resize(img, 100, 100), 0, 1), 20)
        fat.append(_morph(small, 8, grow=True))  # strokes 16 px wider on a ~70 px digit
        big = np.clip(resize(img, 300, 300), 0, 1)
        fine.append(_morph(big, 4, grow=False))  # a ~210 px digit, strokes 8 px thinner
    assert stroke_width(fat[0] > 0.5) / 100 > 0.2 and stroke_width(fine[0] > 0.5) / 300 < 0.04

    def accuracy(images, stroke):
        return (
            shipped.predict(np.stack([preprocess_digit(im, stroke=stroke) for im in images])).argmax(1) == y[:n]
        ).mean()

    fat_plain, fat_normal = accuracy(fat, False), accuracy(fat, True)
    assert fat_normal >= 0.93 and fat_normal > fat_plain + 0.05, (fat_plain, fat_normal)
    assert accuracy(fine, True) >= max(0.95, accuracy(fine, False) - 0.01)
