"""Record one training step of the real engine, operation by operation.

:class:`BackpropTracer` copies a network, runs ``forward`` layer by layer on
one sample, the loss, ``backward`` layer by layer and one optimizer
``step()``, copying every number the engine produced on the way: layer
inputs and outputs, ``dL/d(output)`` and ``dL/d(input)`` of every layer, the
gradients the Dense layers set, the optimizer state before and after, and the
loss of the same sample after the update. The backprop page only displays a
:class:`Trace`; it never recomputes anything.

The copy is float64 by default so a step is reproducible to many digits and
can be checked against finite differences; the user's model is never touched.

Also here: the tiny built-in problems the page offers (XOR for a 2-2-1
network, a two-cluster toy set for a 2-3-2 network).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from nnstudio.core.fmt import format_number as fmt
from nnstudio.core.nn.layers import Dense, Dropout, Identity, Layer, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from nnstudio.core.nn.losses import Loss, SoftmaxCrossEntropy, make_loss
from nnstudio.core.nn.network import Sequential
from nnstudio.core.nn.optim import SGD, Adam, Optimizer, make_optimizer

# Activations whose derivative is elementwise: da_j/dz_j alone links a_j and z_j.
ELEMENTWISE = (ReLU, LeakyReLU, Sigmoid, Tanh, Identity, Dropout)
SUPPORTED = (Dense, Softmax) + ELEMENTWISE


class TraceError(ValueError):
    """The network or sample cannot be traced (unsupported layer, wrong input size, ...)."""


# --------------------------------------------------------------------------- records
@dataclass
class LayerRecord:
    """What one engine layer saw and produced for the traced sample (1-D arrays)."""

    index: int  # position in ``net.layers``
    kind: str  # "Dense", "ReLU", ...
    block: int  # which Dense block (0-based) the layer belongs to
    x: np.ndarray  # input to the layer
    y: np.ndarray  # its output
    grad_y: np.ndarray  # dL/dy, what backward received
    grad_x: np.ndarray  # dL/dx, what backward returned
    local: np.ndarray | None = None  # dy/dx of an elementwise activation, from layer.backward(1); None for the others


@dataclass
class DenseRecord(LayerRecord):
    """A Dense layer's record, with its parameters and the gradients its backward set."""

    W: np.ndarray = field(kw_only=True)  # weights (in, out) before the update
    b: np.ndarray = field(kw_only=True)
    dW: np.ndarray = field(kw_only=True)  # the gradient backward set
    db: np.ndarray = field(kw_only=True)


@dataclass
class ParamUpdate:
    """One parameter array's optimizer step: before, gradient, state, after."""

    block: int
    name: str  # "W" or "b"
    before: np.ndarray
    grad: np.ndarray
    after: np.ndarray
    state_before: dict[str, np.ndarray] = field(default_factory=dict)  # "v" (Momentum), "m"/"v" (Adam)
    state_after: dict[str, np.ndarray] = field(default_factory=dict)
    m_hat: np.ndarray | None = None  # Adam's bias-corrected moments
    v_hat: np.ndarray | None = None

    @property
    def delta(self) -> np.ndarray:
        return self.after - self.before


@dataclass
class Step:
    """One stop of the walk-through: what happens, and which layer/block it concerns."""

    kind: str  # "input" | "forward" | "loss" | "backward" | "update" | "after"
    title: str
    layer: int | None = None  # index into Trace.layers (forward/backward)
    block: int | None = None  # Dense block (forward/backward/update)

    @property
    def phase(self) -> str:
        return {
            "input": "forward",
            "forward": "forward",
            "loss": "loss",
            "backward": "backward",
            "update": "update",
            "after": "after",
        }[self.kind]

    def layer_index(self) -> int:
        """The layer a forward or backward stop runs (an index into ``Trace.layers``)."""
        if self.layer is None:
            raise ValueError(f"the {self.kind} stop {self.title!r} runs no single layer")
        return self.layer

    def block_index(self) -> int:
        """The Dense block a forward, backward or update stop works on."""
        if self.block is None:
            raise ValueError(f"the {self.kind} stop {self.title!r} works on no layer")
        return self.block


