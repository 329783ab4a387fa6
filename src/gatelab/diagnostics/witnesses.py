"""Constructive witnesses: hand-set weights with which a variant meets a task's criterion — "can represent it".

A study can only show that a variant *did not learn* a task; whether it *can* is a separate question, settled
here by construction. Each :class:`Witness` builds a :class:`~gatelab.layers.SequenceModel` of its variant with
weights set by hand (its ``construction`` says how); the test suite checks every witness meets its task's
criterion at the presets' sizes (tests/diagnostics/test_witnesses.py). The report cites them: "min_gru can
represent adding (witness: …) but did not learn it in 10 of 10 seeds". No claim that a variant *cannot* do a task
is made without such an argument. The reference ``gru``'s witnesses also show that a task's criterion is reachable
at all (the battery issue's first item): on adding, padded adding, parity, reset token, mod3, s3 (any finite
automaton, :func:`_automaton`), copy memory and selective copy (queues, :func:`_queue`) and digits (a delay line
read out by the criterion's own logistic regression).

Notation: K a large gate pre-activation (σ(±K) ≈ 1 or 0; the leak per step is about e^{−K}), k the candidate's
slope (tanh(k) ≈ 1).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from ..layers import SequenceModel
from ..tasks.automata import S3_PRODUCT
from ..tasks.base import SequenceTask

K = 30.0          # gate saturation
SLOPE = 8.0       # candidate slope: tanh(8) = 1 − 2.3e−7
SCALE = 40.0      # read-out logit scale
SMALL = 0.01      # a candidate's input scale where tanh must act as the identity
TINY = 1e-3       # the same through a delay line of 64 tanh


@dataclass(frozen=True)
class Witness:
    """Hand-set weights with which ``variant`` meets ``task``'s criterion (at any length of the task)."""

    variant: str
    task: str
    construction: str
    build: Callable[[SequenceTask], SequenceModel]          # the task (its sizes) → the model


def _model(variant: str, task: SequenceTask, hidden: int) -> tuple[SequenceModel, dict[str, Tensor]]:
    """A zeroed ``variant`` model with ``hidden`` units for ``task``, and its seed-named weights to set."""
    model = SequenceModel(variant, task.input_size, hidden, task.output_size, readout=task.readout)
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
    return model, model.rnn.seed_params()


def _open_reset(p: dict[str, Tensor]) -> None:
    """r ≡ σ(K) ≈ 1 where the variant learns an r of its own (MGU's r is its z; the others have none)."""
    if "b_r" in p:
        p["b_r"][:] = K


def _saturated_adding(variant: str) -> Callable[[SequenceTask], SequenceModel]:
    """Two units whose update gate opens only at a marker: z = σ(K·m − K) (½ at a marker) and σ(2K·m − K) (1 at a
    marker), both with candidate ĥ = φ(ε·value) ≈ ε·value (ε = 0.01: tanh's relative error (εv)²/3 < 4e−5; min_gru's
    φ is linear anyway). After the two markers the units hold ε(¼v₁ + ½v₂) and εv₂; the read-out (4h₁ − h₂)/ε =
    v₁ + v₂. A blank step (value 0, marker 0) leaves both closed, so padded adding is the same."""

    def build(task: SequenceTask) -> SequenceModel:
        model, p = _model(variant, task, 2)
        with torch.no_grad():
            p["W_z"][:, 1] = torch.tensor([K, 2 * K])
            p["b_z"][:] = torch.tensor([-K, -K])
            p["W_h"][:, 0] = SMALL
            _open_reset(p)
            model.head.weight[0] = torch.tensor([4.0, -1.0]) / SMALL
        return model

    return build


def _flip(variant: str, reset_symbol: bool) -> Callable[[SequenceTask], SequenceModel]:
    """One unit holding the parity: state ≈ 0 (even) or ≈ 1 (odd). A 1 opens z (z = σ(K)) onto the candidate
    ĥ = tanh(k − k·h), which maps 0 → 1 and 1 → 0; a 0 closes it (z = σ(−K)). With a RESET symbol, z opens and the
    candidate is driven to tanh(−M) = −1, a state the read-out also calls even (it reads h > ½ as odd). r, where
    the variant has it, stays open (r = σ(K)); the MGU's shared gate is z itself, open exactly when it matters."""

    def build(task: SequenceTask) -> SequenceModel:
        model, p = _model(variant, task, 1)
        with torch.no_grad():
            p["W_z"][0, :3 if reset_symbol else 2] = torch.tensor([-K, K, K][:3 if reset_symbol else 2])
            _open_reset(p)
            p["U_h"][:] = -SLOPE
            p["b_h"][:] = SLOPE
            if reset_symbol:
                p["W_h"][0, 2] = -4 * SLOPE
            model.head.weight[:, 0] = torch.tensor([-SCALE, SCALE])
            model.head.bias[:] = torch.tensor([SCALE / 2, -SCALE / 2])
        return model

    return build


