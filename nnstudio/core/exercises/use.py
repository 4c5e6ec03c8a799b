"""A passed exercise plugged into the real engine: "Train with my code".

The learner's code runs here *in this process*, so callers only use code whose exact text passed
its check (:meth:`.progress.Progress.passed_with`); the check ran it on random inputs in a separate
process first. What each exercise drives:

- dense: :func:`plug_dense` swaps the engine's Dense layers of a 784-128-10 network for
  :class:`LearnerDense`, which calls the learner's ``forward``/``backward``; :func:`mnist_trainer`
  makes the studio's default run (Adam, cosine, batch 128) over it.
- sgd, momentum, adam: :class:`LearnerOptimizer` calls the learner's step for every parameter;
  :func:`toy_race` trains the playground's network on its data with it and with the engine's.
- perceptron: :func:`perceptron_gates`; activations: :func:`activation_curves`; the autograd
  exercises: :func:`autograd_examples`; checkpoint: :func:`checkpoint_compare`.
"""

from __future__ import annotations

import copy
import types
from collections.abc import Callable

import numpy as np

from nnstudio.core.autograd.tensor import Tensor
from nnstudio.core.lessons.perceptron import gate_data
from nnstudio.core.lessons.playground import Playground, PlaygroundConfig
from nnstudio.core.nn.functional import get as engine_function
from nnstudio.core.nn.layers import Dense
from nnstudio.core.nn.losses import SoftmaxCrossEntropy
from nnstudio.core.nn.network import Sequential
from nnstudio.core.nn.optim import Optimizer
from nnstudio.core.training.config import RunConfig
from nnstudio.core.training.trainer import Trainer

from .support import var

# How a run driven by the learner's code is labelled wherever it is shown or saved.
LEARNER_LABEL = {
    "dense": "your Dense.forward / Dense.backward",
    "sgd": "your sgd_step",
    "momentum": "your momentum_step",
    "adam": "your adam_step",
}


class LearnerCodeError(RuntimeError):
    """The learner's code failed while the engine used it; the message says where."""


def load_learner(source: str, filename: str = "<your code>") -> types.ModuleType:
    """Run the learner's file in a fresh module (only for code that passed its check)."""
    module = types.ModuleType("learner")
    module.__file__ = filename
    try:
        exec(compile(source, filename, "exec"), module.__dict__)
    except Exception as exc:  # noqa: BLE001 - reported as one line
        raise LearnerCodeError(f"your code could not be loaded: {type(exc).__name__}: {exc}") from None
    return module


# -- dense ---------------------------------------------------------------------------------------
class LearnerDense(Dense):
    """An engine Dense layer whose forward and backward are the learner's.

    The learner's object sees the engine's own parameter arrays (the optimizer updates them in
    place), so the weights, the model file and the charts are the engine's as usual.
    """

    def __init__(self, learner_cls, source: Dense):
        self.__dict__.update(source.__dict__)  # the same W and b Parameters, the same sizes
        self._learner = learner_cls(self.W.data, self.b.data)

    def forward(self, x, training=True):
        obj = self._learner
        obj.W, obj.b = self.W.data, self.b.data
        self._x = x
        try:
            y = obj.forward(x)
        except Exception as exc:  # noqa: BLE001
            raise LearnerCodeError(f"your Dense.forward raised {type(exc).__name__}: {exc}") from None
        return np.asarray(y, dtype=x.dtype)

    def backward(self, grad, need_input_grad: bool = True):
        obj = self._learner
        try:
            dx = obj.backward(grad)
            self.W.grad[...] = obj.dW
            self.b.grad[...] = obj.db
        except Exception as exc:  # noqa: BLE001
            raise LearnerCodeError(f"your Dense.backward raised {type(exc).__name__}: {exc}") from None
        return np.asarray(dx, dtype=grad.dtype) if need_input_grad else None

    def clear_cache(self):
        self._x = None
        if hasattr(self._learner, "x"):
            self._learner.x = None


def plug_dense(network: Sequential, learner_cls) -> Sequential:
    """``network`` with every Dense layer replaced by the learner's (sharing the same weights)."""
    layers = [LearnerDense(learner_cls, layer) if isinstance(layer, Dense) else layer for layer in network.layers]
    net = Sequential(layers, input_size=network.input_size)
    net.meta = dict(getattr(network, "meta", {}) or {})
    net.meta["trained_with"] = LEARNER_LABEL["dense"]
    return net