@dataclass
class ChainTerm:
    symbol: str
    value: float
    meaning: str


@dataclass
class ChainRule:
    """dL/dw for one weight, as a product of factors recorded from the engine."""

    block: int
    i: int  # input index (row of W)
    j: int  # output neuron (column of W)
    terms: list[ChainTerm]
    product: float  # the factors multiplied
    engine: float  # dW[i, j] as the engine's backward set it
    note: str = ""
    upstream: list[tuple[int, float, float]] = field(default_factory=list)  # (k, dL/dz'_k, W'_jk), largest first

    def text(self, digits: int = 4) -> str:
        """e.g. ``∂L/∂w = ∂L/∂a · ∂a/∂z · ∂z/∂w = (0.1234) · (0.2500) · (1.0000) = 0.03085``."""
        symbols = " · ".join(t.symbol for t in self.terms)
        numbers = " · ".join(f"({fmt(t.value, digits)})" for t in self.terms)
        return f"∂L/∂w = {symbols} = {numbers} = {fmt(self.product, digits)}"


@dataclass
class Trace:
    """Everything one forward/backward/update of the engine produced for one sample."""

    sizes: list[int]
    layers: list[LayerRecord]
    blocks: list[list[int]]  # per Dense block: the indices of its layers (Dense first)
    loss_name: str  # "cross_entropy" | "mse"
    target: np.ndarray  # label (shape ()) for cross-entropy, vector for MSE
    output: np.ndarray  # network output (logits for cross-entropy)
    probs: np.ndarray | None  # softmax of the logits (cross-entropy only)
    loss: float
    grad_output: np.ndarray  # dL/d(output) from loss.backward()
    updates: list[ParamUpdate]
    optimizer: dict  # hyperparameters, e.g. {"optimizer": "Adam", "lr": 0.001, ...}
    t: int  # optimizer step number of this update (1 = first)
    bias_correction: tuple[float, float] | None  # Adam: (1 - b1^t, 1 - b2^t)
    output_after: np.ndarray
    probs_after: np.ndarray | None
    loss_after: float
    predicted_change: float  # first-order estimate sum(g * Δw) of the loss change
    verdict: str  # did the loss go down, and if not, why
    steps: list[Step]
    class_names: list[str] | None = None
    dropout_off: bool = True
    layers_after: list[np.ndarray] | None = None  # every layer's output for the sample after the update

    # -- convenience ----------------------------------------------------------------
    @property
    def n_blocks(self) -> int:
        return len(self.blocks)

    def dense(self, block: int) -> DenseRecord:
        """The Dense layer that starts ``block``."""
        rec = self.layers[self.blocks[block][0]]
        if not isinstance(rec, DenseRecord):
            raise TypeError(f"layer {rec.index} ({rec.kind}) starts block {block} but is not a Dense layer")
        return rec

    def block_output(self, block: int) -> LayerRecord:
        """The last layer of a block: its ``y`` is the block's activation ``a``."""
        return self.layers[self.blocks[block][-1]]

    def update(self, block: int, name: str = "W") -> ParamUpdate:
        for u in self.updates:
            if u.block == block and u.name == name:
                return u
        raise KeyError((block, name))

    def gradients(self) -> list[np.ndarray]:
        """dW, db per Dense layer, in ``net.parameters()`` order."""
        out = []
        for b in range(self.n_blocks):
            d = self.dense(b)
            out += [d.dW, d.db]
        return out

    @property
    def prediction(self) -> int | None:
        return int(np.argmax(self.output)) if self.output.size > 1 else None

    @property
    def prediction_after(self) -> int | None:
        return int(np.argmax(self.output_after)) if self.output_after.size > 1 else None

    def contributions(self, block: int, j: int) -> list[tuple[int, float, float, float]]:
        """(i, W_ij, a_i, W_ij·a_i) of neuron j's weighted sum, largest |W_ij·a_i| first."""
        d = self.dense(block)
        prod = d.W[:, j] * d.x
        order = np.argsort(-np.abs(prod), kind="stable")
        return [(int(i), float(d.W[i, j]), float(d.x[i]), float(prod[i])) for i in order]

    def forward_line(self, block: int, j: int, max_terms: int = 4) -> str:
        """``z_j = Σ W_ij·a_i + b_j = (w·a) + ... + b = value`` with the recorded numbers."""
        d = self.dense(block)
        terms = self.contributions(block, j)
        shown = [f"({fmt(w)})·({fmt(a)})" for _, w, a, _ in terms[:max_terms]]
        rest = len(terms) - max_terms
        if rest > 0:
            others = sum(p for _, _, _, p in terms[max_terms:])
            shown.append(f"[{rest} more terms: {fmt(others)}]")
        return (
            f"z{_sub(j)} = Σᵢ Wᵢ{_sub(j)}·aᵢ + b{_sub(j)} = "
            + " + ".join(shown)
            + f" + ({fmt(float(d.b[j]))}) = {fmt(float(d.y[j]))}"
        )

    def interesting_weight(self, block: int) -> tuple[int, int]:
        """(i, j) of the weight with the largest gradient in ``block`` (a good first pick)."""
        dW = np.abs(self.dense(block).dW)
        i, j = np.unravel_index(int(np.argmax(dW)), dW.shape)
        return int(i), int(j)

    def update_lines(self, block: int, name: str, index) -> list[str]:
        """The optimizer's step for one weight (``name`` "W" or "b") written with its numbers."""
        u = self.update(block, name)
        idx = tuple(np.atleast_1d(index))
        w, g, after = float(u.before[idx]), float(u.grad[idx]), float(u.after[idx])
        hp = self.optimizer
        lr = hp["lr"]
        kind = hp["optimizer"]
        lines = []
        p = "b" if name == "b" else "w"  # the symbol of the parameter being updated
        if kind == "SGD":
            lines.append(f"{p} ← {p} − lr·g = {fmt(w)} − {fmt(lr)}·({fmt(g)}) = {fmt(after)}")
        elif kind == "Momentum":
            mu = hp["momentum"]
            vb, va = float(u.state_before["v"][idx]), float(u.state_after["v"][idx])
            lines.append(f"v ← μ·v + g = {fmt(mu)}·({fmt(vb)}) + ({fmt(g)}) = {fmt(va)}")
            if hp.get("nesterov"):
                lines.append(
                    f"{p} ← {p} − lr·(g + μ·v) = {fmt(w)} − {fmt(lr)}·({fmt(g)} + {fmt(mu)}·{fmt(va)}) = {fmt(after)}"
                )
            else:
                lines.append(f"{p} ← {p} − lr·v = {fmt(w)} − {fmt(lr)}·({fmt(va)}) = {fmt(after)}")
        elif kind == "Adam":
            if self.bias_correction is None or u.m_hat is None or u.v_hat is None:
                raise ValueError(f"the Adam update of {name} in layer {block + 1} lacks its bias correction")
            b1, b2 = hp["betas"]
            bc1, bc2 = self.bias_correction
            mb, ma = float(u.state_before["m"][idx]), float(u.state_after["m"][idx])
            vb, va = float(u.state_before["v"][idx]), float(u.state_after["v"][idx])
            mh, vh = float(u.m_hat[idx]), float(u.v_hat[idx])
            t = self.t
            lines.append(f"m ← β₁·m + (1−β₁)·g = {fmt(b1)}·({fmt(mb)}) + {fmt(1 - b1)}·({fmt(g)}) = {fmt(ma)}")
            lines.append(f"v ← β₂·v + (1−β₂)·g² = {fmt(b2)}·({fmt(vb)}) + {fmt(1 - b2)}·({fmt(g)})² = {fmt(va)}")
            lines.append(f"m̂ = m / (1−β₁^{t}) = {fmt(ma)} / {fmt(bc1)} = {fmt(mh)}")
            lines.append(f"v̂ = v / (1−β₂^{t}) = {fmt(va)} / {fmt(bc2)} = {fmt(vh)}")
            lines.append(
                f"{p} ← {p} − lr·m̂/(√v̂ + ε) = {fmt(w)} − {fmt(lr)}·{fmt(mh)}/(√{fmt(vh)} + {hp['eps']:g})"
                f" = {fmt(after)}"
            )
        else:
            lines.append(f"{p}: {fmt(w)} → {fmt(after)}")
        return lines

    # -- the chain rule for one weight ----------------------------------------------
    def chain_rule(self, block: int, i: int, j: int) -> ChainRule:
        """∂L/∂W[i, j] of Dense block ``block`` as a product of recorded factors.

        ``∂L/∂w = ∂L/∂a_j · ∂a_j/∂z_j · ∂z_j/∂w`` where ``z_j = Σ_i W_ij a_i + b_j``
        (so ``∂z_j/∂w = a_i``, the input) and ``a_j`` is the block's activation.
        When the block has no elementwise activation (the logits under softmax
        cross-entropy, or a Softmax layer) the chain starts at ``∂L/∂z_j``.
        """
        if not 0 <= block < self.n_blocks:
            raise IndexError(f"no Dense layer {block}")
        d = self.dense(block)
        n_in, n_out = d.W.shape
        if not (0 <= i < n_in and 0 <= j < n_out):
            raise IndexError(f"weight ({i}, {j}) outside a {n_in}x{n_out} matrix")
        post = [self.layers[k] for k in self.blocks[block][1:]]
        x_i = float(d.x[i])
        dz = float(d.grad_y[j])
        engine = float(d.dW[i, j])
        upstream = []
        if block + 1 < self.n_blocks:
            nxt = self.dense(block + 1)
            upstream = [(k, float(nxt.grad_y[k]), float(nxt.W[j, k])) for k in range(nxt.W.shape[1])]
            upstream.sort(key=lambda t: -abs(t[1] * t[2]))  # biggest contributions first
        last = block == self.n_blocks - 1
        if post and all(isinstance_kind(p, ELEMENTWISE_KINDS) for p in post):
            da = float(post[-1].grad_y[j])
            local = 1.0
            for p in post:
                if p.local is None:  # record() keeps the slope of every elementwise activation
                    raise ValueError(f"the {p.kind} layer {p.index} has no recorded slope")
                local *= float(p.local[j])
            # Dropout is off while tracing (slope 1): name only the real activation.
            names = "·".join(p.kind for p in post if p.kind != "Dropout") or "Dropout"
            terms = [
                ChainTerm("∂L/∂a", da, f"how the loss changes with neuron {j}'s output a = {names}(z)"),
                ChainTerm("∂a/∂z", local, f"slope of {names} at z = {fmt(float(d.y[j]))}"),
                ChainTerm("∂z/∂w", x_i, f"the input a_{i} this weight multiplies"),
            ]
            note = ""
            if last and self.loss_name == "mse":
                note = "∂L/∂a comes from the loss: 2·(a − target)/n."
            elif upstream:
                note = "∂L/∂a sums what every neuron of the next layer sends back: Σ_k ∂L/∂z'_k · W'_jk."
        else:
            terms = [
                ChainTerm("∂L/∂z", dz, f"how the loss changes with neuron {j}'s weighted sum z"),
                ChainTerm("∂z/∂w", x_i, f"the input a_{i} this weight multiplies"),
            ]
            if last and self.probs is not None and not post:  # softmax cross-entropy on the logits
                target = int(self.target)
                note = (
                    f"Softmax and cross-entropy together give ∂L/∂z_j = p_j − y_j = "
                    f"{float(self.probs[j]):.6g} − {1 if j == target else 0}."
                )
            elif post:
                note = "Softmax mixes all outputs, so ∂L/∂z_j = Σ_k ∂L/∂a_k · ∂a_k/∂z_j (recorded from the engine)."
            else:
                note = ""
        product = 1.0
        for t in terms:
            product *= t.value
        return ChainRule(block, i, j, terms, product, engine, note, upstream)


