"""Exponential-smoothing distance: how much of a trained unit's states a smoothing of its input explains.

``gru_reset_zero`` (r ≡ 0) computes an exponential smoothing with changing weights: the candidate reads only the
input, and z_t sets how much of it enters the state::

    ĥ_t = φ_h(W_h x_t + b_h)                  the candidate of the r ≡ 0 unit
    s_t = (1 − z_t) ⊙ s_{t−1} + z_t ⊙ ĥ_t       s_0 = 0, with the trained layer's own z_t

The diagnostic fits W_h, b_h of this smoothing to the trained layer's states h_t (least squares over every step,
sequence and unit; L-BFGS from the trained W_h, b_h) and reports the explained variance 1 − Σ(h − s)² / Σ(h − h̄)².
Close to 1: on this task the unit behaves like exponential smoothing with changing weights; far below: its
candidate needs the past (r, U_h) in a way no input-only candidate replaces.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from .._errors import InputError
from ..layers import GRU
from .gates import gate_statistics


@dataclass(frozen=True)
class SmoothingFit:
    """Attributes:
        explained_variance: of the states h_t by the fitted smoothing, over all (step, sequence, unit).
        clamp_explained_variance: the same before fitting (the trained W_h, b_h with r ≡ 0).
        per_unit: (H,) explained variance of each unit's states after the fit.
    """

    explained_variance: float
    clamp_explained_variance: float
    per_unit: Tensor


def _explained_variance(states: Tensor, fitted: Tensor, dims: tuple[int, ...] | None = None) -> Tensor:
    """1 − Σ(h − s)² / Σ(h − h̄)², the means taken per unit over steps and sequences."""
    centred = states - states.mean(dim=(0, 1), keepdim=True)
    if dims is None:
        return 1 - (states - fitted).pow(2).sum() / centred.pow(2).sum().clamp_min(1e-300)
    return 1 - (states - fitted).pow(2).sum(dims) / centred.pow(2).sum(dims).clamp_min(1e-300)


def smoothing_fit(layer: GRU, x: Tensor, iterations: int = 20) -> SmoothingFit:
    """Fit the smoothing above to the states of layer 0 over batch-first ``x`` (B, T, I); float64 inside."""
    spec = layer.options.spec
    if "z" not in spec.gates or not spec.carry:
        raise InputError(f"layer: the exponential-smoothing distance needs an update gate z and the carry "
                         f"(1 − z) ⊙ h; variant {layer.options.variant!r} has "
                         f"{'no carry' if 'z' in spec.gates else 'no update gate'}", "layer")
    layout, params = layer.layouts[0], layer.cell_params(0, 0)
    hidden = layout.hidden_size
    trained = gate_statistics(layer, x)
    z_all, states = trained.z.double(), trained.states.double()               # (T, B, H)
    with torch.no_grad():
        bias = layout.input_bias(params)
        w_h = params.weight_ih[-hidden:].detach().double().clone()
        b_h = bias[-hidden:].detach().double().clone() if bias is not None else torch.zeros(hidden, dtype=torch.float64)
    inputs = x.detach().double().transpose(0, 1)                              # (T, B, I)
    w_h.requires_grad_(True)
    b_h.requires_grad_(True)
    phi = layout.phi

    def smoothed() -> Tensor:
        candidates = phi(F.linear(inputs, w_h, b_h))
        s, out = torch.zeros_like(states[0]), []
        for t in range(len(candidates)):
            s = torch.lerp(s, candidates[t], z_all[t])
            out.append(s)
        return torch.stack(out)

    with torch.no_grad():
        before = float(_explained_variance(states, smoothed()))
    optimiser = torch.optim.LBFGS([w_h, b_h], max_iter=iterations, line_search_fn="strong_wolfe")

    def closure() -> Tensor:
        optimiser.zero_grad()
        loss = (smoothed() - states).pow(2).mean()
        loss.backward()
        return loss

    optimiser.step(closure)
    with torch.no_grad():
        fitted = smoothed()
        after = float(_explained_variance(states, fitted))
        per_unit = _explained_variance(states, fitted, dims=(0, 1))
    return SmoothingFit(after, before, per_unit.float())
