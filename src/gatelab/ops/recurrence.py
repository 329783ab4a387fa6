"""Whole-sequence recurrences: ``recurrence`` (input projection hoisted) and its twin ``recurrence_ref``, and
``recurrence_trace``, the reference loop that keeps every step for diagnostics.

The first two have the same signature and give the same numbers (tests/ops/test_recurrence.py). The reference
is the plainest readable loop: project x_t, take one cell step, repeat. The default hoists W x_t + b for all T
steps into one matrix product, so the loop only does the recurrent part. The trace is the one per-step loop that
diagnostics and the bench's naive contender use: every state stays its own autograd node, and the gate values
are kept on request.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor

from ..cells import CellLayout, CellParams, State, Step, bind_step


def recurrence(x: Tensor, state0: State, layout: CellLayout, params: CellParams,
               mask: Tensor | None = None) -> tuple[Tensor, State]:
    """Run one (layer, direction) over a sequence.

    Args:
        x: (T, B, I) input, time first: each step reads one contiguous (B, ·) slab.
        state0: ``(h0,)`` or, for the LSTM, ``(h0, c0)``; each (B, H).
        layout, params: the cell and its tensors.
        mask: optional (T, B) bool, True where a step is real. Past a row's length its state is frozen and its
            outputs are zero, so each row gets the result it would get alone.

    Returns:
        output (T, B, H) and the final state (each (B, H)).
    """
    xw = F.linear(x, params.weight_ih, layout.input_bias(params))            # (T, B, n_x·H), one GEMM
    return _time_loop(bind_step(layout, params), xw.unbind(0), state0, mask)


def recurrence_ref(x: Tensor, state0: State, layout: CellLayout, params: CellParams,
                   mask: Tensor | None = None) -> tuple[Tensor, State]:
    """Reference twin of :func:`recurrence`: the input projection is computed step by step."""
    bias = layout.input_bias(params)
    xws = (F.linear(x_t, params.weight_ih, bias) for x_t in x)
    return _time_loop(bind_step(layout, params), xws, state0, mask)


class StepTrace(NamedTuple):
    """Every step of one (layer, direction): ``states[t]`` is the state after step t (each tensor (B, H), its
    own autograd node); ``gates`` maps a gate name to its (T, B, H) values (empty unless asked for)."""

    states: list[State]
    gates: dict[str, Tensor]

    @property
    def hidden(self) -> Tensor:
        """h_1 … h_T stacked, (T, B, H)."""
        return torch.stack([state[0] for state in self.states])


def recurrence_trace(x: Tensor, state0: State | None, layout: CellLayout, params: CellParams, *,
                     gates: bool = False) -> StepTrace:
    """Run one (layer, direction) over time-major ``x`` (T, B, I) step by step, as :func:`recurrence_ref` does,
    keeping every state (and, with ``gates=True``, every gate value). ``state0`` None starts from zeros."""
    state = layout.cell.zero_state(layout.hidden_size, x[0]) if state0 is None else state0
    xw = F.linear(x, params.weight_ih, layout.input_bias(params))            # (T, B, n_x·H)
    states: list[State] = []
    kept: dict[str, list[Tensor]] = {}
    if gates:
        step = layout.cell.bind_gated_step(layout, params)
        for xw_t in xw:
            state, values = step(xw_t, state)
            states.append(state)
            for name, value in values.items():
                kept.setdefault(name, []).append(value)
    else:
        step_only = layout.cell.bind_step(layout, params)
        for xw_t in xw:
            state = step_only(xw_t, state)
            states.append(state)
    return StepTrace(states, {name: torch.stack(values) for name, values in kept.items()})


def _time_loop(step: Step, xws: Iterable[Tensor], state: State,
               mask: Tensor | None) -> tuple[Tensor, State]:
    masks = mask.unsqueeze(-1).unbind(0) if mask is not None else None      # T × (B, 1)
    outputs = []
    for t, xw in enumerate(xws):
        new = step(xw, state)
        if masks is not None:
            new = tuple(torch.where(masks[t], n, s) for n, s in zip(new, state))
        state = new
        outputs.append(state[0])
    output = torch.stack(outputs)                                           # (T, B, H)
    if mask is not None:
        output = output * mask.unsqueeze(-1).to(output.dtype)
    return output, state


def refuse_double_backward(name: str) -> None:
    """A hand-written backward asked for a graph of its gradient (``create_graph=True``): say so, never guess."""
    if torch.is_grad_enabled():
        raise RuntimeError(f"gatelab backend {name} computes first derivatives only (the backward is written by "
                           "hand, not differentiable twice); use backend='loop' for double backward")
