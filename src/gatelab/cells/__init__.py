"""One step of maths per cell, plus how their parameters are laid out and converted.

Nothing here loops over time; :mod:`gatelab.ops` does.
"""

from __future__ import annotations

from .gru import GateValues, gru_gates, gru_mix, gru_plan, gru_step, gru_step_weights
from .interface import CELLS, Cell, GatedStep, State, Step, cell_of
from .layout import CellLayout, CellParams
from .lstm import LSTMGates, lstm_gates, lstm_step
from .options import CellOptions


def bind_step(layout: CellLayout, params: CellParams) -> Step:
    """The step of this layout with its weights bound: ``step(xw_t, state) -> state``.

    ``state`` holds the cell's state tensors (``(h,)``, or ``(h, c)`` for the LSTM); ``xw_t`` is the input
    projection ``W x_t + b`` of one step (see :func:`gru_step`). Weight slicing happens here, once per sequence.
    """
    return layout.cell.bind_step(layout, params)


__all__ = ["CELLS", "Cell", "CellLayout", "CellOptions", "CellParams", "GateValues", "GatedStep", "State", "Step",
           "bind_step", "cell_of", "gru_gates", "gru_mix", "gru_plan", "gru_step", "gru_step_weights", "LSTMGates",
           "lstm_gates", "lstm_step"]
