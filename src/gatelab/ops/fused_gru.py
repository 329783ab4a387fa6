"""Fused CPU recurrence for every GRU-family variant, with a hand-written backward.

Forward: the input projection for all steps is one matrix product (done by the caller, under autograd); the
loop then does, per step, one matrix product for the gates (fused with their input part by ``addmm``), the
candidate's matrix product where r sits between U_h and h, and in-place gate arithmetic — under no autograd
bookkeeping at all. It keeps only what the backward needs: the states, the gate values, the candidate values
(and U_h h + b_hh for ``reset="after"``).

Backward: a reverse loop with the same per-step shape, then the recurrent weight gradients as single large
matrix products over all T·B rows. Twin: :func:`gatelab.ops.recurrence_ref`; parity is tested on outputs,
final state and every gradient (tests/ops/test_recurrence.py).

Only first-order gradients: asking for a graph of the gradient (``create_graph=True``) raises at once,
rather than returning second derivatives that silently miss terms. Use ``backend="loop"`` for double backward
(gradient penalties, gradgradcheck).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from ..cells import CellLayout, CellParams, State
from ..cells.gru import GRUPlan, gru_plan, gru_step_weights
from .recurrence import refuse_double_backward


def fused_gru_recurrence(x: Tensor, state0: State, layout: CellLayout, params: CellParams,
                         mask: Tensor | None = None) -> tuple[Tensor, State]:
    """Same contract as :func:`gatelab.ops.recurrence` (time-major x (T, B, I), mask (T, B))."""
    return run_hand_written(x, state0, layout, params, mask, _forward, _FusedGRU)


def run_hand_written(x: Tensor, state0: State, layout: CellLayout, params: CellParams, mask: Tensor | None,
                     forward, function: type[torch.autograd.Function]) -> tuple[Tensor, State]:
    """The front shared by the GRU backends with a hand-written backward: the input projection for all steps
    (one GEMM, under autograd), then ``function`` (an autograd Function over the loop) when a gradient is
    wanted, else ``forward(..., keep=False)`` (one step of scratch, nothing kept); outputs past a sequence's
    length are zero."""
    xw = F.linear(x, params.weight_ih, layout.input_bias(params))            # (T, B, n_x·H), one GEMM
    w = gru_step_weights(layout, params)
    plan = gru_plan(layout)
    tensors = (xw, state0[0], w.u_fused, w.u_h, w.b_const, w.b_hh)
    if not (torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in tensors)):
        output = forward(xw, state0[0], mask, plan, w.u_fused, w.u_h, w.b_const, w.b_hh, keep=False)[0]
        h_last = output[-1]
    else:
        output, h_last = function.apply(xw, state0[0], mask, plan, w.u_fused, w.u_h, w.b_const, w.b_hh)
    if mask is not None:
        output = output * mask.unsqueeze(-1).to(output.dtype)
    return output, (h_last,)


def _forward(xw: Tensor, h0: Tensor, mask: Tensor | None, plan: GRUPlan, u_fused: Tensor | None,
             u_h: Tensor | None, b_const: Tensor | None, b_hh: Tensor | None, *, keep: bool):
    """The forward loop. ``keep``: keep every step's gates and candidate for the backward; otherwise one
    step's worth of scratch is reused (inference)."""
    steps, batch, _ = xw.shape
    H = h0.shape[-1]
    G = plan.n_gates * H
    out = xw.new_empty(steps, batch, H)                                   # h_1 … h_T
    kept = steps if keep else 1
    gates = xw.new_empty(kept, batch, G) if G else None                  # σ(…) of the gates
    cand = out if plan.z_at is None else xw.new_empty(kept, batch, H)    # ĥ_t (is h_t when z ≡ 1)
    uh_all = xw.new_empty(kept, batch, H) if plan.candidate == "reset_after" else None

    uf_t = u_fused.t() if u_fused is not None else None                  # (H, n_f·H)
    uh_t = u_h.t() if u_h is not None else None                          # (H, H)
    # when U holds only gate rows, the gates' product goes straight into their slab (fused with x's part)
    gates_addmm = plan.gates_read_x and plan.gates_read_h and u_fused is not None and u_fused.shape[0] == G
    gates_mm = not plan.gates_read_x and plan.gates_read_h and u_fused is not None and u_fused.shape[0] == G

    xw_g = xw[..., :G].unbind(0) if G and plan.gates_read_x else None
    xw_c = xw[..., -H:].unbind(0)

    def per_step(t: Tensor | None):
        if t is None:
            return None
        return t.unbind(0) if t.shape[0] == steps else t.unbind(0) * steps   # scratch: the same view

    g_t = per_step(gates) if G else None
    z_t = per_step(gates[..., plan.z_at * H:(plan.z_at + 1) * H]) if plan.z_at is not None else None
    r_t = per_step(gates[..., plan.r_at * H:(plan.r_at + 1) * H]) if plan.r_at is not None else None
    c_t, o_t = per_step(cand), out.unbind(0)
    uh_s = per_step(uh_all)
    m_t = mask.unsqueeze(-1).unbind(0) if mask is not None else None

    h = h0
    for t in range(steps):
        hu = None
        if G:
            g = g_t[t]
            if gates_addmm:
                torch.addmm(xw_g[t], h, uf_t, out=g)
            elif gates_mm:
                torch.mm(h, uf_t, out=g)
            else:
                hu = torch.mm(h, uf_t) if uf_t is not None else None
                if plan.gates_read_x and plan.gates_read_h:
                    torch.add(xw_g[t], hu[:, :G], out=g)
                elif plan.gates_read_x:
                    g.copy_(xw_g[t])
                elif plan.gates_read_h:
                    g.copy_(hu[:, :G])
                else:
                    g.zero_()
            if b_const is not None:
                g.add_(b_const)
            plan.sigma.inplace(g)
        elif uf_t is not None:
            hu = torch.mm(h, uf_t)
        c = c_t[t]
        if plan.candidate == "x_only":
            c.copy_(xw_c[t])
        elif plan.candidate == "no_reset":
            torch.add(xw_c[t], hu[:, -H:], out=c)
        elif plan.candidate == "reset_after":
            uh = uh_s[t]
            if b_hh is not None:
                torch.add(hu[:, -H:], b_hh, out=uh)
            else:
                uh.copy_(hu[:, -H:])
            torch.addcmul(xw_c[t], r_t[t], uh, out=c)
        else:  # reset_before
            torch.addmm(xw_c[t], r_t[t] * h, uh_t, out=c)
        plan.phi.inplace(c)
        o = o_t[t]
        if plan.z_at is not None:
            if plan.carry:
                torch.lerp(h, c, z_t[t], out=o)
            else:
                torch.mul(z_t[t], c, out=o)
        if m_t is not None:
            o.copy_(torch.where(m_t[t], o, h))
        h = o

    return out, gates, cand if cand is not out else None, uh_all


