"""The step Jacobian ∂state_t/∂state_{t−1} along a trajectory: its spectral radius and largest singular values."""

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
    """Jacobians of layer 0's step with respect to its whole state along the trajectory of the single sequence
    ``x`` (T, I): ∂h_t/∂h_{t−1} (H × H) for the GRU family, ∂(h_t, c_t)/∂(h_{t−1}, c_{t−1}) (2H × 2H) for the
    LSTM, whose cell state is its carry path — so the two families' spectra are comparable. The trajectory first,
    then every step's Jacobian at once."""
    layout, params = layer.layouts[0], layer.cell_params(0, 0)
    step, bias = bind_step(layout, params), layout.input_bias(params)
    with torch.no_grad():
        xw = F.linear(x, params.weight_ih, bias)                              # (T, ·)
        after = recurrence_trace(x.unsqueeze(1), None, layout, params).states
        start = layout.cell.zero_state(layout.hidden_size, x[:1])
        before = [start] + [tuple(s) for s in after[:-1]]                    # the state each step starts from
        prev = tuple(torch.cat(parts) for parts in zip(*before, strict=True))   # each (T, H)

    # Every step's Jacobian at once: the T steps are rows of one batch, so the gradient of output unit j summed
    # over rows is row j of each step's Jacobian (S·H backward passes; torch.func costs ~1 s to warm up here).
    with torch.enable_grad():
        inputs = tuple(p.detach().requires_grad_(True) for p in prev)
        out = torch.cat(step(xw, inputs), dim=-1)                            # (T, S·H)
        size = out.shape[-1]
        rows = [torch.cat(torch.autograd.grad(out[:, j].sum(), inputs, retain_graph=j + 1 < size), dim=-1)
                for j in range(size)]
    with torch.no_grad():
        jac = torch.stack(rows, dim=1)                    # (T, S·H, S·H): [t, j, k] = ∂state_t,j / ∂state_t−1,k
        radius = torch.linalg.eigvals(jac).abs().amax(dim=-1)
        singular = torch.linalg.svdvals(jac)[:, :top]
    return JacobianSpectrum(radius, singular)
