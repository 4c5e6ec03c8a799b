"""Charts say in words what they show (accessibleDescription), with the numbers, and keep it up to date."""

import numpy as np
import pytest

from nnstudio.core.lessons.activations import vanishing_ranges
from nnstudio.core.memory import MiB, lab_run


@pytest.fixture(autouse=True)
def _pg_options():
    import nnstudio.gui  # noqa: F401  (pyqtgraph options)


def test_perceptron_charts_describe_the_line_and_the_mistakes(make_page):
    from nnstudio.gui.pages.perceptron_page import PerceptronPage

    p = make_page(PerceptronPage)
    p.problem_combo.setCurrentText("AND")
    assert p.plot.accessibleDescription() == (
        "Perceptron, AND: no line yet, every point gets 0 (weights (+0.00, +0.00), threshold +0.00), "
        "3/4 points correct."
    )
    assert p.mistakes_plot.accessibleDescription() == "Mistakes per epoch: no epoch finished yet."
    p.run_epoch()
    first = p.plot.accessibleDescription()
    lr = p.learner
    (w1, w2), t = lr.weights, lr.threshold
    right = int(np.sum(lr.predict(lr.x) == lr.y))
    assert f"line {w1:.2f} x1 {'-' if w2 < 0 else '+'} {abs(w2):.2f} x2 = {t:.2f}" in first
    assert f"{right}/4 points correct" in first
    assert p.mistakes_plot.accessibleDescription() == f"Mistakes per epoch, 1 epoch: {lr.mistakes_per_epoch[0]}."
    while not lr.converged:
        p.run_epoch()
    final = p.plot.accessibleDescription()
    assert final != first and "4/4 points correct" in final
    assert f"threshold {lr.threshold:+.2f}" in final
    counts = ", ".join(str(m) for m in lr.mistakes_per_epoch)
    assert p.mistakes_plot.accessibleDescription() == (f"Mistakes per epoch, {lr.epoch} epochs: {counts}; converged.")
    assert lr.mistakes_per_epoch[-1] == 0
    p.problem_combo.setCurrentText("XOR")
    p.solve_xor()
    xor = p.plot.accessibleDescription()
    assert xor.startswith("XOR solved by a 2-2-1 network: hidden lines ") and xor.endswith("4/4 points correct.")
    a, b, c = p.xor_solution.hidden_lines()[0]
    assert f"{a:.2f} x1 {'-' if b < 0 else '+'} {abs(b):.2f} x2 = {c:.2f}" in xor


def test_activation_plot_describes_value_and_derivative(make_page):
    from nnstudio.gui.pages.activations_page import ActivationsPage

    p = make_page(ActivationsPage)
    p.list.setCurrentRow(0)  # sigmoid
    sig = p.fn_plot.accessibleDescription()
    lo, hi = 1 / (1 + np.exp(6)), 1 / (1 + np.exp(-6))
    assert sig.startswith(f"Sigmoid on -6..6: value {lo:.3g}..{hi:.3g}, derivative ")
    assert "..0.25, largest at x=0;" in sig
    (_, a), (b, _) = vanishing_ranges("sigmoid", -6, 6, threshold=0.05)
    assert f"flat (slope below 0.05) for x from -6 to {a:.1f} and {b:.1f} to 6." in sig
    p.list.setCurrentRow(2)  # relu: slope 1 for every positive x, 0 for every negative one
    relu = p.fn_plot.accessibleDescription()
    assert relu != sig
    assert relu == (
        "ReLU on -6..6: value 0..6, derivative 0..1, largest for x from 0.02 to 6; "
        "flat (slope below 0.05) for x from -6 to 0."
    )
    # the batch histograms and the gradient-per-layer chart
    x = p.batch * p.spread_slider.value() / 10
    assert p.hist_before.accessibleDescription() == (
        f"Histogram of a batch of 4000 inputs, spread 2.0: from {x.min():+.2f} to {x.max():+.2f}."
    )
    zero = np.mean(x <= 0)
    after = p.hist_after.accessibleDescription()
    assert after.startswith(f"Histogram after ReLU: from 0 to {x.max():.3g}. ")
    assert f"{100 * zero:.0f}% come out exactly 0" in after
    norms = p.current_norms
    grad = p.grad_plot.accessibleDescription()
    assert f"10-layer ReLU net, He initialisation: layer 1 {norms[0]:.3g}, layer 10 {norms[-1]:.3g};" in grad
    p.init_combo.setCurrentIndex(1)  # Xavier: the description follows the new curve
    assert (
        p.grad_plot.accessibleDescription() != grad and "Xavier initialisation" in p.grad_plot.accessibleDescription()
    )
    p.list.setCurrentRow(0)
    assert "Sigmoid net, Xavier initialisation" in p.grad_plot.accessibleDescription()
    assert "vanishes" in p.grad_plot.accessibleDescription()


def test_memory_timelines_describe_the_peak_of_each_way(make_page):
    from nnstudio.gui.pages.memory_page import MemoryPage

    p = make_page(MemoryPage)
    assert p.timelines["baseline"].accessibleDescription() == "Baseline (fp32) memory timeline: not measured yet."
    rng = np.random.default_rng(0)
    x = rng.standard_normal((192, 32)).astype(np.float32)
    y = rng.integers(0, 10, 192)
    sizes = [32, 256, 256, 256, 256, 10]
    runs = {
        kind: lab_run(kind, sizes, (x, y), None, 64, segments=2, timing_steps=0) for kind in ("baseline", "checkpoint")
    }
    for run in runs.values():  # as the lab's job posts them
        p._on_run(run)
    peaks = {}
    for kind, run in runs.items():
        tl = run.profile.timeline
        resident = sum(tl.resident.values())
        shown = tl.totals() - resident  # the chart leaves the resident state out by default
        i = int(np.argmax(shown))
        peaks[kind] = shown[i]
        text = p.timelines[kind].accessibleDescription()
        assert f"{len(tl.labels)} moments of one training step: peak {shown[i] / MiB:.1f} MiB" in text
        assert f"at '{tl.labels[i]}' (moment {i + 1})" in text
        assert f"({resident / MiB:.1f} MiB) left out" in text
    ck = p.timelines["checkpoint"].accessibleDescription()
    assert ck.startswith("Gradient checkpointing memory timeline")
    assert ck.endswith(
        f"Peak ×{peaks['checkpoint'] / peaks['baseline']:.2f} the baseline's {peaks['baseline'] / MiB:.1f} MiB."
    )
    assert peaks["checkpoint"] < peaks["baseline"]
    before = p.timelines["baseline"].accessibleDescription()
    p.resident_check.setChecked(True)  # the chart now draws everything, and says so
    after = p.timelines["baseline"].accessibleDescription()
    tl = runs["baseline"].profile.timeline
    assert after != before and f"peak {tl.totals().max() / MiB:.1f} MiB" in after
    assert "includes weights, gradients and optimizer state" in after
