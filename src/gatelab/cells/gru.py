"""One step of the gated-unit family (every GRU variant of the registry, ``rnn`` included).

The time loop never lives here: :mod:`gatelab.ops` runs it.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Literal, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor

from .activations import Activation

if TYPE_CHECKING:                                # the layout asks its cell for its step: no import cycle at run time
    from .layout import CellLayout, CellParams

# How the candidate reads h_{t-1}: not at all (r ≡ 0), through U_h h alone (r ≡ 1, so U_h joins the gates' one
# matrix product), or through r placed before or after U_h.
CandidateMode = Literal["x_only", "no_reset", "reset_after", "reset_before"]


class GRUPlan(NamedTuple):
    """Static facts of one layout that the step branches on, computed once (not per step)."""

    n_gates: int            # learned gates (0, 1 or 2)
    z_at: int | None        # position of z among the gates
    r_at: int | None        # position of r among the gates (mgu: r is z, so r_at = z_at)
    gates_read_x: bool
    gates_read_h: bool
    candidate: CandidateMode
    carry: bool             # h_t keeps (1 − z_t) ⊙ h_{t-1}
    sigma: Activation
    phi: Activation


class GRUStepWeights(NamedTuple):
    """The recurrent tensors one step uses, sliced once per sequence (views of the layer's parameters)."""

    u_fused: Tensor | None   # (n·H, H): U of the gates that read h (+ U_h when no r sits between U_h and h)
    u_h: Tensor | None       # (H, H): U_h applied to r ⊙ h (reset before)
    b_const: Tensor | None   # (n_gates·H,): gate biases when the gates do not read x
    b_hh: Tensor | None      # (H,): the recurrent candidate bias (reset after)


@cache
def gru_plan(layout: CellLayout) -> GRUPlan:
    spec = layout.options.spec
    gates = spec.gates
    z_at = gates.index("z") if "z" in gates else None
    r_at = gates.index("r") if "r" in gates else (z_at if spec.reset == "update" else None)
    if spec.reset == "zero":
        candidate: CandidateMode = "x_only"
    elif spec.reset == "one":
        candidate = "no_reset"
    else:
        candidate = "reset_after" if layout.options.reset == "after" else "reset_before"
    return GRUPlan(len(gates), z_at, r_at, "x" in spec.gate_inputs, "h" in spec.gate_inputs,
                   candidate, spec.carry, layout.sigma, layout.phi)


def gru_step_weights(layout: CellLayout, params: CellParams) -> GRUStepWeights:
    plan = gru_plan(layout)
    H = layout.hidden_size
    u_fused = u_h = None
    if params.weight_hh is not None:
        if plan.candidate == "reset_before":
            n_gate_rows = params.weight_hh.shape[0] - H
            u_fused = params.weight_hh[:n_gate_rows] if n_gate_rows else None
            u_h = params.weight_hh[n_gate_rows:]
        else:
            u_fused = params.weight_hh
    return GRUStepWeights(u_fused, u_h, layout.constant_bias(params), params.bias_hh)


class GateValues(NamedTuple):
    """What one step computes before mixing: z_t and r_t (None where the variant has no such gate: z ≡ 1,
    r ≡ 1 or r ≡ 0) and the candidate ĥ_t; each (B, H)."""

    z: Tensor | None
    r: Tensor | None
    candidate: Tensor


def gru_gates(xw: Tensor, h: Tensor, w: GRUStepWeights, plan: GRUPlan) -> GateValues:
    r"""The gates and the candidate of one step, in the seed's notation::

        z_t = σ_g(W_z x_t + U_z h_{t-1} + b_z)                      update gate: share of the new candidate
        r_t = σ_g(W_r x_t + U_r h_{t-1} + b_r)                      reset gate: how much of h_{t-1} ĥ sees
        ĥ_t = φ_h(W_h x_t + U_h (r_t ⊙ h_{t-1}) + b_h)              reset="before" (Cho et al. 2014)
        ĥ_t = φ_h(W_h x_t + b_h + r_t ⊙ (U_h h_{t-1} + b_hh))       reset="after" (cuDNN, PyTorch, Keras default)

    Variants change these through the plan: a missing r means r ≡ 1 (``candidate="no_reset"``) or r ≡ 0
    (``"x_only"``), MGU's r is its z, and the gates may read only x, only h, or only their bias.

    Args:
        xw: (B, n_x·H) the input projection W x_t + b of the blocks that read x, in order z, r, h — computed
            for all steps at once by the caller; the candidate's block is always the last H columns.
        h: (B, H) the state h_{t-1}.
        w: the recurrent weights, see :class:`GRUStepWeights`.
        plan: the static structure, see :func:`gru_plan`.
    """
    H = h.shape[-1]
    g = plan.n_gates * H
    hu = F.linear(h, w.u_fused) if w.u_fused is not None else None           # (B, n·H)

    z = r = None
    if plan.n_gates:
        pre = None                                                           # (B, n_gates·H)
        for part in (xw[:, :g] if plan.gates_read_x else None,
                     hu[:, :g] if plan.gates_read_h else None,
                     w.b_const):
            if part is not None:
                pre = part if pre is None else pre + part
        if pre is None:                                                      # gates of a bias-free gru_gates_bias
            pre = h.new_zeros(h.shape[0], g)
        elif pre.dim() == 1:                                                 # gates that read only their bias
            pre = pre.expand(h.shape[0], g)
        gates = plan.sigma(pre)
        if plan.z_at is not None:
            z = gates[:, plan.z_at * H:(plan.z_at + 1) * H]
        if plan.r_at is not None:
            r = gates[:, plan.r_at * H:(plan.r_at + 1) * H]

    a = xw[:, -H:]                                                           # W_h x_t + b_h
    if plan.candidate == "no_reset":
        a = a + hu[:, -H:]
    elif plan.candidate == "reset_after":
        uh = hu[:, -H:] if w.b_hh is None else hu[:, -H:] + w.b_hh
        a = a + r * uh
    elif plan.candidate == "reset_before":
        a = a + F.linear(r * h, w.u_h)
    return GateValues(z, r, plan.phi(a))


def gru_step(xw: Tensor, h: Tensor, w: GRUStepWeights, plan: GRUPlan) -> Tensor:
    r"""One step h_{t-1} → h_t of the GRU family: :func:`gru_gates`, then the seed's update::

        h_t = z_t ⊙ ĥ_t + (1 − z_t) ⊙ h_{t-1}       (computed as h_{t-1} + z_t ⊙ (ĥ_t − h_{t-1}))
        h_t = ĥ_t                                  when z ≡ 1 (``gru_no_update``, ``rnn``)
        h_t = z_t ⊙ ĥ_t                            when ``carry=False`` (``gru_no_carry``)

    Shapes: xw (B, n_x·H), h (B, H) → (B, H). See :func:`gru_gates` for the arguments.
    """
    z, _, candidate = gru_gates(xw, h, w, plan)
    return gru_mix(h, z, candidate, plan)


def gru_mix(h: Tensor, z: Tensor | None, candidate: Tensor, plan: GRUPlan) -> Tensor:
    """The update of :func:`gru_step` from the gate values: h_t from h_{t-1}, z_t and ĥ_t (each (B, H))."""
    if z is None:
        return candidate                                                     # z ≡ 1
    if not plan.carry:
        return z * candidate
    return torch.lerp(h, candidate, z)                                       # h + z (ĥ − h)
