"""The words of the backprop lesson: what each stop of one training step means, with its numbers.

Every function takes a :class:`~nnstudio.core.lessons.backprop_walkthrough.Walkthrough` (the
recorded :class:`~nnstudio.core.lessons.backprop.Trace`, the current stop, the picked weight, and
whether the network is tiny enough to show every neuron) and returns the text a panel of the
backprop page shows: rich text (a small subset of HTML that Qt renders) for the panels, plain
text for the step label and the hover tips. Nothing here computes a gradient: every number is
one the engine recorded.

Reading order: the step label and column titles; the details panel, one function per kind of stop (input, forward,
loss, backward, update, after); the chain rule for the picked weight; the hover tips.
"""

from __future__ import annotations

import html
import math

import numpy as np

from nnstudio.core.fmt import format_number as fmt
from nnstudio.core.lessons.backprop import DenseRecord, LayerRecord, Step, Trace
from nnstudio.core.lessons.backprop_walkthrough import Walkthrough

PHASE_WORDS = {
    "forward": "Forward pass",
    "loss": "Loss",
    "backward": "Backward pass",
    "update": "Update",
    "after": "After the update",
}

OPTIMIZER_WORDS = {
    "SGD": "Plain gradient descent moves every weight a little against its gradient: w ← w − lr·g.",
    "Momentum": "Momentum keeps a running velocity v of past gradients (like a ball rolling "
    "downhill) and moves along it: v ← μ·v + g, w ← w − lr·v.",
    "Adam": "Adam keeps two running averages per weight: m of the gradient and v of its square. "
    "Early on both start near 0, so it divides by (1−βᵗ) — the bias correction — and then "
    "takes a step of about lr in the direction of m̂, scaled down where gradients are large "
    "or noisy.",
}


def step_label(walk: Walkthrough) -> str:
    """e.g. ``Step 7 of 13 · Backward pass — Backward, layer 2: ...``."""
    s = walk.current
    return f"Step {walk.step + 1} of {walk.n_steps} · {PHASE_WORDS[s.phase]} — {s.title}"


def column_titles(walk: Walkthrough) -> list[str]:
    """Above each column of the drawn network: "input", "hidden 1 (a)", ..., "output (z)"."""
    cols, n = walk.column_values(), walk.loaded_trace.n_blocks
    titles = ["input"]
    for b in range(n):
        name = cols[b + 1][1]
        titles.append(("output" if b == n - 1 else f"hidden {b + 1}") + (f" ({name})" if name else ""))
    return titles


def message_html(message: str) -> str:
    """A plain message (why there is nothing to step through) for a rich-text panel."""
    return f"<p>{_esc(message)}</p>"


# --------------------------------------------------------------------------- the details panel
def details_html(walk: Walkthrough) -> str:
    """What happens at the current stop, with the recorded numbers."""
    t, s = walk.loaded_trace, walk.current
    head = f"<h3>{_esc(s.title)}</h3>"
    if s.kind == "input":
        return head + input_html(walk)
    if s.kind == "forward":
        return head + forward_html(walk, s)
    if s.kind == "loss":
        return head + loss_html(t)
    if s.kind == "backward":
        return head + backward_html(walk, t.layers[s.layer_index()], s.block_index())
    if s.kind == "update":
        return head + update_html(walk, s.block_index())
    return head + after_html(t)


def input_html(walk: Walkthrough) -> str:
    t = walk.loaded_trace
    p = [
        f"<p>{_esc(walk.sample_text)}.</p>",
        f"<p>The input vector a⁰ = x has {t.sizes[0]} values: {_esc(_vec(t.layers[0].x))}.</p>",
        "<p>Training repeats five steps: <b>predict</b> (forward pass), <b>measure the error</b> "
        "(loss), <b>find which weights caused it</b> (backward pass), <b>adjust them</b> "
        "(update), and <b>repeat</b>. Press → to run each operation of the engine in turn.</p>",
    ]
    if t.dropout_off and any(r.kind == "Dropout" for r in t.layers):
        p.append("<p><i>Dropout is switched off while tracing, so the step is repeatable.</i></p>")
    return "".join(p)


