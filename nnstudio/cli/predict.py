"""``nnstudio predict MODEL IMAGE...``: read pictures of digits (or garments) with a model.

The images go through the same loader, cleanup and MNIST recipe as the window's Draw
page ("Open image…" and drag-and-drop) and My digits' folder import
(:func:`nnstudio.core.imaging.load_picture`), so every surface gives the same answer for
the same file; ``--dump-input`` saves the 28x28 inputs the network read, to check that.
"""

from __future__ import annotations

import json

import numpy as np

from nnstudio.core.data import class_names
from nnstudio.core.imaging import SIZE, load_picture, read_image

from .args import MODEL_HELP, CLIError, load_model


def register(sub) -> None:
    r = sub.add_parser(
        "predict", help="predict the class of images (PNG, JPEG, BMP, WebP, GIF, TIFF, PGM/PPM, .npy) with a model"
    )
    r.add_argument("model", help=MODEL_HELP)
    r.add_argument("images", nargs="+")
    r.add_argument("--json", action="store_true")
    r.add_argument(
        "--dump-input",
        metavar="FILE.npy",
        help="also save the 28x28 inputs the network read, one per image (float32, N x 28 x 28)",
    )
    r.set_defaults(func=run)


def run(args) -> int:
    net = load_model(args.model)
    names = net.meta.get("class_names") or class_names(net.meta.get("dataset"), net.output_size)
    if net.input_size != 784:
        raise CLIError(f"this model takes {net.input_size} inputs; pictures are read as 28x28 = 784")
    rows, inputs = [], []
    for path in args.images:
        reading = read_image(net, load_picture(path).ink)
        inputs.append(reading.inputs.reshape(SIZE, SIZE))
        if reading.blank:
            rows.append({"file": path, "prediction": None, "probability": 0.0, "probabilities": None})
            continue
        probs = reading.probabilities
        k = int(probs.argmax())
        rows.append(
            {"file": path, "prediction": names[k], "probability": float(probs[k]), "probabilities": probs.tolist()}
        )
    if args.dump_input:
        try:
            np.save(args.dump_input, np.stack(inputs).astype(np.float32))
        except OSError as exc:
            raise CLIError(f"cannot write {args.dump_input}: {exc.strerror or exc}") from None
    if args.json:
        print(json.dumps(rows))
    else:
        for r in rows:
            print(
                f"{r['file']}: "
                + (
                    f"{r['prediction']} ({r['probability']:.0%})"
                    if r["prediction"] is not None
                    else "blank (no ink found)"
                )
            )
    return 0
