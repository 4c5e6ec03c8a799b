# A typical mistake: the check must name it.
# mistake: no_bias_correction
# expect: no bias correction
"""One step of Adam (with bias correction)."""

import numpy as np


def adam_step(w, g, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    """Returns (new_w, new_m, new_v); t is the step number, starting at 1."""
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    m_hat = m
    v_hat = v
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), m, v
