"""Optimizers with PyTorch's names: ``step()``, ``zero_grad()``, ``state_dict()``.

Every update happens in place on ``Parameter.data`` with preallocated state
buffers, so a step allocates as little as possible. ``lr`` (and ``momentum``)
are plain attributes: change them between steps and the next step uses them.
"""
from __future__ import annotations

import math

import numpy as np

from .layers import Parameter


class Optimizer:
    kind = "Optimizer"

    def __init__(self, params, lr: float):
        self.params: list[Parameter] = list(params)
        check_lr(lr)
        self.lr = float(lr)
        self.steps = 0

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad.fill(0)

    def step(self) -> None:
        raise NotImplementedError

    def hyperparameters(self) -> dict:
        return {"optimizer": self.kind, "lr": self.lr}

    def state_buffers(self) -> list[np.ndarray]:
        """The optimizer's own arrays (for memory accounting and save/load)."""
        return []

    def state_dict(self) -> dict:
        return {"hyperparameters": self.hyperparameters(), "steps": self.steps,
                "buffers": [b.copy() for b in self.state_buffers()]}

    def load_state_dict(self, state: dict) -> None:
        buffers = self.state_buffers()
        if len(state["buffers"]) != len(buffers):
            raise ValueError("optimizer state does not match these parameters")
        for dst, src in zip(buffers, state["buffers"]):
            if dst.shape != src.shape:
                raise ValueError("optimizer state does not match these parameters")
            dst[...] = src
        self.steps = int(state["steps"])


def check_lr(lr) -> None:
    if not (isinstance(lr, (int, float)) and math.isfinite(lr) and 0 < lr <= 10):
        raise ValueError(f"learning rate must be a number in (0, 10], got {lr!r}")


class SGD(Optimizer):
    """Plain gradient descent: w <- w - lr * (g + weight_decay * w)."""

    kind = "SGD"

    def __init__(self, params, lr=0.01, weight_decay=0.0):
        super().__init__(params, lr)
        self.weight_decay = float(weight_decay)

    def step(self):
        lr = self.lr
        for p in self.params:
            if self.weight_decay:
                p.grad += self.weight_decay * p.data
            p.data -= p.grad.dtype.type(lr) * p.grad
        self.steps += 1

    def hyperparameters(self):
        return {**super().hyperparameters(), "weight_decay": self.weight_decay}


class Momentum(Optimizer):
    """SGD with momentum (PyTorch's form): v <- mu*v + g; w <- w - lr*v.

    With ``nesterov=True`` the step uses g + mu*v (look-ahead).
    """

    kind = "Momentum"

    def __init__(self, params, lr=0.01, momentum=0.9, nesterov=False, weight_decay=0.0):
        super().__init__(params, lr)
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)
        self.weight_decay = float(weight_decay)
        self.velocity = [np.zeros_like(p.data) for p in self.params]

    def step(self):
        mu = self.momentum
        for p, v in zip(self.params, self.velocity):
            g = p.grad
            if self.weight_decay:
                g += self.weight_decay * p.data
            v *= mu
            v += g
            if self.nesterov:
                g += mu * v
                p.data -= g.dtype.type(self.lr) * g
            else:
                p.data -= v.dtype.type(self.lr) * v
        self.steps += 1

    def hyperparameters(self):
        return {**super().hyperparameters(), "momentum": self.momentum,
                "nesterov": self.nesterov, "weight_decay": self.weight_decay}

    def state_buffers(self):
        return self.velocity


class Adam(Optimizer):
    """Adam (Kingma & Ba) with bias correction.

    ``weight_decay`` is decoupled (AdamW): w <- w - lr*wd*w, applied before the
    Adam step, so it does not pass through the adaptive scaling.
    """

    kind = "Adam"

    def __init__(self, params, lr=0.001, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, lr)
        b1, b2 = float(betas[0]), float(betas[1])
        if not (0 <= b1 < 1 and 0 <= b2 < 1):
            raise ValueError(f"Adam betas must be in [0, 1), got {betas}")
        self.betas = (b1, b2)
        self.eps = float(eps)
        self.weight_decay = float(weight_decay)
        self.m = [np.zeros_like(p.data) for p in self.params]
        self.v = [np.zeros_like(p.data) for p in self.params]
        self._tmp = [np.empty_like(p.data) for p in self.params]

    def step(self):
        self.steps += 1
        b1, b2 = self.betas
        t = self.steps
        bc1 = 1.0 - b1 ** t
        bc2 = 1.0 - b2 ** t
        step_size = self.lr / bc1
        eps_hat = self.eps * math.sqrt(bc2)
        # w -= lr/bc1 * m / (sqrt(v) + eps*sqrt(bc2)) * sqrt(bc2)  (same as PyTorch's form)
        scale = step_size * math.sqrt(bc2)
        for p, m, v, tmp in zip(self.params, self.m, self.v, self._tmp):
            g = p.grad
            dt = g.dtype.type
            if self.weight_decay:
                p.data *= dt(1.0 - self.lr * self.weight_decay)
            m *= dt(b1)
            m += dt(1.0 - b1) * g
            v *= dt(b2)
            np.multiply(g, g, out=tmp)
            tmp *= dt(1.0 - b2)
            v += tmp
            np.sqrt(v, out=tmp)
            tmp += dt(eps_hat)
            np.divide(m, tmp, out=tmp)
            tmp *= dt(scale)
            p.data -= tmp

    def hyperparameters(self):
        return {**super().hyperparameters(), "betas": list(self.betas), "eps": self.eps,
                "weight_decay": self.weight_decay}

    def state_buffers(self):
        return self.m + self.v


OPTIMIZERS = {"sgd": SGD, "momentum": Momentum, "adam": Adam}

# Default learning rates, chosen by measurement with cosine decay on: 784-128-10, batch 128,
# 5 epochs reaches 97.7-98.0% MNIST test accuracy over seeds 0-2 with Adam at 0.003
# (0.001 without decay: 97.1-97.3%); SGD at 0.3: 96.8%; Momentum 0.9 at 0.1: 97.8%.
DEFAULT_LR = {"sgd": 0.3, "momentum": 0.1, "adam": 0.003}


def make_optimizer(name: str, params, **kwargs) -> Optimizer:
    """Build an optimizer by name ('sgd', 'momentum', 'adam') with its hyperparameters."""
    key = name.lower()
    if key not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}")
    return OPTIMIZERS[key](params, **kwargs)


class CosineSchedule:
    """Cosine decay of the learning rate from ``base_lr`` to ``min_lr`` over ``total_steps``.

    Call ``step()`` after each optimizer step. Changing ``base_lr`` mid-run
    (the GUI's learning-rate control) takes effect at the next step.
    """

    def __init__(self, optimizer: Optimizer, total_steps: int, min_lr: float = 0.0):
        self.optimizer = optimizer
        self.total_steps = max(1, int(total_steps))
        self.base_lr = optimizer.lr
        self.min_lr = float(min_lr)
        self.t = 0

    def lr_at(self, t: int) -> float:
        frac = min(t, self.total_steps) / self.total_steps
        return self.min_lr + 0.5 * (self.base_lr - self.min_lr) * (1 + math.cos(math.pi * frac))

    def step(self) -> None:
        self.t += 1
        self.optimizer.lr = self.lr_at(self.t)
