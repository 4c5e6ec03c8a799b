"""The backprop lesson without a window: where the learner is, and the words each panel shows.

Every check uses a real traced step (XOR 2-2-1, two clusters 2-3-2, an MNIST test image through a
784-128-10 network) and the numbers the engine recorded in it.
"""

import html
import math
import re

import numpy as np
import pytest

from nnstudio.core.data import to_inputs
from nnstudio.core.lessons import backprop_narration as narration
from nnstudio.core.lessons.backprop import BackpropTracer, fmt, tiny_problem
from nnstudio.core.lessons.backprop_walkthrough import Walkthrough, is_tiny
from nnstudio.core.nn import Dense, Dropout, Sequential, Tanh


def plain(rich: str) -> str:
    """Rich text as the reader sees it: tags dropped, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", rich))


def tiny_walk(key, sample=1, optimizer="sgd"):
    """A walk-through of one step of a built-in tiny problem, as the page sets it up."""
    prob = tiny_problem(key)
    tracer = BackpropTracer(prob.net, optimizer, lr=prob.lr, loss=prob.loss, class_names=prob.class_names)
    trace = tracer.record(prob.x[sample], prob.y[sample])
    walk = Walkthrough(trace, input_names=prob.input_names, sample_text=f"Point {sample}")
    return walk, tracer, prob


def go(walk, kind, nth=0):
    """Go to the ``nth`` stop of ``kind``; return its index."""
    k = [k for k, s in enumerate(walk.trace.steps) if s.kind == kind][nth]
    walk.go_to(k)
    return k


# --------------------------------------------------------------------------- the walk-through state
def test_is_tiny_draws_up_to_twelve_neurons_per_layer():
    assert is_tiny([2, 2, 1]) and is_tiny([12, 12])
    assert not is_tiny([13, 2]) and not is_tiny([784, 128, 10])


def test_stepping_clamps_and_the_pick_follows_the_layer_worked_on():
    walk, tracer, prob = tiny_walk("xor")
    t = walk.trace
    assert walk.tiny and walk.n_steps == 13 and walk.step == 0
    assert walk.selected == (1, *t.interesting_weight(1))  # the last layer's largest gradient
    walk.previous()
    assert walk.step == 0
    walk.to_end()
    walk.next()
    assert walk.step == 12 and walk.current.kind == "after"

    walk.go_to(1)  # forward, layer 1: the pick moves to that layer
    assert walk.current.block == 0 and walk.selected == (0, *t.interesting_weight(0))
    assert t.interesting_weight(0) != (0, 1)
    walk.select_weight(0, 0, 1)  # x₀ is 0 for this point: a weight with no gradient
    walk.go_to(6)  # backward, layer 2
    assert walk.selected[0] == 1
    walk.go_to(1)
    assert walk.selected == (0, 0, 1)  # each layer's pick is remembered

    # Repeat: the next step on the same sample keeps the picks and starts over.
    walk.load(tracer.record(prob.x[1], prob.y[1]))
    assert walk.trace.t == 2 and walk.step == 0 and walk.selected == (0, 0, 1)


def test_without_a_trace_nothing_moves():
    walk = Walkthrough()
    walk.go_to(3)
    walk.select_weight(0, 1, 1)
    assert walk.trace is None and walk.n_steps == 0 and walk.step == 0 and walk.selected is None
    assert narration.tooltip(walk, "node", 0, 0) == ""


def test_what_the_network_shows_at_each_stop():
    walk, _, _ = tiny_walk("toy")
    t = walk.trace
    assert narration.column_titles(walk) == ["input", "hidden 1", "output"]
    assert walk.highlight() == (0, 0)
    walk.go_to(1)  # forward, layer 1: z only
    assert [name for _, name in walk.column_values()] == ["x", "z", ""]
    assert walk.column_values()[2][0] is None
    walk.go_to(3)  # forward, layer 2
    values = walk.column_values()
    np.testing.assert_array_equal(values[1][0], t.layers[1].y)  # hidden a, after ReLU
    np.testing.assert_array_equal(values[2][0], t.output)
    assert narration.column_titles(walk) == ["input", "hidden 1 (a)", "output (z)"]
    assert walk.highlight() == (1, 2)
    assert not any(walk.gradients_reached(b) or walk.backward_reached(b) for b in range(2))
    assert walk.layer_matrix(1)[1] == "W"

    go(walk, "backward")  # the logits layer: its ∂L/∂W, nothing below yet
    assert walk.gradients_reached(1) and walk.backward_reached(1)
    assert not walk.gradients_reached(0) and not walk.backward_reached(0)
    matrix, what = walk.layer_matrix(1)
    assert what == "∂L/∂W" and matrix is t.dense(1).dW
    vector, name = walk.step_vector()
    assert name == "∂L/∂z of layer 2" and vector is t.dense(1).grad_y

    go(walk, "update", 0)
    np.testing.assert_array_equal(walk.weights_now(0), t.update(0, "W").after)
    np.testing.assert_array_equal(walk.weights_now(1), t.update(1, "W").before)
    vector, name = walk.step_vector()
    assert name == "Δb of layer 1"
    np.testing.assert_allclose(vector, t.update(0, "b").after - t.update(0, "b").before)
    walk.to_end()
    matrix, what = walk.layer_matrix(0)
    assert what == "Δw"
    np.testing.assert_allclose(matrix, -0.3 * t.dense(0).dW, rtol=1e-12)  # SGD, lr 0.3
    assert walk.highlight() == (2, 2)
    assert walk.step_vector()[1] == "probabilities after the update"


# --------------------------------------------------------------------------- the step label
def test_step_labels_name_every_stop():
    walk, _, _ = tiny_walk("xor")
    labels = []
    for k in range(walk.n_steps):
        walk.go_to(k)
        labels.append(narration.step_label(walk))
    assert len(set(labels)) == len(labels) == 13
    assert labels[0] == "Step 1 of 13 · Forward pass — Input: the sample enters the network"
    assert labels[5] == "Step 6 of 13 · Loss — Loss: how wrong was the prediction? (mean squared error)"
    assert labels[6] == "Step 7 of 13 · Backward pass — Backward, layer 2: ∂L/∂z = ∂L/∂a · sigmoid′(z)"
    assert labels[11] == "Step 12 of 13 · Update — Update, layer 2: SGD step 1"
    assert labels[12] == "Step 13 of 13 · After the update — Same sample after the update: did the loss go down?"


# --------------------------------------------------------------------------- the details panel
def test_input_and_forward_pass_of_a_tiny_network():
    walk, _, prob = tiny_walk("xor")
    t = walk.trace
    text = plain(narration.details_html(walk))
    assert text.startswith("Input: the sample enters the network")
    assert "Point 1." in text and "The input vector a⁰ = x has 2 values: [0, 1]." in text
    assert "Dropout" not in text

    walk.go_to(1)  # Dense layer 1: every neuron's weighted sum
    text = plain(narration.details_html(walk))
    assert "layer 1 adds up its inputs" in text and "(2 inputs → 2 neurons)" in text
    for j in range(2):
        line = t.forward_line(0, j, 4)
        assert line in text and line.endswith(f"= {fmt(float(t.dense(0).y[j]))}")
    walk.go_to(2)  # sigmoid: z and a of every neuron
    rich = narration.details_html(walk)
    assert "a = Sigmoid(z)" in plain(rich)
    z, a = t.layers[1].x, t.layers[1].y
    np.testing.assert_allclose(a, 1 / (1 + np.exp(-z)), rtol=1e-12)
    for k in range(2):
        assert f"<td>{k}</td><td align='right'>{fmt(float(z[k]))}</td><td align='right'>{fmt(float(a[k]))}</td>" in rich


def test_squared_error_loss_and_the_loss_after_on_xor():
    walk, _, _ = tiny_walk("xor")
    t = walk.trace
    go(walk, "loss")
    text = plain(narration.details_html(walk))
    a, y = float(t.output[0]), float(t.target[0])
    assert t.loss == pytest.approx((a - y) ** 2, rel=1e-12)
    assert f"output a = [{fmt(a)}], target = [1]" in text and f"L = {fmt(t.loss)}" in text
    assert f"∂L/∂a = 2·(a − target)/n = [{fmt(2 * (a - y))}]" in text

    walk.to_end()
    rich = narration.details_html(walk)
    text = plain(rich)
    assert t.loss_after < t.loss and "color:#2e9d4a" in rich  # green: it went down
    assert f"Loss before: {fmt(t.loss)} → after: {fmt(t.loss_after)}" in text
    assert t.verdict in text and "went down" in t.verdict
    assert f"Output before: [{fmt(a)}], after: [{fmt(float(t.output_after[0]))}], target [1]." in text


def test_cross_entropy_loss_names_the_right_answer_and_the_guess():
    walk, _, prob = tiny_walk("toy", sample=6)  # a class B point the network calls class A
    t = walk.trace
    label, p = int(t.target), float(t.probs[int(t.target)])
    assert label == 1 and t.prediction == 0
    assert t.loss == pytest.approx(-math.log(p), rel=1e-12)
    go(walk, "loss")
    text = plain(narration.details_html(walk))
    assert "L = −log p1" in text
    assert f"Right answer: class B with p = {fmt(p)}, so L = −log({fmt(p)}) = {fmt(t.loss)}." in text
    assert "The network's guess: class A ✗" in text
    grad = t.probs - np.eye(2)[label]  # p − y
    assert f"∂L/∂z = p − y = [{fmt(float(grad[0]))}, {fmt(float(grad[1]))}]" in text

    walk.to_end()
    text = plain(narration.details_html(walk))
    after = "class B" if t.prediction_after == 1 else "class A"
    assert f"Prediction before: class A, after: {after}." in text
    assert f"Probability of the right answer: {fmt(p)} → {fmt(float(t.probs_after[label]))}." in text


def test_backward_pass_lists_the_gradients_and_the_dead_neurons():
    walk, _, _ = tiny_walk("toy", sample=1)
    t = walk.trace
    go(walk, "backward", 0)  # Dense layer 2
    rich = narration.details_html(walk)
    d = t.dense(1)
    np.testing.assert_allclose(d.dW, np.outer(d.x, d.grad_y), rtol=1e-12)  # ∂L/∂W = a ⊗ ∂L/∂z
    for i in range(3):
        for j in range(2):
            assert f"<td align='right'>{fmt(float(d.dW[i, j]))}</td>" in rich
    text = plain(rich)
    assert "∂L/∂a (layer below) = W · ∂L/∂z" in text
    assert f"Sent back: ∂L/∂a = [{', '.join(fmt(float(v)) for v in d.grad_x)}]" in text

    go(walk, "backward", 1)  # through the ReLU
    relu = t.layers[1]
    dead = int(np.sum(relu.local == 0))
    assert dead == 2
    np.testing.assert_array_equal(relu.grad_x, relu.grad_y * (relu.x > 0))
    text = plain(narration.details_html(walk))
    assert "∂L/∂z = ∂L/∂a · ReLU′(z)" in text
    assert f"{dead} neuron(s) have slope 0 here (ReLU with z ≤ 0)" in text

    go(walk, "backward", 2)  # Dense layer 1: nothing below to send to
    text = plain(narration.details_html(walk))
    assert "Layer 1 received" in text and "Sent back" not in text


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_update_writes_out_the_optimizer_step(optimizer):
    walk, _, _ = tiny_walk("toy", optimizer=optimizer)
    t = walk.trace
    go(walk, "update", 1)
    b, i, j = walk.selected
    assert b == 1
    rich = narration.details_html(walk)
    text = plain(rich)
    assert narration.OPTIMIZER_WORDS[t.optimizer["optimizer"]] in text and "this is step t = 1." in text
    assert f"For the picked weight (input {i} → neuron {j}):" in text
    for line in t.update_lines(1, "W", (i, j)):
        assert line in text
    assert t.update_lines(1, "b", j)[-1] in text
    u = t.update(1, "W")
    for r in range(3):
        for c in range(2):
            assert f"<td align='right'>{fmt(float(u.before[r, c]))} → {fmt(float(u.after[r, c]))}</td>" in rich
    if optimizer == "adam":
        assert "Bias correction at t = 1: 1−β₁ᵗ = 0.1, 1−β₂ᵗ = 0.001." in text
        assert "m̂ = m / (1−β₁^1)" in text
    else:
        assert "Bias correction" not in text
    # A weight picked in another layer: the update shows this layer's largest gradient instead.
    walk.select_weight(0, 0, 0)
    i, j = t.interesting_weight(1)
    assert f"For the weight with the largest gradient (input {i} → neuron {j}):" in plain(narration.details_html(walk))


# --------------------------------------------------------------------------- the chain rule
def test_chain_rule_for_a_hidden_weight_appears_with_the_backward_pass():
    walk, _, _ = tiny_walk("xor")
    t = walk.trace
    walk.go_to(1)
    walk.select_weight(0, 1, 0)  # x₁ → hidden neuron 0 (inputs and neurons count from 0, like W's indices)
    text = plain(narration.chain_html(walk))
    assert text.startswith(f"w = W[1, 0] of layer 1: from input x₁ to neuron 0; w = {fmt(float(t.dense(0).W[1, 0]))}.")
    first = walk.first_backward_step(0)
    assert (t.steps[first].kind, t.steps[first].block) == ("backward", 0) and first == 8
    assert f"Its gradient appears when the backward pass reaches layer 1 (step {first + 1})." in text

    walk.go_to(first)
    assert walk.selected == (0, 1, 0)
    text = plain(narration.chain_html(walk))
    rule = t.chain_rule(0, 1, 0)
    assert rule.text() in text and "∂L/∂a · ∂a/∂z · ∂z/∂w" in text
    assert rule.engine == t.dense(0).dW[1, 0] != 0 and "the same number ✓" in text
    assert rule.product == pytest.approx(rule.engine, rel=1e-12)
    # ∂L/∂a of a hidden neuron is the sum over the next layer, written out.
    (_, g, w) = rule.upstream[0]
    assert g * w == pytest.approx(rule.terms[0].value, rel=1e-12)
    assert f"∂L/∂a0 = Σₖ ∂L/∂z′ₖ·W′0ₖ = ({fmt(g)})·({fmt(w)}) = {fmt(rule.terms[0].value)}" in text
    assert "Update:" not in text

    walk.to_end()
    text = plain(narration.chain_html(walk))
    assert "Update: " + t.update_lines(0, "W", (1, 0))[0] in text
    assert text.rstrip().endswith(f"= {fmt(float(t.update(0, 'W').after[1, 0]))}")


def test_chain_rule_of_an_output_weight_under_softmax_cross_entropy():
    walk, _, _ = tiny_walk("toy")
    t = walk.trace
    go(walk, "backward", 0)
    b, i, j = walk.selected
    assert b == 1
    text = plain(narration.chain_html(walk))
    assert f"from hidden neuron {i} of layer 1 to neuron {j}" in text
    assert "∂L/∂w = ∂L/∂z · ∂z/∂w" in text and "the same number ✓" in text
    assert f"∂L/∂z_j = p_j − y_j = {float(t.probs[j]):.6g} − {1 if j == int(t.target) else 0}." in text


# --------------------------------------------------------------------------- hover tips
def test_tooltips_tell_only_what_the_walkthrough_has_reached():
    walk, _, _ = tiny_walk("toy")
    t = walk.trace
    W, x = t.dense(0).W, t.layers[0].x
    walk.go_to(3)  # forward, layer 2: no gradients yet
    assert narration.tooltip(walk, "node", 0, 1) == f"input x₁ = {fmt(float(x[1]))}"
    assert narration.tooltip(walk, "edge", 0, 1, 2) == (
        f"w from input 1 to neuron 2 of layer 1\nw = {fmt(float(W[1, 2]))}\n(click for the chain rule)"
    )
    z, a = t.layers[0].y, t.layers[1].y
    assert narration.tooltip(walk, "node", 1, 0) == (
        f"layer 1, neuron 0\nz = {fmt(float(z[0]))}\na = ReLU(z) = {fmt(float(a[0]))}"
    )

    walk.to_end()
    edge = narration.tooltip(walk, "edge", 0, 1, 2)
    assert f"∂L/∂w = {fmt(float(t.dense(0).dW[1, 2]))}" in edge
    assert f"after the update: {fmt(float(t.update(0, 'W').after[1, 2]))}" in edge
    node = narration.tooltip(walk, "node", 1, 0)
    assert f"∂L/∂a = {fmt(float(t.layers[1].grad_y[0]))}" in node
    assert f"∂L/∂z = {fmt(float(t.dense(0).grad_y[0]))}" in node
    assert f"∂L/∂b = {fmt(float(t.dense(0).db[0]))}" in node
    assert narration.tooltip(walk, "edge", 1, 2, 1).startswith("w from hidden 1 2 to neuron 1 of layer 2")


# --------------------------------------------------------------------------- an MNIST sample
def test_an_mnist_test_image_narrated_with_adam(mnist):
    net = Sequential.mlp([784, 128, 10], seed=0)
    x, y = to_inputs(mnist.x_test[7:8])[0], int(mnist.y_test[7])
    tracer = BackpropTracer(net, "adam", lr=0.001, class_names=list(mnist.class_names))
    t = tracer.record(x, y)
    walk = Walkthrough(t, sample_text=f"Test image #7, label {y}")
    assert not walk.tiny and narration.tooltip(walk, "node", 0, 0) == ""

    text = plain(narration.details_html(walk))
    assert f"Test image #7, label {y}." in text
    assert "The input vector a⁰ = x has 784 values: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, … (772 more)]." in text

    go(walk, "forward", 0)  # Dense layer 1: only the picked neuron's sum, its 5 biggest terms
    b, _, j = walk.selected
    text = plain(narration.details_html(walk))
    assert b == 0 and t.forward_line(0, j, 5) in text and "[779 more terms:" in text
    go(walk, "forward", 1)  # ReLU
    z, a = t.layers[1].x, t.layers[1].y
    text = plain(narration.details_html(walk))
    assert f"Picked neuron {j}: z = {fmt(float(z[j]))} → a = {fmt(float(a[j]))}" in text
    assert f"{np.count_nonzero(a)} of 128 neurons are non-zero." in text and "… and 118 more." in text

    go(walk, "loss")
    p = float(t.probs[y])
    text = plain(narration.details_html(walk))
    assert f"Right answer: {y} with p = {fmt(p)}, so L = −log({fmt(p)}) = {fmt(t.loss)}." in text
    assert t.loss == pytest.approx(-math.log(p), rel=1e-12)

    go(walk, "backward", 2)  # Dense layer 1: too many weights for a table
    d = t.dense(0)
    i, k = np.unravel_index(int(np.argmax(np.abs(d.dW))), d.dW.shape)
    nonzero = np.count_nonzero(d.x) * np.count_nonzero(d.grad_y)  # ∂L/∂W = a ⊗ ∂L/∂z
    text = plain(narration.details_html(walk))
    assert (
        f"|∂L/∂W| is largest at input {i} → neuron {k} ({fmt(float(d.dW[i, k]))}); "
        f"{nonzero} of 100352 weight gradients are non-zero." in text
    )

    go(walk, "update", 0)
    text = plain(narration.details_html(walk))
    assert "Bias correction at t = 1: 1−β₁ᵗ = 0.1, 1−β₂ᵗ = 0.001." in text
    assert "m̂ = m / (1−β₁^1)" in text and "Largest change in layer 1: input" in text
    walk.select_weight(0, 300, 17)
    text = plain(narration.chain_html(walk))
    rule = t.chain_rule(0, 300, 17)
    assert text.startswith("w = W[300, 17] of layer 1: from input 300 to neuron 17;")
    assert rule.text() in text and "the same number ✓" in text and "Update: m ← β₁·m" in text

    walk.to_end()
    text = plain(narration.details_html(walk))
    assert t.verdict in text
    assert f"Prediction before: {t.prediction}, after: {t.prediction_after}." in text
    assert f"Probability of the right answer: {fmt(p)} → {fmt(float(t.probs_after[y]))}." in text


# --------------------------------------------------------------------------- odd cases
def test_dropout_is_said_to_be_off_while_tracing():
    net = Sequential([Dense(2, 4, seed=1), Tanh(), Dropout(0.5), Dense(4, 2, seed=2)])
    walk = Walkthrough(BackpropTracer(net, "sgd", lr=0.1).record([0.3, -0.7], 1))
    assert "Dropout is switched off while tracing" in plain(narration.details_html(walk))


def test_words_from_outside_are_escaped():
    net = Sequential.mlp([2, 3, 2], seed=1)
    t = BackpropTracer(net, "sgd", lr=0.1, class_names=["<b>cat</b>", "dog & co"]).record([0.5, -0.2], 0)
    walk = Walkthrough(t, sample_text="x < y")
    assert "x &lt; y." in narration.details_html(walk)
    go(walk, "loss")
    rich = narration.details_html(walk)
    assert "<b>cat" not in rich and "&lt;b&gt;cat&lt;/b&gt;" in rich
    assert narration.message_html("label 7 is not < 3") == "<p>label 7 is not &lt; 3</p>"
