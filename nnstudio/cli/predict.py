"""``nnstudio predict MODEL IMAGE...``: read pictures of digits (or garments) with a model.

The images go through the same loader and the same MNIST recipe as the window's
Draw page ("Open image…"), so both give the same answer for the same file.
"""

from __future__ import annotations

import json

from nnstudio.core.data import class_names
from nnstudio.core.imaging import load_image_file, read_image

from .args import MODEL_HELP, CLIError, load_model


def register(sub) -> None:
    r = sub.add_parser("predict", help="predict the class of images (PNG/JPEG/.npy) with a model")
    r.add_argument("model", help=MODEL_HELP)
    r.add_argument("images", nargs="+")
    r.add_argument("--json", action="store_true")
    r.set_defaults(func=run)


def run(args) -> int:
    net = load_model(args.model)
    names = net.meta.get("class_names") or class_names(net.meta.get("dataset"), net.output_size)
    if net.input_size != 784:
        raise CLIError(f"this model takes {net.input_size} inputs; pictures are read as 28x28 = 784")
    rows = []
    for path in args.images:
        reading = read_image(net, load_image_file(path))
        if reading.blank:
            rows.append({"file": path, "prediction": None, "probability": 0.0, "probabilities": None})
            continue
        probs = reading.probabilities
        k = int(probs.argmax())
        rows.append(
            {"file": path, "prediction": names[k], "probability": float(probs[k]), "probabilities": probs.tolist()}
        )
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