def _automaton(n_states: int, n_inputs: int, step: Callable[[int, int], int],
               start: int = 0) -> Callable[[SequenceTask], SequenceModel]:
    """Any finite automaton (states q, one-hot inputs a, next state ``step(q, a)``, labelled with its state at every
    step) in a gru with Q·A + A units, reset before U_h.

    Unit (q, a) holds +1 if the state is q, else −1 — one copy of the state per input symbol — and r opens only
    the copies of the current input a (r = σ(2K·x_a − K)). So U_h (r ⊙ h) reads the state through the columns of
    a alone, and U_h can route each q to step(q, a): unit (j, ·)'s candidate is

        ĥ = tanh(k · (Σ_{q: step(q,a)=j} h_(q,a) + n_aj − 1)),     n_aj = #{q: step(q, a) = j},

    whose argument is +1 if the current state goes to j and −1 otherwise (W_h x carries n_aj − 1). z ≡ σ(K): every
    unit is replaced every step, and the ±1 code is re-saturated each time (no drift over any length). The A units
    s_a start at 0 and hold 1 from the first step on: until then they add, through r's columns of a, the term
    that makes the all-zero initial state read as ``start``. Read-out: logit_q = S · h_(q, 0). The construction
    needs r to select by input — the multiplicative x·h interaction that r ≡ 1 and r ≡ 0 lack."""

    def build(task: SequenceTask) -> SequenceModel:
        Q, A = n_states, n_inputs
        model, p = _model("gru", task, Q * A + A)
        unit = lambda q, a: q * A + a                                    # noqa: E731 — the index map, named once
        started = lambda a: Q * A + a                                    # noqa: E731
        with torch.no_grad():
            p["b_z"][:] = K
            p["b_r"][:] = -K
            for a in range(A):
                for q in range(Q):
                    p["W_r"][unit(q, a), a] = 2 * K
                p["W_r"][started(a), a] = 2 * K
                p["b_h"][started(a)] = SLOPE
                for j in range(Q):
                    into_j = [q for q in range(Q) if step(q, a) == j]
                    before_start = 2.0 * (step(start, a) == j) - 1.0 - (len(into_j) - 1)
                    for b in range(A):
                        row = unit(j, b)
                        for q in into_j:
                            p["U_h"][row, unit(q, a)] = SLOPE
                        p["W_h"][row, a] = SLOPE * (len(into_j) - 1 + before_start)
                        p["U_h"][row, started(a)] = -SLOPE * before_start
            for q in range(Q):
                model.head.weight[q, unit(q, 0)] = SCALE
        return model

    return build


def _queue(variant: str, phase: bool) -> Callable[[SequenceTask], SequenceModel]:
    """A queue of M + 1 slots for the copy tasks (alphabet 0 = blank/noise, 1…n = symbols, n + 1 = delimiter or
    marker; M symbols to give back in order). Slot i, symbol c: one unit, +1 if slot i holds c, −1 if it holds
    another, 0 while empty. The slots shift (z = σ(K)) at a symbol — slot 0 takes ĥ = tanh(k(2x_c − 1)), slot i
    takes ĥ = tanh(k·h_(i−1)) — and are closed otherwise (z = σ(−K): a gap of any length leaks about e^{−K} a
    step). After the M symbols the last slot is still empty; each of the M output steps shifts once more, so the
    last slot holds the j-th symbol at the j-th output step. It is read out as logit_c = S·h_(M, c) with the blank
    class at S/2 (an empty slot gives blank). ``phase``: copy memory's output steps carry blanks, not markers, so
    one unit P, set by the delimiter and held, opens the slots from then on (z reads h: U_z = 2K from P).
    r stays open (the MGU's shared gate opens with the slots it reads)."""

    def build(task: SequenceTask) -> SequenceModel:
        n = task.input_size - 2
        M = getattr(task, "symbols", None) or task.tokens
        slots = M + 1
        model, p = _model(variant, task, slots * n + phase)
        unit = lambda i, c: i * n + c - 1                                # noqa: E731
        with torch.no_grad():
            p["b_z"][:] = -K
            p["W_z"][:slots * n, 1:n + 1 if phase else n + 2] = 2 * K
            _open_reset(p)
            for c in range(1, n + 1):
                p["W_h"][unit(0, c), c] = 2 * SLOPE
                p["b_h"][unit(0, c)] = -SLOPE
                for i in range(1, slots):
                    p["U_h"][unit(i, c), unit(i - 1, c)] = SLOPE
                model.head.weight[c, unit(M, c)] = SCALE
            model.head.bias[0] = SCALE / 2
            model.head.bias[n + 1:] = -SCALE
            if phase:
                P = slots * n
                p["W_z"][P, n + 1] = 2 * K
                p["U_z"][:P, P] = 2 * K
                p["b_h"][P] = SLOPE
        return model

    return build


