"""One table of valid ranges: every surface refuses the same values with the same sentence."""

import math

import numpy as np
import pytest

from nnstudio.core.limits import LIMITS, LimitError, check, problem
from nnstudio.core.nn import SGD, Adam, Parameter


@pytest.mark.parametrize(
    "name, good, bad",
    [
        ("lr", [1e-6, 0.003, 10], [0, -1, 1e-7, 10.5, 1e9, math.nan, math.inf]),
        ("momentum", [0, 0.9, 0.999], [-0.1, 1.0, 1.5]),
        ("dropout", [0, 0.5, 0.95], [-0.1, 0.96, 1.0]),
        ("batch_size", [1, 128, 60000], [0, -5, 2.5]),
        ("units", [1, 65536], [0, 65537, 1_000_000]),
        ("epochs", [1, 10_000], [0, 10_001]),
    ],
)
def test_ranges(name, good, bad):
    for v in good:
        assert problem(name, v) == "" and check(name, v) == v
    for v in bad:
        message = problem(name, v)
        assert message.startswith(LIMITS[name].label), message
        with pytest.raises(LimitError, match=LIMITS[name].label):
            check(name, v)


def test_the_message_names_the_value_and_the_range():
    assert problem("lr", 1e9) == (
        "learning rate 1,000,000,000 is out of range: it must be in [1e-06, 10] "
        "(above 10 every optimizer here diverges at once)"
    )
    assert problem("momentum", 1.0) == "momentum 1 is out of range: it must be in [0, 1)"
    assert problem("batch_size", 2.5) == "batch size must be a whole number, got 2.5"
    assert problem("lr", "fast") == "learning rate must be a number, got 'fast'"


def test_optimizers_use_the_same_table():
    p = Parameter(np.zeros(3))
    for bad in (0, 1e9, math.nan):
        with pytest.raises(LimitError, match="learning rate"):
            SGD([p], lr=bad)
    with pytest.raises(LimitError, match="beta1"):
        Adam([p], betas=(1.0, 0.999))
    with pytest.raises(LimitError, match="momentum"):
        SGD([p], momentum=1.2)
