"""The learner's files and progress live in the per-user folder and survive a restart."""

import json

from nnstudio.core.exercises import CHECKLIST, get
from nnstudio.core.exercises.progress import Progress
from nnstudio.core.exercises.runner import check_source


def test_files_and_passes_survive_a_new_session(nnstudio_home):
    p = Progress()
    assert p.folder == nnstudio_home / "exercises"
    assert p.load_source("dense") == get("dense").starter  # nothing saved yet: the starter
    source = get("dense").solution
    p.save_source("dense", source)
    report = check_source("dense", source)
    p.record(report, source)
    again = Progress()  # the app restarted
    assert again.load_source("dense") == source
    assert again.is_passed("dense") and again.passed_with("dense", source)
    assert not again.passed_with("dense", source + "\n# changed")
    assert (nnstudio_home / "exercises" / "dense.py").read_text() == source


def test_a_failure_keeps_an_earlier_pass():
    p = Progress()
    p.record(check_source("sgd", get("sgd").solution), get("sgd").solution)
    p.record(check_source("sgd", get("sgd").starter), get("sgd").starter)
    assert Progress().is_passed("sgd")


def test_the_checklist_ticks_when_all_its_exercises_pass():
    p = Progress()
    items = {i.text: i for i in p.checklist()}
    assert list(items) == list(CHECKLIST)
    assert not items["Create automatic differentiation system"].done
    for name in ("autograd_ops", "autograd_backward"):
        p.record(check_source(name, get(name).solution), get(name).solution)
        items = {i.text: i for i in p.checklist()}
        assert items["Create automatic differentiation system"].passed == (1 if name == "autograd_ops" else 2)
    assert items["Create automatic differentiation system"].done
    assert not items["Train MNIST classifier (95%+ accuracy)"].done
    p.record_mnist_run(0.93, 1)
    assert not {i.text: i for i in p.checklist()}["Train MNIST classifier (95%+ accuracy)"].done
    p.record_mnist_run(0.975, 5)
    assert {i.text: i for i in Progress().checklist()}["Train MNIST classifier (95%+ accuracy)"].done


def test_hints_revealed_are_remembered():
    Progress().set_hints_shown("adam", 2)
    assert Progress().hints_shown("adam") == 2


def test_an_unreadable_progress_file_is_kept_aside_not_lost(nnstudio_home):
    folder = nnstudio_home / "exercises"
    folder.mkdir(parents=True)
    (folder / "progress.json").write_text("{ not json")
    p = Progress()
    assert "could not be read" in p.problem
    kept = list(folder.glob("progress.unreadable-*.json"))
    assert len(kept) == 1 and kept[0].read_text() == "{ not json"
    p.set_hints_shown("dense", 1)
    assert json.loads((folder / "progress.json").read_text())["hints"] == {"dense": 1}
