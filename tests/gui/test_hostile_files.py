"""The window with hostile files and absurd requests: every bad model file opened is one line and the current
model stays; Save never replaces a file that is not ours; a network that cannot fit is refused with its
estimate; a large saved design does not block the next launch; an overflowing derivative is said, not hidden."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.cli.hostile_cases import (
    _meta,
    deflate_bomb_model,
    honest_bomb_model,
    lying_architecture_model,
    write_model,
)


def weights(net):
    return [p.data.copy() for p in net.parameters()]


CRAFTED = {
    "text renamed .npz": lambda p: p.write_text("hello\n" * 50),
    "plain .npy renamed .npz": lambda p: np.save(open(p, "wb"), np.arange(10)),
    "lying architecture": lying_architecture_model,
    "8 GiB deflate bomb": lambda p: deflate_bomb_model(p, honest=True),
    "deflated zeros": honest_bomb_model,
    "10^12 optimizer buffers": lambda p: write_model(
        p, _meta(optimizer_state={"kind": "Adam", "steps": 1, "buffers": 10**12})
    ),
    "dataset [1]": lambda p: write_model(p, _meta(dataset=[1])),
    "class_names as a dict": lambda p: write_model(p, _meta(class_names={"a": 1})),
    "input_size Infinity": lambda p: write_model(p, _meta(input_size=float("inf"))),
    "a folder": lambda p: p.mkdir(),
}


def test_every_kind_of_bad_model_file_is_one_line_and_the_model_stays(studio, tmp_path):
    page = studio
    net, before = page.net, weights(page.net)
    for label, make in CRAFTED.items():
        path = tmp_path / f"{len(label)}-{abs(hash(label))}.npz"
        make(path)
        assert not page.open_model(str(path)), label
        message = page.message()
        assert message.startswith("Could not open the model: ") and path.name in message, (label, message)
        assert "\n" not in message and "allow_pickle" not in message, (label, message)
        assert page.net is net, label
    for a, b in zip(before, weights(page.net)):
        np.testing.assert_array_equal(a, b)
    assert "not an nnstudio model file" in _open_message(page, tmp_path, CRAFTED["text renamed .npz"])


def _open_message(page, tmp_path, make):
    path = tmp_path / "again.npz"
    make(path)
    page.open_model(str(path))
    return page.message()


def test_an_unexpected_failure_while_opening_is_one_line_too(studio, tmp_path, monkeypatch):
    import nnstudio.gui.pages.studio_page as studio_page

    def boom(path):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(studio_page, "open_model_file", boom)
    net = studio.net
    assert not studio.open_model(str(tmp_path / "x.npz"))
    assert studio.message() == "Could not open the model: x.npz could not be read (RuntimeError: disk on fire)"
    assert studio.net is net


def test_save_does_not_replace_a_file_that_is_not_a_model(studio, tmp_path):
    tmp_path = tmp_path / "saves"
    tmp_path.mkdir()
    notes = tmp_path / "notes.npz"
    notes.write_text("my notes")
    assert not studio.save_model(str(notes))
    assert notes.read_text() == "my notes"
    assert "not an nnstudio model" in studio.message()
    assert not studio.save_model(str(tmp_path / "missing" / "m.npz"))
    assert "does not exist" in studio.message()
    ours = tmp_path / "m.npz"
    assert studio.save_model(str(ours)) and studio.save_model(str(ours))  # our own model: replaced
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz", "notes.npz"]  # no temporary file left


def test_a_network_that_cannot_fit_is_refused_with_its_estimate(studio):
    page = studio
    page.editor.set_spec(
        {
            "hidden": [
                {"units": 65536, "activation": "relu", "dropout": 0.0},
                {"units": 65536, "activation": "relu", "dropout": 0.0},
            ],
            "init": "he",
        }
    )
    text = page.editor.message.text()
    assert text.startswith("Training this network at batch size 128 (weights, gradients,")
    assert "would need about" in text and "GiB" in text and "of memory available" in text
    assert not page.train_button.isEnabled()
    page.train()
    assert not page.worker.running and "would need about" in page.message()


def test_a_large_saved_design_is_not_built_while_the_window_opens(tmp_path, qtbot, mnist):
    from nnstudio.gui import create_main_window

    ini = str(tmp_path / "s.ini")
    w = create_main_window(settings_path=ini)
    qtbot.addWidget(w)
    page = w.page("studioPage")
    page.editor.set_spec({"hidden": [{"units": 50000, "activation": "relu", "dropout": 0.0}], "init": "he"})
    w.close()
    w2 = create_main_window(settings_path=ini)
    qtbot.addWidget(w2)
    page2 = w2.page("studioPage")
    qtbot.waitUntil(lambda: page2.data is not None, timeout=20000)
    qtbot.wait(100)
    assert page2.net is None
    assert "784 → 50000 → 10 has 39,750,010 parameters: it is built when you press Train" in page2.message()
    assert page2.editor.spec()["hidden"][0]["units"] == 50000  # the design is kept, only not built yet
    w2.close()


@pytest.fixture
def autograd(main_window, qtbot):
    main_window.show_page("autogradPage")
    p = main_window.page("autogradPage")
    qtbot.waitExposed(p)
    return p


def test_an_overflowing_derivative_is_said_and_the_old_one_is_gone(autograd):
    autograd.set_expression("x**2")
    assert "dy/dx = 2*x" in autograd.derivative_label.text()
    autograd.set_expression("(3*x)**1000")
    text = autograd.derivative_label.text()
    assert "dy/dx: the derivative with respect to x has a number too large for a float" in text
    assert "2*x" not in text
    assert autograd.expression.text == "(3*x)**1000"


def test_metadata_json_round_trip_is_untouched(tmp_path):
    """The crafted-file helper writes what save_model writes (the corpus tests the reader, not the helper)."""
    from nnstudio.core.nn import load_model

    path = tmp_path / "m.npz"
    write_model(path, _meta())
    net = load_model(path)
    assert net.sizes() == [784, 16, 10] and net.meta["dataset"] == "mnist"
    assert json.loads(json.dumps(net.meta))["class_names"] == [str(i) for i in range(10)]
