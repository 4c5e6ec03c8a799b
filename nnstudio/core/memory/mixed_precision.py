"""Mixed-precision training: fp16 storage, fp32 arithmetic and master weights.

What is 16-bit here, and what is not:

- **fp16**: the activations kept for backward, the gradients flowing back
  between layers, the training batches, and a copy of the weights used by the
  forward pass (refreshed from the master weights every step).
- **fp32**: the master weights the optimizer updates, the optimizer state,
  the parameter gradients it reads, and every matrix product. NumPy has no
  fp16 BLAS: an fp16 matmul is hundreds of times slower on a CPU, so the fp16
  operands are widened to fp32 first. This is what GPU tensor cores do too
  (fp16 inputs, fp32 accumulation).

Small gradients vanish in fp16 (below ~6e-8 they round to zero), so the loss
is multiplied by a large *loss scale* before backward and the gradients are
divided by it afterwards. :class:`GradScaler` keeps PyTorch's rules: start at
2**16; if any gradient is inf/NaN, skip the step and halve the scale; after
2000 clean steps in a row, double it.

ReLU keeps its fp16 *output* (the next Dense layer's input, so stored once)
instead of a separate mask: the mask is ``output > 0``. PyTorch does the same.
"""

from __future__ import annotations

import math

import numpy as np

from nnstudio.core.nn.functional import stable_sigmoid
from nnstudio.core.nn.layers import Dense, Dropout, Identity, LeakyReLU, ReLU, Sigmoid, Tanh
from nnstudio.core.nn.losses import Loss
from nnstudio.core.nn.network import Sequential
from nnstudio.core.nn.optim import Optimizer

from .checkpoint import Checkpointed, _restore_rng, _rng_states
from .step import StepStrategy, StrategyTrainer

F16, F32 = np.float16, np.float32
FP16_MAX = float(np.finfo(np.float16).max)  # 65504
SUPPORTED = (Dense, ReLU, LeakyReLU, Sigmoid, Tanh, Identity, Dropout)


