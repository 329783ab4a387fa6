"""The options of a recurrent cell, as one frozen, validated config."""

from __future__ import annotations

from dataclasses import dataclass

from .._errors import unknown_name
from ..registry import VariantSpec, get_variant
from .activations import CANDIDATE_ACTIVATIONS, GATE_ACTIVATIONS, resolve

RESET_PLACEMENTS = ("before", "after")


@dataclass(frozen=True)
class CellOptions:
    """What a cell computes (the sizes live with the layer).

    Attributes:
        variant: a name from ``gatelab.variants()``.
        reset: where r acts. ``"before"``: ĥ = φ_h(W_h x + U_h (r ⊙ h) + b_h) — the seed text, Cho et al. 2014,
            Keras ``reset_after=False``. ``"after"``: ĥ = φ_h(W_h x + b_h + r ⊙ (U_h h + b_hh)) — cuDNN,
            PyTorch and the Keras default, with an extra recurrent bias b_hh. Irrelevant (and ignored) for
            variants without a learned r and for the LSTM.
        gate_activation: σ_g, ``"sigmoid"`` or ``"hard_sigmoid"``.
        candidate_activation: φ_h, ``"tanh"``, ``"identity"`` or ``"relu"``; None takes the variant's default
            (``tanh``, except ``identity`` for ``min_gru`` as in Feng et al. 2024).
    """

    variant: str = "gru"
    reset: str = "before"
    gate_activation: str = "sigmoid"
    candidate_activation: str | None = None

    def __post_init__(self) -> None:
        spec = get_variant(self.variant)
        if self.reset not in RESET_PLACEMENTS:
            raise unknown_name("reset", self.reset, RESET_PLACEMENTS)
        object.__setattr__(self, "gate_activation",
                           resolve("gate_activation", self.gate_activation, GATE_ACTIVATIONS))
        candidate = spec.candidate_activation if self.candidate_activation is None else self.candidate_activation
        object.__setattr__(self, "candidate_activation",
                           resolve("candidate_activation", candidate, CANDIDATE_ACTIVATIONS))

    @property
    def spec(self) -> VariantSpec:
        return get_variant(self.variant)

    @property
    def has_reset_bias(self) -> bool:
        """Whether the cell owns the extra recurrent bias b_hh (reset after, with an r that is not constant)."""
        return self.reset == "after" and self.spec.reset_learned
