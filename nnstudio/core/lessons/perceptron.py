"""The single artificial neuron: a weighted sum compared with a threshold.

Two things live here:

- :func:`decide` / :class:`Perceptron`: the decision-maker itself ("go to the
  beach if sunny*w1 + weekend*w2 > threshold").
- :class:`PerceptronLearner`: Rosenblatt's learning rule, one example at a
  time, so a view can show the decision line moving step by step.

And, for the one problem a single line cannot solve, :func:`train_xor_network`
trains a 2-2-1 network (two hidden neurons, one output) with our engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from nnstudio.core.nn.layers import Dense, Sigmoid
from nnstudio.core.nn.losses import MSE
from nnstudio.core.nn.network import Sequential
from nnstudio.core.nn.optim import Momentum

# Truth tables of the logic gates: inputs (0/1, 0/1) -> output.
GATE_INPUTS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
GATES: dict[str, np.ndarray] = {
    "AND": np.array([0, 0, 0, 1]),
    "OR": np.array([0, 1, 1, 1]),
    "NAND": np.array([1, 1, 1, 0]),
    "XOR": np.array([0, 1, 1, 0]),
}


def gate_data(name: str) -> tuple[np.ndarray, np.ndarray]:
    """The four input pairs and the gate's outputs, e.g. ``gate_data("AND")``."""
    key = name.upper()
    if key not in GATES:
        raise ValueError(f"unknown gate {name!r}; choose one of {', '.join(GATES)}")
    return GATE_INPUTS.copy(), GATES[key].copy()


def weighted_sum(inputs, weights) -> float:
    """Multiply each input by its weight and add up."""
    inputs, weights = np.asarray(inputs, dtype=np.float64), np.asarray(weights, dtype=np.float64)
    if inputs.shape != weights.shape:
        raise ValueError(f"{inputs.size} inputs but {weights.size} weights")
    return float(np.dot(inputs, weights))


def decide(inputs, weights, threshold: float) -> int:
    """1 if the weighted sum is greater than the threshold, else 0."""
    return 1 if weighted_sum(inputs, weights) > threshold else 0


@dataclass
class Perceptron:
    """A neuron with weights and a threshold (bias = -threshold)."""

    weights: np.ndarray
    threshold: float = 0.0

    def __post_init__(self):
        self.weights = np.asarray(self.weights, dtype=np.float64).copy()
        self.threshold = float(self.threshold)

    @property
    def bias(self) -> float:
        return -self.threshold

    def net_input(self, x: np.ndarray) -> np.ndarray:
        """Weighted sum minus threshold for each row of ``x`` (positive -> output 1)."""
        return np.asarray(x, dtype=np.float64) @ self.weights - self.threshold

    def predict(self, x: np.ndarray) -> np.ndarray:
        return (self.net_input(x) > 0).astype(int)

    def line(self) -> tuple[float, float, float]:
        """The decision line ``a*x1 + b*x2 = c`` as (a, b, c)."""
        return float(self.weights[0]), float(self.weights[1]), self.threshold

    def margin(self, x: np.ndarray) -> tuple[float, int]:
        """(distance, index) of the point of ``x`` nearest to the decision line (inf, -1 if there is no
        line or no point). A point exactly on the line has output 0: ``w·x > threshold`` is strict."""
        norm = float(np.hypot(*self.weights))
        x = np.asarray(x, dtype=np.float64).reshape(-1, 2)
        if norm < 1e-12 or not len(x):
            return float("inf"), -1
        d = np.abs(self.net_input(x)) / norm
        i = int(np.argmin(d))
        return float(d[i]), i


def line_points(a: float, b: float, c: float, lo: float, hi: float) -> tuple[np.ndarray, np.ndarray] | None:
    """Two end points of the line ``a*x + b*y = c`` across the box [lo, hi]^2 (None if a = b = 0)."""
    if abs(a) < 1e-12 and abs(b) < 1e-12:
        return None
    if abs(b) >= abs(a):
        xs = np.array([lo, hi])
        ys = (c - a * xs) / b
    else:
        ys = np.array([lo, hi])
        xs = (c - b * ys) / a
    return xs, ys


@dataclass
class StepResult:
    index: int  # which example was looked at
    target: int
    output: int
    updated: bool  # True if the weights changed (the example was misclassified)
    epoch_done: bool  # True if this example ended an epoch


