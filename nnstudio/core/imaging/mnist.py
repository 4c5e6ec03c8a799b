"""Turn a drawing or a photo of a digit into the 28x28 input an MNIST network expects.

MNIST's digits were prepared in a particular way, and a network trained on
them reads new digits well only if they are prepared the same way:

1. crop to the bounding box of the ink;
2. scale so the longer side is 20 pixels, keeping the aspect ratio, with area
   (anti-aliased) filtering so thin strokes become grey instead of vanishing;
3. paste into a 28x28 black field so the ink's centre of mass sits at the centre.

:func:`preprocess_digit` does exactly that, for a drawing or for a picture that
:mod:`nnstudio.core.imaging.loader` has read from a file. :func:`read_digit` runs
the whole chain through a network and also returns the hidden layers'
activations, which the Draw page shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from nnstudio.core.nn.functional import softmax
from nnstudio.core.nn.layers import Dense

SIZE = 28  # the network's input is SIZE x SIZE
BOX = 20  # MNIST scales the ink's longer side to this many pixels
INK_THRESHOLD = 0.1  # a pixel counts as ink (for the bounding box) above this fraction of the brightest one


# -- the MNIST recipe ----------------------------------------------------------------------------


def to_gray(rgb: np.ndarray) -> np.ndarray:
    """RGB(A) -> luminance in [0, 1] (ITU-R BT.601 weights, the same as Pillow's "L"); alpha is ignored
    here (:func:`composite_on_paper` handles transparency)."""
    a = rgb.astype(np.float32)
    scale = 255.0 if rgb.dtype == np.uint8 else (65535.0 if rgb.dtype == np.uint16 else 1.0)
    return (0.299 * a[..., 0] + 0.587 * a[..., 1] + 0.114 * a[..., 2]) / scale


def composite_on_paper(gray: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Transparent pixels become the paper: the colour the opaque part suggests the paper is.

    A transparent PNG of black ink means "black on nothing", which reads as dark ink on
    light paper; white ink on nothing reads as white ink on black.
    """
    opaque = alpha > 0.5
    paper = 1.0 if not opaque.any() or float(np.median(gray[opaque])) < 0.5 else 0.0
    return (gray * alpha + paper * (1 - alpha)).astype(np.float32)


def as_float_image(img) -> np.ndarray:
    """A 2-D grey image in [0, 1] from uint8, uint16, float (rescaled if outside [0, 1]) or RGB(A) data."""
    a = np.asarray(img)
    if a.ndim == 3 and a.shape[2] == 4:
        scale = 255.0 if a.dtype == np.uint8 else (65535.0 if a.dtype == np.uint16 else 1.0)
        a = composite_on_paper(to_gray(a), a[..., 3].astype(np.float32) / scale)
    elif a.ndim == 3 and a.shape[2] == 3:
        a = to_gray(a)
    if a.ndim != 2:
        raise ValueError(f"expected a 2-D grayscale image, got an array of shape {a.shape}")
    if a.size == 0:
        raise ValueError("the image is empty (0 pixels)")
    if a.dtype == np.uint8:
        return a.astype(np.float32) * np.float32(1 / 255)
    if a.dtype == np.uint16:
        return a.astype(np.float32) * np.float32(1 / 65535)
    a = a.astype(np.float32)
    if not np.all(np.isfinite(a)):
        raise ValueError("the image contains NaN or infinite values")
    lo = float(a.min())
    if lo < 0:
        a = a - lo
    hi = float(a.max())
    if hi > 1:
        a = a / hi
    return a


def has_ink(img, threshold: float = 0.02) -> bool:
    """True if the image holds anything brighter than ``threshold`` (an empty canvas holds nothing)."""
    a = as_float_image(img)
    return bool(a.max() > threshold)


def ink_bbox(img: np.ndarray, threshold: float = INK_THRESHOLD) -> tuple[int, int, int, int] | None:
    """(top, bottom, left, right) of the pixels above ``threshold`` x the brightest, end-exclusive; None if blank."""
    peak = float(img.max())
    if peak <= 0:
        return None
    mask = img > threshold * peak
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return None
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def resample_matrix(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) weights that resize a 1-D signal; rows sum to 1.

    Shrinking averages the input over each output pixel's footprint (area
    filtering: every input pixel contributes in proportion to its overlap, so
    a thin stroke becomes a grey line rather than disappearing between
    samples). Enlarging interpolates linearly between pixel centres.
    """
    if n_out <= n_in:
        scale = n_in / n_out
        edges = np.arange(n_out + 1) * scale  # output pixel i covers [edges[i], edges[i+1])
        lo = np.arange(n_in)[None, :]
        overlap = np.minimum(edges[1:, None], lo + 1) - np.maximum(edges[:-1, None], lo)
        weights = np.clip(overlap, 0, None)
    else:
        centres = (np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5
        centres = np.clip(centres, 0, n_in - 1)
        weights = np.clip(1 - np.abs(centres[:, None] - np.arange(n_in)[None, :]), 0, None)
    return (weights / weights.sum(axis=1, keepdims=True)).astype(np.float32)


def resize(img: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize a 2-D float image with :func:`resample_matrix` along both axes."""
    return resample_matrix(img.shape[0], height) @ img @ resample_matrix(img.shape[1], width).T