def _chunks(n: int, parts: int = 4, min_rows: int = 64):
    """Row slices for widening fp16 operands to fp32: a quarter of the batch at a time
    (so the fp32 temporaries are a quarter the size, and still grow in step with
    the batch, which keeps the step's memory a straight line in the batch size)."""
    if n < parts * min_rows:
        return [slice(0, n)]
    rows = -(-n // parts)
    return [slice(a, min(n, a + rows)) for a in range(0, n, rows)]


class GradScaler:
    """Dynamic loss scaling with ``torch.cuda.amp.GradScaler``'s defaults and rules.

    ``scale_history`` holds the scale after every update (for plotting);
    ``skipped_steps`` counts updates skipped because of inf/NaN gradients.
    """

    def __init__(
        self,
        init_scale: float = 2.0**16,
        growth_factor: float = 2.0,
        backoff_factor: float = 0.5,
        growth_interval: int = 2000,
    ):
        if not (init_scale > 0 and growth_factor > 1 and 0 < backoff_factor < 1 and growth_interval >= 1):
            raise ValueError(
                "GradScaler needs init_scale > 0, growth_factor > 1, 0 < backoff_factor < 1 and growth_interval >= 1"
            )
        self.scale = float(init_scale)
        self.growth_factor = float(growth_factor)
        self.backoff_factor = float(backoff_factor)
        self.growth_interval = int(growth_interval)
        self.growth_tracker = 0  # clean steps since the last change
        self.steps = 0
        self.skipped_steps = 0
        self.scale_history: list[float] = []
        self.skipped_at: list[int] = []  # 1-based update numbers that were skipped

    def update(self, found_inf: bool) -> None:
        self.steps += 1
        if found_inf:
            self.skipped_steps += 1
            self.skipped_at.append(self.steps)
            self.scale *= self.backoff_factor
            self.growth_tracker = 0
        else:
            self.growth_tracker += 1
            if self.growth_tracker == self.growth_interval:
                self.scale *= self.growth_factor
                self.growth_tracker = 0
        self.scale_history.append(self.scale)

    def state_dict(self) -> dict:
        return {
            "scale": self.scale,
            "growth_factor": self.growth_factor,
            "backoff_factor": self.backoff_factor,
            "growth_interval": self.growth_interval,
            "growth_tracker": self.growth_tracker,
            "steps": self.steps,
            "skipped_steps": self.skipped_steps,
        }

    def load_state_dict(self, state: dict) -> None:
        for key in ("scale", "growth_factor", "backoff_factor"):
            setattr(self, key, float(state[key]))
        for key in ("growth_interval", "growth_tracker", "steps", "skipped_steps"):
            setattr(self, key, int(state[key]))


class MixedPrecision(StepStrategy):
    """fp16 activations and weight copy, fp32 master weights and matmuls, dynamic loss scaling."""

    name = "mixed"

    def __init__(
        self, network: Sequential, loss: Loss | None = None, scaler: GradScaler | None = None, segments: int = 1
    ):
        super().__init__(network, loss)
        if not (isinstance(segments, (int, np.integer)) and segments >= 1):
            raise ValueError(f"checkpoint segments must be a whole number >= 1, got {segments!r}")
        # segments > 1: gradient checkpointing on top (only segment inputs kept, rest recomputed)
        self.segments = int(segments)
        self.bounds: list[tuple[int, int]] | None = None
        self._checkpoints: list = []
        for layer in network.layers:
            if not isinstance(layer, SUPPORTED):
                raise ValueError(
                    f"mixed precision does not support {layer.kind} layers "
                    f"(supported: {', '.join(c.kind for c in SUPPORTED)})"
                )
        self.scaler = scaler or GradScaler()
        # the fp16 weight copy lives for the whole run (allocated once, refreshed each step)
        # (keyed by layer position, so deep copies of the strategy stay consistent)
        self.weights16 = {
            i: (layer.W.data.astype(F16), layer.b.data.astype(F16))
            for i, layer in enumerate(network.layers)
            if isinstance(layer, Dense)
        }
        self._saved: list = [None] * len(network.layers)
        self._unscaled = True
        self.inject_overflow = False  # set True to poison the next backward with inf (demo/tests)

    def prepare_inputs(self, x):
        return x if x.dtype == F16 else x.astype(F16)

    def extra_resident(self):
        return {"fp16 weights": [a for pair in self.weights16.values() for a in pair]}

    def activation_arrays(self):
        kept = [c[0] for c in self._checkpoints if c is not None]
        return kept + [a for a in self._saved if a is not None]

    def release(self):
        self._saved = [None] * len(self.network.layers)
        self._checkpoints = []
        super().release()

    # -- the step ------------------------------------------------------------
    def forward_backward(self, xb, yb):
        # fp16 overflow (inf) is expected and handled by the scaler: no warnings
        with np.errstate(over="ignore", invalid="ignore"):
            return self._forward_backward(xb, yb)

    def _forward_backward(self, xb, yb):
        layers = self.network.layers
        if len(self._saved) != len(layers):
            self._saved = [None] * len(layers)
        rec = self.recorder is not None
        for i, layer in enumerate(layers):
            if isinstance(layer, Dense):
                w16, b16 = self.weights16[i]
                np.copyto(w16, layer.W.data, casting="same_kind")
                np.copyto(b16, layer.b.data, casting="same_kind")
        if self.bounds is None:
            if self.segments > 1:  # the same cut points as fp32 checkpointing
                self.bounds = Checkpointed(self.network, self.segments).plan(xb[:2].astype(F32))
            else:
                self.bounds = [(0, len(layers))]
        last = len(self.bounds) - 1
        x = self.prepare_inputs(xb)
        self._checkpoints = []
        for s, (a, b) in enumerate(self.bounds):
            self._checkpoints.append((x, _rng_states(layers[a:b]) if s < last else None))
            for i in range(a, b):
                x_in, x = x, self._forward(i, layers[i], x)
                if rec:
                    self._record(f"forward {i} {layers[i].kind}", x_in, x)
                del x_in
            if s < last:  # checkpointing: keep only the next segment's input
                self._saved[a:b] = [None] * (b - a)
                if rec:
                    self._record(f"checkpoint {s + 1}", x)
        logits = x.astype(F32)
        loss = self.loss.forward(logits, yb)
        if rec:
            self._record("loss", x, logits, getattr(self.loss, "probs", None))
        if not math.isfinite(loss):
            self._checkpoints = []
            return loss, logits
        g = self.loss.backward()
        g *= F32(self.scaler.scale)
        if self.inject_overflow:
            g.flat[0] = np.inf
            self.inject_overflow = False
        g = g.astype(F16)  # overflows to inf here if the scale is too large
        for s in range(last, -1, -1):
            a, b = self.bounds[s]
            if s < last:  # recompute the segment from its checkpoint
                y, states = self._checkpoints[s]
                _restore_rng(states)
                for i in range(a, b):
                    y_in, y = y, self._forward(i, layers[i], y)
                    if rec:
                        self._record(f"recompute {i} {layers[i].kind}", y_in, y, g)
                    del y_in
                del y
            for i in range(b - 1, a - 1, -1):
                g_in = self._backward(i, layers[i], g)
                self._saved[i] = None  # used: free it now, as autograd does
                if rec:
                    self._record(f"backward {i} {layers[i].kind}", logits, g, g_in)
                g = g_in
            self._checkpoints[s] = None
        self._checkpoints = []
        self._unscaled = False
        return loss, logits

    def _forward(self, i, layer, x):
        if isinstance(layer, Dense):
            w16, b16 = self.weights16[i]
            self._saved[i] = x
            w32 = w16.astype(F32)
            y = np.empty((len(x), w16.shape[1]), F16)
            for r in _chunks(len(x)):
                # widen a slice of rows at a time: fp32 temporaries stay small at any batch size
                xc = x[r].astype(F32)
                yc = xc @ w32
                yc += b16
                y[r] = yc
                if self.recorder is not None and r.start == 0:
                    self._record(f"forward {i} Dense (fp32 compute)", x, xc, w32, yc, y)
                del xc, yc  # before the next slice is widened
            return y
        if isinstance(layer, ReLU):
            y = np.maximum(x, F16(0))
            self._saved[i] = y
            return y
        if isinstance(layer, LeakyReLU):
            self._saved[i] = x
            return np.where(x > 0, x, x * F16(layer.alpha))
        if isinstance(layer, (Sigmoid, Tanh)):
            x32 = x.astype(F32)
            y = (stable_sigmoid(x32) if isinstance(layer, Sigmoid) else np.tanh(x32)).astype(F16)
            self._saved[i] = y
            return y
        if isinstance(layer, Dropout):
            if layer.p == 0.0:
                return x
            keep = 1.0 - layer.p
            mask = (layer._rng.random(x.shape, dtype=np.float32) < keep).astype(F16)
            mask *= F16(1.0 / keep)
            self._saved[i] = mask
            return x * mask
        return x  # Identity

    def _backward(self, i, layer, g):
        saved = self._saved[i]
        if isinstance(layer, Dense):
            w16, _ = self.weights16[i]
            need_input_grad = i > 0  # the input batch needs no gradient (the Trainer skips it too)
            w32 = w16.astype(F32) if need_input_grad else None
            gx = np.empty((len(g), w16.shape[0]), F16) if need_input_grad else None
            chunks = _chunks(len(g))
            for r in chunks:
                g32, x32 = g[r].astype(F32), saved[r].astype(F32)
                dw = None
                if r.start == 0:
                    np.matmul(x32.T, g32, out=layer.W.grad)
                    np.sum(g32, axis=0, out=layer.b.grad)
                else:
                    dw = x32.T @ g32
                    layer.W.grad += dw
                    layer.b.grad += g32.sum(axis=0)
                gxc = g32 @ w32.T if need_input_grad else None
                if need_input_grad:
                    gx[r] = gxc
                if self.recorder is not None and r is chunks[-1]:
                    self._record(f"backward {i} Dense (fp32 compute)", g, g32, x32, w32, gx, dw, gxc)
                del g32, x32, dw, gxc
            return gx
        if isinstance(layer, (ReLU, LeakyReLU)):
            positive = saved > 0
            out = g * positive if isinstance(layer, ReLU) else np.where(positive, g, g * F16(layer.alpha))
            if self.recorder is not None:
                self._record(f"backward {i} {layer.kind}", g, positive, out)
            return out
        if isinstance(layer, Sigmoid):
            y = saved.astype(F32)
            return (g.astype(F32) * y * (1 - y)).astype(F16)
        if isinstance(layer, Tanh):
            y = saved.astype(F32)
            return (g.astype(F32) * (1 - y * y)).astype(F16)
        if isinstance(layer, Dropout):
            return g if saved is None else g * saved
        return g

    # -- the update ------------------------------------------------------------
    def unscale_(self) -> bool:
        """Divide the gradients by the loss scale; return True if all are finite."""
        params = self.network.parameters()
        finite = True
        if not self._unscaled:
            # An fp16 layer's weight-gradient matmul would give fp16 results: anything
            # beyond fp16's range would be inf there. (Rounding to fp16 itself is not
            # emulated: it costs two conversions per weight and changes little.)
            for p in params:
                if float(np.max(p.grad)) > FP16_MAX or float(np.min(p.grad)) < -FP16_MAX:
                    finite = False
                    break
            inv = F32(1.0 / self.scaler.scale)
            for p in params:
                p.grad *= inv
            self._unscaled = True
        # a sum is inf/NaN iff some element is (fp16-born gradients cannot overflow fp32 when summed)
        return finite and all(math.isfinite(float(np.add.reduce(p.grad, axis=None))) for p in params)

    def update(self, optimizer: Optimizer) -> bool:
        finite = self.unscale_()
        if finite:
            optimizer.step()
        self.scaler.update(found_inf=not finite)
        return finite


class MixedPrecisionTrainer(StrategyTrainer):
    """:class:`~nnstudio.core.training.Trainer` with mixed precision; ``.scaler`` has the counters.

    The training set is converted to fp16 once (half the memory of the fp32
    one). Test-set evaluation uses the fp32 master weights.
    """

    def __init__(
        self, network, optimizer, train, test=None, scaler: GradScaler | None = None, segments: int = 1, **kwargs
    ):
        super().__init__(
            network,
            optimizer,
            train,
            test,
            strategy=MixedPrecision(network, scaler=scaler, segments=segments),
            **kwargs,
        )

    @property
    def scaler(self) -> GradScaler:
        assert isinstance(self.strategy, MixedPrecision)
        return self.strategy.scaler
