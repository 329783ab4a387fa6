"""One step of maths per cell, plus how their parameters are laid out and converted.

Nothing here loops over time; :mod:`gatelab.ops` does.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor

from .gru import GateValues, gru_gates, gru_mix, gru_plan, gru_step, gru_step_weights
from .layout import CellLayout, CellParams
from .lstm import LSTMGates, lstm_gates, lstm_step
from .options import CellOptions

State = tuple[Tensor, ...]
Step = Callable[[Tensor, State], State]


def bind_step(layout: CellLayout, params: CellParams) -> Step:
    """The step of this layout with its weights bound: ``step(xw_t, state) -> state``.

    ``state`` is ``(h,)`` for the GRU family and ``(h, c)`` for the LSTM; ``xw_t`` is the input projection
    ``W x_t + b`` of one step (see :func:`gru_step`). Weight slicing happens here, once per sequence.
    """
    if layout.options.spec.family == "lstm":
        u, sigma, phi = params.weight_hh, layout.sigma, layout.phi
        return lambda xw, state: lstm_step(xw, state[0], state[1], u, sigma, phi)
    weights, plan = gru_step_weights(layout, params), gru_plan(layout)
    return lambda xw, state: (gru_step(xw, state[0], weights, plan),)


__all__ = ["CellLayout", "CellOptions", "CellParams", "GateValues", "State", "Step", "bind_step", "gru_gates", "gru_mix",
           "gru_plan", "gru_step", "gru_step_weights", "LSTMGates", "lstm_gates", "lstm_step"]
