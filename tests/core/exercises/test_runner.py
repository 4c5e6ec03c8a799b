"""The learner's code runs in a separate process: a loop, a huge allocation, a crash or a syntax error
becomes a report with a clear message, and the caller is never stuck."""

import threading
import time

from nnstudio.core.exercises import get, run_check

LOOP = get("sgd").solution.replace("    return w - lr * g", "    while True:\n        pass")


def test_an_infinite_loop_is_stopped_within_the_time_limit():
    start = time.perf_counter()
    report = run_check("sgd", LOOP, timeout=3)
    elapsed = time.perf_counter() - start
    assert report.timed_out and not report.passed
    assert "Stopped after 3 s" in report.error and "loop" in report.error
    # where the code was when time ran out (the child dumps its stack just before the deadline)
    assert "it was running line 6" in report.error or "it was running line 7" in report.error
    assert elapsed < 3 + 2.0  # killed promptly, not after the CPU limit


def test_a_loop_at_the_top_of_the_file_is_stopped_too():
    report = run_check("sgd", "x = 0\nwhile x < 1:\n    x -= 1\n", timeout=2)
    assert report.timed_out


def test_running_out_of_memory_is_a_message_not_a_crash():
    source = "import numpy as np\n\ndef sgd_step(w, g, lr):\n    big = np.ones((40000, 40000))\n    return w - lr * g\n"
    report = run_check("sgd", source, memory_mb=512, timeout=20)
    assert not report.passed
    assert "out of memory" in report.headline


def test_a_crash_of_the_process_is_reported():
    source = "import os\n\ndef sgd_step(w, g, lr):\n    os._exit(3)\n"
    report = run_check("sgd", source)
    assert not report.passed
    assert "exit code 3" in report.error


def test_a_syntax_error_names_the_line():
    report = run_check("sgd", "def sgd_step(w, g, lr)\n    return w - lr * g\n")
    first = report.first_failure
    assert first.stage == "load" and first.mistake == "syntax"
    assert "line 1" in first.message


def test_an_exception_points_at_the_learners_line():
    source = "def sgd_step(w, g, lr):\n    x = 1\n    return w - lr * gradient\n"
    first = run_check("sgd", source).first_failure
    assert "NameError" in first.message and "line 3: return w - lr * gradient" in first.message


def test_what_the_learners_code_prints_is_kept_apart_from_the_report():
    source = get("sgd").solution.replace("    return w - lr * g", "    print('step!')\n    return w - lr * g")
    report = run_check("sgd", source)
    assert report.passed
    assert "step!" in report.output


def test_stop_ends_a_running_check():
    cancel = threading.Event()
    threading.Timer(0.8, cancel.set).start()
    start = time.perf_counter()
    report = run_check("sgd", LOOP, timeout=30, cancel=cancel)
    assert time.perf_counter() - start < 5
    assert not report.passed and "stopped" in report.error.lower() and not report.timed_out
