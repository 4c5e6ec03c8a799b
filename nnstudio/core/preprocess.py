"""Turn a drawing or a photo of a digit into the 28x28 input an MNIST network expects.

MNIST's digits were prepared in a particular way, and a network trained on
them reads new digits well only if they are prepared the same way:

1. crop to the bounding box of the ink;
2. scale so the longer side is 20 pixels, keeping the aspect ratio, with area
   (anti-aliased) filtering so thin strokes become grey instead of vanishing;
3. paste into a 28x28 black field so the ink's centre of mass sits at the centre.

:func:`preprocess_digit` does exactly that. :func:`ink_on_black` prepares a photo
or scan first (dark ink on light paper is inverted, uneven lighting levelled),
and :func:`load_image_file` reads PNG/PGM/.npy files without any GUI library.
:func:`read_digit` runs the whole chain through a network and also returns the
hidden layers' activations, which the Draw page shows.
"""
from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

SIZE = 28          # the network's input is SIZE x SIZE
BOX = 20           # MNIST scales the ink's longer side to this many pixels
INK_THRESHOLD = 0.1  # a pixel counts as ink (for the bounding box) above this fraction of the brightest one


# -- the MNIST recipe ----------------------------------------------------------------------------

def _as_float_image(img) -> np.ndarray:
    a = np.asarray(img)
    if a.ndim == 3 and a.shape[2] in (3, 4):
        a = _to_gray(a)
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
    a = _as_float_image(img)
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
        edges = np.arange(n_out + 1) * scale                 # output pixel i covers [edges[i], edges[i+1])
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
        rows = op(op(p[:-2, :], p[1:-1, :]), p[2:, :])          # 3 rows -> (h, w + 2)
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
    a = _as_float_image(img)
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
        crop = crop[inner[0]:inner[1], inner[2]:inner[3]]
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
        out[dy0:dy0 + hh, dx0:dx0 + ww] = small[sy0:sy0 + hh, sx0:sx0 + ww]
    return np.clip(out, 0, 1).ravel()


def naive_downscale(img) -> np.ndarray:
    """The whole image area-filtered to 28x28 with no cropping or centring (for comparison only)."""
    a = _as_float_image(img)
    return np.clip(resize(a, SIZE, SIZE), 0, 1).astype(np.float32).ravel()


# -- photos and scans -----------------------------------------------------------------------------

def _to_gray(rgb: np.ndarray) -> np.ndarray:
    """RGB(A) -> luminance (ITU-R BT.601 weights); transparent pixels count as background."""
    a = rgb.astype(np.float32)
    scale = 255.0 if rgb.dtype == np.uint8 else (65535.0 if rgb.dtype == np.uint16 else 1.0)
    gray = (0.299 * a[..., 0] + 0.587 * a[..., 1] + 0.114 * a[..., 2]) / scale
    if rgb.shape[2] == 4:
        alpha = a[..., 3] / scale
        # Composite on the colour the opaque part suggests is the paper: a transparent
        # PNG of black ink means "black on nothing", which reads as dark ink on light paper.
        opaque = alpha > 0.5
        paper = 1.0 if not opaque.any() or float(np.median(gray[opaque])) < 0.5 else 0.0
        gray = gray * alpha + paper * (1 - alpha)
    return gray


