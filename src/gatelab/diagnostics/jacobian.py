"""The step Jacobian ∂h_t/∂h_{t−1} along a trajectory: its spectral radius and largest singular values."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from ..cells import bind_step
from ..layers import GRU, LSTM
from ..ops import recurrence_trace


@dataclass(frozen=True)
class JacobianSpectrum:
    """Per step t of one sequence: the spectral radius and the top singular values of ∂h_t/∂h_{t−1}.

    Attributes:
        spectral_radius: (T,) max |eigenvalue|.
        singular_values: (T, k) the k largest singular values, descending.
    """

    spectral_radius: Tensor
    singular_values: Tensor


def jacobian_spectrum(layer: GRU | LSTM, x: Tensor, top: int = 3) -> JacobianSpectrum:
    """Jacobians of layer 0's step with respect to h (the LSTM's cell state held fixed) along the trajectory of
    the single sequence ``x`` (T, I): the trajectory first, then every step's Jacobian at once."""
    layout, params = layer.layouts[0], layer.cell_params(0, 0)
    step, bias = bind_step(layout, params), layout.input_bias(params)
    with torch.no_grad():
        xw = F.linear(x, params.weight_ih, bias)                              # (T, ·)
        after = recurrence_trace(x.unsqueeze(1), None, layout, params).states
        start = layout.cell.zero_state(layout.hidden_size, x[:1])
        before = [start] + [tuple(s) for s in after[:-1]]                    # the state each step starts from
        h_prev = torch.cat([s[0] for s in before])                           # (T, H)
        rest = tuple(torch.cat(parts) for parts in zip(*(s[1:] for s in before), strict=True))  # LSTM: c

    # Every step's Jacobian at once: the T steps are rows of one batch, so the gradient of unit j's output summed
    # over rows is row j of each step's Jacobian (H backward passes; torch.func costs ~1 s to warm up here).
    with torch.enable_grad():
        h_in = h_prev.detach().requires_grad_(True)
        out = step(xw, (h_in, *rest))[0]                                     # (T, H)
        rows = [torch.autograd.grad(out[:, j].sum(), h_in, retain_graph=j + 1 < layout.hidden_size)[0]
                for j in range(layout.hidden_size)]
    with torch.no_grad():
        jac = torch.stack(rows, dim=1)                                       # (T, H, H): [t, j, k] = ∂h_t,j/∂h_t−1,k
        radius = torch.linalg.eigvals(jac).abs().amax(dim=-1)
        singular = torch.linalg.svdvals(jac)[:, :top]
    return JacobianSpectrum(radius, singular)
