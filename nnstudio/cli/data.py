"""``nnstudio data list|verify|fetch``."""

from __future__ import annotations

from nnstudio.core.data import DATASETS, candidate_dirs, fetch, locate, verify

from .args import CLIError, ProgressBar


def register(sub) -> None:
    p = sub.add_parser("data", help="list, verify or download datasets")
    p.add_argument("action", choices=("list", "verify", "fetch"))
    p.add_argument("names", nargs="*", help="dataset names (default: all)")
    p.add_argument("--data-dir", help="folder holding mnist/ and fashion-mnist/ (overrides NNSTUDIO_DATA_DIR)")
    p.set_defaults(func=run)


def run(args) -> int:
    names = args.names or list(DATASETS)
    for n in names:
        if n not in DATASETS:
            raise CLIError(f"unknown dataset {n!r}; available: {', '.join(DATASETS)}")
    if args.action == "list":
        for n in names:
            folder = locate(n, args.data_dir)
            print(f"{n:14s} {DATASETS[n].title:28s} {folder if folder else 'not found'}")
            if folder is None:
                for label, d in candidate_dirs(n, args.data_dir):
                    print(f"{'':14s}   looked in {d} ({label})")
        return 0
    if args.action == "verify":
        bad = 0
        for n in names:
            for path, ok, detail in verify(n, args.data_dir):
                print(f"{'OK ' if ok else 'BAD'} {n}: {path}: {detail}")
                bad += not ok
        return 1 if bad else 0
    for n in names:
        bar = ProgressBar(1, f"{n}")

        def progress(label, done, total, bar=bar, n=n):
            bar.total = max(1, total)
            bar.label = f"{n} {label}"
            bar.update(done, f"{done / 1e6:.1f} MB")

        folder = fetch(n, progress=progress)
        bar.close(f"{n}: verified in {folder}")
    return 0