def forward_html(walk: Walkthrough, s: Step) -> str:
    """A Dense layer's weighted sums, or an activation bending them."""
    t, tiny, picked = walk.loaded_trace, walk.tiny, walk.picked_weight[2]
    rec, b = t.layers[s.layer_index()], s.block_index()
    if rec.kind == "Dense":
        p = [
            f"<p>Each neuron of layer {b + 1} adds up its inputs, each times its weight, plus its "
            f"bias: <b>z = W·a + b</b> ({rec.x.size} inputs → {rec.y.size} neurons).</p>"
        ]
        # A tiny layer: every neuron's sum; a big one: the picked neuron's (or neuron 0's).
        js = range(rec.y.size) if tiny else [picked if walk.picked_weight[0] == b else 0]
        for j in js:
            p.append(f"<p>{_code(t.forward_line(b, j, 4 if tiny else 5))}</p>")
        if not tiny:
            p.append(f"<p>z = {_esc(_vec(rec.y))}</p>")
        return "".join(p)
    p = [f"<p>The activation function bends each weighted sum: <b>a = {rec.kind}(z)</b>.</p>"]
    if not tiny:
        p.append(_picked_line(walk, b, f"z = {fmt(float(rec.x[picked]))} → a = {fmt(float(rec.y[picked]))}"))
        p.append(f"<p>{int(np.count_nonzero(rec.y))} of {rec.y.size} neurons are non-zero.</p>")
    p.append(_pairs("z", rec.x, "a", rec.y, tiny))
    return "".join(p)


def loss_html(t: Trace) -> str:
    """The loss of the prediction, and the gradient the backward pass starts from."""
    if t.probs is not None:  # softmax cross-entropy
        label = int(t.target)
        pred = t.prediction  # None for a single output, where there is no class to choose: shown as "None"
        guess = _class_name(t, pred) if pred is not None else str(pred)
        return (
            f"<p>Softmax turns the {t.output.size} outputs into probabilities, and cross-entropy "
            f"measures how little probability went to the right answer: "
            f"<b>L = −log p<sub>{label}</sub></b>.</p>"
            f"<p>p = {_esc(_vec(t.probs))}</p>"
            f"<p>Right answer: <b>{_esc(_class_name(t, label))}</b> with p = {fmt(float(t.probs[label]))}, so "
            f"<b>L = −log({fmt(float(t.probs[label]))}) = {fmt(t.loss)}</b>. "
            f"The network's guess: {_esc(guess)}{' ✓' if pred == label else ' ✗'}.</p>"
            f"<p>The backward pass starts here: ∂L/∂z = p − y = {_esc(_vec(t.grad_output))}.</p>"
        )
    return (
        f"<p>Mean squared error: <b>L = mean((a − target)²)</b>.</p>"
        f"<p>output a = {_esc(_vec(t.output))}, target = {_esc(_vec(t.target))}</p>"
        f"<p><b>L = {fmt(t.loss)}</b></p>"
        f"<p>The backward pass starts here: ∂L/∂a = 2·(a − target)/n = {_esc(_vec(t.grad_output))}.</p>"
    )


