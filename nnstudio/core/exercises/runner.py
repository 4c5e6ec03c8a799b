"""Running the learner's code safely: in a separate process, with a time and a memory limit.

``run_check(name, source)`` starts ``python -m nnstudio.core.exercises.runner NAME FILE`` and
waits. The child caps its own address space (``RLIMIT_AS``) and CPU time on POSIX, runs the
learner's file and the exercise's checks, and prints the report as one JSON line. The parent
kills the child when the wall-clock limit passes or when ``cancel`` is set, so an infinite loop,
a runaway allocation or a crash in the learner's code never freezes or ends the app: it becomes a
report with a clear message.
"""

from __future__ import annotations

import contextlib
import faulthandler
import importlib
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import types
from pathlib import Path

from .catalog import get
from .checking import Checker, CheckFailed
from .report import CheckReport, CheckResult

DEFAULT_TIMEOUT = 10.0  # seconds of wall-clock time for one check run
DEFAULT_MEMORY_MB = 1024  # address space of the check process
MARKER = "@@nnstudio-check-report@@"
MAX_OUTPUT = 4000
_memory_mb = DEFAULT_MEMORY_MB  # the limit this check process runs under (for the message)


def _set_limits(memory_mb: int, cpu_seconds: int) -> None:
    try:
        import resource  # noqa: PLC0415 - POSIX only; Windows relies on the parent's timeout
    except ImportError:
        return
    limit = int(memory_mb) * 1024 * 1024
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))


def check_source(name: str, source: str, filename: str = "<your code>") -> CheckReport:
    """Run ``source`` and the checks of exercise ``name`` in *this* process (the child calls this)."""
    exercise = get(name)
    start = time.perf_counter()
    captured = io.StringIO()
    results: list[CheckResult] = []
    with contextlib.redirect_stdout(captured), contextlib.redirect_stderr(captured):
        module = types.ModuleType("learner")
        module.__file__ = filename
        checker = Checker(module, filename, source)
        try:
            try:
                code = compile(source, filename, "exec")
            except SyntaxError as exc:
                checker.fail(
                    "your file runs",
                    f"Python cannot read line {exc.lineno}: {exc.msg}.",
                    got=(exc.text or "").rstrip(),
                    hint="Look at that line and the one before it (a missing bracket or colon shows up late).",
                    mistake="syntax",
                )
            try:
                exec(code, module.__dict__)
            except CheckFailed:
                raise
            except MemoryError:
                raise
            except Exception as exc:  # noqa: BLE001 - the learner's error, reported with its line
                checker.fail(
                    "your file runs",
                    f"Running your file raised {type(exc).__name__}: {exc}{checker._where(exc)}",
                    hint="The file is run once before the checks; code at the top level runs then.",
                    mistake="exception",
                )
            checker.ok("your file runs")
            checks = importlib.import_module(f"nnstudio.core.exercises.checks.{exercise.name}")
            try:
                checks.check(checker)
            except (CheckFailed, MemoryError):
                raise
            except Exception as exc:  # noqa: BLE001 - a fault of the check itself, not of the learner
                checker.results.append(
                    CheckResult(
                        checker.stage,
                        "the check itself",
                        False,
                        f"The check failed on its own ({type(exc).__name__}: {exc}); this is a bug in nnstudio, "
                        "not in your code. Please report it.",
                        mistake="internal",
                    )
                )
        except CheckFailed:
            pass
        except MemoryError:
            checker.results.append(
                CheckResult(
                    checker.stage,
                    "memory",
                    False,
                    "Your code ran out of memory (the check allows about "
                    f"{_memory_mb} MB): an array far too large, or one that grows in a loop.",
                    mistake="memory",
                )
            )
        results = checker.results
    passed = bool(results) and all(r.passed for r in results)
    output = captured.getvalue()
    return CheckReport(
        exercise.name,
        passed,
        results,
        seconds=time.perf_counter() - start,
        output=output[:MAX_OUTPUT],
    )


