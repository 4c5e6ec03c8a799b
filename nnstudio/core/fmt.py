"""How numbers are written for people, the same on every surface.

Bytes are always binary units named as such (KiB, MiB, GiB: 1 GiB = 2**30 bytes),
as the operating system's tools show memory. A budget someone *types* may use
either kind; :func:`nnstudio.core.memory.parse_budget` reads GB as 10**9 and GiB as 2**30.
"""

from __future__ import annotations

import math


def format_bytes(n: float) -> str:
    """1536 -> '1.5 KiB'; binary units, as the OS tools show them."""
    n = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


def format_seconds(s: float | None) -> str:
    """Time left or taken: '42 s', '3:07'; '–' when unknown."""
    if not s or not math.isfinite(s):
        return "–"
    s = int(round(s))
    return f"{s // 60}:{s % 60:02d}" if s >= 60 else f"{s} s"


def format_loss(v: float | None) -> str:
    """A loss: 4 decimals, or 3 significant digits when it has blown up; '–' when unknown."""
    if v is None:
        return "–"
    if not math.isfinite(v):
        return str(v)
    return f"{v:.4f}" if abs(v) < 1000 else f"{v:.3g}"


def format_rate(samples_per_sec: float) -> str:
    """Samples/s short enough for a metric card: 121,957 -> '122k'."""
    return f"{samples_per_sec / 1000:,.0f}k" if samples_per_sec >= 10000 else f"{samples_per_sec:,.0f}"


def format_number(x: float, digits: int = 4) -> str:
    """A number for explanations: ``digits`` significant digits, scientific only when tiny or huge."""
    if x == 0:
        return "0"
    if not math.isfinite(x):
        return str(x)
    if abs(x) < 1e-3 or abs(x) >= 1e5:
        return f"{x:.{max(1, digits - 1)}e}"
    return f"{x:.{digits}g}"