def mnist_trainer(
    module: types.ModuleType,
    train: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray] | None,
    epochs: int = 5,
    seed: int = 0,
) -> Trainer:
    """The studio's default MNIST run (784-128-10, ReLU, Adam 0.003 with cosine decay, batch 128), with the
    learner's Dense layers doing every forward and backward."""
    config = RunConfig(epochs=int(epochs), seed=int(seed))
    net = plug_dense(config.build_network(train[0].shape[1], 10), module.Dense)
    return config.make_trainer(net, config.make_optimizer(net.parameters()), train, test)


# -- optimizers ------------------------------------------------------------------------------------
class LearnerOptimizer(Optimizer):
    """An engine optimizer whose update is the learner's ``sgd_step``, ``momentum_step`` or ``adam_step``."""

    def __init__(self, exercise: str, module: types.ModuleType, params, lr: float, momentum: float = 0.9):
        super().__init__(params, lr)
        self.exercise = exercise
        self.kind = f"{exercise} (your step)"
        self.momentum = float(momentum)
        self.fn = getattr(module, {"sgd": "sgd_step", "momentum": "momentum_step", "adam": "adam_step"}[exercise])
        self.m = [np.zeros_like(p.data) for p in self.params]
        self.v = [np.zeros_like(p.data) for p in self.params]

    def step(self) -> None:
        self.steps += 1
        for i, p in enumerate(self.params):
            try:
                if self.exercise == "sgd":
                    p.data[...] = self.fn(p.data.copy(), p.grad.copy(), self.lr)
                elif self.exercise == "momentum":
                    w, v = self.fn(p.data.copy(), p.grad.copy(), self.v[i].copy(), self.lr, self.momentum)
                    p.data[...], self.v[i][...] = w, v
                else:
                    w, m, v = self.fn(
                        p.data.copy(), p.grad.copy(), self.m[i].copy(), self.v[i].copy(), self.steps, self.lr
                    )
                    p.data[...], self.m[i][...], self.v[i][...] = w, m, v
            except Exception as exc:  # noqa: BLE001
                raise LearnerCodeError(f"your {self.fn.__name__} raised {type(exc).__name__}: {exc}") from None

    def state_buffers(self):
        return {"sgd": [], "momentum": self.v, "adam": self.m + self.v}[self.exercise]


TOY_LR = {"sgd": 0.3, "momentum": 0.05, "adam": 0.01}


