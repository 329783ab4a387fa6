"""What the gates do on data: their values over time and units, and the time scale each unit keeps."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from ..cells import gru_gates, gru_mix, gru_plan, gru_step_weights
from ..layers import GRU


@dataclass(frozen=True)
class GateStatistics:
    """Gates of layer 0 over a batch (seed convention: z is the share of the new candidate).

    Attributes:
        z, r: (T, B, H) gate values, or None where the variant has no such gate.
        time_scale: (H,) τ_i = 1 / mean_t z_i — small z keeps the past, so τ is the unit's memory in steps;
            None without z.
        r_closed, r_open: the share of (unit, step) pairs with r < 0.1 and with r > 0.9; None without r.
    """

    z: Tensor | None
    r: Tensor | None
    time_scale: Tensor | None
    r_closed: float | None
    r_open: float | None


@torch.no_grad()
def gate_statistics(layer: GRU, x: Tensor) -> GateStatistics:
    """Run layer 0 over batch-first ``x`` (B, T, I) and collect z and r at every step."""
    if layer.options.spec.family != "gru":
        raise ValueError(f"layer: expected a GRU-family variant (gates z, r), got {layer.options.variant!r}")
    layout, params = layer.layouts[0], layer.cell_params(0, 0)
    weights, plan = gru_step_weights(layout, params), gru_plan(layout)
    h = x.new_zeros(x.shape[0], layout.hidden_size)
    zs, rs = [], []
    for t in range(x.shape[1]):
        xw = F.linear(x[:, t], params.weight_ih, layout.input_bias(params))
        z, r, candidate = gru_gates(xw, h, weights, plan)
        h = gru_mix(h, z, candidate, plan)
        zs.append(z)
        rs.append(r)
    z_all = torch.stack(zs) if zs[0] is not None else None
    r_all = torch.stack(rs) if rs[0] is not None else None
    time_scale = 1.0 / z_all.mean(dim=(0, 1)) if z_all is not None else None
    return GateStatistics(z_all, r_all, time_scale,
                          float((r_all < 0.1).float().mean()) if r_all is not None else None,
                          float((r_all > 0.9).float().mean()) if r_all is not None else None)
