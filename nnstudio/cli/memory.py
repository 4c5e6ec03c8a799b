"""``nnstudio memory estimate|compare|search``.

``estimate`` counts, from the shapes alone, what training a network takes (the
same estimate the window's layer editor shows). ``compare`` runs one training
step of the same network three ways (baseline, gradient checkpointing, mixed
precision) and prints what each measured: the step's peak memory, the
activations kept for backward, seconds per step and the largest gradient
difference from the baseline. ``search`` finds the largest batch size whose
training step fits a memory budget. (The memory options of ``nnstudio train``
are in :mod:`nnstudio.cli.train`.)
"""

from __future__ import annotations

import json
import sys

import numpy as np

from nnstudio.core.fmt import format_bytes
from nnstudio.core.limits import available_memory, memory_problem
from nnstudio.core.memory import BudgetTooSmall, compare_strategies, find_max_batch_size, make_strategy, parse_budget
from nnstudio.core.nn.network import Sequential
from nnstudio.core.nn.optim import make_optimizer
from nnstudio.core.nn.spec import MLPSpec
from nnstudio.core.training.trainer import Trainer

from .args import CLIError, limited, parse_layers

KINDS = ("baseline", "checkpoint", "mixed")


def register(sub) -> None:
    m = sub.add_parser("memory", help="measure the memory of a training step; batch size for a memory budget")
    actions = m.add_subparsers(dest="memory_action", metavar="ACTION", parser_class=type(m))
    m.set_defaults(func=lambda args: _no_action())

    e = actions.add_parser("estimate", help="what training a network takes, counted from its shapes (no run)")
    _network_args(e, default_layers="128")
    e.add_argument("--activation", default="relu", help="one, or one per hidden layer")
    e.add_argument("--dropout", default="0", help="one rate, or one per hidden layer")
    e.add_argument("--batch-size", type=limited("batch_size"), default=128)
    e.add_argument("--json", action="store_true", help="print one JSON object")
    e.set_defaults(func=run_estimate)

    c = actions.add_parser("compare", help="one training step three ways: baseline, checkpointing, mixed precision")
    _network_args(c, default_layers="1024,1024,1024,1024")
    c.add_argument("--batch-size", type=limited("batch_size"), default=512)
    c.add_argument("--segments", type=limited("segments"), default=4, help="checkpoint segments (default 4)")
    c.add_argument("--steps", type=limited("epochs"), default=3, help="timed steps per way (median is reported)")
    c.add_argument("--json", action="store_true", help="print one JSON object")
    c.set_defaults(func=run_compare)

    s = actions.add_parser("search", help="largest batch size whose training step fits a memory budget")
    _network_args(s, default_layers="128")
    s.add_argument("--budget", required=True, help="e.g. 256MB, 2GiB or '16 GB laptop'")
    s.add_argument("--strategy", choices=(*KINDS, "mixed+checkpoint", "all"), default="all")
    s.add_argument("--segments", type=limited("segments"), default=4)
    s.add_argument(
        "--max-batch", type=limited("batch_size"), default=60000, help="largest batch to consider (default 60000)"
    )
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=run_search)


def _no_action():
    raise CLIError(
        "choose an action: 'nnstudio memory estimate', 'nnstudio memory compare' or 'nnstudio memory search'"
    )


def _network_args(p, default_layers: str) -> None:
    p.add_argument("--layers", default=default_layers, help=f"hidden layer sizes (default {default_layers})")
    p.add_argument("--inputs", type=limited("units"), default=784)
    p.add_argument("--classes", type=limited("units"), default=10)
    p.add_argument("--optimizer", default="adam", choices=("sgd", "momentum", "adam"))
    p.add_argument("--seed", type=int, default=0)


def _check_fits(args, batch_size: int, copies: int, what: str) -> None:
    """Refuse, with the estimate, a measurement whose network and step would not fit in memory: it runs
    real steps (``copies`` extra copies of the weights are made along the way)."""
    spec = MLPSpec(args.inputs, parse_layers(args.layers), args.classes)
    est = spec.estimate_bytes(batch_size, args.optimizer)
    data = max(batch_size, 256) * (args.inputs * 4 + 8)
    problem = memory_problem(est.total + copies * est.parameters + data, f"{what} {spec.describe()}")
    if problem:
        raise CLIError(f"{problem}; try fewer units or a smaller batch")


def _network(args) -> Sequential:
    return Sequential.mlp([args.inputs, *parse_layers(args.layers), args.classes], seed=args.seed)


def _make_opt(name):
    lr = 0.001 if name == "adam" else 0.05
    return lambda params: make_optimizer(name, params, lr=lr)


def _data(args, rows: int):
    """Random inputs of the network's shape: memory and time do not depend on the values."""
    rng = np.random.default_rng(args.seed)
    return rng.random((rows, args.inputs), dtype=np.float32), rng.integers(0, args.classes, rows)


