"""``nnstudio train``: build an MLP from the flags, train it on a dataset, optionally save it."""

from __future__ import annotations

import argparse
import json
import sys

from nnstudio.core.data import load_dataset
from nnstudio.core.fmt import format_bytes
from nnstudio.core.limits import LimitError
from nnstudio.core.memory import BudgetTooSmall, batch_for_budget, make_trainer, parse_budget
from nnstudio.core.nn.optim import DEFAULT_LR
from nnstudio.core.nn.serialization import check_destination, save_model
from nnstudio.core.runs import record_run
from nnstudio.core.training.config import RunConfig
from nnstudio.core.training.resume import resume

from .args import CLIError, ProgressBar, add_data_dir, download_progress, limited, load_model, parse_layers


def register(sub) -> None:
    p = sub.add_parser(
        "train",
        help="train an MLP on a dataset",
        epilog="Exit status: 0 when training finished or was stopped; 1 when the training guard stopped a "
        "run that collapsed (the loss became NaN/inf, or rose far above its best, or the test accuracy fell) "
        "-- the best weights seen are kept and saved with --out, and the reason is on stderr and in --json; "
        "2 for a mistake in the arguments.",
    )
    p.add_argument("--dataset", default="mnist")
    p.add_argument("--layers", default="128", help="hidden layer sizes, e.g. 256,128")
    p.add_argument(
        "--activation",
        default="relu",
        help="relu, leaky_relu, sigmoid, tanh, linear, elu, gelu, swish or softplus (one, or one per layer: relu,tanh)",
    )
    p.add_argument("--init", default="he", choices=("he", "xavier", "normal"))
    p.add_argument("--dropout", default="0", help="dropout rate, one or one per layer (default 0)")
    p.add_argument("--optimizer", default="adam", choices=("sgd", "momentum", "adam"))
    p.add_argument(
        "--lr",
        type=limited("lr"),
        default=None,
        help="learning rate (default: " + ", ".join(f"{k} {v}" for k, v in DEFAULT_LR.items()) + ")",
    )
    p.add_argument("--momentum", type=limited("momentum"), default=0.9)
    p.add_argument("--nesterov", action="store_true")
    p.add_argument("--weight-decay", type=limited("weight_decay"), default=0.0)
    p.add_argument(
        "--cosine",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="cosine learning-rate decay to zero over the run (default: on)",
    )
    p.add_argument("--batch-size", type=limited("batch_size"), default=128)
    p.add_argument("--epochs", type=limited("epochs"), default=5)
    p.add_argument("--seed", type=limited("seed"), default=0)
    p.add_argument("--out", help="save the trained model here (.npz)")
    p.add_argument("--force", action="store_true", help="let --out replace a file that is not an nnstudio model")
    p.add_argument(
        "--resume",
        metavar="MODEL",
        help="continue training a saved model (its weights, optimizer state and history); its hyperparameters "
        "apply unless changed here (--layers, --activation, --init, --dropout and --dataset must match it)",
    )
    p.add_argument(
        "--guard",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="stop a run that collapses (smoothed loss far above its best, or test accuracy falling) and keep "
        "the best weights seen (default: on; --no-guard stops only when the loss becomes NaN)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    add_data_dir(p)
    g = p.add_argument_group("memory")
    g.add_argument(
        "--checkpoint-segments",
        type=limited("segments"),
        default=None,
        metavar="K",
        help="gradient checkpointing: keep activations only at K segment boundaries, recompute the rest "
        "(combines with --precision mixed)",
    )
    g.add_argument(
        "--precision",
        choices=("fp32", "mixed"),
        default="fp32",
        help="mixed: fp16 activations and weight copy, fp32 master weights, dynamic loss scaling",
    )
    g.add_argument(
        "--memory-budget",
        default=None,
        metavar="BYTES",
        help="keep the training step (model, optimizer, activations, temporaries; not the dataset) "
        "within this budget, lowering --batch-size if it would not fit, e.g. 2GB, 512MiB, "
        "'16 GB laptop'",
    )
    _track_explicit(p)
    p.set_defaults(func=run)


def _track_explicit(parser: argparse.ArgumentParser) -> None:
    """Record which options the user typed (``args.explicit``): a resumed run takes the rest from the model."""
    for action in parser._actions:
        if action.dest == "help" or not action.option_strings:
            continue
        base = type(action)

        def call(self, parser, namespace, values, option_string=None, _base=base):
            explicit = getattr(namespace, "explicit", None)
            if explicit is None:
                explicit = set()
                namespace.explicit = explicit
            explicit.add(self.dest)
            _base.__call__(self, parser, namespace, values, option_string)

        action.__class__ = type(base.__name__, (base,), {"__call__": call})


# RunConfig field <- the option that sets it, for a resumed run
_RESUMABLE = {
    "dataset": "dataset",
    "hidden": "layers",
    "activation": "activation",
    "dropout": "dropout",
    "init": "init",
    "optimizer": "optimizer",
    "lr": "lr",
    "momentum": "momentum",
    "nesterov": "nesterov",
    "weight_decay": "weight_decay",
    "batch_size": "batch_size",
    "epochs": "epochs",
    "seed": "seed",
    "schedule": "cosine",
    "precision": "precision",
    "checkpoint_segments": "checkpoint_segments",
}


def config_from_args(args) -> RunConfig:
    """The run configuration the flags describe (the same object the window builds from its controls)."""
    try:
        dropout = [float(d) for d in str(args.dropout).split(",")]
    except ValueError:
        raise CLIError(f"--dropout must be a number or comma-separated numbers, got {args.dropout!r}") from None
    return RunConfig(
        dataset=args.dataset,
        hidden=parse_layers(args.layers),
        activation=[a.strip() for a in args.activation.split(",")],
        dropout=dropout,
        init=args.init,
        optimizer=args.optimizer,
        lr=args.lr,
        momentum=args.momentum,
        nesterov=args.nesterov,
        weight_decay=args.weight_decay,
        batch_size=args.batch_size,
        epochs=args.epochs,
        seed=args.seed,
        schedule="cosine" if args.cosine else "constant",
        precision=args.precision,
        checkpoint_segments=args.checkpoint_segments,
    )


def _resume(args, flags: RunConfig):
    """The saved model, its config with the options the user typed applied, its optimizer and history."""
    net = load_model(args.resume)
    typed = getattr(args, "explicit", set())
    changes = {field: getattr(flags, field) for field, option in _RESUMABLE.items() if option in typed}
    try:
        resumed = resume(net, changes)
    except LimitError as exc:
        raise CLIError(str(exc)) from None
    if not args.json:
        cfg = resumed.config
        state = (
            "optimizer state restored"
            if resumed.optimizer_restored
            else (
                f"saved optimizer state was for {resumed.saved_optimizer}, starting {cfg.optimizer} afresh"
                if resumed.saved_optimizer
                else "no optimizer state saved, starting it afresh"
            )
        )
        print(
            f"resuming {args.resume}: {' -> '.join(map(str, net.sizes()))}, {len(resumed.history.epochs)} epochs and "
            f"{resumed.history.steps} steps trained; {cfg.optimizer} lr {cfg.base_lr:g}, {cfg.schedule}; {state}",
            file=sys.stderr,
        )
    return resumed


def run(args) -> int:
    config = config_from_args(args)
    resumed = None
    if args.resume:
        resumed = _resume(args, config)
        config = resumed.config
    # Check everything that needs no data before loading (and maybe downloading) it.
    try:
        config.validate()
        config.check_memory(784, 10)  # before the data: a network that cannot fit is refused at once
    except LimitError as exc:
        raise CLIError(str(exc)) from None
    if args.out:  # a destination that cannot take the model is refused before the run, not after it
        check_destination(args.out, force=args.force)
    data = load_dataset(config.dataset, args.data_dir, download=not args.no_download, progress=download_progress())
    x_train, y_train = data.flat("train")
    x_test, y_test = data.flat("test")
    try:
        config.validate(data.input_size, data.num_classes)
        config.check_memory(data.input_size, data.num_classes, x_train.nbytes + x_test.nbytes)
    except LimitError as exc:
        raise CLIError(str(exc)) from None
    if resumed is not None:
        net, opt = resumed.network, resumed.optimizer
        if net.input_size != data.input_size or net.output_size != data.num_classes:
            raise CLIError(f"{args.resume} is {'-'.join(map(str, net.sizes()))}, which does not fit {data.name}")
    else:
        net = config.build_network(data.input_size, data.num_classes)
        opt = config.make_optimizer(net.parameters())
    if args.memory_budget:
        config.batch_size = _fit_budget(args.memory_budget, config, net, opt, x_train, y_train)
    trainer = make_trainer(
        config.memory_kind,
        net,
        opt,
        (x_train, y_train),
        (x_test, y_test),
        segments=config.checkpoint_segments or 1,
        history=resumed.history if resumed is not None else None,
        guard=args.guard,
        **config.trainer_kwargs(len(x_train)),
    )
    bar = ProgressBar(trainer.batches_per_epoch)
    first = trainer.epoch  # a resumed run numbers its epochs on from the model's

    def on_step(info):
        if info.batch % 10 == 0 or info.batch == info.batches_per_epoch:
            bar.label = f"epoch {info.epoch - first}/{config.epochs}"
            bar.update(info.batch, f"loss {info.loss:.4f}  {info.samples_per_sec:,.0f} samples/s")

    def on_epoch(info):
        bar.close(
            f"epoch {info.epoch - first}/{config.epochs}: train loss {info.train_loss:.4f}  "
            f"test loss {info.test_loss:.4f}  test accuracy {info.test_accuracy:.2%}  ({info.seconds:.2f} s)"
        )

    if bar.enabled:
        trainer.events.connect("step", on_step)
    if not args.json or bar.enabled:
        trainer.events.connect("epoch", on_epoch)
    recorder = record_run(trainer, config, "cli")
    trainer.run()
    scaler = getattr(trainer, "scaler", None)
    if scaler is not None and not args.json:
        print(
            f"mixed precision: {scaler.skipped_steps} of {scaler.steps} steps skipped for inf/NaN gradients, "
            f"final loss scale {scaler.scale:g}",
            file=sys.stderr,
        )
    hyper = config.to_hyperparameters()
    if args.out:
        net.meta.update(dataset=data.name, class_names=list(data.class_names))
        save_model(net, args.out, hyperparameters=hyper, history=trainer.history.to_dict(), optimizer=opt)
        recorder.model_saved(args.out)
    epochs = trainer.history.epochs
    result = {
        "dataset": data.name,
        "architecture": net.sizes(),
        "parameters": net.num_parameters(),
        "state": trainer.state,
        "message": trainer.message,
        "test_accuracy": epochs[-1]["test_accuracy"] if epochs else None,
        "test_loss": epochs[-1]["test_loss"] if epochs else None,
        "epoch_seconds": [e["seconds"] for e in epochs],
        "samples_per_sec": [e["samples_per_sec"] for e in epochs],
        "hyperparameters": hyper,
        "model": args.out,
        "run": recorder.run_id,
        "resumed_from": args.resume,
        # what the training guard did (None: it did not trip); the weights saved are the best ones seen
        "guard": trainer.collapse.to_dict() if trainer.collapse is not None else None,
    }
    if trainer.state == "diverged":
        print(f"nnstudio: {trainer.message}", file=sys.stderr)
    if args.json:
        print(json.dumps(result))
    elif args.out:
        print(f"saved model to {args.out}")
    return 1 if trainer.state == "diverged" else 0


def _fit_budget(text: str, config: RunConfig, net, opt, x, y) -> int:
    """The batch size --memory-budget allows (the requested one if it fits), said on stderr."""
    try:
        budget, described = parse_budget(text)
        res = batch_for_budget(
            config.memory_kind, net, opt, x, y, budget, config.batch_size, segments=config.checkpoint_segments or 1
        )
    except (ValueError, BudgetTooSmall) as exc:
        raise CLIError(str(exc)) from None
    wanted = min(config.batch_size, len(x))
    how = (
        f"the requested {wanted} fits"
        if res.capped
        else f"the requested {wanted} does not fit; using the largest batch that does"
    )
    print(
        f"memory budget {described}: batch size {res.batch_size} ({how}), measured step peak "
        f"{format_bytes(res.peak)} ({res.seconds:.1f} s search)",
        file=sys.stderr,
    )
    return res.batch_size
