"""``nnstudio grad``: numbers that agree with central differences, one-line errors for bad input."""

import json
import subprocess
import sys

import pytest

from nnstudio.cli import main


def grad_json(capsys, *args):
    assert main(["grad", *args, "--json"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    return json.loads(lines[0])


def test_seed_example_json(capsys):
    result = grad_json(capsys, "x**2 + 3*x + 5", "--at", "x=2")
    assert result["expression"] == "x**2 + 3*x + 5"
    assert result["value"] == 15.0
    assert result["gradient"] == {"x": 7.0}
    assert result["derivative"] == {"x": "2*x + 3"}


def test_text_output_shows_value_slope_and_formula(capsys):
    assert main(["grad", "(x + 2)^2", "--at", "x=1"]) == 0
    out = capsys.readouterr().out
    assert "y = 9" in out
    assert "dy/dx = 6   (dy/dx = 2*(x + 2))" in out


@pytest.mark.parametrize(
    "text,at",
    [
        ("sigmoid(w*x + b)", "x=1,w=2,b=-1"),
        ("x^3 - 2x + 1/x", "x=0.7"),
        ("exp(-x^2/2) * sin(3x)", "x=0.4"),
        ("log(x^2 + 1) + sqrt(x)", "x=1.3"),
        ("tanh(w x) + relu(x - b)", "x=0.9,w=-1.5,b=0.2"),
        ("x**x", "x=1.7"),
        ("2(x + 1)(x - 3)", "x=-0.25"),
    ],
)
def test_gradient_agrees_with_central_differences(capsys, text, at):
    result = grad_json(capsys, text, "--at", at)
    point = {k: float(v) for k, v in (p.split("=") for p in at.split(","))}
    assert set(result["gradient"]) == set(point)
    h = 1e-6
    for name, g in result["gradient"].items():
        up = grad_json(capsys, text, "--at", ",".join(f"{k}={v + h * (k == name)!r}" for k, v in point.items()))
        down = grad_json(capsys, text, "--at", ",".join(f"{k}={v - h * (k == name)!r}" for k, v in point.items()))
        assert g == pytest.approx((up["value"] - down["value"]) / (2 * h), rel=1e-5, abs=1e-7)


@pytest.mark.parametrize(
    "args,message",
    [
        (["__import__('os').system('true')", "--at", "x=1"], "unknown name '__import__'"),
        (["x.__class__", "--at", "x=1"], "attribute access is not allowed"),
        (["(x + ", "--at", "x=1"], "incomplete"),
        (["9**9**9**9"], "too large"),
        (["x" * 5000, "--at", "x=1"], "too long"),
        (["w*x", "--at", "x=1"], "give a value for w"),
        (["x", "--at", "x=one"], "'one' is not a number"),
        (["x", "--at", "x=1,q=2"], "q, which the expression does not use"),
        (["log(x)", "--at", "x=0"], "undefined"),
    ],
)
def test_bad_input_one_line_error_nonzero_exit(capsys, args, message):
    assert main(["grad", *args]) != 0
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and lines[0].startswith("nnstudio: error:")


def test_real_terminal_gets_no_traceback():
    proc = subprocess.run(
        [sys.executable, "-m", "nnstudio", "grad", "x.__class__.__bases__", "--at", "x=1"],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip() == (
        "nnstudio: error: unexpected character '.' (attribute access is not allowed) at position 2"
    )
