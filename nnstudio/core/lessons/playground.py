"""The playground's state: a toy dataset, chosen input features, a small network and its training.

Everything a view needs is here and none of it knows about Qt:

- :class:`PlaygroundConfig` holds every choice (dataset, noise, features,
  layers, activations, learning rate, batch size, optimizer, regularisation).
- :class:`Playground` builds the data and network from a config, trains in
  small chunks (``train_steps`` / ``train_for``) so a GUI timer can interleave
  training and drawing, and computes the maps the view draws
  (:meth:`Playground.maps`: the output and every hidden neuron over a grid).
- ``save`` / ``load`` write the whole state (config, weights, history) to a
  small JSON file: the points are regenerated from their seed.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np

from nnstudio.core.data import toy
from nnstudio.core.limits import check as check_limit
from nnstudio.core.nn.layers import Dense, activation_layer
from nnstudio.core.nn.losses import MSE, SoftmaxCrossEntropy
from nnstudio.core.nn.network import Sequential
from nnstudio.core.nn.optim import make_optimizer

FORMAT_NAME = "nnstudio-playground"
FORMAT_VERSION = 1
HIDDEN_ACTIVATIONS = ("tanh", "relu", "leaky_relu", "sigmoid", "elu", "softplus", "gelu", "swish", "linear")
OPTIMIZERS = ("sgd", "momentum", "adam")
REGULARIZATIONS = ("none", "l1", "l2")
MAX_LAYERS = 6
MAX_NEURONS = 16
MAX_HISTORY = 1000  # loss-curve points kept (older ones are thinned)


class PlaygroundFileError(ValueError):
    """A playground file that cannot be opened (not JSON, not ours, or inconsistent)."""


@dataclass
class PlaygroundConfig:
    dataset: str = "spiral"
    n_samples: int = 500
    noise: float = 0.0
    test_fraction: float = 0.5
    data_seed: int = 0
    features: list[str] = field(default_factory=lambda: ["x1", "x2", "sin_x1", "sin_x2"])
    hidden: list[int] = field(default_factory=lambda: [8, 8, 8])
    activations: list[str] = field(default_factory=lambda: ["tanh", "tanh", "tanh"])
    optimizer: str = "adam"
    lr: float = 0.01
    batch_size: int = 16
    regularization: str = "none"
    reg_rate: float = 0.0
    seed: int = 0

    def validate(self) -> None:
        """Raise ValueError with a clear message for any impossible choice."""
        toy.check_name(self.dataset)
        if not 4 <= int(self.n_samples) <= 5000:
            raise ValueError(f"number of points must be between 4 and 5000, got {self.n_samples}")
        if not 0 <= float(self.noise) <= 1:
            raise ValueError(f"noise must be between 0 and 1, got {self.noise}")
        if not 0 <= float(self.test_fraction) <= 0.9:
            raise ValueError(f"test fraction must be between 0 and 0.9, got {self.test_fraction}")
        if not self.features:
            raise ValueError("choose at least one input feature")
        for f in self.features:
            if f not in toy.FEATURES:
                raise ValueError(f"unknown feature {f!r}")
        if len(self.hidden) > MAX_LAYERS:
            raise ValueError(f"at most {MAX_LAYERS} hidden layers")
        if len(self.activations) != len(self.hidden):
            raise ValueError("need one activation per hidden layer")
        for size in self.hidden:
            if not (isinstance(size, (int, np.integer)) and 1 <= size <= MAX_NEURONS):
                raise ValueError(f"a hidden layer needs between 1 and {MAX_NEURONS} neurons, got {size}")
        for a in self.activations:
            if a not in HIDDEN_ACTIVATIONS:
                raise ValueError(f"unknown activation {a!r}; choose one of {', '.join(HIDDEN_ACTIVATIONS)}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {self.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}")
        check_limit("lr", self.lr)
        if not (isinstance(self.batch_size, (int, np.integer)) and 1 <= self.batch_size <= 5000):
            raise ValueError(f"batch size must be a whole number from 1 to 5000, got {self.batch_size}")
        if self.regularization not in REGULARIZATIONS:
            raise ValueError(f"regularization must be one of {', '.join(REGULARIZATIONS)}")
        if not (math.isfinite(self.reg_rate) and 0 <= self.reg_rate <= 1):
            raise ValueError(f"regularization rate must be between 0 and 1, got {self.reg_rate}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> PlaygroundConfig:
        names = {f.name for f in fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown settings: {', '.join(sorted(unknown))}")
        cfg = cls(**d)
        cfg.features, cfg.hidden, cfg.activations = list(cfg.features), list(cfg.hidden), list(cfg.activations)
        cfg.validate()
        return cfg


@dataclass
class Metrics:
    step: int
    epoch: float
    train_loss: float | None
    test_loss: float | None
    train_accuracy: float | None
    test_accuracy: float | None


class Playground:
    """Data + features + network + optimizer, trained a few steps at a time."""

    def __init__(self, config: PlaygroundConfig | None = None):
        self.config = config or PlaygroundConfig()
        self.config.validate()
        self.message = ""
        self.data: toy.ToyData = self._make_data()
        self._refresh_inputs()
        self.reset()

    # -- building ---------------------------------------------------------------
    @property
    def task(self) -> str:
        return toy.task_of(self.config.dataset)

    @property
    def classification(self) -> bool:
        return self.task == "classification"

    def _make_data(self) -> toy.ToyData:
        c = self.config
        return toy.make_toy(c.dataset, c.n_samples, c.noise, c.test_fraction, c.data_seed)

    def rebuild_data(self) -> None:
        """Generate the points for the current config, then start a fresh network."""
        self.data = self._make_data()
        self._refresh_inputs()
        self.reset()

    def _refresh_inputs(self) -> None:
        d = self.data
        self.x_train = toy.expand_features(d.x_train, self.config.features)
        self.x_test = toy.expand_features(d.x_test, self.config.features)
        if self.classification:
            self.y_train, self.y_test = d.y_train, d.y_test
        else:
            self.y_train = d.y_train.reshape(-1, 1).astype(np.float32)
            self.y_test = d.y_test.reshape(-1, 1).astype(np.float32)

    def set_features(self, features: list[str]) -> None:
        """Change the input features (the network restarts: its input layer changes size)."""
        old = self.config.features
        self.config.features = list(features)
        try:
            self.config.validate()
        except ValueError:
            self.config.features = old
            raise
        self._refresh_inputs()
        self.reset()

    def set_layers(self, hidden: list[int], activations: list[str]) -> None:
        """Change the hidden layers (the network restarts)."""
        old = (self.config.hidden, self.config.activations)
        self.config.hidden, self.config.activations = list(hidden), list(activations)
        try:
            self.config.validate()
        except ValueError:
            self.config.hidden, self.config.activations = old
            raise
        self.reset()

    def reset(self) -> None:
        """A new network with fresh (seeded) weights, a new optimizer and an empty history."""
        c = self.config
        sizes = [len(c.features)] + list(c.hidden) + [2 if self.classification else 1]
        rng = np.random.default_rng(c.seed)
        net = Sequential(input_size=sizes[0])
        for i in range(len(sizes) - 1):
            act = c.activations[i] if i < len(c.hidden) else None
            init = "he" if act in ("relu", "leaky_relu", "elu", "gelu", "swish") else "xavier"
            net.add(Dense(sizes[i], sizes[i + 1], init=init, rng=rng))
            if act is not None:
                net.add(activation_layer(act))
        self.net = net
        self.loss = SoftmaxCrossEntropy() if self.classification else MSE()
        self._make_optimizer()
        self.step_count = 0
        self.samples_seen = 0
        self._order = np.empty(0, dtype=np.intp)
        self._cursor = 0
        self._epoch_counter = 0
        self.history: dict[str, list[float]] = {"epoch": [], "train_loss": [], "test_loss": []}
        self.message = ""
        self.record()

    def _make_optimizer(self) -> None:
        c = self.config
        kw = {"lr": c.lr}
        if c.optimizer == "momentum":
            kw["momentum"] = 0.9
        self.optimizer = make_optimizer(c.optimizer, self.net.parameters(), **kw)

    def set_optimizer(self, name: str, lr: float | None = None) -> None:
        """Switch optimizer (its state starts empty); the weights stay."""
        if name not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {name!r}")
        if lr is not None:
            check_limit("lr", lr)
            self.config.lr = float(lr)
        self.config.optimizer = name
        self._make_optimizer()

    def set_lr(self, lr: float) -> None:
        check_limit("lr", lr)
        self.config.lr = float(lr)
        self.optimizer.lr = float(lr)

    def set_batch_size(self, batch_size: int) -> None:
        if not (isinstance(batch_size, (int, np.integer)) and 1 <= batch_size <= 5000):
            raise ValueError(f"batch size must be a whole number from 1 to 5000, got {batch_size}")
        self.config.batch_size = int(batch_size)

    def set_regularization(self, kind: str, rate: float) -> None:
        if kind not in REGULARIZATIONS:
            raise ValueError(f"regularization must be one of {', '.join(REGULARIZATIONS)}")
        if not (math.isfinite(rate) and 0 <= rate <= 1):
            raise ValueError(f"regularization rate must be between 0 and 1, got {rate}")
        self.config.regularization, self.config.reg_rate = kind, float(rate)

    # -- training ---------------------------------------------------------------
    @property
    def epoch(self) -> float:
        """Epochs trained, fractional (samples seen / training set size)."""
        return self.samples_seen / max(1, len(self.x_train))

    def _next_batch(self) -> np.ndarray:
        bs = min(self.config.batch_size, len(self.x_train))
        if self._cursor + bs > len(self._order):
            self._epoch_counter += 1
            rng = np.random.default_rng((self.config.seed, self._epoch_counter))
            self._order = rng.permutation(len(self.x_train))
            self._cursor = 0
        idx = self._order[self._cursor : self._cursor + bs]
        self._cursor += bs
        return idx

    def _penalize(self) -> None:
        c = self.config
        if c.regularization == "none" or c.reg_rate == 0:
            return
        rate = np.float32(c.reg_rate)
        for d in self.net.dense_layers():
            if c.regularization == "l2":
                d.W.grad += rate * d.W.data
            else:
                d.W.grad += rate * np.sign(d.W.data)

    def train_steps(self, n: int = 1) -> bool:
        """Run ``n`` mini-batch steps. Returns False (weights restored, ``message`` set) if the loss
        became NaN/inf."""
        if len(self.x_train) == 0:
            raise ValueError("there are no training points")
        saved = self.net.get_weights()
        opt_saved = [b.copy() for b in self.optimizer.state_buffers()]
        with np.errstate(over="ignore", invalid="ignore"):
            return self._train_steps(int(n), saved, opt_saved)

    def _train_steps(self, n, saved, opt_saved) -> bool:
        for _ in range(n):
            idx = self._next_batch()
            out = self.net.forward(self.x_train[idx])
            loss = self.loss.forward(out, self.y_train[idx])
            if not math.isfinite(loss):
                return self._diverged(saved, opt_saved, loss)
            self.net.backward(self.loss.backward())
            self._penalize()
            self.optimizer.step()
            self.step_count += 1
            self.samples_seen += len(idx)
        if not all(np.isfinite(p.data).all() for p in self.net.parameters()):
            return self._diverged(saved, opt_saved, float("nan"))
        return True

    def _diverged(self, saved, opt_saved, loss) -> bool:
        self.net.set_weights(saved)
        for dst, src in zip(self.optimizer.state_buffers(), opt_saved):
            dst[...] = src
        self.message = (
            f"Training stopped: the loss became {loss} with learning rate {self.config.lr:g}. "
            "The weights were put back as they were; try a smaller learning rate."
        )
        return False

    def train_for(self, seconds: float, max_steps: int = 100000) -> int:
        """Train in small bursts until ``seconds`` have passed; returns the steps run (0 on divergence)."""
        t_end = time.perf_counter() + seconds
        done = 0
        burst = 5
        while done < max_steps:
            if not self.train_steps(burst):
                return 0
            done += burst
            if time.perf_counter() >= t_end:
                break
        return done

    def train_epochs(self, epochs: float) -> bool:
        target = self.samples_seen + epochs * len(self.x_train)
        steps = math.ceil((target - self.samples_seen) / min(self.config.batch_size, len(self.x_train)))
        return self.train_steps(steps)

    # -- measuring --------------------------------------------------------------
    def _loss_acc(self, x, y) -> tuple[float | None, float | None]:
        if len(x) == 0:
            return None, None
        out = self.net.forward(x, training=False)
        loss = self.loss.forward(out, y)
        self.loss.clear_cache()
        acc = float(np.mean(out.argmax(axis=1) == y)) if self.classification else None
        return loss, acc

    def metrics(self) -> Metrics:
        train_loss, train_acc = self._loss_acc(self.x_train, self.y_train)
        test_loss, test_acc = self._loss_acc(self.x_test, self.y_test)
        self.net.clear_cache()
        return Metrics(self.step_count, self.epoch, train_loss, test_loss, train_acc, test_acc)

    def record(self) -> Metrics:
        """Append the current losses to the history (for the loss curves) and return them."""
        m = self.metrics()
        if self.history["epoch"] and self.history["epoch"][-1] == m.epoch:
            return m
        self.history["epoch"].append(m.epoch)
        self.history["train_loss"].append(m.train_loss if m.train_loss is not None else float("nan"))
        self.history["test_loss"].append(m.test_loss if m.test_loss is not None else float("nan"))
        if len(self.history["epoch"]) > MAX_HISTORY:
            # keep the curve's shape but not every point: the file stays small, redraws stay cheap
            for key, values in self.history.items():
                self.history[key] = values[:-1:2] + values[-1:]
        return m

    def maps(self, resolution: int = 40, x_points: np.ndarray | None = None) -> tuple[np.ndarray, list[np.ndarray]]:
        """The network over a grid of the plane.

        Returns ``(output, hidden)``: ``output`` (R, R) in [-1, 1] (classification:
        2*P(class 1) - 1; regression: the prediction), and one array (R, R, units)
        per hidden layer with that layer's activations. Row 0 is the bottom of the plane.
        """
        pts, _ = toy.grid(resolution)
        x = toy.expand_features(pts, self.config.features)
        hidden = []
        h = x
        layers = self.net.layers
        for i, layer in enumerate(layers):
            h = layer.forward(h, training=False)
            if not isinstance(layer, Dense) and i < len(layers) - 1:
                hidden.append(h.reshape(resolution, resolution, -1))
        if self.classification:
            z = h - h.max(axis=1, keepdims=True)
            e = np.exp(z)
            p1 = e[:, 1] / e.sum(axis=1)
            out = 2 * p1 - 1
        else:
            out = np.clip(h[:, 0], -1, 1)
        self.net.clear_cache()
        return out.reshape(resolution, resolution), hidden

    def input_maps(self, resolution: int = 40) -> np.ndarray:
        """Each input feature over the grid: (R, R, n_features), scaled to about [-1, 1]."""
        pts, _ = toy.grid(resolution)
        return toy.expand_features(pts, self.config.features).reshape(resolution, resolution, -1)

    def weights(self) -> list[np.ndarray]:
        """The weight matrix of each Dense layer, (in, out), inputs to output."""
        return [d.W.data for d in self.net.dense_layers()]

    def biases(self) -> list[np.ndarray]:
        return [d.b.data for d in self.net.dense_layers()]

    # -- save / open ------------------------------------------------------------
    def to_dict(self) -> dict:
        return {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "config": self.config.to_dict(),
            "weights": [p.data.tolist() for p in self.net.parameters()],
            "optimizer_state": {
                "steps": self.optimizer.steps,
                "buffers": [b.tolist() for b in self.optimizer.state_buffers()],
            },
            "step": self.step_count,
            "samples_seen": self.samples_seen,
            "epoch_counter": self._epoch_counter,
            "cursor": self._cursor,
            "history": {
                k: [None if (isinstance(v, float) and not math.isfinite(v)) else v for v in vals]
                for k, vals in self.history.items()
            },
        }

    def save(self, path: str | os.PathLike) -> None:
        """Write the whole state as JSON (a few kB for a small net); atomic on success."""
        path = Path(path)
        text = json.dumps(self.to_dict(), separators=(",", ":"))
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)

    @classmethod
    def from_dict(cls, d: dict) -> Playground:
        if not isinstance(d, dict) or d.get("format") != FORMAT_NAME:
            raise PlaygroundFileError("this is not an nnstudio playground file")
        if d.get("version") != FORMAT_VERSION:
            raise PlaygroundFileError(f"unsupported playground file version {d.get('version')!r}")
        try:
            config = PlaygroundConfig.from_dict(d["config"])
            pg = cls(config)
            params = pg.net.parameters()
            weights = d["weights"]
            if len(weights) != len(params):
                raise ValueError("the weights do not match the network described in the file")
            arrays = [np.asarray(w, dtype=np.float32) for w in weights]
            pg.net.set_weights(arrays)
            if not all(np.isfinite(a).all() for a in arrays):
                raise ValueError("the file holds weights that are not finite numbers")
            opt_state = d.get("optimizer_state")
            if opt_state:
                pg.optimizer.load_state_dict(
                    {
                        "steps": opt_state["steps"],
                        "buffers": [np.asarray(b, dtype=np.float32) for b in opt_state["buffers"]],
                    }
                )
            pg.step_count = int(d.get("step", 0))
            pg.samples_seen = int(d.get("samples_seen", 0))
            pg._epoch_counter = int(d.get("epoch_counter", 0))
            if pg._epoch_counter:
                rng = np.random.default_rng((config.seed, pg._epoch_counter))
                pg._order = rng.permutation(len(pg.x_train))
                pg._cursor = int(d.get("cursor", 0))
            hist = d.get("history") or {}
            pg.history = {
                k: [float("nan") if v is None else float(v) for v in hist.get(k, [])]
                for k in ("epoch", "train_loss", "test_loss")
            }
            if len({len(v) for v in pg.history.values()}) != 1:
                raise ValueError("the loss history is inconsistent")
        except PlaygroundFileError:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise PlaygroundFileError(f"the playground file is damaged: {exc}") from None
        return pg

    @classmethod
    def load(cls, path: str | os.PathLike) -> Playground:
        """Open a file written by :meth:`save`; raises :class:`PlaygroundFileError` with a clear message."""
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise PlaygroundFileError(f"cannot read {path}: {exc.strerror or exc}") from None
        except UnicodeDecodeError:
            raise PlaygroundFileError(f"{path} is not a playground file (not text)") from None
        try:
            d = json.loads(text)
        except json.JSONDecodeError as exc:
            raise PlaygroundFileError(f"{path} is not valid JSON ({exc.msg}, line {exc.lineno})") from None
        return cls.from_dict(d)