def backward_html(walk: Walkthrough, rec: LayerRecord, b: int) -> str:
    """What one layer's backward produced: a Dense layer's gradients, or the error through an activation."""
    tiny = walk.tiny
    if isinstance(rec, DenseRecord):
        d = rec
        parts = [
            f"<p>Layer {b + 1} received ∂L/∂z = {_esc(_vec(d.grad_y))}. From it the engine gets:</p><ul>"
            "<li><b>∂L/∂W = a ⊗ ∂L/∂z</b>: each weight's gradient is its input times its neuron's ∂L/∂z.</li>"
            "<li><b>∂L/∂b = ∂L/∂z</b>.</li>"
        ]
        if b > 0:
            parts.append(
                "<li><b>∂L/∂a (layer below) = W · ∂L/∂z</b>: the error sent back through the same weights.</li>"
            )
        parts.append("</ul>")
        if tiny:
            cells = [[fmt(float(d.dW[i, j])) for j in range(d.dW.shape[1])] for i in range(d.dW.shape[0])]
            parts.append(f"<p>∂L/∂W:</p>{_weight_table(cells)}<p>∂L/∂b = {_esc(_vec(d.db))}</p>")
        else:
            parts.append(
                f"<p>|∂L/∂W| is largest at {_largest(d.dW)}; "
                f"{int(np.count_nonzero(d.dW))} of {d.dW.size} weight gradients are non-zero.</p>"
                f"<p>∂L/∂b = {_esc(_vec(d.db))}</p>"
            )
        if b > 0:
            parts.append(f"<p>Sent back: ∂L/∂a = {_esc(_vec(d.grad_x))}</p>")
        return "".join(parts)
    name = rec.kind
    p = [f"<p>Through the activation: <b>∂L/∂z = ∂L/∂a · {name}′(z)</b>, neuron by neuron.</p>"]
    if rec.local is not None and not tiny:
        j = walk.picked_weight[2]
        p.append(
            _picked_line(
                walk,
                b,
                f"∂L/∂a = {fmt(float(rec.grad_y[j]))}, slope {fmt(float(rec.local[j]))}, "
                f"∂L/∂z = {fmt(float(rec.grad_x[j]))}",
            )
        )
    if rec.local is not None:
        limit = rec.y.size if tiny else 10
        rows = "".join(
            f"<tr><td>{k}</td><td align='right'>{fmt(float(rec.grad_y[k]))}</td>"
            f"<td align='right'>{fmt(float(rec.local[k]))}</td>"
            f"<td align='right'>{fmt(float(rec.grad_x[k]))}</td></tr>"
            for k in range(min(limit, rec.y.size))
        )
        p.append(
            f"<table cellspacing='0' cellpadding='3'><tr><th>neuron</th><th>∂L/∂a</th><th>{name}′(z)</th>"
            f"<th>∂L/∂z</th></tr>{rows}</table>"
        )
        if rec.y.size > limit:
            p.append(f"<p>… and {rec.y.size - limit} more.</p>")
        dead = int(np.sum(rec.local == 0))
        if dead:
            p.append(
                f"<p>{dead} neuron(s) have slope 0 here (ReLU with z ≤ 0): no error flows back "
                f"through them, so their incoming weights get no gradient from this sample.</p>"
            )
    else:
        p.append(f"<p>∂L/∂z = {_esc(_vec(rec.grad_x))}</p>")
    return "".join(p)


def update_html(walk: Walkthrough, b: int) -> str:
    """The optimizer's rule, and its step written out for one weight and one bias of block ``b``."""
    t = walk.loaded_trace
    hp = t.optimizer
    kind = hp["optimizer"]
    hps = ", ".join(f"{k} = {v}" for k, v in hp.items() if k != "optimizer")
    p = [f"<p>{OPTIMIZER_WORDS[kind]}</p><p><i>{_esc(kind)}: {_esc(hps)}; this is step t = {t.t}.</i></p>"]
    if t.bias_correction is not None:
        bc1, bc2 = t.bias_correction
        p.append(f"<p>Bias correction at t = {t.t}: 1−β₁ᵗ = {fmt(bc1)}, 1−β₂ᵗ = {fmt(bc2)}.</p>")
    sb, i, j = walk.picked_weight
    if sb == b:
        p.append(f"<p>For the picked weight (input {i} → neuron {j}):</p>")
    else:
        i, j = t.interesting_weight(b)
        p.append(f"<p>For the weight with the largest gradient (input {i} → neuron {j}):</p>")
    p.append("".join(f"<p>{_code(line)}</p>" for line in t.update_lines(b, "W", (i, j))))
    p.append(f"<p>and its neuron's bias:</p><p>{_code(t.update_lines(b, 'b', j)[-1])}</p>")
    u = t.update(b, "W")
    if walk.tiny:
        cells = [
            [f"{fmt(float(u.before[r, c]))} → {fmt(float(u.after[r, c]))}" for c in range(u.before.shape[1])]
            for r in range(u.before.shape[0])
        ]
        p.append(f"<p>All weights of layer {b + 1}:</p>{_weight_table(cells)}")
    else:
        p.append(f"<p>Largest change in layer {b + 1}: {_largest(u.delta)}.</p>")
    return "".join(p)


