"""Every exercise: the starter fails with a helpful first message, the solution passes, and the typical
mistakes (tests/core/exercises/mistakes/<exercise>/*.py) are each named by the check."""

from pathlib import Path

import pytest

from nnstudio.core.exercises import ORDER, all_exercises, get, run_check
from nnstudio.core.exercises.runner import check_source

MISTAKES = Path(__file__).parent / "mistakes"


def _mistake_files():
    return sorted(MISTAKES.glob("*/*.py"))


def _header(path: Path) -> dict:
    meta = {}
    for line in path.read_text(encoding="utf-8").splitlines()[:3]:
        if line.startswith("# ") and ":" in line:
            key, _, value = line[2:].partition(":")
            meta[key.strip()] = value.strip()
    return meta


def test_at_least_eight_exercises_in_the_checklists_order():
    names = [e.name for e in all_exercises()]
    assert len(names) >= 8
    assert names == list(ORDER)
    # the neuron before layers, layers before autograd, checkpointing last
    assert names.index("perceptron") < names.index("dense") < names.index("autograd_ops") < names.index("checkpoint")


@pytest.mark.parametrize("name", ORDER)
def test_exercise_has_everything_a_learner_needs(name):
    e = get(name)
    assert e.title and e.statement and e.math
    assert len(e.hints) >= 2
    assert "NotImplementedError" in e.starter and "NotImplementedError" not in e.solution
    for fn in e.functions:
        assert f"def {fn}(" in e.starter or f"class {fn}" in e.starter


@pytest.mark.parametrize("name", ORDER)
def test_the_solution_passes_in_a_separate_process(name):
    report = run_check(name, get(name).solution)
    assert report.passed, report.text()
    stages = {r.stage for r in report.results}
    assert {"shapes", "tiny case", "engine comparison"} <= stages
    # the stages run in the documented order
    order = ["load", "shapes", "tiny case", "gradient check", "engine comparison", "behaviour"]
    seen = [order.index(r.stage) for r in report.results]
    assert seen == sorted(seen)


@pytest.mark.parametrize("name", ORDER)
def test_the_starter_fails_first_at_the_shapes_with_a_helpful_message(name):
    report = run_check(name, get(name).starter)
    assert not report.passed
    first = report.first_failure
    assert first is not None and first.stage == "shapes"
    assert first.mistake == "not_written"
    assert "not written yet" in first.message and "line " in first.message


def test_gradient_checks_are_used_where_there_is_a_gradient():
    for name in ("activations", "dense", "softmax_ce", "autograd_ops", "autograd_backward", "checkpoint"):
        report = check_source(name, get(name).solution)
        assert any(r.stage == "gradient check" for r in report.results), name


@pytest.mark.parametrize("path", _mistake_files(), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_a_typical_mistake_is_named(path):
    meta = _header(path)
    report = check_source(path.parent.name, path.read_text(encoding="utf-8"), filename=str(path))
    assert not report.passed
    first = report.first_failure
    assert first is not None
    assert meta["expect"] in first.message, first.message
    if meta.get("mistake"):
        assert first.mistake == meta["mistake"]
    # a failure shows what to look at: the input, or expected against got, and a hint
    assert first.hint
    assert first.input or first.expected or first.got


def test_at_least_three_typical_mistakes_per_exercise():
    counts = {name: len(list((MISTAKES / name).glob("*.py"))) for name in ORDER}
    assert all(n >= 3 for n in counts.values()), counts


def test_a_value_failure_shows_expected_and_got_side_by_side():
    # the tiny case is a 2×2 layer, so an averaged bias gradient has the right shape and wrong numbers
    source = get("dense").solution.replace("self.db = grad_y.sum(axis=0)", "self.db = grad_y.mean(axis=0)")
    first = check_source("dense", source).first_failure
    assert first.stage == "tiny case"
    assert "[-1.   1.5]" in first.expected and "[-0.5   0.75]" in first.got
    assert "x = " in first.input and "grad_y = " in first.input