ELEMENTWISE_KINDS = tuple(c.kind for c in ELEMENTWISE)


def isinstance_kind(rec: LayerRecord, kinds) -> bool:
    return rec.kind in kinds


_SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def _sub(n: int) -> str:
    return str(n).translate(_SUBSCRIPTS)


# --------------------------------------------------------------------------- the tracer
def check_traceable(net: Sequential) -> None:
    """Raise :class:`TraceError` if the page cannot walk through ``net``."""
    if net is None or not net.layers:
        raise TraceError("there is no network to trace")
    if not isinstance(net.layers[0], Dense):
        raise TraceError("the network must start with a Dense layer")
    for layer in net.layers:
        if not isinstance(layer, SUPPORTED):
            raise TraceError(f"cannot trace a {type(layer).__name__} layer")


def default_loss(net: Sequential) -> str:
    """Cross-entropy for a classifier ending in logits, otherwise MSE."""
    last = net.layers[-1]
    if net.output_size > 1 and not isinstance(last, (Softmax, Sigmoid)):
        return "cross_entropy"
    return "mse"


class BackpropTracer:
    """Owns a copy of a network and an optimizer; :meth:`record` runs and traces one step.

    Calling :meth:`record` again continues from the updated weights and the
    optimizer's state (step t = 2, 3, ...): the "repeat" of training.
    """

    def __init__(
        self,
        net: Sequential,
        optimizer: str = "sgd",
        lr: float = 0.1,
        loss: str | None = None,
        dtype=np.float64,
        class_names=None,
        **optimizer_kwargs,
    ):
        check_traceable(net)
        self.net = net.copy(dtype)
        self.dtype = dtype
        self.loss_name = loss or default_loss(self.net)
        self.loss_fn: Loss = make_loss(self.loss_name)
        self.optimizer: Optimizer = make_optimizer(optimizer, self.net.parameters(), lr=lr, **optimizer_kwargs)
        self.class_names = list(class_names) if class_names is not None else None
        self.blocks = _blocks(self.net)

    def _target_array(self, target) -> np.ndarray:
        n_out = self.net.output_size
        t = np.asarray(target)
        if self.loss_name == "cross_entropy":
            if t.size != 1:
                raise TraceError("cross-entropy needs a class label as the target")
            label = int(t.reshape(-1)[0])
            if not 0 <= label < n_out:
                raise TraceError(f"label {label} is not one of the {n_out} outputs")
            return np.array([label], dtype=np.int64)
        t = t.astype(self.dtype).reshape(-1)
        if t.size == 1 and n_out > 1:  # a class label for an MSE network: one-hot
            label = int(t[0])
            t = np.zeros(n_out, dtype=self.dtype)
            t[label] = 1.0
        if t.size != n_out:
            raise TraceError(f"target has {t.size} values, the network has {n_out} outputs")
        return t[None, :]

    def record(self, x, target) -> Trace:
        """Run forward, loss, backward and one optimizer step on sample ``x``; return the trace."""
        net, loss_fn, opt = self.net, self.loss_fn, self.optimizer
        x = np.asarray(x, dtype=self.dtype).reshape(1, -1)
        if x.shape[1] != net.input_size:
            raise TraceError(f"the sample has {x.shape[1]} values, the network expects {net.input_size}")
        if not np.all(np.isfinite(x)):
            raise TraceError("the sample contains NaN or infinity")
        tgt = self._target_array(target)

        # Forward, one engine layer at a time (what Sequential.forward does), dropout off.
        seen: list[tuple[np.ndarray, np.ndarray]] = []  # per layer: (input, output)
        h = x
        for layer in net.layers:
            out = layer.forward(h, training=False)
            seen.append((h[0].copy(), out[0].copy()))
            h = out
        output = h[0].copy()
        loss = float(loss_fn.forward(h, tgt))
        softmax = loss_fn.probs if isinstance(loss_fn, SoftmaxCrossEntropy) else None
        probs = softmax[0].copy() if softmax is not None else None

        # Backward, one engine layer at a time (what Sequential.backward does).
        g = loss_fn.backward()
        grad_output = g[0].copy()
        passed: list[tuple[np.ndarray, np.ndarray]] = []  # per layer, last first: (dL/dy received, dL/dx returned)
        for layer in reversed(net.layers):
            grad_y = g[0].copy()
            g = layer.backward(g)
            passed.append((grad_y, g[0].copy()))
        passed.reverse()

        # Each layer's record, complete; the optimizer has not run yet, so W and b are still
        # the weights the forward pass used and dW, db the gradients backward set.
        records: list[LayerRecord] = []
        block = -1
        for idx, (layer, (x_in, y_out), (grad_y, grad_x)) in enumerate(zip(net.layers, seen, passed)):
            if isinstance(layer, Dense):
                block += 1
                W, dW = layer.W.data.copy(), layer.W.grad.copy()
                b, db = layer.b.data.copy(), layer.b.grad.copy()
                records.append(DenseRecord(idx, layer.kind, block, x_in, y_out, grad_y, grad_x, W=W, b=b, dW=dW, db=db))
            elif isinstance(layer, ELEMENTWISE):
                # The local slope da/dz, from the engine's own backward.
                local = layer.backward(np.ones((1, y_out.size), dtype=self.dtype))[0].copy()
                records.append(LayerRecord(idx, layer.kind, block, x_in, y_out, grad_y, grad_x, local))
            else:
                records.append(LayerRecord(idx, layer.kind, block, x_in, y_out, grad_y, grad_x))

        # The optimizer step.
        params = net.parameters()
        before = [p.data.copy() for p in params]
        grads = [p.grad.copy() for p in params]
        state_before = _state(opt)
        opt.step()
        state_after = _state(opt)
        t = opt.steps
        bias = None
        updates = []
        for k, p in enumerate(params):
            u = ParamUpdate(
                k // 2,
                "W" if k % 2 == 0 else "b",
                before[k],
                grads[k],
                p.data.copy(),
                {n: s[k] for n, s in state_before.items()},
                {n: s[k] for n, s in state_after.items()},
            )
            if isinstance(opt, Adam):
                b1, b2 = opt.betas
                bias = (1.0 - b1**t, 1.0 - b2**t)
                u.m_hat = u.state_after["m"] / bias[0]
                u.v_hat = u.state_after["v"] / bias[1]
            updates.append(u)

        # The same sample after the update, layer by layer (the diagram shows every neuron's new value).
        h, layers_after = x, []
        for layer in net.layers:
            h = layer.forward(h, False)
            layers_after.append(h[0].copy())
        out_after = h
        loss_after = float(make_loss(self.loss_name).forward(out_after, tgt))
        net.clear_cache()
        output_after = out_after[0].copy()
        probs_after = _softmax(output_after) if self.loss_name == "cross_entropy" else None
        predicted = float(sum(np.sum(u.grad * u.delta) for u in updates))

        target_out = np.asarray(tgt[0] if self.loss_name == "cross_entropy" else tgt[0]).copy()
        trace = Trace(
            sizes=net.sizes(),
            layers=records,
            blocks=self.blocks,
            loss_name=self.loss_name,
            target=target_out,
            output=output,
            probs=probs,
            loss=loss,
            grad_output=grad_output,
            updates=updates,
            optimizer=opt.hyperparameters(),
            t=t,
            bias_correction=bias,
            output_after=output_after,
            probs_after=probs_after,
            layers_after=layers_after,
            loss_after=loss_after,
            predicted_change=predicted,
            verdict="",
            steps=[],
            class_names=self.class_names,
        )
        trace.verdict = verdict(trace)
        trace.steps = make_steps(trace, net.layers)
        return trace