def after_html(t: Trace) -> str:
    """The same sample through the updated network: did the loss go down, and why (not)."""
    down = t.loss_after < t.loss
    colour = "#2e9d4a" if down else "#d04a2a"
    p = [
        f"<p>The same sample goes through the updated network again.</p>"
        f"<p>Loss before: <b>{fmt(t.loss)}</b> → after: <b style='color:{colour}'>{fmt(t.loss_after)}</b></p>",
        f"<p>{_esc(t.verdict)}</p>",
    ]
    before, after = t.prediction, t.prediction_after  # both None for a single output
    if before is not None and after is not None:
        p.append(f"<p>Prediction before: {_esc(_class_name(t, before))}, after: {_esc(_class_name(t, after))}.</p>")
        if t.probs is not None and t.probs_after is not None:  # softmax cross-entropy
            label = int(t.target)
            p.append(
                f"<p>Probability of the right answer: {fmt(float(t.probs[label]))} → "
                f"{fmt(float(t.probs_after[label]))}.</p>"
            )
    else:
        p.append(
            f"<p>Output before: {_esc(_vec(t.output))}, after: {_esc(_vec(t.output_after))}, "
            f"target {_esc(_vec(t.target))}.</p>"
        )
    p.append(
        "<p>That was one training step. <b>Repeat with the new weights</b> runs the next one on this "
        "sample (the optimizer keeps its state); training repeats this thousands of times over many "
        "samples.</p>"
    )
    return "".join(p)


# --------------------------------------------------------------------------- the chain-rule panel
def chain_html(walk: Walkthrough) -> str:
    """∂L/∂w of the picked weight as a product of recorded factors, once the backward pass has reached it."""
    t = walk.loaded_trace
    b, i, j = walk.picked_weight
    d = t.dense(b)
    if b == 0:
        src = "input " + (walk.input_names[i] if walk.input_names else str(i))
    else:
        src = f"hidden neuron {i} of layer {b}"
    head = (
        f"<p>w = W[{i}, {j}] of layer {b + 1}: from {_esc(src)} to neuron {j}; w = <b>{fmt(float(d.W[i, j]))}</b>.</p>"
    )
    if not walk.backward_reached(b):
        first = walk.first_backward_step(b)
        return head + (
            f"<p><i>Its gradient appears when the backward pass reaches layer {b + 1} (step {first + 1}).</i></p>"
        )
    rule = t.chain_rule(b, i, j)
    p = [head, f"<p><b>{_esc(rule.text())}</b></p><ul>"]
    for term in rule.terms:
        p.append(f"<li>{_esc(term.symbol)} = {fmt(term.value)}: {_esc(term.meaning)}</li>")
    p.append("</ul>")
    if rule.note:
        p.append(f"<p>{_esc(rule.note)}</p>")
    if rule.upstream and rule.terms[0].symbol == "∂L/∂a":
        # ∂L/∂a of a hidden neuron: the sum over the next layer, biggest contributions first.
        terms = " + ".join(f"({fmt(g)})·({fmt(w)})" for _, g, w in rule.upstream[:6])
        if len(rule.upstream) > 6:
            terms += f" + … ({len(rule.upstream) - 6} more)"
        p.append(f"<p><tt>∂L/∂a{j} = Σₖ ∂L/∂z′ₖ·W′{j}ₖ = {_esc(terms)} = {fmt(rule.terms[0].value)}</tt></p>")
    ok = math.isclose(rule.product, rule.engine, rel_tol=1e-9, abs_tol=1e-15)
    p.append(
        f"<p>The engine's backward set ∂L/∂w = {fmt(rule.engine)}{' — the same number ✓' if ok else ' (differs!)'}</p>"
    )
    if walk.updated(b):
        p.append("<p>Update: " + "<br>".join(_code(x) for x in t.update_lines(b, "W", (i, j))) + "</p>")
    return "".join(p)


