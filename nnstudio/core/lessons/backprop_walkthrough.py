"""Where the learner is in one recorded training step.

A :class:`Walkthrough` holds a :class:`~nnstudio.core.lessons.backprop.Trace`, the stop being
shown and the weight whose chain rule is picked. From those it answers what the network looks
like at that stop: which values the forward pass has reached, which gradients the backward pass
has produced, which weights the optimizer has already changed. The backprop page draws these
answers and :mod:`nnstudio.core.lessons.backprop_narration` writes them out; neither keeps any
walk-through state of its own.
"""

from __future__ import annotations

import numpy as np

from nnstudio.core.lessons.backprop import Step, Trace

TINY_LIMIT = 12  # up to this many neurons per layer a network is drawn node by node
NEVER = 10**9  # the stop number of something that never happens


def is_tiny(sizes) -> bool:
    """Small enough to draw every neuron and weight (otherwise the page shows heatmaps)."""
    return max(sizes) <= TINY_LIMIT


class Walkthrough:
    """One traced step, the current stop in it and the picked weight ``selected = (block, i, j)``.

    It lives as long as the chosen network: :meth:`load` of a new trace (Reset, Repeat) keeps the
    weight picked in each layer.
    """

    def __init__(self, trace: Trace | None = None, *, input_names=None, sample_text: str = ""):
        self.trace: Trace | None = None
        self.step = 0
        self.selected: tuple[int, int, int] | None = None
        self.picks: dict[int, tuple[int, int]] = {}  # the weight picked in each layer
        self.input_names: list[str] | None = list(input_names) if input_names else None
        self.sample_text = sample_text  # how the sample is described on the first stop
        self.tiny = True
        # Filled by load(): the stop at which each layer runs forward/backward and each block is updated.
        self._forward: dict[int, int] = {}
        self._backward: dict[int, int] = {}
        self._block_backward: dict[int, int] = {}
        self._update: dict[int, int] = {}
        if trace is not None:
            self.load(trace)

    def load(self, trace: Trace, step: int = 0) -> None:
        """Show ``trace`` from stop ``step``; first pick: the last layer's largest gradient."""
        self.trace = trace
        self.tiny = is_tiny(trace.sizes)
        if self.selected is None or self.selected[0] >= trace.n_blocks:
            b = trace.n_blocks - 1
            self.selected = (b, *trace.interesting_weight(b))
        # The stop at which each layer runs forward/backward and each block is updated.
        self._forward, self._backward, self._block_backward, self._update = {}, {}, {}, {}
        for k, s in enumerate(trace.steps):
            if s.kind == "forward":
                self._forward[s.layer_index()] = k
            elif s.kind == "backward":
                self._backward[s.layer_index()] = k
                self._block_backward.setdefault(s.block_index(), k)
            elif s.kind == "update":
                self._update[s.block_index()] = k
        self.go_to(step)

    def clear(self) -> None:
        """No trace (it could not be recorded); the picks stay for the next one."""
        self.trace = None

    @property
    def loaded_trace(self) -> Trace:
        """The trace being walked through, for what only makes sense with one (``trace`` may be None)."""
        if self.trace is None:
            raise RuntimeError("no trace is loaded: record a step and load() it first")
        return self.trace

    @property
    def picked_weight(self) -> tuple[int, int, int]:
        """``selected``, which the first :meth:`load` sets and no later call clears."""
        if self.selected is None:
            raise RuntimeError("no weight is picked before the first trace is loaded")
        return self.selected

    # -- moving through the stops ------------------------------------------------------------
    @property
    def n_steps(self) -> int:
        return len(self.trace.steps) if self.trace else 0

    @property
    def current(self) -> Step:
        return self.loaded_trace.steps[self.step]

    def go_to(self, step: int) -> None:
        if self.trace is None:
            return
        self.step = max(0, min(self.n_steps - 1, int(step)))
        block = self.current.block
        if block is not None and self.picked_weight[0] != block:
            # The chain rule follows the layer being worked on, remembering each layer's pick.
            self.selected = (block, *self.picks.get(block, self.loaded_trace.interesting_weight(block)))

    def next(self) -> None:
        self.go_to(self.step + 1)

    def previous(self) -> None:
        self.go_to(self.step - 1)

    def to_start(self) -> None:
        self.go_to(0)

    def to_end(self) -> None:
        self.go_to(self.n_steps - 1)

    def select_weight(self, block: int, i: int, j: int) -> None:
        """Pick W[i, j] of Dense block ``block`` for the chain rule (remembered for that layer)."""
        if self.trace is None:
            return
        self.selected = (int(block), int(i), int(j))
        self.picks[self.selected[0]] = self.selected[1:]

    # -- what has happened by the current stop -----------------------------------------------
    def forward_reached(self, layer: int) -> bool:
        """The forward pass has run layer ``layer`` (an index into ``trace.layers``)."""
        return self._forward[layer] <= self.step

    def first_backward_step(self, block: int) -> int:
        """The stop at which the backward pass enters Dense block ``block``."""
        return self._block_backward.get(block, NEVER)

    def backward_reached(self, block: int) -> bool:
        """The backward pass has entered ``block``: its neurons' ∂L/∂z are known."""
        return self.first_backward_step(block) <= self.step

    def gradients_reached(self, block: int) -> bool:
        """The backward pass has set ``block``'s ∂L/∂W and ∂L/∂b."""
        return self._backward[self.loaded_trace.blocks[block][0]] <= self.step

    def updated(self, block: int) -> bool:
        """The optimizer has changed ``block``'s weights."""
        return self._update.get(block, NEVER) <= self.step

    def view_block(self) -> int:
        """The Dense block to show: the one being worked on, else the picked weight's."""
        block = self.current.block
        return block if block is not None else self.picked_weight[0]

    def column_values(self) -> list[tuple[np.ndarray | None, str]]:
        """Per column of neurons: (values, "x"/"z"/"a") once the forward pass has reached it, else (None, "")."""
        t = self.loaded_trace
        out: list[tuple[np.ndarray | None, str]] = [(t.layers[0].x, "x")]
        after = t.layers_after if self.current.kind == "after" else None
        for b in range(t.n_blocks):
            vals, name = None, ""
            for idx in t.blocks[b]:
                if self.forward_reached(idx):
                    # at the last stop the sample has gone through the updated network: show its new values
                    vals = after[idx] if after is not None else t.layers[idx].y
                    name = "z" if idx == t.blocks[b][0] else "a"
            out.append((vals, name))
        return out

    def weights_now(self, block: int) -> np.ndarray:
        """``block``'s weights as they are at this stop (before or after the update)."""
        u = self.loaded_trace.update(block, "W")
        return u.after if self.updated(block) else u.before

    def highlight(self) -> tuple[int, int] | None:
        """The columns of neurons the current stop works on, (first, last)."""
        s, n = self.current, self.loaded_trace.n_blocks
        if s.kind == "input":
            return (0, 0)
        if s.block is not None:
            return (s.block, s.block + 1)
        if s.kind in ("loss", "after"):
            return (n, n)
        return None

    def layer_matrix(self, block: int) -> tuple[np.ndarray, str]:
        """The (in, out) matrix of ``block`` worth looking at now: W, then ∂L/∂W, then Δw."""
        d, phase = self.loaded_trace.dense(block), self.current.phase
        if phase == "backward" and self.gradients_reached(block):
            return d.dW, "∂L/∂W"
        if phase in ("update", "after") and self.updated(block):
            return self.loaded_trace.update(block, "W").delta, "Δw"
        return d.W, "W"

    def step_vector(self) -> tuple[np.ndarray, str]:
        """The vector the current stop produces, and its name."""
        t, s = self.loaded_trace, self.current
        if s.kind == "forward":
            rec = t.layers[s.layer_index()]
            name = "z" if rec.kind == "Dense" else "a"
            return rec.y, f"{name} of layer {s.block_index() + 1}"
        if s.kind == "backward":
            rec = t.layers[s.layer_index()]
            return rec.grad_y, f"∂L/∂{'z' if rec.kind == 'Dense' else 'a'} of layer {s.block_index() + 1}"
        if s.kind == "loss":
            return (t.probs, "probabilities") if t.probs is not None else (t.output, "output")
        if s.kind == "after":
            return (
                (t.probs_after, "probabilities after the update")
                if t.probs_after is not None
                else (t.output_after, "output after the update")
            )
        if s.kind == "update":
            b = s.block_index()
            return t.update(b, "b").delta, f"Δb of layer {b + 1}"
        b = self.picked_weight[0]
        return t.dense(b).y, f"z of layer {b + 1}"
