"""One step of stochastic gradient descent."""


def sgd_step(w, g, lr):
    """The weights after one step against the gradient g, with learning rate lr."""
    return w - lr * g