# --------------------------------------------------------------------------- hover tips
def tooltip(walk: Walkthrough, kind: str, *index) -> str:
    """Plain text for hovering a neuron (``"node", column, k``) or a weight (``"edge", block, i, j``)
    of the drawn network: only what the walk-through has reached. Empty unless the network is tiny."""
    t = walk.trace
    if t is None or not walk.tiny:
        return ""
    if kind == "node":
        col, k = index
        if col == 0:
            name = walk.input_names[k] if walk.input_names else f"x{k}"
            return f"input {name} = {fmt(float(t.layers[0].x[k]))}"
        b = col - 1
        lines = [f"layer {b + 1}, neuron {k}"]
        for idx in t.blocks[b]:
            if walk.forward_reached(idx):
                rec = t.layers[idx]
                lines.append(f"{'z' if rec.kind == 'Dense' else 'a = ' + rec.kind + '(z)'} = {fmt(float(rec.y[k]))}")
        if walk.backward_reached(b):
            post = t.blocks[b][1:]
            if post:
                lines.append(f"∂L/∂a = {fmt(float(t.layers[post[-1]].grad_y[k]))}")
            lines.append(f"∂L/∂z = {fmt(float(t.dense(b).grad_y[k]))}")
            lines.append(f"∂L/∂b = {fmt(float(t.dense(b).db[k]))}")
        return "\n".join(lines)
    b, i, j = index
    u = t.update(b, "W")
    lines = [
        f"w from {'input' if b == 0 else f'hidden {b}'} {i} to neuron {j} of layer {b + 1}",
        f"w = {fmt(float(u.before[i, j]))}",
    ]
    if walk.gradients_reached(b):
        lines.append(f"∂L/∂w = {fmt(float(u.grad[i, j]))}")
    if walk.updated(b):
        lines.append(f"after the update: {fmt(float(u.after[i, j]))}")
    lines.append("(click for the chain rule)")
    return "\n".join(lines)


# --------------------------------------------------------------------------- helpers
def _esc(s: str) -> str:
    return html.escape(s, quote=False)


# Monospace fonts draw "←" at half width, too small to read: the arrow is set in the text font.
ARROW_HTML = "</tt><span style='font-family:sans-serif'>←</span><tt>"


def _code(s: str) -> str:
    """A formula in monospace, its arrows in the text font."""
    return "<tt>" + _esc(s).replace("←", ARROW_HTML) + "</tt>"


def _vec(values, limit: int = 12) -> str:
    """``[v0, v1, …, (n more)]`` with at most ``limit`` values."""
    values = np.asarray(values).reshape(-1)
    shown = ", ".join(fmt(float(v)) for v in values[:limit])
    more = f", … ({values.size - limit} more)" if values.size > limit else ""
    return f"[{shown}{more}]"


def _class_name(t: Trace, k: int) -> str:
    return t.class_names[k] if t.class_names else str(k)


def _picked_line(walk: Walkthrough, b: int, text: str) -> str:
    """The picked neuron's numbers, if the picked weight is in block ``b``."""
    if walk.picked_weight[0] != b:
        return ""
    return f"<p>Picked neuron {walk.picked_weight[2]}: <b>{_esc(text)}</b></p>"


def _largest(M: np.ndarray) -> str:
    """Where |M| is largest, as ``input i → neuron j (value)``."""
    i, j = np.unravel_index(int(np.argmax(np.abs(M))), M.shape)
    return f"input {i} → neuron {j} ({fmt(float(M[i, j]))})"


def _pairs(n1: str, v1: np.ndarray, n2: str, v2: np.ndarray, tiny: bool) -> str:
    """A table of two values per neuron (all of them if tiny, else the first 10)."""
    limit = v1.size if tiny else 10
    rows = "".join(
        f"<tr><td>{k}</td><td align='right'>{fmt(float(v1[k]))}</td><td align='right'>{fmt(float(v2[k]))}</td></tr>"
        for k in range(min(limit, v1.size))
    )
    more = f"<p>… and {v1.size - limit} more.</p>" if v1.size > limit else ""
    return (
        f"<table cellspacing='0' cellpadding='3'><tr><th>neuron</th><th>{n1}</th><th>{n2}</th></tr>{rows}</table>{more}"
    )


def _weight_table(cells: list[list[str]]) -> str:
    """A table with one row per input ("in i") and one column per neuron ("→j")."""
    head = "".join(f"<th>→{c}</th>" for c in range(len(cells[0])))
    rows = "".join(
        f"<tr><td>in {r}</td>" + "".join(f"<td align='right'>{cell}</td>" for cell in row) + "</tr>"
        for r, row in enumerate(cells)
    )
    return f"<table cellspacing='0' cellpadding='3'><tr><th></th>{head}</tr>{rows}</table>"
