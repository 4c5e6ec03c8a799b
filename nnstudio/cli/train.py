"""``nnstudio train``, ``nnstudio evaluate`` and ``nnstudio predict``."""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path


from nnstudio.core.data import load_dataset
from nnstudio.core.network import Sequential
from nnstudio.core.optim import DEFAULT_LR, make_optimizer
from nnstudio.core.metrics import classification_report

from . import CLIError, ProgressBar



def parse_layers(text: str) -> list[int]:
    """'256,128' -> [256, 128]; '' or 'none' -> [] (no hidden layer)."""
    if text.strip().lower() in ("", "none"):
        return []
    try:
        sizes = [int(s) for s in text.split(",")]
    except ValueError:
        raise CLIError(f"--layers must be comma-separated whole numbers, got {text!r}") from None
    for s in sizes:
        if not 1 <= s <= 65536:
            raise CLIError(f"layer size {s} is out of range (1 to 65536)")
    return sizes


def positive(kind):
    def convert(text):
        try:
            value = kind(text)
        except ValueError:
            raise CLIError(f"expected a {kind.__name__}, got {text!r}") from None
        if not (value > 0 and math.isfinite(value)):
            raise CLIError(f"expected a positive number, got {text!r}")
        return value
    convert.__name__ = kind.__name__
    return convert


def add_data_dir(p) -> None:
    p.add_argument("--data-dir", help="folder holding mnist/ and fashion-mnist/ (overrides NNSTUDIO_DATA_DIR)")
    p.add_argument("--no-download", action="store_true", help="fail instead of downloading missing data")