def toy_race(
    exercise: str,
    module: types.ModuleType,
    steps: int = 600,
    every: int = 20,
    on_point: Callable[[dict], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> dict:
    """Train the playground's default network on its default data twice, with the learner's step and
    with the engine's, from the same weights; the test loss of both every ``every`` steps."""
    lr = TOY_LR[exercise]
    mine = Playground(PlaygroundConfig(optimizer=exercise, lr=lr))
    engine = Playground(PlaygroundConfig(optimizer=exercise, lr=lr))
    mine.optimizer = LearnerOptimizer(exercise, module, mine.net.parameters(), lr)
    points: dict = {"step": [], "mine": [], "engine": [], "label": LEARNER_LABEL[exercise], "lr": lr}
    for done in range(every, steps + 1, every):
        if cancelled is not None and cancelled():
            break
        mine.train_steps(every)
        engine.train_steps(every)
        a, b = mine.metrics(), engine.metrics()
        point = {
            "step": done,
            "mine": a.test_loss,
            "engine": b.test_loss,
            "mine_accuracy": a.test_accuracy,
            "engine_accuracy": b.test_accuracy,
        }
        for key in ("step", "mine", "engine"):
            points[key].append(point[key])
        points["mine_accuracy"], points["engine_accuracy"] = a.test_accuracy, b.test_accuracy
        if on_point is not None:
            on_point(point)
    return points


# -- the other exercises -----------------------------------------------------------------------------
def perceptron_gates(module: types.ModuleType, max_epochs: int = 30, lr: float = 0.1) -> list[dict]:
    """The learner's rule on AND, OR, NAND and XOR: the mistakes of each epoch until one has none."""
    rows = []
    for gate in ("AND", "OR", "NAND", "XOR"):
        x, y = gate_data(gate)
        w, theta = np.zeros(2), 0.0
        mistakes: list[int] = []
        for _ in range(max_epochs):
            wrong = 0
            for xi, ti in zip(x, y):
                wrong += int(module.predict(xi, w, theta) != ti)
                w, theta = module.train_step(w, theta, xi, int(ti), lr)
            mistakes.append(wrong)
            if wrong == 0:
                break
        rows.append({"gate": gate, "converged": mistakes[-1] == 0, "epochs": len(mistakes), "mistakes": mistakes})
    return rows


def activation_curves(module: types.ModuleType, lo: float = -6.0, hi: float = 6.0, n: int = 241) -> dict:
    """The learner's activations and slopes next to the engine's on [lo, hi]."""
    x = np.linspace(lo, hi, n)
    out: dict = {"x": x}
    for name in ("sigmoid", "tanh", "relu"):
        f = engine_function(name)
        out[name] = {
            "mine": np.asarray(getattr(module, name)(x.copy()), dtype=float),
            "mine_grad": np.asarray(getattr(module, name + "_grad")(x.copy()), dtype=float),
            "engine": f.fn(x),
            "engine_grad": f.grad(x),
        }
    return out


COURSE_EXAMPLES = (("x**2 + 3*x + 5", lambda x: x**2 + 3 * x + 5), ("(x + 2)**2", lambda x: (x + 2) ** 2))


def autograd_examples(exercise: str, module: types.ModuleType, points=(-2.0, 0.0, 1.0, 2.0)) -> list[dict]:
    """dy/dx of the course's two examples by the learner's rules (or backward pass) and by the engine."""
    rows = []
    for text, fn in COURSE_EXAMPLES:
        for x in points:
            t = Tensor(x, requires_grad=True)
            fn(t).backward()
            if exercise == "autograd_backward":
                xv = var(x, "x")
                root = fn(xv)
                module.backward(root)
                mine = xv.grad
            elif text.startswith("x**2"):
                one = np.ones(1)
                xa = np.array([x])
                # y = x² + 3·x + 5: the sum passes 1 to both terms; x² by pow, 3·x by mul
                mine = float(
                    np.sum(module.pow_backward(xa, 2, one)) + np.sum(module.mul_backward(np.array([3.0]), xa, one)[1])
                )
            else:
                # y = g², g = x + 2: pow's rule, then + passes the gradient through unchanged
                mine = float(np.sum(module.pow_backward(np.array([x + 2]), 2, np.ones(1))))
            assert t.grad is not None
            rows.append({"expression": text, "x": x, "mine": float(mine), "engine": float(t.grad)})
    return rows


def checkpoint_compare(module: types.ModuleType, x: np.ndarray, labels: np.ndarray, segments: int = 3) -> dict:
    """One training step of a 784-256-256-256-10 network: the learner's checkpointed step against the plain
    one (largest gradient difference), and how many layers held a cache at the end of the forward pass."""
    config = RunConfig(hidden=[256, 256, 256], activation=["relu"], seed=0)
    plain = config.build_network(x.shape[1], 10)
    mine = copy.deepcopy(plain)
    loss = SoftmaxCrossEntropy()
    loss.forward(plain.forward(x), labels)
    plain.backward(loss.backward())
    n = len(mine.layers)
    size = -(-n // segments)
    bounds = [(a, min(a + size, n)) for a in range(0, n, size)]
    out, checkpoints = module.checkpointed_forward(mine.layers, bounds, x)
    cached_after_forward = sum(1 for layer in mine.layers if layer.cached_arrays())
    loss.forward(np.asarray(out), labels)
    module.checkpointed_backward(mine.layers, bounds, checkpoints, loss.backward())
    diff = max(float(np.max(np.abs(p.grad - q.grad))) for p, q in zip(plain.parameters(), mine.parameters()))
    return {"bounds": bounds, "layers": n, "cached_after_forward": cached_after_forward, "max_grad_difference": diff}


__all__ = [
    "LEARNER_LABEL",
    "LearnerCodeError",
    "LearnerDense",
    "LearnerOptimizer",
    "activation_curves",
    "autograd_examples",
    "checkpoint_compare",
    "load_learner",
    "mnist_trainer",
    "perceptron_gates",
    "plug_dense",
    "toy_race",
]