class _FusedGRU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, xw: Tensor, h0: Tensor, mask: Tensor | None, plan: GRUPlan, u_fused: Tensor | None,
                u_h: Tensor | None, b_const: Tensor | None, b_hh: Tensor | None) -> tuple[Tensor, Tensor]:
        out, gates, cand, uh_all = _forward(xw, h0, mask, plan, u_fused, u_h, b_const, b_hh, keep=True)
        ctx.plan = plan
        ctx.shapes = (xw.shape, plan.n_gates * h0.shape[-1])
        ctx.save_for_backward(h0, out, gates, cand, uh_all, mask, u_fused, u_h)
        ctx.has_b_const, ctx.has_b_hh = b_const is not None, b_hh is not None
        return out, out[-1].clone()

    @staticmethod
    def backward(ctx, d_out: Tensor | None, d_last: Tensor | None):
        refuse_double_backward("'fused'")
        h0, out, gates, cand, uh_all, mask, u_fused, u_h = ctx.saved_tensors
        plan: GRUPlan = ctx.plan
        (steps, batch, nx), G = ctx.shapes
        H = h0.shape[-1]
        cand = out if cand is None else cand
        has_z, has_r = plan.z_at is not None, plan.r_at is not None
        share = has_z and plan.z_at == plan.r_at                              # mgu: one gate is z and r
        zs = slice(plan.z_at * H, (plan.z_at + 1) * H) if has_z else None
        rs = slice(plan.r_at * H, (plan.r_at + 1) * H) if has_r else None
        via_hu = plan.candidate in ("no_reset", "reset_after")                  # candidate reads U_h h in hu

        # Per-step factors that do not depend on the carried gradient: computed for all steps at once, so
        # that the reverse loop needs one elementwise op per product (see the module docstring).
        h_prev = torch.cat([h0.unsqueeze(0), out[:-1]])                     # (T, B, H)
        phi_grad = None if plan.phi.grad_from_output is None else plan.phi.grad_from_output(cand)   # φ'(a) or None
        a_factor = dz_factor = keep = r_factor = None
        if has_z:
            z = gates[..., zs]
            sz = plan.sigma.grad_from_output(z)
            a_factor = z if phi_grad is None else z * phi_grad              # ∂h/∂a = z φ'
            dz_factor = ((cand - h_prev) if plan.carry else cand) * sz      # ∂h/∂(z's pre-activation)
            keep = 1.0 - z if plan.carry else None                          # ∂h/∂h_prev through the carry
        else:
            a_factor = phi_grad
        if has_r:
            sr = plan.sigma.grad_from_output(gates[..., rs])
            r_all = gates[..., rs]
            if plan.candidate == "reset_after":
                r_factor = uh_all * sr                                       # ∂a/∂(r's pre-act.) = (U_h h + b_hh) σ'
            elif plan.candidate == "reset_before":
                r_factor = h_prev * sr                                       # times (U_hᵀ da): h σ'
        m = notm = None
        if mask is not None:
            m = mask.unsqueeze(-1).to(out.dtype)
            notm = 1.0 - m

        # Gradient buffers; views share storage where the maths says two gradients are the same tensor.
        d_xw = out.new_empty(steps, batch, nx)
        d_a = d_xw[..., -H:]                                                 # candidate pre-activation
        d_pg = (d_xw[..., :G] if plan.gates_read_x else out.new_empty(steps, batch, G)) if G else None
        d_uc = None                                                          # gradient of U_h h (+ b_hh) in hu
        if plan.candidate == "no_reset":
            d_uc = d_a
        elif plan.candidate == "reset_after":
            d_uc = out.new_empty(steps, batch, H)
        u_gates = u_fused[:G] if (G and plan.gates_read_h) else None         # (G, H)
        u_cand = u_fused[-H:] if via_hu else None                            # (H, H)

        def per_step(t: Tensor | None):
            return None if t is None else t.unbind(0)

        da_s, pg_s, uc_s = per_step(d_a), per_step(d_pg), per_step(d_uc)
        pgz_s = per_step(d_pg[..., zs]) if has_z else None
        pgr_s = per_step(d_pg[..., rs]) if (has_r and not share) else None
        af_s, dzf_s, keep_s, rf_s = per_step(a_factor), per_step(dz_factor), per_step(keep), per_step(r_factor)
        r_s = per_step(r_all) if has_r else None
        m_s, notm_s = per_step(m), per_step(notm)
        dout_s = d_out.unbind(0) if d_out is not None else None

        if d_last is not None:
            d_total = d_last + dout_s[-1] if dout_s is not None else d_last.clone()
        else:
            d_total = dout_s[-1].clone() if dout_s is not None else out.new_zeros(batch, H)
        for t in range(steps - 1, -1, -1):
            s = d_total * m_s[t] if m_s is not None else d_total             # gradient into this step
            da = da_s[t]
            if af_s is not None:
                torch.mul(s, af_s[t], out=da)
            else:
                da.copy_(s)
            if has_z:
                torch.mul(s, dzf_s[t], out=pgz_s[t])
            d_rh = None
            if plan.candidate == "reset_after":
                if share:
                    pgz_s[t].addcmul_(da, rf_s[t])
                else:
                    torch.mul(da, rf_s[t], out=pgr_s[t])
                torch.mul(da, r_s[t], out=uc_s[t])
            elif plan.candidate == "reset_before":
                d_rh = torch.mm(da, u_h)                                     # (B, H): ∂L/∂(r ⊙ h_prev)
                if share:
                    pgz_s[t].addcmul_(d_rh, rf_s[t])
                else:
                    torch.mul(d_rh, rf_s[t], out=pgr_s[t])

            following = dout_s[t - 1] if (dout_s is not None and t > 0) else None
            if keep_s is not None:
                d_prev = torch.addcmul(following, s, keep_s[t]) if following is not None else s * keep_s[t]
            else:
                d_prev = following.clone() if following is not None else torch.zeros_like(s)
            if d_rh is not None:
                d_prev.addcmul_(d_rh, r_s[t])
            if u_gates is not None:
                d_prev.addmm_(pg_s[t], u_gates)
            if u_cand is not None:
                d_prev.addmm_(uc_s[t], u_cand)
            if notm_s is not None:
                d_prev.addcmul_(d_total, notm_s[t])
            d_total = d_prev
        d_h0 = d_total
        return (d_xw, d_h0, None, None,
                *recurrent_weight_grads(plan, h0, out, d_pg, d_uc, d_a, ctx.has_b_const, ctx.has_b_hh,
                                        r_all=gates[..., rs] if plan.candidate == "reset_before" else None))


