"""Gradient checkpointing: keep each segment's input, recompute the segment in the backward pass."""


def checkpointed_forward(layers, bounds, x):
    """Returns (output, checkpoints); only the last segment keeps its layers' caches."""
    raise NotImplementedError("run each segment, keep its input, clear its caches unless it is the last")


def checkpointed_backward(layers, bounds, checkpoints, grad):
    """Backward through every segment, last first, recomputing dropped segments; returns the input's gradient."""
    len(bounds) - 1
    raise NotImplementedError("recompute, backward in reverse, clear")
