"""Every hostile input in the corpus (crafted models, damaged datasets, absurd requests, hostile expressions)
ends in one clear line on stderr, a non-zero exit and no traceback, within 1.5 GiB of address space and 45 s,
and leaves the files that are not ours as they were."""

from __future__ import annotations

import os

import pytest

from .hostile_cases import ADDRESS_SPACE, TIMEOUT, cases, run_case

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.mark.parametrize("case", cases(), ids=lambda c: c.name)
def test_hostile_input_ends_in_one_clear_line(case, tmp_path):
    result = run_case(case, tmp_path, ROOT)
    assert result.returncode is not None, f"still running after {TIMEOUT} s"
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr
    if case.args[:2] == ["data", "verify"]:  # one row per file on stdout: the damaged one says why
        bad = [line for line in result.stdout.splitlines() if line.startswith("BAD") and case.expect in line]
        assert len(bad) == 1, result.stdout
        assert "train-images-idx3-ubyte" in bad[0]
    else:
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith("nnstudio: error: "), lines[0]
        assert case.expect in lines[0], lines[0]
    assert result.peak_rss < ADDRESS_SPACE
    for name, content in case.keep.items():
        assert (tmp_path / name).read_bytes() == content, f"{name} was changed"
