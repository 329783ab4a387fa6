"""Gradient flow through time: how much of a signal at step T reaches step t."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from ..layers import GRU, LSTM
from ..ops import recurrence_trace


@dataclass
class StateTrace:
    """The states h_1 … h_T of a layer's first (layer, direction) as separate autograd nodes."""

    states: list[Tensor]          # T × (B, H), each retains its gradient

    @property
    def last(self) -> Tensor:
        return self.states[-1]


def trace_states(layer: GRU | LSTM, x: Tensor) -> StateTrace:
    """Run layer 0, direction 0 over batch-first ``x`` (B, T, I) step by step, keeping every h_t's gradient."""
    states = [state[0] for state in recurrence_trace(x.transpose(0, 1), None, layer.layouts[0],
                                                     layer.cell_params(0, 0)).states]
    for h in states:
        h.retain_grad()
    return StateTrace(states)


def state_sensitivity(layer: GRU | LSTM, x: Tensor, direction: Tensor | None = None) -> Tensor:
    """‖uᵀ ∂h_T/∂h_t‖ for t = 1 … T, averaged over the batch: how much of a unit signal ``u`` (B, H) at the last
    state reaches each earlier state (vector–Jacobian products; ``u`` defaults to a fixed random unit vector)."""
    trace = trace_states(layer, x)
    if direction is None:
        direction = torch.randn(trace.last.shape, generator=torch.Generator().manual_seed(0), dtype=x.dtype)
        direction = direction / direction.norm(dim=-1, keepdim=True)
    (trace.last * direction).sum().backward()
    return torch.stack([h.grad.norm(dim=-1).mean() for h in trace.states]).detach()


def loss_gradient_profile(model, x: Tensor, target: Tensor, loss) -> Tensor:
    """‖∂L/∂h_t‖ for t = 1 … T (batch mean), for a ``SequenceModel`` whose loss reads its last state."""
    trace = trace_states(model.rnn, x)
    output = model.head(trace.last)
    loss(output, target).backward()
    return torch.stack([h.grad.norm(dim=-1).mean() for h in trace.states]).detach()