def _child_env() -> dict:
    env = dict(os.environ)
    # The child imports this very nnstudio, and keeps BLAS to one thread (a check is small).
    root = str(Path(__file__).resolve().parents[3])
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = "1"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def run_check(
    name: str,
    source: str,
    timeout: float = DEFAULT_TIMEOUT,
    memory_mb: int = DEFAULT_MEMORY_MB,
    cancel: threading.Event | None = None,
    filename: str | None = None,
) -> CheckReport:
    """Check ``source`` against exercise ``name`` in a separate process; never raises for the learner's code."""
    exercise = get(name)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="nnstudio-check-") as tmp:
        path = Path(tmp) / (filename or f"{exercise.name}.py")
        path.write_text(source, encoding="utf-8")
        cmd = [
            sys.executable,
            "-m",
            "nnstudio.core.exercises.runner",
            exercise.name,
            str(path),
            str(int(memory_mb)),
            str(int(timeout) + 2),
            str(time.time() + float(timeout)),  # the moment the parent gives up
        ]
        proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            env=_child_env(),
            text=True,
            encoding="utf-8",
            errors="replace",
        )
        stopped = ""
        out = err = ""
        while True:
            try:
                out, err = proc.communicate(timeout=0.05)
                break
            except subprocess.TimeoutExpired:
                if cancel is not None and cancel.is_set():
                    stopped = "cancelled"
                elif time.perf_counter() - start > timeout:
                    stopped = "timeout"
                if stopped:
                    proc.kill()
                    out, err = proc.communicate()
                    break
    seconds = time.perf_counter() - start
    if stopped == "timeout":
        where = _stuck_line(err, path.name, source)
        return CheckReport(
            exercise.name,
            False,
            error=f"Stopped after {timeout:g} s: your code did not finish in time{where}. Look for a loop whose "
            "condition never becomes false (a while loop that never updates its variable).",
            timed_out=True,
            seconds=seconds,
        )
    if stopped == "cancelled":
        return CheckReport(exercise.name, False, error="Check stopped before it finished.", seconds=seconds)
    for line in reversed(out.splitlines()):
        if line.startswith(MARKER):
            report = CheckReport.from_dict(json.loads(line[len(MARKER) :]))
            report.seconds = seconds
            return report
    return CheckReport(exercise.name, False, error=_crash_message(proc.returncode, err, memory_mb), seconds=seconds)


def _stuck_line(err: str, filename: str, source: str) -> str:
    """Where the learner's code was when time ran out, from the child's last traceback dump."""
    lines = source.splitlines()
    for m in re.finditer(r'File "([^"]+)", line (\d+)', err):
        if Path(m.group(1)).name == filename:
            n = int(m.group(2))
            text = lines[n - 1].strip() if 0 < n <= len(lines) else ""
            return f"; it was running line {n}" + (f" ({text})" if text else "")
    return ""


def _crash_message(code: int | None, err: str, memory_mb: int) -> str:
    tail = err.strip().splitlines()[-1] if err.strip() else ""
    if code is not None and code < 0:
        signal_names = {9: "killed", 11: "a segmentation fault", 24: "its CPU time limit", 6: "an abort"}
        why = signal_names.get(-code, f"signal {-code}")
        return f"Your code ended the check process ({why}) before the checks finished."
    if "MemoryError" in err:
        return f"Your code ran out of memory (the limit is {memory_mb} MB)."
    detail = f": {tail}" if tail else ""
    return f"The check process ended early (exit code {code}){detail}. Did your code call exit()?"


def main(argv: list[str] | None = None) -> int:
    """The child's entry point: NAME FILE [MEMORY_MB CPU_SECONDS]; prints the report as one JSON line."""
    argv = sys.argv[1:] if argv is None else argv
    name, file = argv[0], argv[1]
    memory_mb = int(argv[2]) if len(argv) > 2 else DEFAULT_MEMORY_MB
    cpu = int(argv[3]) if len(argv) > 3 else int(DEFAULT_TIMEOUT) + 2
    deadline = float(argv[4]) if len(argv) > 4 else time.time() + DEFAULT_TIMEOUT
    # Shortly before the parent gives up, write where the code is (the parent names that line).
    faulthandler.dump_traceback_later(
        max(0.1, deadline - time.time() - 0.4), exit=False, file=sys.__stderr__ or sys.stderr
    )
    global _memory_mb
    _memory_mb = memory_mb
    _set_limits(memory_mb, cpu)
    source = Path(file).read_text(encoding="utf-8")
    report = check_source(name, source, filename=file)
    sys.stdout.write(MARKER + json.dumps(report.to_dict()) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
