"""``nnstudio memory compare|search`` and the memory options of ``nnstudio train``.

``compare`` runs one training step of the same network three ways (baseline,
gradient checkpointing, mixed precision) and prints what each measured: the
step's peak memory, the activations kept for backward, seconds per step and
the largest gradient difference from the baseline. ``search`` finds the
largest batch size whose training step fits a memory budget.
"""
from __future__ import annotations

import json
import sys

import numpy as np

from nnstudio.core.memory import (
    BudgetTooSmall,
    compare_strategies,
    find_max_batch_size,
    format_bytes,
    make_strategy,
    parse_budget,
)
from nnstudio.core.network import Sequential
from nnstudio.core.optim import make_optimizer
from nnstudio.core.train import Trainer

from . import CLIError
from .train import parse_layers, positive

KINDS = ("baseline", "checkpoint", "mixed")


def register(sub) -> None:
    m = sub.add_parser("memory", help="measure the memory of a training step; batch size for a memory budget")
    actions = m.add_subparsers(dest="memory_action", metavar="ACTION", parser_class=type(m))
    m.set_defaults(func=lambda args: _no_action())

    c = actions.add_parser("compare", help="one training step three ways: baseline, checkpointing, mixed precision")
    _network_args(c, default_layers="1024,1024,1024,1024")
    c.add_argument("--batch-size", type=positive(int), default=512)
    c.add_argument("--segments", type=positive(int), default=4, help="checkpoint segments (default 4)")
    c.add_argument("--steps", type=positive(int), default=3, help="timed steps per way (median is reported)")
    c.add_argument("--json", action="store_true", help="print one JSON object")
    c.set_defaults(func=run_compare)

    s = actions.add_parser("search", help="largest batch size whose training step fits a memory budget")
    _network_args(s, default_layers="128")
    s.add_argument("--budget", required=True, help="e.g. 256MB, 2GiB or '16 GB laptop'")
    s.add_argument("--strategy", choices=(*KINDS, "mixed+checkpoint", "all"), default="all")
    s.add_argument("--segments", type=positive(int), default=4)
    s.add_argument("--max-batch", type=positive(int), default=60000, help="largest batch to consider (default 60000)")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=run_search)


def _no_action():
    raise CLIError("choose an action: 'nnstudio memory compare' or 'nnstudio memory search'")


def _network_args(p, default_layers: str) -> None:
    p.add_argument("--layers", default=default_layers, help=f"hidden layer sizes (default {default_layers})")
    p.add_argument("--inputs", type=positive(int), default=784)
    p.add_argument("--classes", type=positive(int), default=10)
    p.add_argument("--optimizer", default="adam", choices=("sgd", "momentum", "adam"))
    p.add_argument("--seed", type=int, default=0)


def _network(args) -> Sequential:
    return Sequential.mlp([args.inputs, *parse_layers(args.layers), args.classes], seed=args.seed)


def _make_opt(name):
    lr = 0.001 if name == "adam" else 0.05
    return lambda params: make_optimizer(name, params, lr=lr)


def _data(args, rows: int):
    """Random inputs of the network's shape: memory and time do not depend on the values."""
    rng = np.random.default_rng(args.seed)
    return rng.random((rows, args.inputs), dtype=np.float32), rng.integers(0, args.classes, rows)


def run_compare(args) -> int:
    net = _network(args)
    x, y = _data(args, max(args.batch_size, 256))
    progress = None if args.json else (lambda k, kind: print(f"measuring {kind} ...", file=sys.stderr))
    rows = compare_strategies(net, _make_opt(args.optimizer), x, y, args.batch_size, segments=args.segments,
                              steps=args.steps, progress=progress)
    base = rows[0]
    result = {"architecture": net.sizes(), "parameters": net.num_parameters(), "batch_size": args.batch_size,
              "optimizer": args.optimizer, "segments": args.segments, "strategies": {}}
    for r in rows:
        result["strategies"][r["name"]] = {
            "peak_bytes": r["measured_peak"], "accounted_peak_bytes": r["accounted_peak"],
            "resident_bytes": r["resident"], "activation_bytes": r["activation_peak"],
            "seconds_per_step": r["seconds_per_step"], "max_grad_diff": r["max_grad_diff"],
            "peak_vs_baseline": r["measured_peak"] / base["measured_peak"],
            "activations_vs_baseline": r["activation_peak"] / base["activation_peak"],
            "time_vs_baseline": r["seconds_per_step"] / base["seconds_per_step"]}
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"network {'-'.join(map(str, net.sizes()))} ({net.num_parameters():,} parameters), "
          f"batch {args.batch_size}, {args.optimizer}")
    print(f"{'':12s}{'step peak':>12s}{'activations':>14s}{'s/step':>10s}{'max |Δgrad|':>14s}")
    for name, r in result["strategies"].items():
        print(f"{name:12s}{format_bytes(r['peak_bytes']):>12s}{format_bytes(r['activation_bytes']):>14s}"
              f"{r['seconds_per_step']:>10.4f}{r['max_grad_diff']:>14.2e}"
              f"   activations ×{1 / r['activations_vs_baseline']:.2f} smaller, time ×{r['time_vs_baseline']:.2f}")
    return 0


