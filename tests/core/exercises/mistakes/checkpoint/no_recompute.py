# A typical mistake: the check must name it.
# mistake: no_recompute
# expect: run its layers forward again
"""Gradient checkpointing: keep each segment's input, recompute the segment in the backward pass."""


def checkpointed_forward(layers, bounds, x):
    """Returns (output, checkpoints); only the last segment keeps its layers' caches."""
    checkpoints = []
    last = len(bounds) - 1
    for s, (a, b) in enumerate(bounds):
        checkpoints.append(x)
        for i in range(a, b):
            x = layers[i].forward(x)
        if s < last:
            for i in range(a, b):
                layers[i].clear_cache()
    return x, checkpoints


def checkpointed_backward(layers, bounds, checkpoints, grad):
    """Backward through every segment, last first, recomputing dropped segments; returns the input's gradient."""
    last = len(bounds) - 1
    for s in range(last, -1, -1):
        a, b = bounds[s]
        if False:
            y = checkpoints[s]
            for i in range(a, b):
                y = layers[i].forward(y)
        for i in range(b - 1, a - 1, -1):
            grad = layers[i].backward(grad)
        for i in range(a, b):
            layers[i].clear_cache()
    return grad
