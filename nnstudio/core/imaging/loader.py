"""Reading a picture of a digit from a file: one loader for every surface (CLI, window, My digits).

The result is always a 2-D float32 array of white ink on black in [0, 1]: photos
and scans of dark ink on paper are inverted and levelled by :func:`ink_on_black`.
Files are decoded by Pillow (a core dependency: the core never imports Qt, so
QImage is not an option here, and Pillow reads every common format, reduces a
JPEG while decoding it and guards against decompression bombs).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from nnstudio.core.paths import not_a_regular_file

from .cleanup import CleanedPicture, clean_picture
from .mnist import SIZE, as_float_image, composite_on_paper, resample_matrix

# Anything with more pixels than this is refused before it is decoded (a 16000 x 12000 photo
# is 192 MP; Pillow's own decompression-bomb guard is in the same range).
MAX_PIXELS = 200_000_000
MAX_SIDE = 1000  # pictures are reduced to at most this many pixels a side while reading


def ink_on_black(img) -> np.ndarray:
    """A photo, scan or export of a digit -> float32 white ink on black in [0, 1], cropped to the digit
    (:func:`nnstudio.core.imaging.cleanup.clean_picture`; soft strokes stay grey)."""
    return clean_picture(img).ink


def load_picture(path, max_side: int = MAX_SIDE) -> CleanedPicture:
    """Read a picture of a digit and clean it: every stage (see :class:`CleanedPicture`).

    This is the one way a file becomes a digit: ``nnstudio predict``, the Draw page's
    "Open image…" and drag-and-drop, and importing a folder into My digits all call it,
    then the MNIST recipe (:func:`nnstudio.core.imaging.mnist.preprocess_digit`) on ``.ink``.

    Reads PNG (8/16-bit, grey, RGB, palette, with or without alpha), JPEG, BMP, GIF,
    TIFF, WebP, PGM/PPM (decoded by Pillow) and NumPy ``.npy`` arrays (2-D, or 3-D
    RGB/RGBA). Transparent pixels count as the paper. Pictures larger than
    ``max_side`` pixels are reduced while they are read (a JPEG is decoded at a
    fraction of its size), so a big photo never costs more than a few times the
    final size in memory. Anything unreadable raises ValueError with one clear line.
    """
    path = Path(path)
    problem = not_a_regular_file(path)
    if problem == "does not exist":
        raise ValueError(f"no such image file: {path}")
    if problem:  # a folder, a FIFO (would block), a device (/dev/zero never ends)
        raise ValueError(f"{path} {problem}, not a picture")
    with open(path, "rb") as fh:
        magic = fh.read(8)
    if path.suffix.lower() == ".npy" or magic[:6] == b"\x93NUMPY":
        img = _read_npy(path, max_side)
    else:
        img = _read_picture(path, max_side)
    return clean_picture(img)


def load_image_file(path, max_side: int = MAX_SIDE) -> np.ndarray:
    """A picture of a digit from a file as float32 white ink on black in [0, 1], cropped to the digit
    (:func:`load_picture`'s cleaned ink)."""
    return load_picture(path, max_side).ink


def _read_picture(path: Path, max_side: int) -> np.ndarray:
    """Grey levels in [0, 1] of any picture Pillow reads, reduced to ``max_side``, alpha composited."""
    try:
        with Image.open(path) as im:
            w, h = im.size
            if w * h > MAX_PIXELS:
                raise ValueError(
                    f"{path.name}: the picture is {w} x {h} pixels, too large to read "
                    f"(at most {MAX_PIXELS // 1_000_000} million)"
                )
            if im.format == "JPEG":
                # Decode at 1/2, 1/4 or 1/8 of the size (never below max_side), straight to grey.
                s = min(1.0, max_side / max(w, h))
                im.draft("L", (math.ceil(w * s), math.ceil(h * s)))
            upright = ImageOps.exif_transpose(im)  # a phone photo taken sideways stands up
            gray, alpha = _gray_and_alpha(_reduce(upright, max_side))
    except ValueError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError):
        raise ValueError(
            f"{path.name} is not a picture nnstudio can read (PNG, JPEG, BMP, GIF, TIFF, WebP, PGM/PPM or .npy)"
        ) from None
    except (OSError, SyntaxError, EOFError) as exc:
        raise ValueError(f"{path.name}: the picture is damaged or truncated ({exc})") from None
    if alpha is not None:
        gray = composite_on_paper(gray, alpha)
    return gray


