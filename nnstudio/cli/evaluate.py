"""``nnstudio evaluate MODEL``: accuracy, per-class accuracy and confusion matrix on a test set."""

from __future__ import annotations

import json

from nnstudio.core.data import load_dataset
from nnstudio.core.training.metrics import classification_report

from .args import MODEL_HELP, CLIError, add_data_dir, download_progress, load_model


def register(sub) -> None:
    e = sub.add_parser("evaluate", help="accuracy, per-class accuracy and confusion matrix of a model")
    e.add_argument("model", help=MODEL_HELP)
    e.add_argument("--dataset", default=None, help="default: the dataset the model was trained on")
    e.add_argument("--json", action="store_true")
    add_data_dir(e)
    e.set_defaults(func=run)


def run(args) -> int:
    net = load_model(args.model)
    name = args.dataset or net.meta.get("dataset") or "mnist"
    data = load_dataset(name, args.data_dir, download=not args.no_download, progress=download_progress())
    x, y = data.flat("test")
    if net.input_size != x.shape[1] or net.output_size != data.num_classes:
        raise CLIError(f"model {net.sizes()} does not fit {name} ({x.shape[1]} inputs, {data.num_classes} classes)")
    report = classification_report(net, x, y, data.class_names).to_dict()
    report.update(model=args.model, dataset=name)
    if args.json:
        print(json.dumps(report))
    else:
        print(f"{name} test accuracy: {report['accuracy']:.2%}  (loss {report['loss']:.4f}, {len(y)} images)")
        for cls, acc in zip(data.class_names, report["per_class_accuracy"]):
            print(f"  {cls:12s} {acc:.2%}")
    return 0
