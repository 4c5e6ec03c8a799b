# A typical mistake: the check must name it.
# mistake: lr_in_velocity
# expect: velocity includes the learning rate
"""One step of SGD with momentum (PyTorch's form)."""


def momentum_step(w, g, v, lr, mu):
    """Returns (new_w, new_v) after one step with gradient g, velocity v, learning rate lr, momentum mu."""
    v = mu * v + lr * g
    return w - v, v
