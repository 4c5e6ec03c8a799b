"""``nnstudio exercise``: list, starter, solution and check, as a learner with their own editor uses them."""

import json

from nnstudio.cli import main


def test_list_json_counts_the_exercises(capsys):
    assert main(["exercise", "list", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["count"] == len(data["exercises"]) >= 8
    assert data["exercises"][0]["name"] == "perceptron"
    assert all(not e["passed"] for e in data["exercises"])
    assert [c["item"] for c in data["checklist"]][0] == "Implement perceptron from scratch"


def test_starter_fails_and_solution_passes_and_is_recorded(capsys, tmp_path):
    mine = tmp_path / "mine.py"
    assert main(["exercise", "starter", "dense"]) == 0
    mine.write_text(capsys.readouterr().out)
    assert main(["exercise", "check", "dense", str(mine)]) == 1
    out = capsys.readouterr().out
    assert "Dense.forward is not written yet" in out and "Not passed yet" in out
    assert main(["exercise", "solution", "dense"]) == 0
    mine.write_text(capsys.readouterr().out)
    assert main(["exercise", "check", "dense", str(mine), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["passed"] and report["exercise"] == "dense"
    assert main(["exercise", "list", "--json"]) == 0
    listed = {e["name"]: e["passed"] for e in json.loads(capsys.readouterr().out)["exercises"]}
    assert listed["dense"] and not listed["adam"]


def test_check_reports_a_typical_mistake(capsys, tmp_path):
    assert main(["exercise", "solution", "adam"]) == 0
    wrong = capsys.readouterr().out.replace("m_hat = m / (1 - beta1**t)", "m_hat = m")
    mine = tmp_path / "adam.py"
    mine.write_text(wrong)
    assert main(["exercise", "check", "adam", str(mine), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    failure = next(r for r in report["results"] if not r["passed"])
    assert failure["mistake"] == "no_bias_correction"


def test_an_infinite_loop_is_stopped(capsys, tmp_path):
    mine = tmp_path / "loop.py"
    mine.write_text("def sgd_step(w, g, lr):\n    while True:\n        pass\n")
    assert main(["exercise", "check", "sgd", str(mine), "--timeout", "2"]) == 1
    assert "Stopped after 2 s" in capsys.readouterr().out


def test_bad_input_is_one_line(capsys, tmp_path):
    assert main(["exercise", "check", "nope", str(tmp_path / "x.py")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("nnstudio: error: unknown exercise 'nope'") and err.count("\n") == 1
    assert main(["exercise", "check", "dense", str(tmp_path / "missing.py")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["exercise", "starter", "nope"]) == 2
