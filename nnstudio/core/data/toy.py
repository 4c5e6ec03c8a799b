"""Seeded toy 2-D datasets for the playground (classification and regression).

Points live in the square [-DOMAIN, DOMAIN]^2. Classification labels are 0/1
integers; regression targets are floats in [-1, 1]. The same (name, n, noise,
seed) always gives the same points, so a saved playground only stores those
four numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

DOMAIN = 6.0
CLASSIFICATION_SETS = ("circle", "xor", "gaussians", "spiral", "moons")
REGRESSION_SETS = ("plane", "bumps")
ALL_SETS = CLASSIFICATION_SETS + REGRESSION_SETS
LABELS = {
    "circle": "Circle",
    "xor": "XOR",
    "gaussians": "Two gaussians",
    "spiral": "Spiral",
    "moons": "Moons",
    "plane": "Plane (regression)",
    "bumps": "Bumps (regression)",
}

# Feature key -> (label, function of (x1, x2), scale). Features are divided by
# their scale so every input the network sees is roughly in [-1, 1].
FEATURES: dict[str, tuple[str, Callable[[np.ndarray, np.ndarray], np.ndarray], float]] = {
    "x1": ("X\u2081", lambda a, b: a, DOMAIN),
    "x2": ("X\u2082", lambda a, b: b, DOMAIN),
    "x1sq": ("X\u2081\u00b2", lambda a, b: a * a, DOMAIN**2),
    "x2sq": ("X\u2082\u00b2", lambda a, b: b * b, DOMAIN**2),
    "x1x2": ("X\u2081X\u2082", lambda a, b: a * b, DOMAIN**2),
    "sin_x1": ("sin X\u2081", lambda a, b: np.sin(a), 1.0),
    "sin_x2": ("sin X\u2082", lambda a, b: np.sin(b), 1.0),
}


def task_of(name: str) -> str:
    """'classification' or 'regression'."""
    check_name(name)
    return "classification" if name in CLASSIFICATION_SETS else "regression"


def check_name(name: str) -> None:
    if name not in ALL_SETS:
        raise ValueError(f"unknown toy dataset {name!r}; choose one of {', '.join(ALL_SETS)}")


def generate(name: str, n: int = 400, noise: float = 0.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points of dataset ``name``: x float32 (n, 2), y int64 (n,) or float32 (n,).

    ``noise`` in [0, 1] jitters the points (classification) or the targets (regression).
    """
    check_name(name)
    n = int(n)
    if n < 4:
        raise ValueError(f"need at least 4 points, got {n}")
    noise = float(noise)
    if not 0.0 <= noise <= 1.0:
        raise ValueError(f"noise must be between 0 and 1, got {noise}")
    rng = np.random.default_rng(seed)
    x, y = _GENERATORS[name](n, noise, rng)
    return x.astype(np.float32), y


def _circle(n, noise, rng):
    # Inner disc is class 1, outer ring class 0 (like the playground everyone knows).
    radius = 5.0
    n_in = n // 2
    r = np.concatenate([rng.uniform(0, radius * 0.5, n_in), rng.uniform(radius * 0.7, radius, n - n_in)])
    angle = rng.uniform(0, 2 * np.pi, n)
    x = np.stack([r * np.sin(angle), r * np.cos(angle)], axis=1)
    x += rng.normal(0, noise * 1.5, x.shape)
    y = np.concatenate([np.ones(n_in, np.int64), np.zeros(n - n_in, np.int64)])
    return x, y


def _xor(n, noise, rng):
    x = rng.uniform(-5, 5, (n, 2))
    x += np.where(x > 0, 0.3, -0.3)  # a small gap around the axes
    y = (x[:, 0] * x[:, 1] > 0).astype(np.int64)
    x += rng.normal(0, noise * 1.5, x.shape)
    return x, y


def _gaussians(n, noise, rng):
    n_pos = n // 2
    spread = 0.5 + noise * 2.0
    pos = rng.normal(2.0, spread, (n_pos, 2))
    neg = rng.normal(-2.0, spread, (n - n_pos, 2))
    y = np.concatenate([np.ones(n_pos, np.int64), np.zeros(n - n_pos, np.int64)])
    return np.concatenate([pos, neg]), y


def _spiral(n, noise, rng):
    # Two interleaved arms, each turning 1.75 times around the centre.
    half = n // 2
    xs, ys = [], []
    for label, count, delta in ((1, half, 0.0), (0, n - half, np.pi)):
        i = np.arange(count)
        r = i / count * 5.0
        t = 1.75 * i / count * 2 * np.pi + delta
        pts = np.stack([r * np.sin(t), r * np.cos(t)], axis=1)
        pts += rng.uniform(-1, 1, pts.shape) * noise
        xs.append(pts)
        ys.append(np.full(count, label, np.int64))
    return np.concatenate(xs), np.concatenate(ys)


