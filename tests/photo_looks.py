"""MNIST digits made to look like scans and photos: a generated test set, no binary files in the repository.

Each *look* turns a 28x28 MNIST digit (uint8, white ink on black) into a picture file the
way a scanner, a phone camera or an image editor would: enlarged and smoothed, dark ink
on paper or light ink on a board, grey pencil, blur, uneven light, sensor noise, JPEG
compression, a transparent background, a small digit on a big page. The tests in
tests/core/imaging and benchmarks/bench_photo_digits.py both use it, so the figures the
benchmark prints are the ones the tests hold a floor under.

    save_look(digit28, "phone photo", rng, folder / "x")  ->  Path of the written file
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter


def _enlarge(digit28: np.ndarray, side: int) -> np.ndarray:
    """The digit's ink (0..1) enlarged to ``side`` pixels with bicubic smoothing, as a scanner would see it."""
    im = Image.fromarray(digit28).resize((side, side), Image.Resampling.BICUBIC)
    return np.clip(np.asarray(im, np.float32) / 255.0, 0, 1)


def _blur(a: np.ndarray, sigma: float) -> np.ndarray:
    if sigma <= 0:
        return a
    im = Image.fromarray(np.clip(a * 255 + 0.5, 0, 255).astype(np.uint8))
    return np.asarray(im.filter(ImageFilter.GaussianBlur(sigma)), np.float32) / 255.0


def _paper(shape, rng, light=(0.88, 1.0), gradient=0.0) -> np.ndarray:
    """Paper brightness: a level in ``light`` falling off by up to ``gradient`` along a random direction,
    plus a soft vignette when there is a gradient (a desk lamp, a phone's shadow)."""
    h, w = shape
    level = rng.uniform(*light)
    if gradient <= 0:
        return np.full(shape, level, np.float32)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    yy, xx = yy / max(h - 1, 1) - 0.5, xx / max(w - 1, 1) - 0.5
    angle = rng.uniform(0, 2 * np.pi)
    ramp = (np.cos(angle) * xx + np.sin(angle) * yy) + 0.5  # 0..1 across the picture
    vignette = (xx**2 + yy**2) * rng.uniform(0, 0.6)
    return (level * (1 - gradient * ramp) - 0.15 * gradient * vignette).astype(np.float32)


def _compose(ink: np.ndarray, paper: np.ndarray, ink_level: float) -> np.ndarray:
    """Dark ink of brightness ``ink_level`` laid on ``paper`` with coverage ``ink`` (0..1)."""
    return paper * (1 - ink) + ink_level * ink


def _noise(a: np.ndarray, rng, sigma: float) -> np.ndarray:
    return a + np.float32(sigma) * rng.standard_normal(a.shape, dtype=np.float32)


def _to_image(a: np.ndarray) -> Image.Image:
    return Image.fromarray(np.clip(a * 255 + 0.5, 0, 255).astype(np.uint8))


def _on_page(ink: np.ndarray, shape, rng) -> np.ndarray:
    """``ink`` placed at a random spot on a black page of ``shape``."""
    page = np.zeros(shape, np.float32)
    h, w = ink.shape
    y, x = rng.integers(0, shape[0] - h + 1), rng.integers(0, shape[1] - w + 1)
    page[y : y + h, x : x + w] = ink
    return page


# Every look returns (picture, file suffix, save options).
Look = Callable[[np.ndarray, np.random.Generator], tuple[Image.Image, str, dict]]


def scan(d, rng):
    """A clean scan: enlarged 4-8x, black ink on white paper, a little scanner blur and noise."""
    ink = _blur(_enlarge(d, int(28 * rng.uniform(4, 8))), rng.uniform(0.3, 1.2))
    a = _compose(ink, _paper(ink.shape, rng), rng.uniform(0.02, 0.25))
    return _to_image(_noise(a, rng, rng.uniform(0.005, 0.02))), ".png", {}


def blurred_scan(d, rng):
    """Out of focus: a blur of 3-6% of the picture's size softens every stroke."""
    side = int(28 * rng.uniform(4, 7))
    ink = _blur(_enlarge(d, side), side * rng.uniform(0.03, 0.06))
    a = _compose(ink, _paper(ink.shape, rng), rng.uniform(0.05, 0.3))
    return _to_image(_noise(a, rng, 0.01)), ".png", {}


def pencil(d, rng):
    """Grey pencil on paper: the ink is only 20-45% darker than the paper."""
    ink = _blur(_enlarge(d, int(28 * rng.uniform(3, 6))), rng.uniform(0.3, 1.0))
    paper = _paper(ink.shape, rng, light=(0.85, 0.97))
    a = _compose(ink, paper, float(paper.mean()) - rng.uniform(0.2, 0.45))
    return _to_image(_noise(a, rng, 0.015)), ".png", {}