def is_dark_ink_on_light(img: np.ndarray) -> bool:
    """Guess the polarity from the image border, where the paper (not the ink) usually is."""
    h, w = img.shape
    m = max(1, min(h, w) // 10)
    border = np.concatenate([img[:m].ravel(), img[-m:].ravel(), img[:, :m].ravel(), img[:, -m:].ravel()])
    return float(np.median(border)) > float(np.median(img.ravel())) * 0.5 + 0.25


def _background(img: np.ndarray, cells: int = 8) -> np.ndarray:
    """A smooth estimate of the background (paper brightness after inversion) under uneven light.

    The image is cut into ``cells`` x ``cells`` tiles; each tile's 30th percentile
    is its background (ink covers well under half of a tile), and the tile values
    are interpolated back to full size.
    """
    h, w = img.shape
    cy, cx = min(cells, h), min(cells, w)
    ys = np.linspace(0, h, cy + 1).astype(int)
    xs = np.linspace(0, w, cx + 1).astype(int)
    tiles = np.empty((cy, cx), np.float32)
    for i in range(cy):
        for j in range(cx):
            tiles[i, j] = np.percentile(img[ys[i]:ys[i + 1], xs[j]:xs[j + 1]], 30)
    return resample_matrix(cy, h) @ tiles @ resample_matrix(cx, w).T


def _otsu(values: np.ndarray) -> float:
    """Otsu's threshold of values in [0, 1]."""
    hist, edges = np.histogram(values, bins=64, range=(0, 1))
    p = hist.astype(np.float64) / max(1, hist.sum())
    omega = np.cumsum(p)
    mu = np.cumsum(p * (edges[:-1] + edges[1:]) / 2)
    between = (mu[-1] * omega - mu) ** 2 / np.maximum(omega * (1 - omega), 1e-12)
    return float(edges[int(np.argmax(between)) + 1])


def ink_on_black(img) -> np.ndarray:
    """A photo or scan of a digit -> float32 white ink on a black background, in [0, 1].

    Dark ink on light paper is inverted; the background (paper grain, shadows,
    a gradient from a desk lamp) is estimated tile by tile, subtracted, and what
    stays below the ink/paper threshold is set to black. Images that already are
    light ink on black (a canvas export, an MNIST digit) pass through levelled.
    """
    a = _as_float_image(img)
    if is_dark_ink_on_light(a):
        a = 1.0 - a
    if min(a.shape) >= 16:
        a = a - _background(a)
    a = np.clip(a, 0, None)
    peak = float(np.percentile(a, 99.9)) if a.size > 1000 else float(a.max())
    if peak <= 1e-3:
        return np.zeros_like(a, dtype=np.float32)
    a = np.clip(a / peak, 0, 1)
    # Noise floor: below half of Otsu's ink/paper threshold is paper.
    floor = 0.5 * _otsu(a)
    a = np.clip((a - floor) / (1 - floor), 0, 1)
    return a.astype(np.float32)


# -- reading files without a GUI library ------------------------------------------------------------

def load_image_file(path) -> np.ndarray:
    """Read a digit image as a 2-D float32 array of white ink on black in [0, 1].

    Supports ``.npy`` (2-D, or 3-D RGB/RGBA), PNG (8/16-bit gray, gray+alpha, RGB, RGBA,
    palette; not interlaced) and binary/ASCII PGM. Photos of dark ink on paper are
    inverted and levelled by :func:`ink_on_black`. Anything else raises ValueError
    with a message that says what is supported (the desktop app also opens JPEG).
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"no such image file: {path}")
    data = path.read_bytes()
    suffix = path.suffix.lower()
    if data[:8] == b"\x89PNG\r\n\x1a\n" or data[:2] in (b"P2", b"P5"):
        try:
            img = decode_png(data) if data[:1] == b"\x89" else decode_pgm(data)
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None
    elif suffix == ".npy" or data[:6] == b"\x93NUMPY":
        try:
            img = np.load(path, allow_pickle=False)
        except (ValueError, OSError) as exc:
            raise ValueError(f"{path}: not a readable .npy array ({exc})") from None
        if img.ndim == 3 and img.shape[0] == 1:
            img = img[0]
        if img.ndim == 1 and img.size == SIZE * SIZE:
            img = img.reshape(SIZE, SIZE)
    elif data[:3] == b"\xff\xd8\xff":
        raise ValueError(f"{path}: JPEG is not supported on the command line; open it in the desktop app "
                         "(Draw page, 'Open image...') or convert it to PNG")
    else:
        raise ValueError(f"{path}: unsupported image format (use PNG, PGM or .npy)")
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[..., 0]
    if img.ndim == 3 and img.shape[2] in (3, 4):
        img = _to_gray(img)
    if img.ndim != 2:
        raise ValueError(f"{path}: expected a 2-D image, got shape {img.shape}")
    return ink_on_black(img)


def decode_png(data: bytes) -> np.ndarray:
    """Decode a non-interlaced PNG into a uint8/uint16 array (H, W) or (H, W, C)."""
    pos = 8
    header = None
    palette = None
    idat = []
    try:
        while pos < len(data):
            length, kind = struct.unpack(">I4s", data[pos:pos + 8])
            chunk = data[pos + 8:pos + 8 + length]
            if len(chunk) != length:
                raise ValueError("damaged PNG (truncated chunk)")
            pos += 12 + length
            if kind == b"IHDR":
                header = struct.unpack(">IIBBBBB", chunk)
            elif kind == b"PLTE":
                palette = np.frombuffer(chunk, np.uint8).reshape(-1, 3)
            elif kind == b"IDAT":
                idat.append(chunk)
            elif kind == b"IEND":
                break
        if header is None:
            raise ValueError("no IHDR chunk")
        width, height, depth, color, _, _, interlace = header
        if interlace:
            raise ValueError("interlaced PNGs are not supported; re-save it without interlacing")
        channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}.get(color)
        if channels is None or depth not in (1, 2, 4, 8, 16) or (depth < 8 and color not in (0, 3)):
            raise ValueError(f"unsupported PNG colour type {color} / bit depth {depth}")
        raw = zlib.decompress(b"".join(idat))
    except (struct.error, zlib.error) as exc:
        raise ValueError(f"damaged PNG ({exc})") from None
    bits_pp = depth * channels
    stride = (width * bits_pp + 7) // 8
    bpp = max(1, bits_pp // 8)
    if len(raw) < height * (stride + 1):
        raise ValueError("damaged PNG (image data is too short)")
    rows = np.frombuffer(raw, np.uint8)[:height * (stride + 1)].reshape(height, stride + 1)
    out = np.zeros((height, stride), np.uint8)
    prev = np.zeros(stride, np.int32)
    for y in range(height):
        kind, line = rows[y, 0], rows[y, 1:].astype(np.int32)
        if kind == 0:
            cur = line
        elif kind == 1:  # Sub: depends on the reconstructed byte bpp to the left, so go in bpp-wide steps
            cur = line.copy()
            for x in range(bpp, stride):
                cur[x] = (cur[x] + cur[x - bpp]) & 0xFF
        elif kind == 2:
            cur = (line + prev) & 0xFF
        elif kind == 3:
            cur = line.copy()
            for x in range(stride):
                left = cur[x - bpp] if x >= bpp else 0
                cur[x] = (cur[x] + ((left + prev[x]) >> 1)) & 0xFF
        elif kind == 4:
            cur = line.copy()
            for x in range(stride):
                a = cur[x - bpp] if x >= bpp else 0
                b = prev[x]
                c = prev[x - bpp] if x >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                cur[x] = (cur[x] + pred) & 0xFF
        else:
            raise ValueError(f"damaged PNG (unknown row filter {kind})")
        out[y] = cur
        prev = cur
    if depth == 16:
        img = out.view(">u2").astype(np.uint16).reshape(height, width, channels)
    elif depth == 8:
        img = out.reshape(height, width, channels)
    else:
        bits = np.unpackbits(out, axis=1).reshape(height, -1)[:, :width * depth]
        vals = bits.reshape(height, width, depth) @ (1 << np.arange(depth - 1, -1, -1))
        img = vals.astype(np.uint8)[..., None]
        if color == 0:
            img = (img.astype(np.uint16) * 255 // ((1 << depth) - 1)).astype(np.uint8)
    if color == 3:
        if palette is None:
            raise ValueError("damaged PNG (palette image without a palette)")
        img = palette[np.minimum(img[..., 0], len(palette) - 1)]
    elif color == 4:  # gray + alpha -> RGBA so alpha is handled in one place
        g, al = img[..., 0], img[..., 1]
        img = np.stack([g, g, g, al], axis=-1)
    elif channels == 1:
        img = img[..., 0]
    return img


def decode_pgm(data: bytes) -> np.ndarray:
    """Decode a binary (P5) or ASCII (P2) PGM into a 2-D array."""
    tokens, pos = [], 2
    while len(tokens) < 3:
        while pos < len(data) and data[pos:pos + 1].isspace():
            pos += 1
        if data[pos:pos + 1] == b"#":
            while pos < len(data) and data[pos:pos + 1] not in (b"\n", b"\r"):
                pos += 1
            continue
        start = pos
        while pos < len(data) and not data[pos:pos + 1].isspace():
            pos += 1
        if start == pos:
            raise ValueError("damaged PGM header")
        try:
            tokens.append(int(data[start:pos]))
        except ValueError:
            raise ValueError("damaged PGM header") from None
    width, height, maxval = tokens
    if data[:2] == b"P5":
        dtype = np.uint8 if maxval < 256 else np.dtype(">u2")
        n = width * height * np.dtype(dtype).itemsize
        body = data[pos + 1:pos + 1 + n]
        if len(body) != n:
            raise ValueError("damaged PGM (truncated pixel data)")
        img = np.frombuffer(body, dtype).reshape(height, width).astype(np.float32)
    else:
        img = np.array(data[pos:].split()[:width * height], dtype=np.float32)
        if img.size != width * height:
            raise ValueError("damaged PGM (truncated pixel data)")
        img = img.reshape(height, width)
    return img / max(1, maxval)


def encode_png(img: np.ndarray) -> bytes:
    """Encode a 2-D uint8 array as an 8-bit grayscale PNG (for saving a drawing)."""
    img = np.ascontiguousarray(img, np.uint8)
    h, w = img.shape

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    raw = b"".join(b"\x00" + img[y].tobytes() for y in range(h))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


# -- the whole chain through a network -------------------------------------------------------------

@dataclass
class DigitReading:
    """What the network made of one image: its 28x28 input, class probabilities, hidden activations."""
    inputs: np.ndarray                      # float32 (784,)
    probabilities: np.ndarray | None        # float64 (classes,), None for a blank image
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
    from .layers import Dense
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


def read_digit(net, img, box: int = BOX, center: str = "mass") -> DigitReading:
    """Preprocess ``img`` (white ink on black) and run it through ``net``; blank images are not predicted."""
    from .layers import softmax
    x = preprocess_digit(img, box=box, center=center)
    if not x.any():
        return DigitReading(x, None, [])
    logits, hidden = hidden_activations(net, x)
    return DigitReading(x, softmax(logits.astype(np.float64)[None, :])[0], hidden)