def trace_step(net: Sequential, x, target, optimizer: str = "sgd", lr: float = 0.1, **kwargs) -> Trace:
    """One traced training step on a copy of ``net`` (the network itself is unchanged)."""
    return BackpropTracer(net, optimizer, lr, **kwargs).record(x, target)


def _blocks(net: Sequential) -> list[list[int]]:
    blocks: list[list[int]] = []
    for idx, layer in enumerate(net.layers):
        if isinstance(layer, Dense):
            blocks.append([idx])
        else:
            blocks[-1].append(idx)
    return blocks


def _state(opt: Optimizer) -> dict[str, list[np.ndarray]]:
    if isinstance(opt, SGD) and opt.velocity is not None:
        return {"v": [v.copy() for v in opt.velocity]}
    if isinstance(opt, Adam):
        return {"m": [m.copy() for m in opt.m], "v": [v.copy() for v in opt.v]}
    return {}


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max())
    return e / e.sum()


LAYER_WORDS = {
    "ReLU": "ReLU",
    "LeakyReLU": "leaky ReLU",
    "Sigmoid": "sigmoid",
    "Tanh": "tanh",
    "Identity": "identity",
    "Dropout": "dropout (off while tracing)",
    "Softmax": "softmax",
}


def make_steps(trace: Trace, layers: list[Layer]) -> list[Step]:
    """The walk-through: input, each layer forward, loss, each layer backward, updates, loss after."""
    steps = [Step("input", "Input: the sample enters the network")]
    n = trace.n_blocks
    for rec in trace.layers:
        b = rec.block + 1
        if rec.kind == "Dense":
            title = f"Forward, layer {b}: z = W·a + b ({rec.x.size} → {rec.y.size})"
        elif rec.kind == "Dropout":
            title = f"Forward, layer {b}: dropout (off while tracing, a passes unchanged)"
        else:
            title = f"Forward, layer {b}: a = {LAYER_WORDS.get(rec.kind, rec.kind)}(z)"
        steps.append(Step("forward", title, rec.index, rec.block))
    loss_word = "softmax + cross-entropy" if trace.loss_name == "cross_entropy" else "mean squared error"
    steps.append(Step("loss", f"Loss: how wrong was the prediction? ({loss_word})"))
    for rec in reversed(trace.layers):
        b = rec.block + 1
        if rec.kind == "Dense":
            title = f"Backward, layer {b}: ∂L/∂W, ∂L/∂b" + (" and ∂L/∂a sent down" if rec.block > 0 else "")
        elif rec.kind == "Dropout":
            title = f"Backward, layer {b}: through dropout (off, ∂L/∂a passes unchanged)"
        else:
            title = f"Backward, layer {b}: ∂L/∂z = ∂L/∂a · {LAYER_WORDS.get(rec.kind, rec.kind)}′(z)"
        steps.append(Step("backward", title, rec.index, rec.block))
    opt = trace.optimizer["optimizer"]
    for b in range(n):
        steps.append(Step("update", f"Update, layer {b + 1}: {opt} step {trace.t}", None, b))
    steps.append(Step("after", "Same sample after the update: did the loss go down?"))
    return steps


