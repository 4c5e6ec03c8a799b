"""Comparing runs: their hyperparameters side by side, which ones differ, and a name for each run.

Only settings that matter for a run are compared (momentum for the momentum optimizer, β1/β2 for
Adam), so an Adam run and an SGD run differ in ``optimizer`` and ``lr``, not in an unused momentum.
"""

from __future__ import annotations

from collections.abc import Sequence

from .store import RunRecord


def _list(v) -> str:
    if isinstance(v, (list, tuple)):
        return ",".join(_num(x) for x in v) if v else "none"
    return _num(v)


def _num(v) -> str:
    if isinstance(v, bool):
        return "on" if v else "off"
    if isinstance(v, float):
        return f"{v:g}"
    return "–" if v is None else str(v)


def hyperparameters(run: RunRecord) -> dict[str, str]:
    """The run's settings that matter, as text, in a fixed order (the keys are the names shown)."""
    hp = run.hyperparameters
    opt = str(hp.get("optimizer", ""))
    out = {
        "dataset": run.dataset,
        "network": run.network,
        "activation": _list(_same(hp.get("activation"))),
        "init": _num(hp.get("init")),
        "dropout": _list(_same(hp.get("dropout"))),
        "optimizer": opt,
        "lr": _num(hp.get("lr")),
        "schedule": _num(hp.get("schedule") or ("cosine" if hp.get("cosine") else "constant")),
    }
    if opt == "momentum":
        out["momentum"] = _num(hp.get("momentum"))
        out["nesterov"] = _num(bool(hp.get("nesterov")))
    if opt == "adam":
        out["betas"] = _list(hp.get("betas"))
        out["eps"] = _num(hp.get("eps"))
    out.update(
        {
            "weight decay": _num(hp.get("weight_decay")),
            "batch": _num(hp.get("batch_size")),
            "epochs": _num(hp.get("epochs")),
            "seed": _num(hp.get("seed")),
            "precision": _num(hp.get("precision", "fp32")),
            "checkpoint segments": _num(hp.get("checkpoint_segments")),
        }
    )
    return out


def _same(v):
    """[relu, relu, relu] -> [relu]: one value for every layer is written once."""
    if isinstance(v, list) and v and all(x == v[0] for x in v):
        return v[:1]
    return v


def differing(runs: Sequence[RunRecord]) -> list[str]:
    """The hyperparameter names whose values are not the same in every run (in display order)."""
    tables = [hyperparameters(r) for r in runs]
    keys: list[str] = []
    for t in tables:
        keys += [k for k in t if k not in keys]
    return [k for k in keys if len({t.get(k, "–") for t in tables}) > 1]


def run_label(run: RunRecord, keys: Sequence[str]) -> str:
    """What names this run among others: its values of the differing settings ('lr 0.003'), or its id."""
    table = hyperparameters(run)
    parts = [f"{k} {table.get(k, '–')}" for k in keys if k not in ("network",)]
    if "network" in keys:
        parts.insert(0, table["network"])
    return ", ".join(parts[:3]) if parts else f"run {run.id}"


METRICS = ("status", "epochs_done", "test_accuracy", "test_loss", "wall_seconds", "samples_per_sec")


def comparison(runs: Sequence[RunRecord]) -> dict:
    """Everything ``runs compare`` shows: settings side by side, which differ, metrics, and a label each."""
    keys = differing(runs)
    tables = [hyperparameters(r) for r in runs]
    names: list[str] = []
    for t in tables:
        names += [k for k in t if k not in names]
    return {
        "runs": [r.id for r in runs],
        "labels": [run_label(r, keys) for r in runs],
        "differ": keys,
        "hyperparameters": {k: [t.get(k, "–") for t in tables] for k in names},
        "metrics": {m: [getattr(r, m) for r in runs] for m in METRICS},
    }