def run_estimate(args) -> int:
    try:
        spec = MLPSpec(
            args.inputs,
            parse_layers(args.layers),
            args.classes,
            [a.strip() for a in args.activation.split(",")],
            [float(d) for d in str(args.dropout).split(",")],
        )
    except ValueError as exc:
        raise CLIError(str(exc)) from None
    problems = spec.problems()
    if problems:
        raise CLIError(problems[0])
    est = spec.estimate_bytes(args.batch_size, args.optimizer, snapshots=Trainer.SNAPSHOTS)
    if args.json:
        print(
            json.dumps(
                {
                    "architecture": spec.sizes,
                    "batch_size": args.batch_size,
                    "optimizer": args.optimizer,
                    **est.as_dict(),
                }
            )
        )
        return 0
    print(f"network {spec.describe()} ({est.count:,} parameters), batch {args.batch_size}, {args.optimizer}")
    for _, label, n in est.rows():
        if n:
            print(f"  {label:32s}{format_bytes(n):>12s}")
    print(f"  {'total (without the dataset)':32s}{format_bytes(est.total):>12s}")
    return 0


def run_compare(args) -> int:
    _check_fits(args, args.batch_size, copies=4, what=f"one step at batch size {args.batch_size} of")
    net = _network(args)
    x, y = _data(args, max(args.batch_size, 256))
    progress = None if args.json else (lambda k, kind: print(f"measuring {kind} ...", file=sys.stderr))
    rows = compare_strategies(
        net,
        _make_opt(args.optimizer),
        x,
        y,
        args.batch_size,
        segments=args.segments,
        steps=args.steps,
        progress=progress,
    )
    base = rows[0]
    result = {
        "architecture": net.sizes(),
        "parameters": net.num_parameters(),
        "batch_size": args.batch_size,
        "optimizer": args.optimizer,
        "segments": args.segments,
        "strategies": {},
    }
    for r in rows:
        result["strategies"][r["name"]] = {
            "peak_bytes": r["measured_peak"],
            "accounted_peak_bytes": r["accounted_peak"],
            "resident_bytes": r["resident"],
            "activation_bytes": r["activation_peak"],
            "seconds_per_step": r["seconds_per_step"],
            "max_grad_diff": r["max_grad_diff"],
            "peak_vs_baseline": r["measured_peak"] / base["measured_peak"],
            "activations_vs_baseline": r["activation_peak"] / base["activation_peak"],
            "time_vs_baseline": r["seconds_per_step"] / base["seconds_per_step"],
        }
    if args.json:
        print(json.dumps(result))
        return 0
    print(
        f"network {'-'.join(map(str, net.sizes()))} ({net.num_parameters():,} parameters), "
        f"batch {args.batch_size}, {args.optimizer}"
    )
    print(f"{'':12s}{'step peak':>12s}{'activations':>14s}{'s/step':>10s}{'max |Δgrad|':>14s}")
    for name, r in result["strategies"].items():
        print(
            f"{name:12s}{format_bytes(r['peak_bytes']):>12s}{format_bytes(r['activation_bytes']):>14s}"
            f"{r['seconds_per_step']:>10.4f}{r['max_grad_diff']:>14.2e}"
            f"   activations ×{1 / r['activations_vs_baseline']:.2f} smaller, time ×{r['time_vs_baseline']:.2f}"
        )
    return 0


def run_search(args) -> int:
    budget, described = _budget(args.budget)
    _check_fits(args, 1, copies=2, what="the smallest step (batch size 1) of")
    # The search measures real steps up to the budget (or --max-batch): both beyond the memory here would swap
    # or crash instead of answering.
    spec = MLPSpec(args.inputs, parse_layers(args.layers), args.classes)
    biggest = spec.estimate_bytes(args.max_batch, args.optimizer).total
    if memory_problem(min(budget, biggest), "") and not memory_problem(1, ""):
        raise CLIError(
            f"a budget of {format_bytes(budget)} cannot be measured here: steps up to it (batch size "
            f"{args.max_batch} would need about {format_bytes(biggest)}) do not fit in half of the "
            f"{format_bytes(available_memory())} of memory available; give a smaller --budget or --max-batch"
        )
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
            print(
                f"{kind:10s} batch size {res.batch_size}{cap}: step peak {format_bytes(res.peak)} "
                f"of {format_bytes(budget)}, {res.bytes_per_sample / 1024:.1f} KiB per sample, "
                f"{len(res.trials)} measured steps in {res.seconds:.1f} s"
            )
    if args.json:
        print(json.dumps(out))
    return 0


def _budget(text: str) -> tuple[int, str]:
    try:
        return parse_budget(text)
    except ValueError as exc:
        raise CLIError(str(exc)) from None
