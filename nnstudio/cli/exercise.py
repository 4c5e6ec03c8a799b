"""``nnstudio exercise list|check|starter|solution``: the exercises for learners who prefer their own editor.

``check NAME FILE`` runs FILE against the exercise's checks in a separate process (time and memory
limits) and records a pass in the per-user progress, as the window does.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from nnstudio.core.exercises import ExerciseError, all_exercises, get, run_check
from nnstudio.core.exercises.progress import Progress
from nnstudio.core.exercises.runner import DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT

from .args import CLIError, positive


def register(sub) -> None:
    p = sub.add_parser(
        "exercise",
        help="write the course's ideas yourself and check them",
        description="Exercises: list them, print a starter or a solution, and check your file.",
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    lst = actions.add_parser("list", help="the exercises in the course's order, with your progress")
    lst.add_argument("--json", action="store_true", help="print one JSON object")
    lst.set_defaults(func=run_list)
    chk = actions.add_parser("check", help="check your file against an exercise")
    chk.add_argument("name", metavar="NAME", help="the exercise, e.g. dense")
    chk.add_argument("file", metavar="FILE", help="your Python file")
    chk.add_argument("--json", action="store_true", help="print the report as one JSON object")
    chk.add_argument(
        "--timeout", type=positive(float), default=DEFAULT_TIMEOUT, help=f"seconds (default {DEFAULT_TIMEOUT:g})"
    )
    chk.add_argument(
        "--memory", type=positive(int), default=DEFAULT_MEMORY_MB, help=f"MB (default {DEFAULT_MEMORY_MB})"
    )
    chk.set_defaults(func=run_check_command)
    for action, text in (("starter", "print the starter file"), ("solution", "print the solution")):
        a = actions.add_parser(action, help=text)
        a.add_argument("name", metavar="NAME", help="the exercise, e.g. dense")
        a.set_defaults(func=run_print, which=action)
    p.set_defaults(func=lambda args: _usage(p))


def _usage(parser) -> int:
    parser.print_help()
    return 2


def _exercise(name: str):
    try:
        return get(name)
    except ExerciseError as exc:
        raise CLIError(str(exc)) from None


def run_list(args) -> int:
    progress = Progress()
    rows = [{**e.summary(), "passed": progress.is_passed(e.name)} for e in all_exercises()]
    checklist = [{"item": i.text, "done": i.done, "passed": i.passed, "total": i.total} for i in progress.checklist()]
    if args.json:
        print(json.dumps({"count": len(rows), "exercises": rows, "checklist": checklist}))
        return 0
    for row in rows:
        mark = "✓" if row["passed"] else " "
        print(f"[{mark}] {row['number']:2d}. {row['name']:<18} {row['title']}")
    done = sum(1 for r in rows if r["passed"])
    print(f"{done} of {len(rows)} passed. Start with: nnstudio exercise starter {rows[0]['name']} > mine.py")
    return 0


def run_print(args) -> int:
    exercise = _exercise(args.name)
    sys.stdout.write(exercise.starter if args.which == "starter" else exercise.solution)
    return 0


def run_check_command(args) -> int:
    exercise = _exercise(args.name)
    path = Path(args.file)
    try:
        source = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CLIError(f"{path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CLIError(f"cannot read {path}: {exc}") from None
    report = run_check(exercise.name, source, timeout=args.timeout, memory_mb=args.memory, filename=path.name)
    progress = Progress()
    progress.record(report, source)
    if args.json:
        print(json.dumps(report.to_dict()))
    else:
        print(f"{exercise.number}. {exercise.title}")
        print(report.text())
    return 0 if report.passed else 1
