# A typical mistake: the check must name it.
# mistake: old_velocity
# expect: old velocity
"""One step of SGD with momentum (PyTorch's form)."""


def momentum_step(w, g, v, lr, mu):
    """Returns (new_w, new_v) after one step with gradient g, velocity v, learning rate lr, momentum mu."""
    new_v = mu * v + g
    return w - lr * v, new_v