def chalkboard(d, rng):
    """The other polarity: light chalk on a dark board, a little uneven."""
    ink = _blur(_enlarge(d, int(28 * rng.uniform(4, 7))), rng.uniform(0.5, 1.5))
    board = _paper(ink.shape, rng, light=(0.05, 0.25), gradient=rng.uniform(0, 0.5))
    a = board * (1 - ink) + rng.uniform(0.7, 0.95) * ink
    return _to_image(_noise(a, rng, 0.02)), ".png", {}


def uneven_light(d, rng):
    """A desk lamp: the paper goes from full light to 40-60% of it across the picture."""
    ink = _blur(_enlarge(d, int(28 * rng.uniform(5, 9))), rng.uniform(0.5, 1.5))
    paper = _paper(ink.shape, rng, light=(0.9, 1.0), gradient=rng.uniform(0.4, 0.6))
    a = _compose(ink, paper, rng.uniform(0.05, 0.2))
    return _to_image(_noise(a, rng, 0.01)), ".png", {}


def noisy(d, rng):
    """A dark room: strong sensor noise (6-10% of the range) on a dim, grey-ink photo."""
    ink = _blur(_enlarge(d, int(28 * rng.uniform(4, 7))), rng.uniform(0.5, 1.2))
    a = _compose(ink, _paper(ink.shape, rng, light=(0.6, 0.8)), rng.uniform(0.1, 0.25))
    return _to_image(_noise(a, rng, rng.uniform(0.06, 0.1))), ".png", {}


def jpeg(d, rng):
    """Heavily compressed: JPEG quality 15-40 (blocks and ringing around the strokes)."""
    ink = _blur(_enlarge(d, int(28 * rng.uniform(3, 6))), 0.5)
    a = _compose(ink, _paper(ink.shape, rng), rng.uniform(0.02, 0.2))
    return _to_image(_noise(a, rng, 0.01)), ".jpg", {"quality": int(rng.integers(15, 41))}


def transparent(d, rng):
    """Drawn in an image editor: black or white ink, only the strokes opaque, the rest transparent."""
    alpha = _enlarge(d, int(28 * rng.uniform(3, 6)))
    colour = 0 if rng.random() < 0.5 else 255
    rgba = np.zeros((*alpha.shape, 4), np.uint8)
    rgba[..., :3] = colour
    rgba[..., 3] = np.clip(alpha * 255 + 0.5, 0, 255).astype(np.uint8)
    return Image.fromarray(rgba, "RGBA"), ".png", {}


def small_on_page(d, rng):
    """A whole sheet photographed: a digit 60-100 pixels tall somewhere on a 900x1200 page, JPEG."""
    ink = _blur(_enlarge(d, int(rng.uniform(60, 100) * 28 / 20)), 0.8)
    shape = (1200, 900)
    cover = _on_page(ink, shape, rng)
    a = _compose(cover, _paper(shape, rng, light=(0.8, 0.95), gradient=rng.uniform(0, 0.3)), rng.uniform(0.05, 0.25))
    return _to_image(_noise(a, rng, 0.015)), ".jpg", {"quality": 85}


def phone_photo(d, rng):
    """Everything at once: an 800-1200 pixel photo, uneven light, soft focus, grey ink, noise, JPEG."""
    long_side = int(rng.uniform(800, 1200))
    shape = (long_side * 3 // 4, long_side) if rng.random() < 0.5 else (long_side, long_side * 3 // 4)
    side = int(min(shape) * rng.uniform(0.3, 0.7))
    ink = _blur(_enlarge(d, side), side * rng.uniform(0.005, 0.02))
    cover = _on_page(ink, shape, rng)
    paper = _paper(shape, rng, light=(0.7, 0.95), gradient=rng.uniform(0.1, 0.45))
    a = _compose(cover, paper, rng.uniform(0.1, 0.35))
    return _to_image(_noise(a, rng, rng.uniform(0.01, 0.04))), ".jpg", {"quality": int(rng.integers(60, 90))}


LOOKS: dict[str, Look] = {
    "scan": scan,
    "blurred scan": blurred_scan,
    "pencil": pencil,
    "chalkboard": chalkboard,
    "uneven light": uneven_light,
    "noisy": noisy,
    "jpeg": jpeg,
    "transparent": transparent,
    "small on page": small_on_page,
    "phone photo": phone_photo,
}


def save_look(digit28: np.ndarray, look: str, rng: np.random.Generator, stem: Path) -> Path:
    """Write ``digit28`` (uint8 28x28, white on black, as in MNIST) in ``look`` to ``stem`` + its suffix."""
    image, suffix, options = LOOKS[look](np.asarray(digit28, np.uint8), rng)
    path = Path(str(stem) + suffix)
    image.save(path, **options)
    return path


def write_set(digits: np.ndarray, look: str, folder: Path, seed: int = 0) -> list[Path]:
    """All of ``digits`` (N, 28, 28 uint8) written in one look into ``folder``; the same seed gives the same files."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng([seed, sorted(LOOKS).index(look)])
    return [save_look(d, look, rng, folder / f"{i:05d}") for i, d in enumerate(digits)]