@dataclass
class PerceptronLearner:
    """Rosenblatt's rule, one example at a time.

    For each example: ``output = 1 if w.x > threshold else 0``; if it is wrong,
    ``w += lr * (target - output) * x`` and ``threshold -= lr * (target - output)``.
    An epoch is one pass over the examples in order. The learner has converged
    after an epoch with no mistakes; that happens exactly when one straight line
    separates the two classes (the perceptron convergence theorem), so it never
    happens for XOR.
    """

    x: np.ndarray
    y: np.ndarray
    lr: float = 0.1
    weights: np.ndarray = field(default_factory=lambda: np.zeros(2))
    threshold: float = 0.0
    epoch: int = 0  # completed epochs
    position: int = 0  # next example within the epoch
    mistakes_this_epoch: int = 0
    updates: int = 0
    converged: bool = False
    mistakes_per_epoch: list[int] = field(default_factory=list)

    def __post_init__(self):
        self.x = np.asarray(self.x, dtype=np.float64).reshape(-1, 2)
        self.y = np.asarray(self.y).astype(int).ravel()
        if len(self.x) != len(self.y):
            raise ValueError("need one label per point")
        if len(self.x) and not set(np.unique(self.y)) <= {0, 1}:
            raise ValueError("labels must be 0 or 1")
        if not (np.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"learning rate must be positive, got {self.lr}")
        self.weights = np.asarray(self.weights, dtype=np.float64).copy()

    @property
    def perceptron(self) -> Perceptron:
        return Perceptron(self.weights, self.threshold)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.perceptron.predict(x)

    def accuracy(self) -> float:
        return float(np.mean(self.predict(self.x) == self.y)) if len(self.y) else 0.0

    def step(self) -> StepResult:
        """Look at the next example and apply the rule once."""
        if not len(self.x):
            raise ValueError("there are no points to learn from")
        i = self.position
        xi, target = self.x[i], int(self.y[i])
        output = 1 if float(xi @ self.weights) > self.threshold else 0
        error = target - output
        if error:
            self.weights += self.lr * error * xi
            self.threshold -= self.lr * error
            self.updates += 1
            self.mistakes_this_epoch += 1
        self.position += 1
        epoch_done = self.position == len(self.x)
        if epoch_done:
            self.mistakes_per_epoch.append(self.mistakes_this_epoch)
            self.converged = self.mistakes_this_epoch == 0
            self.epoch += 1
            self.position = 0
            self.mistakes_this_epoch = 0
        return StepResult(i, target, output, bool(error), epoch_done)

    def run_epoch(self) -> int:
        """Finish the current epoch; return its number of mistakes."""
        while True:
            if self.step().epoch_done:
                return self.mistakes_per_epoch[-1]

    def fit(self, max_epochs: int = 100) -> bool:
        """Train until an epoch has no mistakes or ``max_epochs`` epochs ran; True if converged."""
        for _ in range(int(max_epochs)):
            self.run_epoch()
            if self.converged:
                return True
        return False


def train_perceptron(x, y, lr: float = 0.1, max_epochs: int = 100) -> PerceptronLearner:
    learner = PerceptronLearner(x, y, lr=lr)
    learner.fit(max_epochs)
    return learner


@dataclass
class XorSolution:
    """A trained 2-2-1 network: hidden lines and the output for any point."""

    network: Sequential
    hidden_weights: np.ndarray  # (2, 2): column j = weights of hidden unit j
    hidden_bias: np.ndarray  # (2,)
    epochs: int
    loss: float

    def hidden_lines(self) -> list[tuple[float, float, float]]:
        """Each hidden unit's line ``a*x1 + b*x2 = c`` (where its input sum is zero)."""
        return [
            (float(self.hidden_weights[0, j]), float(self.hidden_weights[1, j]), float(-self.hidden_bias[j]))
            for j in range(self.hidden_weights.shape[1])
        ]

    def output(self, x: np.ndarray) -> np.ndarray:
        """The network's output in (0, 1) for each row of ``x``."""
        out = self.network.predict(np.asarray(x, dtype=np.float64))
        self.network.clear_cache()
        return out[:, 0]

    def predict(self, x: np.ndarray) -> np.ndarray:
        return (self.output(x) > 0.5).astype(int)


def train_xor_network(seed: int = 0, lr: float = 0.5, max_epochs: int = 5000, attempts: int = 8) -> XorSolution:
    """Train a 2-2-1 sigmoid network on XOR with full-batch gradient descent.

    A 2-2-1 net sometimes lands in a flat spot and stalls; then we start again
    from another seed (at most ``attempts`` times), as one would by hand.
    """
    x, y = gate_data("XOR")
    target = y.reshape(-1, 1).astype(np.float64)
    best: XorSolution | None = None
    for attempt in range(attempts):
        rng = np.random.default_rng(seed + attempt)
        net = Sequential(
            [
                Dense(2, 2, init="xavier", rng=rng, dtype=np.float64),
                Sigmoid(),
                Dense(2, 1, init="xavier", rng=rng, dtype=np.float64),
                Sigmoid(),
            ]
        )
        # Xavier weights for 2 inputs are small; spread them so the units start apart.
        for d in net.dense_layers():
            d.W.data *= 3.0
        opt = Momentum(net.parameters(), lr=lr, momentum=0.9)
        loss_fn = MSE()
        loss = float("inf")
        epoch = 0
        for epoch in range(1, max_epochs + 1):
            out = net.forward(x)
            loss = loss_fn.forward(out, target)
            net.backward(loss_fn.backward())
            opt.step()
            if epoch % 50 == 0 and np.all((out[:, 0] > 0.5) == y) and loss < 0.02:
                break
        net.clear_cache()
        dense = net.dense_layers()[0]
        sol = XorSolution(net, dense.W.data.copy(), dense.b.data.copy(), epoch, loss)
        if np.all(sol.predict(x) == y):
            return sol
        if best is None or loss < best.loss:
            best = sol
    if best is None:
        raise ValueError("attempts must be at least 1")
    return best
