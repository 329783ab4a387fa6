"""What the gates do on data: their values over time and units, and the time scale each unit keeps."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from ..layers import GRU, LSTM
from ..ops import recurrence_trace


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
    trace = recurrence_trace(x.transpose(0, 1), None, layout, params, gates=True)
    gates, r = trace.gates, trace.gates.get("r")
    return GateStatistics(gates, layout.cell.time_scale(gates),
                          float((r < 0.1).float().mean()) if r is not None else None,
                          float((r > 0.9).float().mean()) if r is not None else None, trace.hidden)