def _delay_line(task: SequenceTask) -> SequenceModel:
    """Digits (any mode): a gru that holds the whole image — a delay line of T slots × I inputs, z ≡ σ(K), slot 0
    taking ĥ = tanh(ε·x), slot i taking ĥ = tanh(h_(i−1)) (ε = 10⁻³: after 64 tanh the relative error is < 10⁻⁴)
    — read out at the last step by the logistic regression of the criterion itself, its weights divided by ε and
    placed on the unit that holds their pixel. It is as accurate as the reference, so the criterion is reachable."""
    order = task.pixel_order()                                          # (T, I): the flat pixel at (step, input)
    steps, inputs = order.shape
    model, p = _model("gru", task, steps * inputs)
    weights, intercepts = task.logistic_regression()
    with torch.no_grad():
        p["b_z"][:] = K
        p["b_r"][:] = K
        p["W_h"][:inputs] = TINY * torch.eye(inputs)
        p["U_h"][inputs:, :-inputs] = torch.eye((steps - 1) * inputs)
        held = order.flip(0).reshape(-1)                                 # slot i holds step T − 1 − i
        model.head.weight[:] = (weights[:, held] / TINY).float()
        model.head.bias[:] = intercepts.float()
    return model


_PARITY = ("gru", "gru_no_reset", "mgu")
_QUEUES = ("gru", "gru_no_reset", "mgu")
WITNESSES: dict[tuple[str, str], Witness] = {(w.variant, w.task): w for w in (
    *(Witness(v, task, "two saturated units, z opening to ½ and to 1 at a marker, read out as 4h₁ − h₂",
              _saturated_adding(v)) for v in ("gru", "gru_no_reset", "mgu", "min_gru")
      for task in ("adding", "padded_adding")),
    *(Witness(v, "parity", "one unit flipped by a 1 through z and the candidate tanh(k − k·h); r open",
              _flip(v, False)) for v in _PARITY),
    *(Witness(v, "reset_token", "the parity unit, with RESET opening z onto a candidate of −1 (read as even)",
              _flip(v, True)) for v in ("gru", "gru_no_reset")),
    Witness("gru", "mod3", "the automaton of Z₃ in 12 units: a ±1 copy of the state per input symbol, r opening "
            "the current symbol's copies, U_h routing each state to its successor", _automaton(3, 3, lambda q, a:
                                                                                                (q + a) % 3)),
    Witness("gru", "s3", "the automaton of S₃ in 42 units: a ±1 copy of the state per input permutation, r "
            "opening the current input's copies, U_h routing each state g to a ∘ g",
            _automaton(6, 6, lambda q, a: S3_PRODUCT[a][q])),
    *(Witness(v, "copy_memory", "a queue of K + 1 slots shifted by z at each symbol and, after the delimiter (a "
              "held phase unit), at every step; the last slot read out", _queue(v, phase=True)) for v in _QUEUES),
    Witness("gru", "digits", "a delay line holding the whole image (z ≡ 1, U_h shifting), read out at the last step "
            "by the logistic regression of the criterion", _delay_line),
    *(Witness(v, "selective_copy", "a queue of M + 1 slots shifted by z at each token and each marker (noise "
              "leaves it closed); the last slot read out", _queue(v, phase=False)) for v in _QUEUES),
)}


def witness_for(variant: str, task: str) -> Witness | None:
    """The witness that ``variant`` can represent ``task``, if gatelab has one."""
    return WITNESSES.get((variant, task))