def _moons(n, noise, rng):
    n_up = n // 2
    t_up = rng.uniform(0, np.pi, n_up)
    t_down = rng.uniform(0, np.pi, n - n_up)
    up = np.stack([np.cos(t_up), np.sin(t_up)], axis=1)
    down = np.stack([1 - np.cos(t_down), 0.5 - np.sin(t_down)], axis=1)
    x = (np.concatenate([up, down]) - [0.5, 0.25]) * 3.0
    x += rng.normal(0, noise * 1.0, x.shape)
    y = np.concatenate([np.zeros(n_up, np.int64), np.ones(n - n_up, np.int64)])
    return x, y


def _plane(n, noise, rng):
    x = rng.uniform(-DOMAIN, DOMAIN, (n, 2))
    y = (x[:, 0] + x[:, 1]) / (2 * DOMAIN)
    y = y + rng.normal(0, noise * 0.3, n)
    return x, np.clip(y, -1, 1).astype(np.float32)


def _bumps(n, noise, rng):
    x = rng.uniform(-DOMAIN, DOMAIN, (n, 2))
    y = regression_target("bumps", x)
    y = y + rng.normal(0, noise * 0.3, n)
    return x, np.clip(y, -1, 1).astype(np.float32)


def regression_target(name: str, x: np.ndarray) -> np.ndarray:
    """The noiseless target of a regression set at points ``x`` (for drawing the truth)."""
    x = np.asarray(x, dtype=np.float64)
    if name == "plane":
        return (x[:, 0] + x[:, 1]) / (2 * DOMAIN)
    if name == "bumps":

        def bump(cx, cy):
            return np.exp(-((x[:, 0] - cx) ** 2 + (x[:, 1] - cy) ** 2) / 4.0)

        return bump(2.5, 2.5) + bump(-2.5, -2.5) - bump(2.5, -2.5) - bump(-2.5, 2.5)
    raise ValueError(f"{name!r} is not a regression set")


_GENERATORS = {
    "circle": _circle,
    "xor": _xor,
    "gaussians": _gaussians,
    "spiral": _spiral,
    "moons": _moons,
    "plane": _plane,
    "bumps": _bumps,
}


def train_test_split(x: np.ndarray, y: np.ndarray, test_fraction: float = 0.5, seed: int = 0):
    """Shuffle (seeded) and split; returns x_train, y_train, x_test, y_test."""
    test_fraction = float(test_fraction)
    if not 0.0 <= test_fraction < 1.0:
        raise ValueError(f"test fraction must be in [0, 1), got {test_fraction}")
    n = len(x)
    order = np.random.default_rng((seed, 7)).permutation(n)
    n_test = int(round(n * test_fraction))
    n_test = min(n_test, n - 1)
    test, train = order[:n_test], order[n_test:]
    return x[train], y[train], x[test], y[test]


@dataclass
class ToyData:
    name: str
    task: str  # "classification" | "regression"
    x_train: np.ndarray  # raw coordinates (n, 2)
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    noise: float
    seed: int


def make_toy(name: str, n: int = 500, noise: float = 0.0, test_fraction: float = 0.5, seed: int = 0) -> ToyData:
    """Generate dataset ``name`` and split it into train and test, all seeded."""
    x, y = generate(name, n, noise, seed)
    xtr, ytr, xte, yte = train_test_split(x, y, test_fraction, seed)
    return ToyData(name, task_of(name), xtr, ytr, xte, yte, float(noise), int(seed))


def expand_features(x: np.ndarray, features) -> np.ndarray:
    """Columns of the chosen features (keys of :data:`FEATURES`) for raw points ``x`` (n, 2)."""
    features = list(features)
    if not features:
        raise ValueError("choose at least one input feature")
    for f in features:
        if f not in FEATURES:
            raise ValueError(f"unknown feature {f!r}; choose from {', '.join(FEATURES)}")
    x = np.asarray(x, dtype=np.float32)
    a, b = x[:, 0], x[:, 1]
    out = np.empty((len(x), len(features)), dtype=np.float32)
    for j, f in enumerate(features):
        _, fn, scale = FEATURES[f]
        out[:, j] = fn(a, b) / scale
    return out


def grid(resolution: int = 50, domain: float = DOMAIN) -> tuple[np.ndarray, np.ndarray]:
    """A resolution x resolution grid over the square: points (R*R, 2) row-major with y
    increasing by row, and the 1-D coordinates of the cell centres."""
    resolution = int(resolution)
    step = 2 * domain / resolution
    coords = -domain + step * (np.arange(resolution) + 0.5)
    gx, gy = np.meshgrid(coords, coords)
    return np.stack([gx.ravel(), gy.ravel()], axis=1).astype(np.float32), coords
