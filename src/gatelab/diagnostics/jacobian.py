"""The step Jacobian ∂h_t/∂h_{t−1} along a trajectory: its spectral radius and largest singular values."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from ..cells import bind_step
from ..layers import GRU, LSTM


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
    the single sequence ``x`` (T, I)."""
    layout, params = layer.layouts[0], layer.cell_params(0, 0)
    step, bias = bind_step(layout, params), layout.input_bias(params)
    hidden = layout.hidden_size
    h = x.new_zeros(1, hidden)
    c = x.new_zeros(1, hidden)
    lstm = layout.options.spec.family == "lstm"
    radii, singular = [], []
    with torch.no_grad():
        for t in range(x.shape[0]):
            xw = F.linear(x[t:t + 1], params.weight_ih, bias)

            def h_next(h_prev: Tensor) -> Tensor:
                state = (h_prev.unsqueeze(0), c) if lstm else (h_prev.unsqueeze(0),)
                return step(xw, state)[0].squeeze(0)

            with torch.enable_grad():
                jac = torch.autograd.functional.jacobian(h_next, h.squeeze(0))   # (H, H)
            radii.append(torch.linalg.eigvals(jac).abs().max())
            singular.append(torch.linalg.svdvals(jac)[:top])
            state = step(xw, (h, c) if lstm else (h,))
            h = state[0]
            if lstm:
                c = state[1]
    return JacobianSpectrum(torch.stack(radii), torch.stack(singular))
