"""THE place where recurrent variants are declared (the task battery registers itself in :mod:`gatelab.tasks`).

A variant is data: a frozen :class:`VariantSpec` saying which gates exist, what they read and how the new state
is formed, in the seed's notation (gate order z, r, h; z is the share of the *new* candidate)::

    z_t = σ_g(W_z x_t + U_z h_{t-1} + b_z)
    r_t = σ_g(W_r x_t + U_r h_{t-1} + b_r)
    ĥ_t = φ_h(W_h x_t + U_h (r_t ⊙ h_{t-1}) + b_h)
    h_t = z_t ⊙ ĥ_t + (1 − z_t) ⊙ h_{t-1}

Declaring a variant here enrols it in the layers, the tests (they parametrize over :func:`variants`) and, later,
the CLI and the studies. Nothing else in gatelab branches on a variant's *name*.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ._errors import InputError, unknown_name

UpdateMode = Literal["gate", "one"]
Family = Literal["gru", "lstm"]

# The questions of the seed text a variant helps answer, in the order the report asks them. A variant names its
# question in its spec (``question``); the report groups its comparisons with the reference ``gru`` by them, so
# registering a variant enrols it in the report.
QUESTIONS: dict[str, str] = {
    "reset": "Removing r",
    "update": "Removing z or the carry",
    "simpler": "Simpler units",
    "other": "The other gated unit",
}
REFERENCE_VARIANT = "gru"
ResetMode = Literal["gate", "one", "zero", "update"]


@dataclass(frozen=True)
class VariantSpec:
    """How one recurrent variant computes h_t (see the module docstring for the equations).

    Attributes:
        name: registry key.
        summary: one line: what the variant is and why it is in the lab.
        equations: the variant's equations in seed notation.
        family: ``"gru"`` for every member of the gated-unit family below, ``"lstm"`` for the LSTM.
        update: ``"gate"`` (z is learned) or ``"one"`` (z ≡ 1, so h_t = ĥ_t: no carry path).
        carry: whether h_t keeps ``(1 − z_t) ⊙ h_{t-1}``; False gives h_t = z_t ⊙ ĥ_t.
        reset: ``"gate"`` (r learned), ``"one"`` (r ≡ 1), ``"zero"`` (r ≡ 0: ĥ ignores h) or ``"update"``
            (r is the update gate itself, as in the MGU).
        gate_inputs: what the gates read besides their bias: a subset of ``{"x", "h"}``.
        candidate_activation: the default φ_h of this variant.
        reference: the paper it follows.
        question: the key in :data:`QUESTIONS` of the question this variant answers against ``gru`` (None for
            ``gru`` itself).
    """

    name: str
    summary: str
    equations: str
    family: Family = "gru"
    update: UpdateMode = "gate"
    carry: bool = True
    reset: ResetMode = "gate"
    gate_inputs: frozenset[str] = frozenset({"x", "h"})
    candidate_activation: str = "tanh"
    reference: str = ""
    question: str | None = None

    @property
    def gates(self) -> tuple[str, ...]:
        """The learned gates, in gatelab order (z before r)."""
        learned = []
        if self.family == "gru" and self.update == "gate":
            learned.append("z")
        if self.family == "gru" and self.reset == "gate":
            learned.append("r")
        return tuple(learned)

    @property
    def reset_learned(self) -> bool:
        """Whether r is computed (its own gate, or MGU's shared one) — then ``reset="before"|"after"`` matters."""
        return self.family == "gru" and self.reset in ("gate", "update")

    @property
    def candidate_reads_h(self) -> bool:
        return self.family == "lstm" or self.reset != "zero"

    @property
    def h_independent(self) -> bool:
        """True when no gate and not the candidate reads h_{t-1}: h_t is then linear in h_{t-1}
        (h_t = a_t ⊙ h_{t-1} + b_t with a_t, b_t functions of x only), so a parallel scan applies."""
        gates_read_h = bool(self.gates) and "h" in self.gate_inputs
        return not gates_read_h and not self.candidate_reads_h

    def describe(self) -> str:
        text = f"{self.name}: {self.summary}\n{self.equations}"
        if self.reference:
            text += f"\n[{self.reference}]"
        return text


_REGISTRY: dict[str, VariantSpec] = {}


def register(spec: VariantSpec) -> VariantSpec:
    """Add a variant; a name declared twice is an error."""
    if spec.name in _REGISTRY:
        raise InputError(f"variant: expected a new name, got {spec.name!r} (already registered)", "variant")
    if spec.question is not None and spec.question not in QUESTIONS:
        raise unknown_name("question", spec.question, QUESTIONS)
    if not spec.gate_inputs <= {"x", "h"}:
        raise InputError(f"gate_inputs: expected a subset of {{'x', 'h'}}, got {set(spec.gate_inputs)}", "gate_inputs")
    _REGISTRY[spec.name] = spec
    return spec


def unregister(name: str) -> VariantSpec:
    """Remove a variant (for tests and plugins that register one for a while); returns its spec."""
    get_variant(name)
    return _REGISTRY.pop(name)


def get_variant(name: str) -> VariantSpec:
    """The spec of a registered variant; an unknown name lists the close matches."""
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise unknown_name("variant", name, _REGISTRY) from None


def variants(family: str | None = None) -> list[str]:
    """Names of the registered variants, in declaration order (optionally of one family)."""
    return [n for n, s in _REGISTRY.items() if family is None or s.family == family]


def describe(name: str) -> str:
    """One line on the variant, then its equations in seed notation."""
    return get_variant(name).describe()


_CARRY = "h_t = z_t ⊙ ĥ_t + (1 − z_t) ⊙ h_{t-1}"
_Z = "z_t = σ_g(W_z x_t + U_z h_{t-1} + b_z)"
_R = "r_t = σ_g(W_r x_t + U_r h_{t-1} + b_r)"

register(VariantSpec(
    "gru", "the GRU of the seed text: update gate z, reset gate r",
    f"{_Z}\n{_R}\nĥ_t = φ_h(W_h x_t + U_h (r_t ⊙ h_{{t-1}}) + b_h)\n{_CARRY}",
    reference="Cho et al. 2014, arXiv:1406.1078v3"))
register(VariantSpec(
    "gru_no_reset", "r ≡ 1: is the reset gate needed at all? (Light GRU, UGRNN)",
    f"{_Z}\nĥ_t = φ_h(W_h x_t + U_h h_{{t-1}} + b_h)\n{_CARRY}",
    reset="one", reference="Ravanelli et al. 2018; Collins et al. 2017", question="reset"))
register(VariantSpec(
    "gru_reset_zero", "r ≡ 0: the candidate ignores the past — exponential smoothing with changing weights",
    f"{_Z}\nĥ_t = φ_h(W_h x_t + b_h)\n{_CARRY}",
    reset="zero", reference="the seed text's answer", question="reset"))
register(VariantSpec(
    "gru_no_update", "z ≡ 1: no carry path, a reset-gated Elman RNN",
    f"{_R}\nh_t = ĥ_t = φ_h(W_h x_t + U_h (r_t ⊙ h_{{t-1}}) + b_h)",
    update="one", reference="ablation of Cho et al. 2014", question="update"))
register(VariantSpec(
    "gru_no_carry", "h_t = z_t ⊙ ĥ_t: the proposal in the seed's comments (drop the (1 − z) h_{t-1} term)",
    f"{_Z}\n{_R}\nĥ_t = φ_h(W_h x_t + U_h (r_t ⊙ h_{{t-1}}) + b_h)\nh_t = z_t ⊙ ĥ_t",
    carry=False, reference="the seed text's comments", question="update"))
register(VariantSpec(
    "min_gru", "minGRU: gate and candidate read only x, so the recurrence is linear in h (parallel scan)",
    "z_t = σ_g(W_z x_t + b_z)\nĥ_t = W_h x_t + b_h   (φ_h = identity)\n" + _CARRY,
    reset="zero", gate_inputs=frozenset({"x"}), candidate_activation="identity",
    reference="Feng et al. 2024, arXiv:2410.01201", question="simpler"))
register(VariantSpec(
    "mgu", "minimal gated unit: one gate f serves as both z and r",
    "f_t = σ_g(W_z x_t + U_z h_{t-1} + b_z)   (stored under the z names)\n"
    "ĥ_t = φ_h(W_h x_t + U_h (f_t ⊙ h_{t-1}) + b_h)\nh_t = f_t ⊙ ĥ_t + (1 − f_t) ⊙ h_{t-1}",
    reset="update", reference="Zhou et al. 2016, arXiv:1603.09420", question="simpler"))
register(VariantSpec(
    "gru_gates_h", "gates read only the state (and their bias), not x (GRU1 of Dey & Salem)",
    "z_t = σ_g(U_z h_{t-1} + b_z)\nr_t = σ_g(U_r h_{t-1} + b_r)\n"
    f"ĥ_t = φ_h(W_h x_t + U_h (r_t ⊙ h_{{t-1}}) + b_h)\n{_CARRY}",
    gate_inputs=frozenset({"h"}), reference="Dey & Salem 2017, arXiv:1701.05923", question="simpler"))
register(VariantSpec(
    "gru_gates_bias", "gates are learned constants per unit (GRU3 of Dey & Salem)",
    "z_t = σ_g(b_z)\nr_t = σ_g(b_r)\n"
    f"ĥ_t = φ_h(W_h x_t + U_h (r_t ⊙ h_{{t-1}}) + b_h)\n{_CARRY}",
    gate_inputs=frozenset(), reference="Dey & Salem 2017, arXiv:1701.05923", question="simpler"))
register(VariantSpec(
    "rnn", "the simple (Elman) RNN: no gates",
    "h_t = φ_h(W_h x_t + U_h h_{t-1} + b_h)",
    update="one", reset="one", reference="Elman 1990", question="simpler"))
register(VariantSpec(
    "lstm", "the standard LSTM (forget-gate bias initialised to 1), the other gated unit",
    "i_t = σ_g(W_i x_t + U_i h_{t-1} + b_i)\nf_t = σ_g(W_f x_t + U_f h_{t-1} + b_f)\n"
    "g_t = φ_h(W_g x_t + U_g h_{t-1} + b_g)\no_t = σ_g(W_o x_t + U_o h_{t-1} + b_o)\n"
    "c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t\nh_t = o_t ⊙ φ_h(c_t)",
    family="lstm", reference="Hochreiter & Schmidhuber 1997; Gers et al. 2000; Jozefowicz et al. 2015",
    question="other"))
