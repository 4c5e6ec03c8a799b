# A typical mistake: the check must name it.
# mistake: no_lr
# expect: ignores the learning rate
"""One step of stochastic gradient descent."""


def sgd_step(w, g, lr):
    """The weights after one step against the gradient g, with learning rate lr."""
    return w - g