def register(sub) -> None:
    p = sub.add_parser("train", help="train an MLP on a dataset")
    p.add_argument("--dataset", default="mnist")
    p.add_argument("--layers", default="128", help="hidden layer sizes, e.g. 256,128")
    p.add_argument("--activation", default="relu", help="relu, leaky_relu, sigmoid, tanh or linear (one, or one per layer)")
    p.add_argument("--init", default="he", choices=("he", "xavier", "normal"))
    p.add_argument("--dropout", type=float, default=0.0)
    p.add_argument("--optimizer", default="adam", choices=("sgd", "momentum", "adam"))
    p.add_argument("--lr", type=positive(float), default=None,
                   help="learning rate (default: " + ", ".join(f"{k} {v}" for k, v in DEFAULT_LR.items()) + ")")
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--nesterov", action="store_true")
    p.add_argument("--weight-decay", type=float, default=0.0)
    p.add_argument("--cosine", action=argparse.BooleanOptionalAction, default=True,
                   help="cosine learning-rate decay to zero over the run (default: on)")
    p.add_argument("--batch-size", type=positive(int), default=128)
    p.add_argument("--epochs", type=positive(int), default=5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", help="save the trained model here (.npz)")
    p.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    add_data_dir(p)
    from .memory import add_train_options  # --checkpoint-segments, --precision, --memory-budget
    add_train_options(p)
    p.set_defaults(func=run_train)

    e = sub.add_parser("evaluate", help="accuracy, per-class accuracy and confusion matrix of a model")
    e.add_argument("model")
    e.add_argument("--dataset", default=None, help="default: the dataset the model was trained on")
    e.add_argument("--json", action="store_true")
    add_data_dir(e)
    e.set_defaults(func=run_evaluate)

    r = sub.add_parser("predict", help="predict the class of images (PNG/JPEG/.npy) with a model")
    r.add_argument("model")
    r.add_argument("images", nargs="+")
    r.add_argument("--json", action="store_true")
    r.set_defaults(func=run_predict)


def build_from_args(args, input_size: int, num_classes: int):
    hidden = parse_layers(args.layers)
    acts = [a.strip() for a in args.activation.split(",")]
    if len(acts) == 1:
        acts = acts * len(hidden)
    if len(acts) != len(hidden):
        raise CLIError(f"give one activation or one per hidden layer ({len(hidden)}), got {len(acts)}")
    if not 0 <= args.dropout < 1:
        raise CLIError(f"--dropout must be in [0, 1), got {args.dropout}")
    net = Sequential.mlp([input_size, *hidden, num_classes], acts, init=args.init,
                         dropout=args.dropout, seed=args.seed)
    lr = args.lr if args.lr is not None else DEFAULT_LR[args.optimizer]
    kwargs = {"lr": lr, "weight_decay": args.weight_decay}
    if args.optimizer == "momentum":
        kwargs.update(momentum=args.momentum, nesterov=args.nesterov)
    opt = make_optimizer(args.optimizer, net.parameters(), **kwargs)
    return net, opt


def run_train(args) -> int:
    data = load_dataset(args.dataset, args.data_dir, download=not args.no_download,
                        progress=_download_progress())
    x_train, y_train = data.flat("train")
    x_test, y_test = data.flat("test")
    net, opt = build_from_args(args, data.input_size, data.num_classes)
    from .memory import make_trainer  # Trainer, or its checkpointing / mixed-precision variant
    trainer = make_trainer(args, net, opt, (x_train, y_train), (x_test, y_test), batch_size=args.batch_size,
                           epochs=args.epochs, seed=args.seed, cosine=args.cosine)
    bar = ProgressBar(trainer.batches_per_epoch)

    def on_step(info):
        if info.batch % 10 == 0 or info.batch == info.batches_per_epoch:
            bar.label = f"epoch {info.epoch}/{args.epochs}"
            bar.update(info.batch, f"loss {info.loss:.4f}  {info.samples_per_sec:,.0f} samples/s")

    def on_epoch(info):
        bar.close(f"epoch {info.epoch}/{args.epochs}: train loss {info.train_loss:.4f}  "
                  f"test loss {info.test_loss:.4f}  test accuracy {info.test_accuracy:.2%}  ({info.seconds:.2f} s)")

    if bar.enabled:
        trainer.events.connect("step", on_step)
    trainer.events.connect("epoch", on_epoch if not args.json or bar.enabled else lambda i: None)
    trainer.run()
    hyper = {**opt.hyperparameters(), "batch_size": args.batch_size, "epochs": args.epochs, "seed": args.seed,
             "cosine": args.cosine, "layers": parse_layers(args.layers), "activation": args.activation,
             "init": args.init, "dropout": args.dropout}
    if args.out:
        net.meta.update(dataset=data.name, class_names=list(data.class_names))
        net.save(args.out, hyperparameters=hyper, history=trainer.history.to_dict())
    epochs = trainer.history.epochs
    result = {"dataset": data.name, "architecture": net.sizes(), "parameters": net.num_parameters(),
              "state": trainer.state, "message": trainer.message,
              "test_accuracy": epochs[-1]["test_accuracy"] if epochs else None,
              "test_loss": epochs[-1]["test_loss"] if epochs else None,
              "epoch_seconds": [e["seconds"] for e in epochs],
              "samples_per_sec": [e["samples_per_sec"] for e in epochs],
              "hyperparameters": hyper, "model": args.out}
    if trainer.state == "diverged":
        print(f"nnstudio: {trainer.message}", file=sys.stderr)
    if args.json:
        print(json.dumps(result))
    elif args.out:
        print(f"saved model to {args.out}")
    return 1 if trainer.state == "diverged" else 0


def _download_progress():
    bar = ProgressBar(1, "download")

    def progress(label, done, total):
        bar.total, bar.label = max(1, total), f"downloading {label}"
        bar.update(done, f"{done / 1e6:.1f} MB")
    return progress


def load_model(path: str) -> Sequential:
    if not Path(path).exists():
        raise CLIError(f"no such model file: {path}")
    return Sequential.load(path)


def run_evaluate(args) -> int:
    net = load_model(args.model)
    name = args.dataset or net.meta.get("dataset") or "mnist"
    data = load_dataset(name, args.data_dir, download=not args.no_download, progress=_download_progress())
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


def run_predict(args) -> int:
    from nnstudio.core.preprocess import load_image_file, preprocess_digit  # noqa: PLC0415
    net = load_model(args.model)
    names = net.meta.get("class_names") or [str(i) for i in range(net.output_size)]
    rows = []
    for path in args.images:
        img = load_image_file(path)
        x = preprocess_digit(img).reshape(1, -1)
        probs = net.predict_proba(x)[0]
        k = int(probs.argmax())
        rows.append({"file": path, "prediction": names[k], "probability": float(probs[k]),
                     "probabilities": probs.tolist()})
    if args.json:
        print(json.dumps(rows))
    else:
        for r in rows:
            print(f"{r['file']}: {r['prediction']} ({r['probability']:.0%})")
    return 0
