"""``nnstudio runs``: the runs ``nnstudio train`` and the window recorded: list, show, compare, delete, export."""

from __future__ import annotations

import csv
import json
import sys
import time

from nnstudio.core.fmt import format_seconds
from nnstudio.core.runs import RunRecord, RunStore, RunStoreError, comparison

from .args import CLIError


def register(sub) -> None:
    p = sub.add_parser("runs", help="list, show, compare, delete or export recorded training runs")
    rsub = p.add_subparsers(dest="runs_command", metavar="ACTION")
    rsub.required = True
    ls = rsub.add_parser("list", help="every recorded run, newest first")
    ls.add_argument("--json", action="store_true", help="print one JSON list")
    ls.set_defaults(func=run_list)
    show = rsub.add_parser("show", help="one run: settings, per-epoch metrics, how it ended")
    show.add_argument("id", type=int)
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=run_show)
    cmp = rsub.add_parser("compare", help="runs side by side, differing settings marked")
    cmp.add_argument("ids", type=int, nargs="+", metavar="ID")
    cmp.add_argument("--json", action="store_true")
    cmp.set_defaults(func=run_compare)
    rm = rsub.add_parser("delete", help="forget runs (model files are kept)")
    rm.add_argument("ids", type=int, nargs="+", metavar="ID")
    rm.set_defaults(func=run_delete)
    ex = rsub.add_parser("export", help="per-epoch metrics and settings of runs as CSV")
    ex.add_argument("ids", type=int, nargs="+", metavar="ID")
    ex.add_argument("--csv", required=True, metavar="FILE", help="write here ('-' for standard output)")
    ex.set_defaults(func=run_export)


def _store() -> RunStore:
    try:
        return RunStore()
    except RunStoreError as exc:
        raise CLIError(str(exc)) from None


def _get(store: RunStore, ids: list[int]) -> list[RunRecord]:
    missing = [i for i in ids if store.get(i) is None]
    if missing:
        raise CLIError(f"no run with id {', '.join(map(str, missing))} (see 'nnstudio runs list')")
    return [r for r in (store.get(i) for i in ids) if r is not None]


def _pct(v) -> str:
    return "–" if v is None else f"{v:.2%}"


def _when(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(t))


def run_list(args) -> int:
    runs = _store().runs()
    if args.json:
        print(json.dumps([_summary(r) for r in runs]))
        return 0
    if not runs:
        print("no runs recorded yet: 'nnstudio train' and the window's Train record them")
        return 0
    rows = [("id", "when", "source", "dataset", "network", "optimizer", "lr", "batch", "epochs", "test acc", "time",
             "status")]  # fmt: skip
    for r in runs:
        hp = r.hyperparameters
        rows.append(
            (
                str(r.id),
                _when(r.started),
                r.source,
                r.dataset,
                r.network,
                str(hp.get("optimizer", "")),
                f"{hp.get('lr', 0):g}",
                str(hp.get("batch_size", "")),
                f"{r.epochs_done}/{hp.get('epochs', '?')}",
                _pct(r.test_accuracy),
                format_seconds(r.wall_seconds),
                r.status,
            )
        )
    _table(rows)
    return 0


def _summary(r: RunRecord) -> dict:
    d = r.to_dict()
    for key in ("epochs", "loss_curve"):
        d.pop(key)
    return d


def _table(rows, marks=None) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for n, row in enumerate(rows):
        mark = (marks[n] if marks else "").ljust(2) if marks is not None else ""
        print(mark + "  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())


def run_show(args) -> int:
    (r,) = _get(_store(), [args.id])
    if args.json:
        print(json.dumps(r.to_dict()))
        return 0
    print(f"run {r.id}: {r.status}{' - ' + r.message if r.message else ''}")
    print(f"  {r.source}, started {_when(r.started)}, {format_seconds(r.wall_seconds)} wall time")
    print(f"  {r.dataset}, network {r.network}")
    print("  " + ", ".join(f"{k} {v}" for k, v in comparison([r])["hyperparameters"].items()))
    if r.samples_per_sec:
        print(f"  {r.samples_per_sec:,.0f} samples/s over {r.train_seconds:.1f} s of training")
    if r.model_path:
        print(f"  model: {r.model_path}")
    if r.epochs:
        rows = [("epoch", "train loss", "train acc", "test loss", "test acc", "seconds")]
        for e in r.epochs:
            rows.append(
                (
                    str(e["epoch"]),
                    _num(e["train_loss"]),
                    _pct(e["train_accuracy"]),
                    _num(e["test_loss"]),
                    _pct(e["test_accuracy"]),
                    f"{e['seconds']:.2f}",
                )
            )
        _table(rows)
    else:
        print("  no epoch finished")
    return 0


def _num(v) -> str:
    return "–" if v is None else f"{v:.4f}"


def run_compare(args) -> int:
    runs = _get(_store(), args.ids)
    c = comparison(runs)
    if args.json:
        print(json.dumps(c))
        return 0
    rows = [("", *[f"run {i}" for i in c["runs"]])]
    marks = [""]
    for key, values in c["hyperparameters"].items():
        rows.append((key, *values))
        marks.append("*" if key in c["differ"] else "")
    m = c["metrics"]
    for key, values in (
        ("status", m["status"]),
        ("epochs done", [str(v) for v in m["epochs_done"]]),
        ("test accuracy", [_pct(v) for v in m["test_accuracy"]]),
        ("test loss", [_num(v) for v in m["test_loss"]]),
        ("wall time", [format_seconds(v) for v in m["wall_seconds"]]),
        ("samples/s", ["–" if v is None else f"{v:,.0f}" for v in m["samples_per_sec"]]),
    ):
        rows.append((key, *values))
        marks.append("")
    _table(rows, marks)
    print("* differs: " + (", ".join(c["differ"]) if c["differ"] else "nothing (same settings)"))
    return 0


def run_delete(args) -> int:
    store = _store()
    _get(store, args.ids)
    n = store.delete(args.ids)
    print(f"deleted {n} run{'s' if n != 1 else ''}")
    return 0


def run_export(args) -> int:
    runs = _get(_store(), args.ids)
    c = comparison(runs)
    keys = list(c["hyperparameters"])
    header = ["run", "status", *keys, "epoch", "train_loss", "train_accuracy", "test_loss", "test_accuracy",
              "seconds", "samples_per_sec"]  # fmt: skip
    out = sys.stdout if args.csv == "-" else None
    try:
        f = out or open(args.csv, "w", newline="", encoding="utf-8")
    except OSError as exc:
        raise CLIError(f"cannot write {args.csv}: {exc.strerror or exc}") from None
    try:
        w = csv.writer(f)
        w.writerow(header)
        for i, r in enumerate(runs):
            settings = [c["hyperparameters"][k][i] for k in keys]
            for e in r.epochs:
                w.writerow([r.id, r.status, *settings, *(e[h] for h in header[len(keys) + 2 :])])
    finally:
        if out is None:
            f.close()
    if out is None:
        print(f"wrote {sum(len(r.epochs) for r in runs)} epochs of {len(runs)} runs to {args.csv}", file=sys.stderr)
    return 0
