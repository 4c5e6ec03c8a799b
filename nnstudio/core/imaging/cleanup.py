"""From a photo or scan of a digit to white ink on black, keeping soft strokes soft.

A network trained on MNIST expects grey, anti-aliased strokes on pure black. A picture
from a scanner or a phone has paper instead of black (often unevenly lit), sensor noise,
JPEG ringing, pencil that is only a little darker than the paper, and sometimes a whole
sheet around one small digit. :func:`clean_picture` undoes that in five steps, each one
measured from the picture itself:

1. **Lighting.** A smooth surface (a quadratic in x and y) is fitted to a small copy of
   the picture, robustly: pixels far from the fit on either side (the ink) are left out
   and the fit repeated. What is left after subtracting it is "ink minus paper", with the
   paper flat at zero even under a lamp's gradient or a vignette.
2. **Polarity.** The ink is the minority that stands out from that flat paper: if the
   pixels far *below* it outweigh those far *above*, the ink is dark on light and the
   picture is inverted. Nothing is assumed about which colour the border is.
3. **Where the digit is.** On the small copy (where averaging has already beaten the
   noise down), the ink's mass is projected on both axes and the picture cropped to the
   part holding nearly all of it, plus a margin: a digit on a whole sheet becomes a
   digit, and a speck of dirt far away is ignored.
4. **Noise floor, not a threshold.** The crop is reduced to at most ``INK_SIDE`` pixels
   (area averaging), smoothed by one 3x3 binomial pass, and the paper's level and noise
   are measured on the margin around the digit (which is paper by construction). Only
   that floor (paper level + 3.5 noise sigmas) is subtracted: every value above it keeps
   its grey level, so blurred, anti-aliased and pencil strokes stay grey.
5. **Contrast and focus.** The strongest ink (the 95th percentile of what is above the
   floor) maps to white, as a pen stroke's core does in MNIST, and an unsharp mask one
   network pixel wide steepens edges a soft focus has spread out.

The MNIST recipe (:func:`nnstudio.core.imaging.mnist.preprocess_digit`) then crops,
scales and centres the result. NumPy and Pillow only (Pillow's BOX resampling is an
exact area average, so it is used for the reductions).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter

from .mnist import BOX, _morph, as_float_image, ink_bbox

COARSE_SIDE = 96  # the small copy used to fit the lighting and find the digit
INK_SIDE = 256  # the cleaned digit is at most this many pixels a side (the network sees 20)
FLOOR_SIGMAS = 3.5  # the noise floor: paper level + this many standard deviations of the paper's noise
UNSHARP = 3.0  # the unsharp mask's amount (see _unsharp)
MASS_KEPT = 0.985  # the crop holds this fraction of the ink's mass on each axis (then grows while ink goes on)


@dataclass
class CleanedPicture:
    """Every stage of reading a picture, for the Draw page to show and for tests to check.

    ``original`` is the picture as read (grey levels in [0, 1], reduced, transparency
    composited); ``box`` is where the digit was found in it (top, bottom, left, right; None
    for a blank picture); ``ink`` is the cleaned digit: white ink on black in [0, 1], at most
    ``INK_SIDE`` pixels a side. ``dark_ink`` says whether the picture was inverted;
    ``floor`` and ``noise`` are the measured paper noise floor and noise sigma (in the
    picture's 0-1 units).
    """

    original: np.ndarray
    ink: np.ndarray
    box: tuple[int, int, int, int] | None
    dark_ink: bool
    floor: float = 0.0
    noise: float = 0.0

    @property
    def blank(self) -> bool:
        return self.box is None

    def describe(self) -> str:
        """One line on what the cleanup did (shown under the stages on the Draw page)."""
        if self.box is None:
            return "No ink found: the picture is as flat as its own noise"
        h, w = self.original.shape
        top, bottom, left, right = self.box
        polarity = "Dark ink on light paper: inverted" if self.dark_ink else "Light ink on dark: kept as it is"
        found = (
            "" if (bottom - top) * (right - left) > 0.6 * h * w else f"; digit found in {right - left}×{bottom - top}"
        )
        return f"{polarity}; lighting levelled; noise floor {self.floor:.2f} removed{found}"


def _grid(n: int, start: float, stop: float, size: int) -> np.ndarray:
    """Normalised coordinates in [-1, 1] (of an axis ``size`` long) of the centres of ``n`` equal cells
    covering [start, stop)."""
    centres = start + (np.arange(n, dtype=np.float64) + 0.5) * (stop - start) / n
    return centres / size * 2 - 1


def _terms(y: np.ndarray, x: np.ndarray) -> list[np.ndarray]:
    """The quadratic surface's six terms on the grid of rows ``y`` by columns ``x``."""
    yy, xx = np.meshgrid(y, x, indexing="ij")
    return [np.ones_like(xx), xx, yy, xx * xx, xx * yy, yy * yy]


def _fit_lighting(small: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> tuple[np.ndarray, float]:
    """Quadratic surface through the paper of ``small`` (on the grid ys x xs): coefficients and the
    paper's noise sigma.

    The paper is found where it almost always is, along the border: the surface is fitted to
    a ring of border cells (cells more than 3 sigmas off it, such as a stroke that touches the
    edge, are left out and the fit repeated), then refitted to every cell of the picture that
    lies within 3 sigmas of it, so the paper inside is followed too.
    """
    h, w = small.shape
    terms = np.stack([t.ravel() for t in _terms(ys, xs)], axis=1)
    v = small.ravel().astype(np.float64)
    depth = max(1, round(0.1 * min(h, w)))
    border = np.ones((h, w), bool)
    border[depth : h - depth, depth : w - depth] = False
    ring = border.ravel()
    keep = ring.copy()
    coef = np.zeros(terms.shape[1])
    sigma = 1e-3
    for everywhere in (False, False, False, True, True):
        if keep.sum() < 2 * terms.shape[1]:
            break
        a = terms[keep]
        coef = np.linalg.solve(a.T @ a + 1e-9 * np.eye(a.shape[1]), a.T @ v[keep])  # 6x6 normal equations
        r = v - terms @ coef
        if not everywhere:
            sigma = 1.4826 * float(np.median(np.abs(r[keep]))) + 1e-3
        keep = (np.abs(r) < 3 * sigma) if everywhere else (np.abs(r) < 3 * sigma) & ring
    return coef, sigma


def _surface(coef: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    return sum(c * t for c, t in zip(coef, _terms(ys, xs)))


def _box_reduce(a: np.ndarray, side: int) -> np.ndarray:
    """Area-average ``a`` so its longer side is at most ``side`` (exact box filter; unchanged if smaller)."""
    h, w = a.shape
    if max(h, w) <= side:
        return a.astype(np.float32, copy=False)
    s = side / max(h, w)
    size = (max(1, round(w * s)), max(1, round(h * s)))
    return np.asarray(Image.fromarray(np.ascontiguousarray(a, np.float32), "F").resize(size, Image.Resampling.BOX))


def _smooth(a: np.ndarray) -> np.ndarray:
    """One 3x3 binomial pass ([1 2 1] / 4 each way, edges repeated): noise sigma x 0.375, strokes barely touched."""
    p = np.pad(a, 1, mode="edge")
    rows = (p[:-2] + 2 * p[1:-1] + p[2:]) * 0.25
    return (rows[:, :-2] + 2 * rows[:, 1:-1] + rows[:, 2:]) * 0.25


def _span(profile: np.ndarray, kept: float = MASS_KEPT, tail: float = 0.03) -> tuple[int, int]:
    """[lo, hi) of the part of a 1-D ink profile holding ``kept`` of its mass, grown on each side while
    the profile stays above ``tail`` x its peak (a stroke that goes on is not cut)."""
    total = float(profile.sum())
    cum = np.cumsum(profile) / total
    cut = (1 - kept) / 2
    lo = int(np.searchsorted(cum, cut))
    hi = int(np.searchsorted(cum, 1 - cut)) + 1
    low = tail * float(profile.max())
    while lo > 0 and profile[lo - 1] > low:
        lo -= 1
    while hi < len(profile) and profile[hi] > low:
        hi += 1
    return lo, min(hi, len(profile))


def _unsharp(ink: np.ndarray, amount: float = UNSHARP) -> np.ndarray:
    """Restore some of the focus a photo lost: an unsharp mask one network pixel wide, without halos.

    ``ink + amount * (ink - blurred ink)``, then clamped between the darkest and brightest
    value within one network pixel: an edge gets steeper but never brighter than the stroke
    next to it, so a flat grey pencil stroke stays the grey it was and the paper's leftover
    noise is not amplified. Measured on 500 generated digits per look (tests/photo_looks.py,
    benchmarks/bench_photo_digits.py): see the figures in the project notes; sharp pictures
    read the same with or without it."""
    box = ink_bbox(ink)
    if box is None:
        return ink
    sigma = max(box[1] - box[0], box[3] - box[2]) / BOX  # one pixel of the 20-pixel box the digit becomes
    if sigma < 1.5:  # a picture about the network's size: nothing to restore at this scale
        return ink
    im = Image.fromarray(np.clip(ink * 255 + 0.5, 0, 255).astype(np.uint8))
    soft = np.asarray(im.filter(ImageFilter.GaussianBlur(sigma)), np.float32) * np.float32(1 / 255)
    sharp = ink + amount * (ink - soft)
    reach = max(1, round(sigma / 2))  # 3x3 steps: a window about one network pixel wide
    return np.clip(sharp, _morph(ink, reach, grow=False), _morph(ink, reach, grow=True)).astype(np.float32)


def clean_picture(img) -> CleanedPicture:
    """A photo, scan or export of a digit -> :class:`CleanedPicture` with white ink on black (see the module)."""
    gray = as_float_image(img)
    h, w = gray.shape
    blank = CleanedPicture(gray, np.zeros((1, 1), np.float32), None, False)
    if h * w < 4:
        return blank

    # 1-2. Lighting and polarity, on a small copy.
    small = _box_reduce(gray, COARSE_SIDE)
    sh, sw = small.shape
    ys, xs = _grid(sh, 0, h, h), _grid(sw, 0, w, w)
    coef, sigma = _fit_lighting(small, ys, xs)
    resid = small - _surface(coef, ys, xs)
    dark_mass = float(np.clip(-resid - 3 * sigma, 0, None).sum())
    light_mass = float(np.clip(resid - 3 * sigma, 0, None).sum())
    dark = dark_mass > light_mass
    ink_small = -resid if dark else resid

    # 3. Where the digit is: the part of the small copy holding the ink's mass.
    mass = np.clip(ink_small - 3 * sigma, 0, None)
    if mass.sum() <= 0:
        return CleanedPicture(gray, blank.ink, None, dark, noise=sigma)
    r0, r1 = _span(mass.sum(axis=1))
    c0, c1 = _span(mass.sum(axis=0))
    # The small copy's cells back in the picture's pixels, with a margin of paper all round.
    top, bottom = int(r0 * h / sh), int(np.ceil(r1 * h / sh))
    left, right = int(c0 * w / sw), int(np.ceil(c1 * w / sw))
    margin = max(2, round(0.12 * max(bottom - top, right - left)))
    top, bottom = max(0, top - margin), min(h, bottom + margin)
    left, right = max(0, left - margin), min(w, right + margin)

    # 4. The crop, reduced, levelled, smoothed; the noise floor measured on its margin.
    crop = _box_reduce(gray[top:bottom, left:right], INK_SIDE)
    ch, cw = crop.shape
    level = _surface(coef, _grid(ch, top, bottom, h), _grid(cw, left, right, w))
    ink = ((level - crop) if dark else (crop - level)).astype(np.float32)
    if max(ch, cw) >= 3 * BOX:  # at least 3 picture pixels per network pixel: smoothing costs no detail
        ink = _smooth(ink)
    band = max(1, round(margin * ch / max(1, bottom - top)) // 2)
    ring = np.concatenate([ink[:band].ravel(), ink[-band:].ravel(), ink[:, :band].ravel(), ink[:, -band:].ravel()])
    paper = float(np.median(ring))
    noise = 1.4826 * float(np.median(np.abs(ring - paper))) + 1 / 1024
    floor = paper + FLOOR_SIGMAS * noise
    above = ink - floor
    strokes = above[above > 0]
    peak = float(np.percentile(strokes, 95)) if strokes.size >= 4 else 0.0
    if peak < max(0.03, 2 * noise):  # nothing that stands out from the paper's own noise
        return CleanedPicture(gray, blank.ink, None, dark, floor, noise)

    # 5. Contrast: the strongest ink is white; everything between the floor and it stays grey.
    out = np.clip(above / peak, 0, 1).astype(np.float32)
    out = _unsharp(out)
    return CleanedPicture(gray, out, (top, bottom, left, right), dark, floor, noise)