def recurrent_weight_grads(plan: GRUPlan, h0: Tensor, out: Tensor, d_pg: Tensor | None, d_uc: Tensor | None,
                           d_a: Tensor, has_b_const: bool, has_b_hh: bool, *, r_all: Tensor | None = None,
                           d_u_h: Tensor | None = None):
    """The recurrent weights' gradients from the per-step ones, as large products over all T·B rows:
    ∂L/∂U = Σ_t (∂L/∂pre_t)ᵀ h_{t-1} for the rows of U_fused (h_{t-1} read from h0 and ``out`` in place, no
    (T, B, H) copy), and ∂L/∂U_h = Σ_t (∂L/∂a_t)ᵀ (r_t ⊙ h_{t-1}) when the reset sits before U_h — given as
    ``d_u_h`` when the caller accumulated it, else from the reset gate's values ``r_all``. ``d_pg``, ``d_uc``,
    ``d_a``: gradients of the gates' pre-activations, of U_h h (+ b_hh) and of the candidate's pre-activation."""
    H = h0.shape[-1]

    def by_previous_state(grad: Tensor) -> Tensor:                     # Σ_t gradᵀ_t h_{t-1}
        product = grad[0].t().mm(h0)
        if grad.shape[0] > 1:
            product.addmm_(grad[1:].reshape(-1, grad.shape[-1]).t(), out[:-1].reshape(-1, H))
        return product

    parts = []
    if plan.n_gates and plan.gates_read_h:
        parts.append(by_previous_state(d_pg))
    if plan.candidate in ("no_reset", "reset_after"):
        parts.append(by_previous_state(d_uc))
    d_u_fused = (parts[0] if len(parts) == 1 else torch.cat(parts)) if parts else None
    if plan.candidate == "reset_before" and d_u_h is None:
        h_prev = torch.cat([h0.unsqueeze(0), out[:-1]])
        d_u_h = d_a.reshape(-1, H).t().mm((r_all * h_prev).reshape(-1, H))
    d_b_const = d_pg.sum((0, 1)) if has_b_const else None
    d_b_hh = d_uc.sum((0, 1)) if has_b_hh else None
    return d_u_fused, d_u_h, d_b_const, d_b_hh