def center_of_mass(img: np.ndarray) -> tuple[float, float]:
    """(row, column) of the intensity-weighted centre of ``img``."""
    total = float(img.sum())
    if total <= 0:
        return (img.shape[0] - 1) / 2, (img.shape[1] - 1) / 2
    rows = np.arange(img.shape[0], dtype=np.float64)
    cols = np.arange(img.shape[1], dtype=np.float64)
    return float(img.sum(axis=1) @ rows) / total, float(img.sum(axis=0) @ cols) / total


# MNIST's strokes are about 0.095 of the digit's longer side wide (10th-90th percentile 0.07-0.13,
# measured with stroke_width() on 600 training digits enlarged 10x). A drawing far outside that range
# (a tiny digit with a fat pen, a huge one with a fine pen) is brought back inside it.
STROKE_RANGE = (0.045, 0.16)
STROKE_TARGET = (0.07, 0.11)


def stroke_width(mask: np.ndarray) -> float:
    """Mean stroke width of a binary ink mask, in pixels: 2 x area / perimeter (a long stroke of
    width w and length L has area wL and perimeter about 2L)."""
    m = np.pad(mask, 1)
    perimeter = int((m[1:] != m[:-1]).sum() + (m[:, 1:] != m[:, :-1]).sum())
    return 2.0 * float(mask.sum()) / max(perimeter, 1)


def _morph(img: np.ndarray, steps: int, grow: bool) -> np.ndarray:
    """Grey-level dilation (grow) or erosion with a 3x3 square, ``steps`` times: each step
    makes strokes 2 pixels wider or narrower."""
    op = np.maximum if grow else np.minimum
    out = img
    for _ in range(steps):
        p = np.pad(out, 1, mode="constant")
        h, w = out.shape
        rows = op(op(p[:-2, :], p[1:-1, :]), p[2:, :])  # 3 rows -> (h, w + 2)
        out = op(op(rows[:, :-2], rows[:, 1:-1]), rows[:, 2:])[:h, :w]
    return out


def normalize_stroke_width(crop: np.ndarray) -> np.ndarray:
    """Thin a fat-pen drawing or thicken a fine-pen one until its strokes are MNIST-like relative to
    its size (see ``STROKE_RANGE``); digits already in range, and small images, are returned unchanged."""
    long_side = max(crop.shape)
    if long_side < 40:
        return crop
    mask = crop > 0.5 * float(crop.max())
    width = stroke_width(mask)
    ratio = width / long_side
    if ratio > STROKE_RANGE[1]:
        steps = int(round((width - STROKE_TARGET[1] * long_side) / 2))
        thinner = _morph(crop, steps, grow=False)
        # Never erase the drawing: erode less if too little ink would survive.
        while steps > 0 and (thinner > 0.5 * crop.max()).sum() < 0.15 * mask.sum():
            steps -= 1
            thinner = _morph(crop, steps, grow=False)
        return thinner
    if ratio < STROKE_RANGE[0]:
        steps = int(round((STROKE_TARGET[0] * long_side - width) / 2))
        pad = np.pad(crop, steps)
        return _morph(pad, steps, grow=True)
    return crop


