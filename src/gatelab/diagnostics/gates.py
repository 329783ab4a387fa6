"""What the gates do on data: their values over time and units, and the time scale each unit keeps."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from ..cells import gru_gates, gru_mix, gru_plan, gru_step_weights, lstm_gates
from ..layers import GRU, LSTM


@dataclass(frozen=True)
class GateStatistics:
    """Gates of layer 0 (first direction) over a batch.

    Attributes:
        gates: name → (T, B, H) values: ``z`` and ``r`` for the GRU family (absent where the variant has no
            such gate), ``i``, ``f`` and ``o`` for the LSTM.
        time_scale: (H,) the steps each unit keeps its past: τ_i = 1 / mean_t z_i in the seed's convention
            (z is the share of the new candidate, so small z = long memory), τ_i = 1 / mean_t (1 − f_i) for
            the LSTM (1 − f is the share of the cell state it forgets). None without such a gate.
        r_closed, r_open: the share of (unit, step) pairs with r < 0.1 and with r > 0.9; None without r.
        states: (T, B, H) the states h_1 … h_T the gates produced.
    """

    gates: dict[str, Tensor]
    time_scale: Tensor | None
    r_closed: float | None
    r_open: float | None
    states: Tensor

    @property
    def z(self) -> Tensor | None:
        return self.gates.get("z")

    @property
    def r(self) -> Tensor | None:
        return self.gates.get("r")


@torch.no_grad()
def gate_statistics(layer: GRU | LSTM, x: Tensor) -> GateStatistics:
    """Run layer 0 over batch-first ``x`` (B, T, I) and collect its gates at every step."""
    layout, params = layer.layouts[0], layer.cell_params(0, 0)
    xw_all = F.linear(x, params.weight_ih, layout.input_bias(params))        # (B, T, ·)
    h = x.new_zeros(x.shape[0], layout.hidden_size)
    steps: dict[str, list[Tensor]] = {}
    states = []
    if layout.options.spec.family == "lstm":
        c = torch.zeros_like(h)
        for t in range(x.shape[1]):
            i, f, g, o = lstm_gates(xw_all[:, t], h, params.weight_hh, layout.sigma, layout.phi)
            c = f * c + i * g
            h = o * layout.phi(c)
            states.append(h)
            for name, value in (("i", i), ("f", f), ("o", o)):
                steps.setdefault(name, []).append(value)
        gates = {name: torch.stack(values) for name, values in steps.items()}
        return GateStatistics(gates, 1.0 / (1.0 - gates["f"]).mean(dim=(0, 1)), None, None, torch.stack(states))
    weights, plan = gru_step_weights(layout, params), gru_plan(layout)
    for t in range(x.shape[1]):
        z, r, candidate = gru_gates(xw_all[:, t], h, weights, plan)
        h = gru_mix(h, z, candidate, plan)
        states.append(h)
        for name, value in (("z", z), ("r", r)):
            if value is not None:
                steps.setdefault(name, []).append(value)
    gates = {name: torch.stack(values) for name, values in steps.items()}
    r = gates.get("r")
    return GateStatistics(gates, 1.0 / gates["z"].mean(dim=(0, 1)) if "z" in gates else None,
                          float((r < 0.1).float().mean()) if r is not None else None,
                          float((r > 0.9).float().mean()) if r is not None else None, torch.stack(states))