def verdict(trace: Trace) -> str:
    """One or two sentences: the loss went down (by how much), or why it did not."""
    before, after = trace.loss, trace.loss_after
    change = after - before
    gnorm = math.sqrt(sum(float(np.sum(u.grad**2)) for u in trace.updates))
    if not math.isfinite(after):
        return "The loss became NaN or infinite: the step was far too large. Use a smaller learning rate."
    if gnorm < 1e-12:
        return (
            "The loss did not change: every gradient is zero, so there was nothing to adjust "
            "(the sample is already fit perfectly, or all neurons on its path are saturated or dead)."
        )
    if change < 0:
        pct = 100.0 * -change / before if before > 0 else 0.0
        s = f"The loss went down from {fmt(before)} to {fmt(after)} ({pct:.1f}% lower)."
        if trace.predicted_change < 0:
            s += (
                f" The gradient predicted a change of about {fmt(trace.predicted_change)}; "
                f"the real change was {fmt(change)}."
            )
        return s
    if change == 0:
        return (
            "The loss did not change: the update was too small to show up in the numbers. "
            "A larger learning rate would move the weights further."
        )
    reason = f"The loss went up, from {fmt(before)} to {fmt(after)}. "
    if trace.predicted_change < 0:
        reason += (
            "The gradient promised a decrease of about "
            f"{fmt(-trace.predicted_change)}, so the step overshot: the learning rate is too "
            "large for this sample and the loss curves back up. Try a smaller learning rate."
        )
    else:
        reason += (
            "The update did not point downhill for this sample: the optimizer's memory "
            "(momentum from earlier steps) pushed the weights in an older direction."
        )
    return reason


