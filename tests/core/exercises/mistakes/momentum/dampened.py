# A typical mistake: the check must name it.
# mistake: dampened
# expect: adds the whole gradient
"""One step of SGD with momentum (PyTorch's form)."""


def momentum_step(w, g, v, lr, mu):
    """Returns (new_w, new_v) after one step with gradient g, velocity v, learning rate lr, momentum mu."""
    v = mu * v + (1 - mu) * g
    return w - lr * v, v
