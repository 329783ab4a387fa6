"""Clamp tests: how much a trained ``gru`` uses each gate, measured without retraining.

Each clamp evaluates the trained seed parameters under an ablated equation: r ≡ 1 (``gru_no_reset``), r ≡ 0
(``gru_reset_zero``), z ≡ 1 (``gru_no_update``), or U_h = 0 (the candidate's dependence on h removed, r kept).
Under ``reset="before"`` U_h = 0 and r ≡ 0 are the same equation (ĥ = φ(W_h x + b_h) either way), so that clamp
is run only under ``reset="after"``, where r still gates the recurrent bias b_hh.
"""

from __future__ import annotations

import copy

import torch
from torch import Tensor

from .._errors import InputError, unknown_name
from ..layers import GRU, SequenceModel

CLAMPS = {"r=1": "gru_no_reset", "r=0": "gru_reset_zero", "z=1": "gru_no_update", "U_h=0": None}


def clamped(layer: GRU, clamp: str) -> GRU:
    """A copy of a trained layer with one clamp applied (its other parameters unchanged)."""
    if clamp not in CLAMPS:
        raise unknown_name("clamp", clamp, CLAMPS)
    if layer.options.variant != "gru":
        raise InputError(f"layer: expected variant 'gru' (clamps remove one of its gates), got "
                         f"{layer.options.variant!r}")
    if CLAMPS[clamp] is None:
        out = copy.deepcopy(layer)
        with torch.no_grad():
            for k in range(out.num_layers):
                for d in range(out.num_directions):
                    out.seed_params(k, d)["U_h"].zero_()
        return out
    ref = layer.cell_params(0, 0).weight_ih
    o = layer.options
    out = GRU(layer.input_size, layer.hidden_size, layer.num_layers, layer.bias, layer.batch_first, layer.dropout,
              layer.bidirectional, variant=CLAMPS[clamp], reset=o.reset, gate_activation=o.gate_activation,
              candidate_activation=o.candidate_activation, device=ref.device, dtype=ref.dtype)
    with torch.no_grad():
        for k in range(out.num_layers):
            for d in range(out.num_directions):
                source = layer.seed_params(k, d)
                for name, view in out.seed_params(k, d).items():
                    view.copy_(source[name])
    return out


def clamps_of(layer: GRU) -> list[str]:
    """The clamps that are distinct equations for this layer (U_h = 0 is r ≡ 0 under reset="before")."""
    return [c for c in CLAMPS if not (c == "U_h=0" and layer.options.reset == "before")]


@torch.no_grad()
def clamp_tests(model: SequenceModel, task, x: Tensor, target: Tensor) -> dict[str, float]:
    """The task metric of the trained model as it is (``"none"``) and under each clamp."""
    results = {"none": task.evaluate(model(x), target)}
    for clamp in clamps_of(model.rnn):
        variant = copy.deepcopy(model)                      # a shallow copy would share (and change) the layer
        variant.rnn = clamped(model.rnn, clamp)
        results[clamp] = task.evaluate(variant(x), target)
    return results