def preprocess_digit(img, box: int = BOX, center: str = "mass", stroke: bool = True) -> np.ndarray:
    """A 2-D image of white ink on black (any size) -> float32 (784,) in [0, 1], prepared like MNIST.

    ``box`` is the size of the ink's longer side in the 28x28 result (MNIST: 20);
    ``center`` is ``"mass"`` (MNIST: centre of mass at the centre) or ``"box"``
    (centre of the bounding box, as for Fashion-MNIST, whose items fill the frame).
    ``stroke`` brings strokes far thicker or thinner than MNIST's back into its range
    (:func:`normalize_stroke_width`) before scaling.
    A blank image gives all zeros.
    """
    a = as_float_image(img)
    out = np.zeros((SIZE, SIZE), np.float32)
    bbox = ink_bbox(a)
    if bbox is None or a.max() <= 0.02:
        return out.ravel()
    top, bottom, left, right = bbox
    crop = a[top:bottom, left:right]
    if stroke:
        crop = normalize_stroke_width(crop)
        inner = ink_bbox(crop)
        if inner is None:
            return out.ravel()
        crop = crop[inner[0] : inner[1], inner[2] : inner[3]]
    h, w = crop.shape
    scale = box / max(h, w)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    small = np.clip(resize(crop, nh, nw), 0, 1)
    # Full-strength ink maps to 1 even in a faint drawing; thin strokes stay grey, as in MNIST.
    small /= max(float(crop.max()), 1e-6)
    if center == "mass":
        cy, cx = center_of_mass(small)
        target = SIZE / 2  # measured on MNIST: the centre of mass sits at pixel (14.0, 14.0)
        y0, x0 = round(target - cy), round(target - cx)
    elif center == "box":
        y0, x0 = (SIZE - nh) // 2, (SIZE - nw) // 2
    else:
        raise ValueError(f"center must be 'mass' or 'box', got {center!r}")
    # Paste, clipping whatever a lopsided digit pushes over the edge.
    sy0, sx0 = max(0, -y0), max(0, -x0)
    dy0, dx0 = max(0, y0), max(0, x0)
    hh = min(nh - sy0, SIZE - dy0)
    ww = min(nw - sx0, SIZE - dx0)
    if hh > 0 and ww > 0:
        out[dy0 : dy0 + hh, dx0 : dx0 + ww] = small[sy0 : sy0 + hh, sx0 : sx0 + ww]
    return np.clip(out, 0, 1).ravel()


def naive_downscale(img) -> np.ndarray:
    """The whole image area-filtered to 28x28 with no cropping or centring (for comparison only)."""
    a = as_float_image(img)
    return np.clip(resize(a, SIZE, SIZE), 0, 1).astype(np.float32).ravel()


# -- the whole chain through a network -------------------------------------------------------------


@dataclass
class DigitReading:
    """What the network made of one image: its 28x28 input, class probabilities, hidden activations."""

    inputs: np.ndarray  # float32 (784,)
    probabilities: np.ndarray | None  # float64 (classes,), None for a blank image
    hidden: list[np.ndarray] = field(default_factory=list)  # each hidden layer's output, 1-D

    @property
    def blank(self) -> bool:
        return self.probabilities is None

    @property
    def top_class(self) -> int | None:
        return None if self.probabilities is None else int(np.argmax(self.probabilities))


def hidden_activations(net, x: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """Run ``net`` on one input and keep what each hidden layer hands to the next Dense layer.

    Returns (logits, [hidden layer outputs]).
    """
    hidden = []
    h = np.asarray(x, np.float32).reshape(1, -1)
    seen_dense = False
    for layer in net.layers:
        if isinstance(layer, Dense):
            if seen_dense:
                hidden.append(h[0].copy())
            seen_dense = True
        h = layer.forward(h, training=False)
    net.clear_cache()
    return h[0], hidden


# How each dataset's images were framed: MNIST scales the ink's longer side to 20 pixels and centres
# its mass; Fashion-MNIST's items fill the 28x28 frame, centred by their bounding box.
RECIPES = {"mnist": (BOX, "mass"), "fashion-mnist": (SIZE, "box")}


def recipe_for(net) -> tuple[int, str]:
    """(box, center) for the dataset ``net`` was trained on (MNIST's when unknown)."""
    dataset = (getattr(net, "meta", None) or {}).get("dataset") or "mnist"
    return RECIPES.get(dataset, RECIPES["mnist"])


def read_image(net, img) -> DigitReading:
    """:func:`read_digit` with the framing of the dataset ``net`` was trained on."""
    box, center = recipe_for(net)
    return read_digit(net, img, box=box, center=center)


def read_digit(net, img, box: int = BOX, center: str = "mass") -> DigitReading:
    """Preprocess ``img`` (white ink on black) and run it through ``net``; blank images are not predicted."""
    x = preprocess_digit(img, box=box, center=center)
    if not x.any():
        return DigitReading(x, None, [])
    logits, hidden = hidden_activations(net, x)
    return DigitReading(x, softmax(logits.astype(np.float64)[None, :])[0], hidden)