def _reduce(im: Image.Image, max_side: int) -> Image.Image:
    """At most ``max_side`` pixels a side, by area averaging (thin strokes stay grey, not gone)."""
    w, h = im.size
    if max(w, h) <= max_side:
        return im
    if im.mode not in ("L", "LA", "RGB", "RGBA", "I", "F"):
        im = im.convert("RGBA" if "A" in im.getbands() or "transparency" in im.info else "RGB")
    factor = max(1, max(w, h) // max_side)
    if factor > 1:
        im = im.reduce(factor)  # box average over factor x factor blocks
    if max(im.size) > max_side:
        s = max_side / max(im.size)
        im = im.resize((max(1, round(im.size[0] * s)), max(1, round(im.size[1] * s))), Image.Resampling.BOX)
    return im


def _gray_and_alpha(im: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
    """Luminance in [0, 1] (16-bit kept exact) and alpha in [0, 1] if the picture has transparency."""
    has_alpha = "A" in im.getbands() or "transparency" in im.info
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        a = np.asarray(im, dtype=np.float64)
        return (a / (65535.0 if a.max() > 255 else 255.0)).astype(np.float32), None
    if im.mode == "F":
        return as_float_image(np.asarray(im, dtype=np.float32)), None
    if has_alpha:
        la = np.asarray(im.convert("RGBA").convert("LA"), dtype=np.float32) / 255.0
        return la[..., 0], la[..., 1]
    return np.asarray(im.convert("L"), dtype=np.float32) / 255.0, None


def _read_npy(path: Path, max_side: int) -> np.ndarray:
    """A 2-D array (or 3-D RGB/RGBA) from a .npy file; its declared shape is checked before it is read."""
    try:
        arr = np.load(path, allow_pickle=False, mmap_mode="r")
    except (ValueError, OSError, EOFError) as exc:
        raise ValueError(f"{path.name}: not a readable .npy array ({exc})") from None
    shape = arr.shape
    if len(shape) == 3 and shape[0] == 1:
        arr = arr[0]
    elif len(shape) == 1 and arr.size == SIZE * SIZE:
        arr = arr.reshape(SIZE, SIZE)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if not (arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] in (3, 4))):
        raise ValueError(f"{path.name}: expected a 2-D image (or RGB/RGBA), got an array of shape {shape}")
    h, w = arr.shape[:2]
    if h * w > MAX_PIXELS:
        raise ValueError(
            f"{path.name}: the array is {w} x {h}, too large to read (at most {MAX_PIXELS // 1_000_000} million pixels)"
        )
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise ValueError(f"{path.name}: expected numbers, got an array of {arr.dtype}")
    step = max(1, -(-max(h, w) // (2 * max_side)))  # thin out huge arrays while reading (then area-filter)
    a = np.asarray(arr[::step, ::step])
    try:
        img = as_float_image(a.astype(np.float32) if a.dtype == np.bool_ else a)
    except ValueError as exc:
        raise ValueError(f"{path.name}: {exc}") from None
    if max(img.shape) > max_side:
        s = max_side / max(img.shape)
        img = np.clip(
            resample_matrix(img.shape[0], max(1, round(img.shape[0] * s)))
            @ img
            @ resample_matrix(img.shape[1], max(1, round(img.shape[1] * s))).T,
            0,
            1,
        )
    return img.astype(np.float32)
