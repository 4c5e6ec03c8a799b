"""A network or batch that cannot fit in the memory available is refused up front, with the estimate."""

from __future__ import annotations

import resource

import pytest

from nnstudio.core import limits
from nnstudio.core.limits import LimitError, MemoryLimitError, available_memory, memory_problem
from nnstudio.core.training.config import RunConfig


def test_the_problem_says_the_estimate_and_what_is_available():
    gib = 1 << 30
    assert memory_problem(gib, "this", available=4 * gib) == ""
    assert memory_problem(3 * gib, "this", available=4 * gib) == (
        "this would need about 3.0 GiB, more than half of the 4.0 GiB of memory available"
    )


def test_a_huge_network_is_refused_with_its_estimate():
    cfg = RunConfig(hidden=[65536, 65536])
    est = cfg.estimate_bytes(784, 10).total
    assert est > 100 << 30  # weights alone are 17 GB; Adam's state, gradients and snapshots several times that
    problem = cfg.memory_problem(784, 10)
    assert problem.startswith("training 784-65536-65536-10 at batch size 128 with adam would need about ")
    with pytest.raises(MemoryLimitError) as info:
        cfg.check_memory(784, 10)
    assert isinstance(info.value, LimitError)  # every surface already reports LimitError as one line
    assert RunConfig(hidden=[128]).memory_problem(784, 10) == ""


def test_a_huge_batch_is_refused_too(monkeypatch):
    monkeypatch.setattr(limits, "available_memory", lambda: 8 << 30)
    cfg = RunConfig(hidden=[4096], batch_size=1_000_000)
    assert "at batch size 1000000" in cfg.memory_problem(784, 10)
    assert RunConfig(hidden=[4096], batch_size=128).memory_problem(784, 10) == ""


def test_the_address_space_limit_counts_as_unavailable(monkeypatch):
    free_here = available_memory()
    monkeypatch.setattr(resource, "getrlimit", lambda which: (1 << 31, 1 << 31))
    limited = available_memory()
    assert limited < min(free_here, 1 << 31)