def run_search(args) -> int:
    budget, described = _budget(args.budget)
    x, y = _data(args, min(args.max_batch, 4096))
    kinds = KINDS if args.strategy == "all" else (args.strategy,)
    out = {"budget": budget, "budget_text": described, "strategies": {}}
    for kind in kinds:
        net = _network(args)
        strategy = make_strategy(kind, net, segments=args.segments)
        opt = _make_opt(args.optimizer)(net.parameters())
        try:
            res = find_max_batch_size(strategy, opt, x, y, budget, max_batch=args.max_batch)
        except BudgetTooSmall as exc:
            raise CLIError(f"{kind}: {exc}") from None
        out["strategies"][kind] = res.as_dict()
        if not args.json:
            cap = " (the --max-batch cap)" if res.capped else ""
            print(f"{kind:10s} batch size {res.batch_size}{cap}: step peak {format_bytes(res.peak)} "
                  f"of {format_bytes(budget)}, {res.bytes_per_sample / 1024:.1f} KiB per sample, "
                  f"{len(res.trials)} measured steps in {res.seconds:.1f} s")
    if args.json:
        print(json.dumps(out))
    return 0


def _budget(text: str) -> tuple[int, str]:
    try:
        return parse_budget(text)
    except ValueError as exc:
        raise CLIError(str(exc)) from None


# -- the options of `nnstudio train` -----------------------------------------------
def add_train_options(p) -> None:
    """--checkpoint-segments, --precision and --memory-budget for ``nnstudio train``."""
    g = p.add_argument_group("memory")
    g.add_argument("--checkpoint-segments", type=positive(int), default=None, metavar="K",
                   help="gradient checkpointing: keep activations only at K segment boundaries, recompute the rest "
                        "(combines with --precision mixed)")
    g.add_argument("--precision", choices=("fp32", "mixed"), default="fp32",
                   help="mixed: fp16 activations and weight copy, fp32 master weights, dynamic loss scaling")
    g.add_argument("--memory-budget", default=None, metavar="BYTES",
                   help="keep the training step (model, optimizer, activations, temporaries; not the dataset) "
                        "within this budget, lowering --batch-size if it would not fit, e.g. 2GB, 512MiB, "
                        "'16 GB laptop'")


def make_trainer(args, net, opt, train, test, **kwargs) -> Trainer:
    """The Trainer for ``nnstudio train``'s memory options (plain Trainer without them)."""
    segments = getattr(args, "checkpoint_segments", None)
    mixed = getattr(args, "precision", "fp32") == "mixed"
    budget_text = getattr(args, "memory_budget", None)
    kind = ("mixed+checkpoint" if segments and mixed else "checkpoint" if segments else "mixed" if mixed
            else "baseline")
    if budget_text:
        budget, described = _budget(budget_text)
        strategy = make_strategy(kind, net, segments=segments or 1)
        try:
            # The budget caps the batch the user asked for: a batch of the whole training set would
            # fit a big budget but train badly (one step an epoch).
            wanted = min(int(args.batch_size), len(train[0]))
            res = find_max_batch_size(strategy, opt, *train, budget, max_batch=wanted)
        except BudgetTooSmall as exc:
            raise CLIError(str(exc)) from None
        how = (f"the requested {wanted} fits" if res.capped
               else f"the requested {wanted} does not fit; using the largest batch that does")
        print(f"memory budget {described}: batch size {res.batch_size} ({how}), measured step peak "
              f"{format_bytes(res.peak)} ({res.seconds:.1f} s search)", file=sys.stderr)
        args.batch_size = res.batch_size
        kwargs["batch_size"] = res.batch_size
    if segments and not mixed:
        from nnstudio.core.checkpoint import CheckpointedTrainer
        return CheckpointedTrainer(net, opt, train, test, segments=segments, **kwargs)
    if mixed:
        from nnstudio.core.mixed_precision import MixedPrecisionTrainer
        trainer = MixedPrecisionTrainer(net, opt, train, test, segments=segments or 1, **kwargs)

        def report(state):
            if state in ("finished", "stopped") and not getattr(args, "json", False):
                s = trainer.scaler
                print(f"mixed precision: {s.skipped_steps} of {s.steps} steps skipped for inf/NaN gradients, "
                      f"final loss scale {s.scale:g}", file=sys.stderr)
        trainer.events.connect("state", report)
        return trainer
    return Trainer(net, opt, train, test, **kwargs)
