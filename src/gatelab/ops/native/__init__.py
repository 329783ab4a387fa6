"""The compiled CPU loop (``backend="native"``): the GRU family's whole time loop, forward and backward, in C++.

Why: the lab's models are small (H = 32–128), so a step of the Python-level ``fused`` loop costs its ~10 op
dispatches (tens of µs) rather than its arithmetic (a 32×32×96 product takes ~2 µs). Here one ctypes call runs
all T steps: per step one matrix product for every gate and U_h h (torch's own BLAS, at torch's thread count),
the gate and candidate arithmetic fused in one pass over the batch, nothing allocated. The backward is the
same reverse loop as ``fused``'s; the recurrent weights' gradients are then single large products
(:func:`gatelab.ops.fused_gru.recurrent_weight_grads`, shared with ``fused``).

Contract and twin: as every backend, :func:`gatelab.ops.recurrence` / :func:`gatelab.ops.recurrence_ref`;
parity on outputs, final state and every gradient for every variant, both reset placements, lengths, with and
without bias (tests/ops/test_recurrence.py, tests/ops/test_native.py). float32 and float64 on the CPU.
"""

from __future__ import annotations

import ctypes

import torch
from torch import Tensor

from ...cells import CellLayout, CellParams, State
from ...cells.gru import GRUPlan
from ..fused_gru import recurrent_weight_grads, run_hand_written
from ..recurrence import refuse_double_backward
from .build import NativeBuildWarning, library

__all__ = ["DTYPES", "NativeBuildWarning", "available", "native_gru_recurrence"]

DTYPES = {torch.float32: "f32", torch.float64: "f64"}
_MODES = {"x_only": 0, "no_reset": 1, "reset_after": 2, "reset_before": 3}


def available() -> bool:
    """Whether the compiled loop is loaded (building it on the first call; warns once if it cannot be)."""
    return library() is not None


def _plan_ints(plan: GRUPlan) -> ctypes.Array:
    values = (plan.n_gates, -1 if plan.z_at is None else plan.z_at, -1 if plan.r_at is None else plan.r_at,
              int(plan.gates_read_x), int(plan.gates_read_h), _MODES[plan.candidate], int(plan.carry),
              plan.sigma.kernel_id, plan.phi.kernel_id)
    return (ctypes.c_int * len(values))(*values)


def _ptr(t: Tensor | None) -> ctypes.c_void_p:
    return ctypes.c_void_p(t.data_ptr() if t is not None and t.numel() else None)


def _contiguous(t: Tensor | None) -> Tensor | None:
    return None if t is None else t.detach().contiguous()


def native_gru_recurrence(x: Tensor, state0: State, layout: CellLayout, params: CellParams,
                          mask: Tensor | None = None) -> tuple[Tensor, State]:
    """Same contract as :func:`gatelab.ops.recurrence` (time-major x (T, B, I), mask (T, B))."""
    return run_hand_written(x, state0, layout, params, mask, _forward, _NativeGRU)


def _forward(xw, h0, mask, plan: GRUPlan, u_fused, u_h, b_const, b_hh, *, keep: bool):
    steps, batch, nx = xw.shape
    H = h0.shape[-1]
    G = plan.n_gates * H
    xw, h0, u_fused, u_h, b_const, b_hh = map(_contiguous, (xw, h0, u_fused, u_h, b_const, b_hh))
    mask_u8 = mask.to(torch.uint8).contiguous() if mask is not None else None
    kept = steps if keep else 1
    out = xw.new_empty(steps, batch, H)
    gates = xw.new_empty(kept, batch, G) if G else None
    cand = xw.new_empty(kept, batch, H) if plan.z_at is not None else None
    uh_all = xw.new_empty(kept, batch, H) if plan.candidate == "reset_after" else None
    n_fused = u_fused.shape[0] if u_fused is not None else 0
    getattr(library(), f"gl_gru_forward_{DTYPES[xw.dtype]}")(
        _plan_ints(plan), steps, batch, H, nx, n_fused, _ptr(xw), _ptr(h0), _ptr(mask_u8), _ptr(u_fused),
        _ptr(u_h), _ptr(b_const), _ptr(b_hh), _ptr(out), _ptr(gates), _ptr(cand), _ptr(uh_all), int(keep))
    return out, gates, cand, uh_all, mask_u8


class _NativeGRU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, xw: Tensor, h0: Tensor, mask: Tensor | None, plan: GRUPlan, u_fused: Tensor | None,
                u_h: Tensor | None, b_const: Tensor | None, b_hh: Tensor | None) -> tuple[Tensor, Tensor]:
        out, gates, cand, uh_all, mask_u8 = _forward(xw, h0, mask, plan, u_fused, u_h, b_const, b_hh, keep=True)
        ctx.plan, ctx.nx = plan, xw.shape[-1]
        ctx.has_b_const, ctx.has_b_hh = b_const is not None, b_hh is not None
        ctx.save_for_backward(h0, out, gates, cand, uh_all, mask_u8, u_fused, u_h)
        return out, out[-1].clone()

    @staticmethod
    def backward(ctx, d_out: Tensor | None, d_last: Tensor | None):
        refuse_double_backward("'native'")
        h0, out, gates, cand, uh_all, mask_u8, u_fused, u_h = ctx.saved_tensors
        plan: GRUPlan = ctx.plan
        steps, batch, H = out.shape
        G = plan.n_gates * H
        h0, u_fused, u_h, d_last = map(_contiguous, (h0, u_fused, u_h, d_last))
        if d_out is not None and d_out.stride(-1) != 1:
            d_out = d_out.contiguous()
        dout_strides = d_out.stride()[:2] if d_out is not None else (0, 0)    # the layer's (B, T, H) view: no copy
        d_xw = out.new_empty(steps, batch, ctx.nx)
        d_pg = (d_xw[..., :G] if plan.gates_read_x else out.new_empty(steps, batch, G)) if G else None
        d_uc = out.new_empty(steps, batch, H) if plan.candidate == "reset_after" else None
        d_h0 = out.new_empty(batch, H)
        d_u_h = out.new_zeros(H, H) if plan.candidate == "reset_before" else None   # accumulated in the loop
        n_fused = u_fused.shape[0] if u_fused is not None else 0
        getattr(library(), f"gl_gru_backward_{DTYPES[out.dtype]}")(
            _plan_ints(plan), steps, batch, H, ctx.nx, n_fused, _ptr(h0), _ptr(out), _ptr(gates), _ptr(cand),
            _ptr(uh_all), _ptr(mask_u8), _ptr(u_fused), _ptr(u_h), _ptr(d_out), *map(ctypes.c_long, dout_strides),
            _ptr(d_last), _ptr(d_xw), _ptr(None if plan.gates_read_x else d_pg), _ptr(d_uc), _ptr(d_h0), _ptr(d_u_h))
        d_a = d_xw[..., -H:]
        if plan.candidate == "no_reset":
            d_uc = d_a
        return (d_xw, d_h0, None, None,
                *recurrent_weight_grads(plan, h0, out, d_pg, d_uc, d_a, ctx.has_b_const, ctx.has_b_hh, d_u_h=d_u_h))
