"""One step of Adam (with bias correction)."""


def adam_step(w, g, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    """Returns (new_w, new_m, new_v); t is the step number, starting at 1."""
    raise NotImplementedError("update m and v, correct their bias, then move w")
