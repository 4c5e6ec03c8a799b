"""A curve that keeps a fixed memory budget however long it grows.

A training session can run for hours (a million steps and more); keeping one loss per step
grows without bound. :class:`DecimatedSeries` keeps at most ``capacity`` points, as a
multi-resolution curve (an exponential histogram): every stored point is the mean of ``2**j``
consecutive raw points, ``j`` growing with age, and each resolution keeps up to ``per_level``
points. When the buffer is full, the oldest points of each over-full resolution are merged
pairwise into the next coarser one. So the newest steps are at full resolution, the older half
of the session is still ``per_level`` points, the quarter before it as many again, and so on:
the whole curve keeps its shape (level, trend, a lasting rise) on any zoom a chart shows, while
a single-batch spike long ago is averaged with its neighbours. Every point keeps its own x (the
mean step number of what it stands for), so the curve is drawn in the right place. A NaN stays
NaN when merged: a diverged step remains visible.

The memory is three float64 arrays of ``capacity`` entries (the default 16,384 points: 384 KiB),
allocated once.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

DEFAULT_CAPACITY = 16_384


class DecimatedSeries:
    """``(x, y)`` points, at most ``capacity`` of them, the older ones merged (see the module docstring)."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY, per_level: int | None = None):
        capacity = int(capacity)
        if capacity < 16:
            raise ValueError(f"capacity must be at least 16 points, got {capacity}")
        self.capacity = capacity
        self.per_level = max(4, int(per_level) if per_level else capacity // 32)
        self._x = np.empty(capacity, dtype=np.float64)
        self._y = np.empty(capacity, dtype=np.float64)
        self._w = np.empty(capacity, dtype=np.float64)  # how many raw points each one stands for
        self.n = 0  # points stored
        self.added = 0  # raw points ever added

    def __len__(self) -> int:
        return self.n

    @property
    def decimated(self) -> bool:
        """True once older points have been merged (the curve is no longer one point per x)."""
        return self.added != self.n

    def append(self, x: float, y: float) -> None:
        """One point (the trainer's hot path: three array writes)."""
        if self.n == self.capacity:
            self._compact()
        n = self.n
        self._x[n] = x
        self._y[n] = y
        self._w[n] = 1.0
        self.n = n + 1
        self.added += 1

    def extend(self, x: Iterable[float], y: Iterable[float]) -> None:
        xs = np.asarray(x, dtype=np.float64).ravel()
        ys = np.asarray(y, dtype=np.float64).ravel()
        if len(xs) != len(ys):
            raise ValueError("x and y differ in length")
        i = 0
        while i < len(ys):
            if self.n == self.capacity:
                self._compact()
            m = min(len(ys) - i, self.capacity - self.n)
            n = self.n
            self._x[n : n + m] = xs[i : i + m]
            self._y[n : n + m] = ys[i : i + m]
            self._w[n : n + m] = 1.0
            self.n = n + m
            self.added += m
            i += m

    def _compact(self) -> None:
        """Merge the oldest points of every over-full resolution into the next coarser one."""
        x, y, w = self._x[: self.n], self._y[: self.n], self._w[: self.n]
        # Weights do not increase from old to new, so each resolution is one contiguous block.
        starts = np.r_[0, np.flatnonzero(np.diff(w)) + 1]
        blocks = [(x[a:b].copy(), y[a:b].copy(), w[a:b].copy()) for a, b in zip(starts, np.r_[starts[1:], self.n])]
        blocks.reverse()  # finest (newest) first
        k = self.per_level
        Block = tuple[np.ndarray, np.ndarray, np.ndarray]
        out: list[Block] = []
        carry: Block | None = None  # points merged from a finer resolution, newer than the block they join
        while blocks or carry is not None:
            if carry is None:
                bx, by, bw = blocks.pop(0)
            elif blocks and blocks[0][2][0] == carry[2][0]:
                older = blocks.pop(0)
                bx, by, bw = (np.r_[older[0], carry[0]], np.r_[older[1], carry[1]], np.r_[older[2], carry[2]])
            else:  # the merged points start a resolution of their own
                bx, by, bw = carry
            carry = None
            if len(bx) > k:
                m = len(bx) - k // 2
                m -= m % 2
                with np.errstate(invalid="ignore", over="ignore"):
                    carry = (
                        0.5 * (bx[0:m:2] + bx[1:m:2]),
                        0.5 * (by[0:m:2] + by[1:m:2]),
                        bw[0:m:2] + bw[1:m:2],
                    )
                bx, by, bw = bx[m:], by[m:], bw[m:]
            out.append((bx, by, bw))
        out.reverse()  # oldest first again
        x = np.concatenate([b[0] for b in out])
        y = np.concatenate([b[1] for b in out])
        w = np.concatenate([b[2] for b in out])
        excess = len(x) - (self.capacity - k)
        if excess > 0:  # safety net for a tiny capacity: merge the oldest pairs, weighted by what they stand for
            m = min(2 * excess, len(x) - len(x) % 2)
            w0, w1 = w[0:m:2], w[1:m:2]
            with np.errstate(invalid="ignore", over="ignore"):
                mx = (w0 * x[0:m:2] + w1 * x[1:m:2]) / (w0 + w1)
                my = (w0 * y[0:m:2] + w1 * y[1:m:2]) / (w0 + w1)
            x, y, w = np.r_[mx, x[m:]], np.r_[my, y[m:]], np.r_[w0 + w1, w[m:]]
        n = len(x)
        self._x[:n], self._y[:n], self._w[:n] = x, y, w
        self.n = n

    def clear(self) -> None:
        self.n = 0
        self.added = 0

    def view(self) -> tuple[np.ndarray, np.ndarray]:
        """The stored points (views, no copy; valid until the next append)."""
        return self._x[: self.n], self._y[: self.n]

    @property
    def x(self) -> np.ndarray:
        return self._x[: self.n]

    @property
    def y(self) -> np.ndarray:
        return self._y[: self.n]

    @property
    def weights(self) -> np.ndarray:
        """How many raw points each stored point stands for (1 where nothing was merged)."""
        return self._w[: self.n]

    @property
    def nbytes(self) -> int:
        return self._x.nbytes + self._y.nbytes + self._w.nbytes
