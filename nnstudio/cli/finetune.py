"""``nnstudio fine-tune MODEL --out NEW``: train a copy of a model a little on the user's own digits.

The same recipe as the Draw page's "Fine-tune on them" (:func:`nnstudio.core.training.fine_tune`):
the user's digits, each repeated, mixed with MNIST digits so the network keeps
reading everyone else's handwriting.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from nnstudio.core.data import DataError, MyDigits, load_dataset
from nnstudio.core.nn.serialization import check_destination, save_model
from nnstudio.core.training.recipes import FINE_TUNE_EPOCHS, FINE_TUNE_LR, fine_tune

from .args import MODEL_HELP, CLIError, add_data_dir, download_progress, limited, load_model


def register(sub) -> None:
    p = sub.add_parser("fine-tune", help="fine-tune a model on your own digits (saved from the Draw page)")
    p.add_argument("model", help=MODEL_HELP)
    p.add_argument("--out", required=True, help="where to save the fine-tuned model (.npz)")
    p.add_argument("--force", action="store_true", help="let --out replace a file that is not an nnstudio model")
    p.add_argument("--digits", default=None, help="a my-digits file (default: yours, in the nnstudio folder)")
    p.add_argument("--epochs", type=limited("epochs"), default=FINE_TUNE_EPOCHS)
    p.add_argument("--lr", type=limited("lr"), default=FINE_TUNE_LR)
    p.add_argument("--no-replay", action="store_true", help="train on your digits alone (no MNIST mixed in)")
    p.add_argument("--json", action="store_true")
    add_data_dir(p)
    p.set_defaults(func=run)


def run(args) -> int:
    check_destination(args.out, force=args.force)
    net = load_model(args.model)
    if net.input_size != 784 or net.output_size != 10:
        raise CLIError(f"fine-tuning needs a digit model (784 inputs, 10 classes); this one is {net.sizes()}")
    digits = MyDigits(args.digits)
    if digits.damaged:
        raise CLIError(digits.error)
    if len(digits) == 0:
        raise CLIError(f"there are no digits in {digits.path}: draw some on the Draw page and add them")
    replay = None
    if not args.no_replay:
        try:
            replay = load_dataset(
                "mnist", args.data_dir, download=not args.no_download, progress=download_progress()
            ).flat("train")
        except DataError as exc:
            print(f"nnstudio: MNIST not available ({exc}); fine-tuning on your digits alone", file=sys.stderr)
    result = fine_tune(net, digits, replay=replay, epochs=args.epochs, lr=args.lr)
    out = Path(args.out)
    save_model(result.network, out, history=result.history.to_dict())
    summary = {
        "model": str(out),
        "digits": len(digits),
        "replayed": result.replayed,
        "state": result.state,
        "accuracy_before": result.accuracy_before,
        "accuracy_after": result.accuracy_after,
    }
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"fine-tuned {result.note}; saved to {out}")
    return 0 if result.state == "finished" else 1
