"""One step of stochastic gradient descent."""


def sgd_step(w, g, lr):
    """The weights after one step against the gradient g, with learning rate lr."""
    raise NotImplementedError("move w a small step downhill")
