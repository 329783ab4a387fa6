"""Constructive witnesses: hand-set weights with which a variant meets a task's criterion — "can represent it".

A study can only show that a variant *did not learn* a task; whether it *can* is a separate question, settled
here by construction. Each :class:`Witness` builds a :class:`~gatelab.layers.SequenceModel` of its variant with
weights set by hand (its ``construction`` says how); the test suite checks every witness meets its task's
criterion at the presets' sizes (tests/diagnostics/test_witnesses.py). The report cites them: "min_gru can
represent adding (witness: …) but did not learn it in 10 of 10 seeds". No claim that a variant *cannot* do a task
is made without such an argument.

Notation: K a large gate pre-activation (σ(±K) ≈ 1 or 0; the leak per step is about e^{−K}), k the candidate's
slope (tanh(k) ≈ 1).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from ..layers import SequenceModel

K = 30.0          # gate saturation
SLOPE = 8.0       # candidate slope: tanh(8) = 1 − 2.3e−7
SCALE = 40.0      # read-out logit scale


@dataclass(frozen=True)
class Witness:
    """Hand-set weights with which ``variant`` meets ``task``'s criterion (for any length of the task)."""

    variant: str
    task: str
    construction: str
    build: Callable[[int, int], SequenceModel]          # (input size, output size) → the model


def _model(variant: str, inputs: int, hidden: int, outputs: int) -> SequenceModel:
    model = SequenceModel(variant, inputs, hidden, outputs, readout="all" if outputs == 2 else "last")
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
    return model


def _saturated_adding(inputs: int, outputs: int) -> SequenceModel:
    """Two units whose update gate opens only at a marker: z = σ(K·m − K) (½ at a marker) and σ(2K·m − K) (1 at a
    marker), both with candidate ĥ = value. After the two markers the units hold ¼v₁ + ½v₂ and v₂; the read-out
    4·h₁ − h₂ = v₁ + v₂."""
    model = _model("min_gru", inputs, 2, outputs)
    with torch.no_grad():
        p = model.rnn.seed_params()
        p["W_z"][:, 1] = torch.tensor([K, 2 * K])
        p["b_z"][:] = torch.tensor([-K, -K])
        p["W_h"][:, 0] = 1.0
        model.head.weight[0] = torch.tensor([4.0, -1.0])
    return model


def _flip(variant: str, reset_symbol: bool) -> Callable[[int, int], SequenceModel]:
    """One unit holding the parity: state ≈ 0 (even) or ≈ 1 (odd). A 1 opens z (z = σ(K)) onto the candidate
    ĥ = tanh(k − k·h), which maps 0 → 1 and 1 → 0; a 0 closes it (z = σ(−K)). With a RESET symbol, z opens and the
    candidate is driven to tanh(−M) = −1, a state the read-out also calls even (it reads h > ½ as odd). r, where
    the variant has it, stays open (r = σ(K)); the MGU's shared gate is z itself, open exactly when it matters."""

    def build(inputs: int, outputs: int) -> SequenceModel:
        model = _model(variant, inputs, 1, outputs)
        with torch.no_grad():
            p = model.rnn.seed_params()
            p["W_z"][0, :3 if reset_symbol else 2] = torch.tensor([-K, K, K][:3 if reset_symbol else 2])
            if "b_r" in p:
                p["b_r"][:] = K
            p["U_h"][:] = -SLOPE
            p["b_h"][:] = SLOPE
            if reset_symbol:
                p["W_h"][0, 2] = -4 * SLOPE
            model.head.weight[:, 0] = torch.tensor([-SCALE, SCALE])
            model.head.bias[:] = torch.tensor([SCALE / 2, -SCALE / 2])
        return model

    return build


WITNESSES: dict[tuple[str, str], Witness] = {(w.variant, w.task): w for w in (
    Witness("min_gru", "adding", "two saturated units, z opening to ½ and to 1 at a marker, read out as 4h₁ − h₂",
            _saturated_adding),
    *(Witness(v, "parity", "one unit flipped by a 1 through z and the candidate tanh(k − k·h); r open",
              _flip(v, False)) for v in ("gru", "gru_no_reset", "mgu")),
    *(Witness(v, "reset_token", "the parity unit, with RESET opening z onto a candidate of −1 (read as even)",
              _flip(v, True)) for v in ("gru", "gru_no_reset")),
)}


def witness_for(variant: str, task: str) -> Witness | None:
    """The witness that ``variant`` can represent ``task``, if gatelab has one."""
    return WITNESSES.get((variant, task))
