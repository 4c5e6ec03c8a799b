"""Optimizers with PyTorch's names: ``step()``, ``zero_grad()``, ``state_dict()``.

Every update happens in place on ``Parameter.data`` with preallocated state
buffers, so a step allocates as little as possible. ``lr`` (and ``momentum``)
are plain attributes: change them between steps and the next step uses them.
"""

from __future__ import annotations

import math

import numpy as np

from nnstudio.core.limits import check as check_limit

from .layers import Parameter


class Optimizer:
    kind = "Optimizer"

    def __init__(self, params, lr: float):
        self.params: list[Parameter] = list(params)
        self.lr = check_limit("lr", lr)
        self.steps = 0

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad.fill(0)

    def step(self) -> None:
        raise NotImplementedError

    def hyperparameters(self) -> dict:
        return {"optimizer": self.kind, "lr": self.lr}

    def state_buffers(self) -> list[np.ndarray]:
        """The optimizer's state that persists between steps (saved with a model, restored on load)."""
        return []

    def scratch_buffers(self) -> list[np.ndarray]:
        """Preallocated work arrays of the update (memory accounting counts them; never saved)."""
        return []

    def state_dict(self) -> dict:
        return {
            "hyperparameters": self.hyperparameters(),
            "steps": self.steps,
            "buffers": [b.copy() for b in self.state_buffers()],
        }

    def load_state_dict(self, state: dict) -> None:
        buffers = self.state_buffers()
        if len(state["buffers"]) != len(buffers):
            raise ValueError("optimizer state does not match these parameters")
        for dst, src in zip(buffers, state["buffers"]):
            if dst.shape != src.shape:
                raise ValueError("optimizer state does not match these parameters")
            dst[...] = src
        self.steps = int(state["steps"])


class SGD(Optimizer):
    """Stochastic gradient descent, with optional momentum (PyTorch's ``torch.optim.SGD``).

    Without momentum: w <- w - lr * (g + weight_decay * w).
    With ``momentum`` mu > 0 (PyTorch's form): v <- mu*v + g; w <- w - lr*v, and with
    ``nesterov=True`` the step uses g + mu*v (look-ahead). The velocity buffers exist
    from the start when momentum is on, so ``kind`` is "Momentum" and a saved state
    restores into the same kind.
    """

    def __init__(self, params, lr=0.01, momentum=0.0, nesterov=False, weight_decay=0.0, velocity: bool | None = None):
        super().__init__(params, lr)
        self.momentum = check_limit("momentum", momentum)
        self.nesterov = bool(nesterov)
        self.weight_decay = check_limit("weight_decay", weight_decay)
        # ``velocity=True`` keeps the buffers even at momentum 0 (the Momentum optimizer, whose
        # momentum a learner may turn down to 0 and up again while it trains).
        keep = self.momentum > 0 if velocity is None else bool(velocity)
        if self.nesterov and not keep:
            raise ValueError("Nesterov momentum needs a momentum above 0")
        self.velocity: list[np.ndarray] | None = [np.zeros_like(p.data) for p in self.params] if keep else None

    @property
    def kind(self) -> str:  # type: ignore[override]
        return "Momentum" if self.velocity is not None else "SGD"

    def step(self):
        lr, mu = self.lr, self.momentum
        if self.velocity is None:
            for p in self.params:
                if self.weight_decay:
                    p.grad += self.weight_decay * p.data
                p.data -= p.grad.dtype.type(lr) * p.grad
            self.steps += 1
            return
        for p, v in zip(self.params, self.velocity):
            g = p.grad
            if self.weight_decay:
                g += self.weight_decay * p.data
            v *= mu
            v += g
            if self.nesterov:
                g += mu * v
                p.data -= g.dtype.type(lr) * g
            else:
                p.data -= v.dtype.type(lr) * v
        self.steps += 1

    def hyperparameters(self):
        hp = {**super().hyperparameters(), "weight_decay": self.weight_decay}
        if self.velocity is not None:
            hp.update(momentum=self.momentum, nesterov=self.nesterov)
        return hp

    def state_buffers(self):
        return self.velocity if self.velocity is not None else []


def Momentum(params, lr=0.01, momentum=0.9, nesterov=False, weight_decay=0.0) -> SGD:
    """SGD with momentum (0.9 unless given): the course's name for ``SGD(momentum=...)``."""
    return SGD(params, lr=lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay, velocity=True)


class Adam(Optimizer):
    """Adam (Kingma & Ba) with bias correction.

    ``weight_decay`` is decoupled (AdamW): w <- w - lr*wd*w, applied before the
    Adam step, so it does not pass through the adaptive scaling.
    """

    kind = "Adam"

    def __init__(self, params, lr=0.001, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, lr)
        self.betas = (check_limit("beta1", betas[0]), check_limit("beta2", betas[1]))
        self.eps = check_limit("eps", eps)
        self.weight_decay = check_limit("weight_decay", weight_decay)
        self.m = [np.zeros_like(p.data) for p in self.params]
        self.v = [np.zeros_like(p.data) for p in self.params]
        self._tmp = [np.empty_like(p.data) for p in self.params]

    def step(self):
        self.steps += 1
        b1, b2 = self.betas
        t = self.steps
        bc1 = 1.0 - b1**t
        bc2 = 1.0 - b2**t
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
        return {
            **super().hyperparameters(),
            "betas": list(self.betas),
            "eps": self.eps,
            "weight_decay": self.weight_decay,
        }

    def state_buffers(self):
        return self.m + self.v

    def scratch_buffers(self):
        return self._tmp


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
