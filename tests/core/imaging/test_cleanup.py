"""The photo/scan cleanup: polarity, lighting, noise floor, soft strokes, cropping to the digit."""

import numpy as np
import pytest
from PIL import Image

from nnstudio.core.imaging import clean_picture, load_picture, preprocess_digit
from nnstudio.core.nn import load_model
from nnstudio.resources import pretrained_model_path


@pytest.fixture(scope="module")
def shipped():
    return load_model(pretrained_model_path("mnist"))


def enlarged(img28, side):
    return np.asarray(Image.fromarray(img28).resize((side, side), Image.Resampling.BICUBIC), np.float32) / 255


def ramp(shape, lo, hi):
    """Paper lit from the left: brightness ``lo`` at the left edge to ``hi`` at the right."""
    return np.broadcast_to(np.linspace(lo, hi, shape[1], dtype=np.float32), shape).copy()


def corr(a, b):
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


def shifted_corr(a, b):
    """The best correlation of two 28x28 inputs over shifts of up to one pixel (centring rounds to a pixel)."""
    a, b = a.reshape(28, 28), b.reshape(28, 28)
    return max(corr(np.roll(a, (dy, dx), axis=(0, 1)), b) for dy in (-1, 0, 1) for dx in (-1, 0, 1))


def test_grey_strokes_stay_grey_in_proportion():
    """A full-black stroke and a half-grey one on paper: the grey one comes out about half as bright,
    not thresholded away and not pushed to white."""
    paper = np.full((200, 200), 0.9, np.float32)
    paper[40:160, 60:72] = 0.1  # black ink: 0.8 below the paper
    paper[40:160, 130:142] = 0.5  # grey pencil: 0.4 below the paper
    out = clean_picture(paper)
    assert out.dark_ink and not out.blank
    rows = out.ink[out.ink.shape[0] // 4 : 3 * out.ink.shape[0] // 4]  # across both strokes, away from their ends
    profile = rows.mean(axis=0)
    half = len(profile) // 2
    strong, weak = profile[:half].max(), profile[half:].max()
    assert strong == pytest.approx(1.0, abs=0.02)
    assert weak == pytest.approx(0.5, abs=0.1)  # grey stays grey: not thresholded away, not pushed to white
    assert (profile[half:] > 0.05).sum() >= 0.8 * (profile[:half] > 0.05).sum()  # and it keeps its width


def test_both_polarities_and_uneven_light_give_the_same_input(mnist):
    """Dark ink on paper lit from one side, and light chalk on a dark board lit from the other, read as
    the same 28x28 input as the digit itself."""
    x, _ = mnist.flat("test")
    for i in range(5):
        digit = (x[i].reshape(28, 28) * 255).astype(np.uint8)
        ink = enlarged(digit, 168)
        paper = ramp(ink.shape, 0.45, 1.0)
        on_paper = paper * (1 - ink) + 0.05 * ink
        board = ramp(ink.shape, 0.3, 0.05)
        on_board = board * (1 - ink) + 0.9 * ink
        want = preprocess_digit(digit)
        a, b = clean_picture(on_paper), clean_picture(on_board)
        assert a.dark_ink and not b.dark_ink
        for got in (a, b):
            assert shifted_corr(preprocess_digit(got.ink), want) > 0.9, i
            assert got.ink[:2].max() < 0.05 and got.ink[:, :2].max() < 0.05  # the margin is black


def test_noise_is_floored_not_read_as_ink():
    rng = np.random.default_rng(0)
    noise_only = np.clip(0.8 + rng.normal(0, 0.05, (300, 400)), 0, 1).astype(np.float32)
    assert clean_picture(noise_only).blank
    lit = ramp((300, 400), 0.4, 0.95)  # uneven light, no ink
    assert clean_picture(lit).blank
    page = noise_only.copy()
    page[100:200, 180:195] -= 0.5  # one dark stroke
    out = clean_picture(page)
    assert not out.blank and out.noise == pytest.approx(0.05 * 0.375, rel=0.3)  # measured after one smoothing
    assert out.box[0] < 100
    background = out.ink[: 100 - out.box[0] - 1]  # the margin above the stroke: floored to black
    assert (background > 0.1).mean() < 0.01


def test_a_small_digit_on_a_big_page_is_cropped(mnist, shipped):
    x, y = mnist.flat("test")
    digit = (x[7].reshape(28, 28) * 255).astype(np.uint8)
    ink = enlarged(digit, 84)
    page = np.full((900, 1200), 0.85, np.float32)
    page[600:684, 200:284] -= 0.7 * ink
    page[50, 1100] = 0.0  # a speck of dirt far away
    rows, cols = np.flatnonzero(ink.max(axis=1) > 0.05) + 600, np.flatnonzero(ink.max(axis=0) > 0.05) + 200
    out = clean_picture(page)
    top, bottom, left, right = out.box
    assert top <= rows[0] and bottom > rows[-1] and left <= cols[0] and right > cols[-1]  # the whole digit
    assert bottom - top < 1.6 * len(rows) and right - left < 1.6 * len(cols) + 20  # not the page, nor the speck
    assert shipped.predict(preprocess_digit(out.ink)).argmax() == y[7]


def test_transparent_pictures_read_the_same_in_either_ink_colour(tmp_path, mnist, shipped):
    """White ink on a transparent background is not blank and reads like black ink on one."""
    x, y = mnist.flat("test")
    for i in range(3):
        alpha = (enlarged((x[i].reshape(28, 28) * 255).astype(np.uint8), 112) * 255).astype(np.uint8)
        inputs = []
        for colour in (0, 255):
            rgba = np.zeros((112, 112, 4), np.uint8)
            rgba[..., :3], rgba[..., 3] = colour, alpha
            Image.fromarray(rgba, "RGBA").save(tmp_path / f"{i}-{colour}.png")
            picture = load_picture(tmp_path / f"{i}-{colour}.png")
            assert not picture.blank
            inputs.append(preprocess_digit(picture.ink))
        np.testing.assert_allclose(inputs[0], inputs[1], atol=0.02)
        assert shipped.predict(inputs[0]).argmax() == y[i]


def test_an_mnist_digit_saved_as_a_png_reads_as_itself(tmp_path, mnist):
    x, _ = mnist.flat("test")
    for i in range(20):
        digit = (x[i].reshape(28, 28) * 255).astype(np.uint8)
        Image.fromarray(digit).save(tmp_path / "d.png")
        assert shifted_corr(preprocess_digit(load_picture(tmp_path / "d.png").ink), preprocess_digit(digit)) > 0.95
