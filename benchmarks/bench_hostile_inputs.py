"""Run the hostile-input corpus (tests/cli/hostile_cases.py) against a checkout and print what each case did.

    python benchmarks/bench_hostile_inputs.py [CHECKOUT] [--json OUT.json] [--only TEXT]

CHECKOUT (default: this one) is put first on PYTHONPATH. Each case runs ``python -m nnstudio`` in a fresh
folder with 1.5 GiB of address space and 45 s, as the test does; printed: exit code (None = killed at the
timeout), the child's peak RSS, seconds, whether stderr held a traceback, and stderr's last line.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(HERE))

from tests.cli.hostile_cases import cases, run_case  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("checkout", nargs="?", default=str(HERE))
    ap.add_argument("--json", default=None)
    ap.add_argument("--only", default=None)
    args = ap.parse_args()
    rows = []
    for case in cases():
        if args.only and args.only not in case.name:
            continue
        with tempfile.TemporaryDirectory() as d:
            r = run_case(case, Path(d), str(Path(args.checkout).resolve()))
            kept = all((Path(d) / n).read_bytes() == c for n, c in case.keep.items() if (Path(d) / n).exists())
            kept = kept and all((Path(d) / n).exists() for n in case.keep)
        row = {
            "case": case.name,
            "exit": r.returncode,
            "peak_rss_mib": round(r.peak_rss / 2**20, 1),
            "seconds": round(r.seconds, 2),
            "traceback": "Traceback" in r.stderr,
            "stderr_lines": len(r.stderr.strip().splitlines()),
            "last_line": r.last_line[:300],
            "kept_files": kept,
        }
        rows.append(row)
        print(
            f"{case.name[:44]:44s} exit {str(r.returncode):>4s} {row['peak_rss_mib']:8.1f} MiB {r.seconds:6.2f} s "
            f"{'TRACEBACK ' if row['traceback'] else ''}{'' if kept else 'FILE CHANGED '}| {r.last_line[:150]}",
            flush=True,
        )
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