# --------------------------------------------------------------------------- samples and tiny nets
def find_mistakes(net: Sequential, x: np.ndarray, y: np.ndarray, limit: int | None = None) -> np.ndarray:
    """Indices of samples the network classifies wrongly (argmax of its output != label)."""
    pred = np.argmax(net.predict(x), axis=1)
    wrong = np.flatnonzero(pred != np.asarray(y).reshape(-1))
    return wrong if limit is None else wrong[:limit]


def xor_data() -> tuple[np.ndarray, np.ndarray]:
    """The four XOR points and their 0/1 targets."""
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
    y = np.array([0, 1, 1, 0], dtype=np.float64)
    return x, y


def toy_clusters(n_per_class: int = 6, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """A small 2-D set of two clusters (labels 0 and 1), rounded to two decimals."""
    rng = np.random.default_rng(seed)
    centers = np.array([[-1.0, 0.5], [1.0, -0.5]])
    x = np.concatenate([c + 0.6 * rng.standard_normal((n_per_class, 2)) for c in centers])
    y = np.repeat(np.arange(2), n_per_class)
    return np.round(x, 2), y.astype(np.int64)


@dataclass
class TinyProblem:
    """A tiny network, its data and the loss it is trained with."""

    key: str
    title: str
    net: Sequential
    x: np.ndarray
    y: np.ndarray
    loss: str
    class_names: list[str] | None
    lr: float
    input_names: list[str]


def tiny_problem(key: str) -> TinyProblem:
    """``"xor"``: 2-2-1 sigmoid network on XOR (MSE); ``"toy"``: 2-3-2 ReLU network on two clusters."""
    if key == "xor":
        hidden = Dense(2, 2, init="xavier", seed=7, dtype=np.float64)
        net = Sequential([hidden, Sigmoid(), Dense(2, 1, init="xavier", seed=8, dtype=np.float64), Sigmoid()])
        hidden.b.data[:] = [0.1, -0.1]
        x, y = xor_data()
        return TinyProblem("xor", "XOR, 2-2-1 (sigmoid, squared error)", net, x, y, "mse", None, 1.0, ["x₀", "x₁"])
    if key == "toy":
        hidden, last = Dense(2, 3, dtype=np.float64), Dense(3, 2, dtype=np.float64)
        net = Sequential([hidden, ReLU(), last])
        # Hand-picked so the three hidden neurons face different directions (none dead for all points).
        hidden.W.data[:] = [[0.8, -0.6, 0.3], [0.5, 0.7, -0.9]]
        hidden.b.data[:] = [0.1, 0.0, 0.2]
        # Neuron 1 (active on class A) leans to A, neuron 0 to B, neuron 2 starts out wrong: the
        # first steps have something to fix, and no neuron dies on the first updates.
        last.W.data[:] = [[-0.2, 0.4], [0.3, -0.2], [0.5, -0.3]]
        last.b.data[:] = [0.0, 0.0]
        x, y = toy_clusters()
        return TinyProblem(
            "toy",
            "Two clusters, 2-3-2 (ReLU, softmax cross-entropy)",
            net,
            x,
            y,
            "cross_entropy",
            ["class A", "class B"],
            0.3,
            ["x₀", "x₁"],
        )
    raise ValueError(f"unknown tiny problem {key!r}; choose 'xor' or 'toy'")


TINY_PROBLEMS = ("xor", "toy")
