"""The GPU backend: Triton kernels for the recurrence of every h-dependent GRU-family variant.

Triton is optional and imported only when this backend runs. The input projection (all steps at once) and the
recurrent weights' gradients (all steps at once) are large matrix products done by torch outside the kernels;
the kernels run the time loop (see ``kernels.py``). On the CPU the kernels run under Triton's interpreter
(``TRITON_INTERPRET=1``) — how the tests check them without a GPU; that is for correctness, not speed.
"""

from __future__ import annotations

import os

import torch
import torch.nn.functional as F
from torch import Tensor

from ...cells import CellLayout, CellParams, State
from ...cells.gru import GRUPlan, gru_plan, gru_step_weights
from ..recurrence import refuse_double_backward

_CANDIDATE = {"x_only": 0, "no_reset": 1, "reset_after": 2, "reset_before": 3}
BLOCK_B = 16                                                 # batch rows per program (tl.dot needs ≥ 16)


def interpreting() -> bool:
    return os.environ.get("TRITON_INTERPRET") == "1"


def available(device: torch.device) -> bool:
    """Triton is installed and can run on ``device`` (CUDA, or the CPU through the interpreter)."""
    try:
        import triton  # noqa: F401
    except ImportError:
        return False
    return device.type == "cuda" or (device.type == "cpu" and interpreting())


def _kernels():
    try:
        from . import kernels
    except ImportError:
        raise RuntimeError("backend 'triton': expected Triton to be installed, got no module 'triton' "
                           "(pip install triton; it ships with PyTorch's CUDA wheels)") from None
    return kernels


def _flags(plan: GRUPlan) -> dict:
    return {"N_GATES": plan.n_gates, "Z_AT": -1 if plan.z_at is None else plan.z_at,
            "R_AT": -1 if plan.r_at is None else plan.r_at, "GATES_H": plan.gates_read_h,
            "CAND": _CANDIDATE[plan.candidate], "CARRY": plan.carry, "SIGMA": plan.sigma.kernel_id,
            "PHI": plan.phi.kernel_id}


PERSISTENT_MAX = 64                                          # H up to which U and h stay on chip


def _padded(hidden: int) -> int:
    return max(16, 1 << (hidden - 1).bit_length())          # tl.dot needs ≥ 16 on a GPU


def persistent(hidden: int) -> bool:
    """Whether the persistent kernels run: every U block (≤ 3 of HP × HP) and the state fit on chip."""
    return _padded(hidden) <= PERSISTENT_MAX


def _tiles(hidden: int) -> dict:
    """Launch sizes: persistent kernels take the whole padded row; the tiled ones sweep the units in tiles of
    ≤ 64 and the recurrent products in slices of ≤ 64."""
    if persistent(hidden):
        return {"BB": BLOCK_B, "HP": _padded(hidden)}
    width = min(64, _padded(hidden))
    return {"BB": BLOCK_B, "BH": width, "BK": width}


def _precision(dtype: torch.dtype) -> str:
    # float32 products in IEEE precision unless the user allowed TF32 for cuDNN (as torch.nn.GRU would use it)
    return "tf32" if dtype == torch.float32 and torch.backends.cudnn.allow_tf32 and not interpreting() else "ieee"


def triton_gru_recurrence(x: Tensor, state0: State, layout: CellLayout, params: CellParams,
                          mask: Tensor | None = None) -> tuple[Tensor, State]:
    """Same contract as :func:`gatelab.ops.recurrence` (time-major x (T, B, I), mask (T, B))."""
    xw = F.linear(x, params.weight_ih, layout.input_bias(params))            # (T, B, n_x·H), one GEMM
    w = gru_step_weights(layout, params)
    tensors = (xw, state0[0], w.u_fused, w.u_h, w.b_const, w.b_hh)
    if torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in tensors):
        output, h_last = _TritonGRU.apply(xw, state0[0], mask, gru_plan(layout), w.u_fused, w.u_h, w.b_const,
                                          w.b_hh)
    else:                                                     # inference: one step of scratch, nothing kept
        states = _forward(xw, state0[0], mask, gru_plan(layout), w.u_fused, w.u_h, w.b_const, w.b_hh,
                          keep=False)[0]
        output = states[1:].to(xw.dtype)
        h_last = output[-1]
    if mask is not None:
        output = output * mask.unsqueeze(-1).to(output.dtype)
    return output, (h_last,)


def _placeholder(reference: Tensor) -> Tensor:
    return reference.new_zeros(1)


def _forward(xw: Tensor, h0: Tensor, mask: Tensor | None, plan: GRUPlan, u_fused, u_h, b_const, b_hh, keep: bool):
    kernels = _kernels()
    steps, batch, nx = xw.shape
    hidden = h0.shape[-1]
    f32 = dict(device=xw.device, dtype=torch.float32)
    states = torch.empty(steps + 1, batch, hidden, **f32)
    states[0] = h0
    kept = steps if keep else 1
    gates = torch.empty(kept, batch, max(plan.n_gates, 1) * hidden, **f32)
    cand = torch.empty(kept, batch, hidden, **f32) if plan.z_at is not None else _placeholder(states)
    uh_keep = torch.empty(kept, batch, hidden, **f32) if plan.candidate == "reset_after" else _placeholder(states)
    rh = torch.empty(batch, hidden, **f32) if plan.candidate == "reset_before" and not persistent(hidden) \
        else _placeholder(states)
    mask_i8 = mask.to(torch.int8).contiguous() if mask is not None else _placeholder(states)
    grid = (triton_cdiv(batch, BLOCK_B),)
    if steps and batch:
        tensors = [xw.contiguous(), states, _or(u_fused, states), _or(u_h, states), _or(b_const, states),
                   _or(b_hh, states), mask_i8, gates, cand, uh_keep]
        kernel = kernels.gru_forward_persistent_kernel
        if not persistent(hidden):
            kernel, tensors = kernels.gru_forward_kernel, tensors + [rh]
        kernel[grid](*tensors, steps, batch, hidden, nx, GATES_X=plan.gates_read_x, HAS_BC=b_const is not None,
                     HAS_BHH=b_hh is not None, HAS_MASK=mask is not None, KEEP=int(keep),
                     PREC=_precision(xw.dtype), **_flags(plan), **_tiles(hidden))
    return states, gates, cand, uh_keep


def _or(tensor: Tensor | None, fallback: Tensor) -> Tensor:
    return tensor.contiguous() if tensor is not None else fallback


def triton_cdiv(a: int, b: int) -> int:
    return -(-a // b)


class _TritonGRU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, xw, h0, mask, plan, u_fused, u_h, b_const, b_hh):
        states, gates, cand, uh_keep = _forward(xw, h0, mask, plan, u_fused, u_h, b_const, b_hh, keep=True)
        ctx.plan, ctx.has = plan, (b_const is not None, b_hh is not None)
        ctx.dtypes = (xw.dtype, h0.dtype, None if b_const is None else b_const.dtype,
                      None if b_hh is None else b_hh.dtype)
        ctx.save_for_backward(states, gates, cand, uh_keep, mask, u_fused, u_h)
        out = states[1:].to(xw.dtype)
        return out, out[-1].clone()

    @staticmethod
    def backward(ctx, d_out, d_last):
        refuse_double_backward("'triton'")
        kernels = _kernels()
        states, gates, cand, uh_keep, mask, u_fused, u_h = ctx.saved_tensors
        plan: GRUPlan = ctx.plan
        steps, batch, hidden = states.shape[0] - 1, states.shape[1], states.shape[2]
        G = plan.n_gates * hidden
        f32 = dict(device=states.device, dtype=torch.float32)
        grad = torch.zeros(steps, batch, hidden, **f32) if d_out is None else d_out.float().clone()
        if d_last is not None:
            grad[-1] += d_last.float()
        d_pre = torch.zeros(steps, batch, G + hidden, **f32)
        d_h = torch.zeros(batch, hidden, **f32)
        if steps and batch:
            tensors = [grad, states, _or(u_fused, states), _or(u_h, states),
                       mask.to(torch.int8).contiguous() if mask is not None else _placeholder(states),
                       gates, cand, uh_keep, d_pre, d_h]
            kernel = kernels.gru_backward_persistent_kernel
            if not persistent(hidden):
                work = torch.zeros(2, batch, hidden, **f32)
                kernel, tensors = kernels.gru_backward_kernel, tensors + [work[0], work[1]]
            kernel[(triton_cdiv(batch, BLOCK_B),)](
                *tensors, steps, batch, hidden, HAS_MASK=mask is not None, PREC=_precision(ctx.dtypes[0]),
                **_flags(plan), **_tiles(hidden))
        # the weight gradients: one large product each over all T·B rows
        h_prev = states[:-1].reshape(-1, hidden)                              # (T·B, H)
        d_gates, d_cand = d_pre[..., :G].reshape(steps * batch, G), d_pre[..., G:].reshape(steps * batch, hidden)
        r = gates[..., plan.r_at * hidden:(plan.r_at + 1) * hidden].reshape(-1, hidden) if plan.r_at is not None \
            else None
        parts = ([d_pre[..., :G]] if plan.gates_read_x and G else []) + [d_pre[..., G:]]
        d_xw = torch.cat(parts, dim=-1).to(ctx.dtypes[0])
        d_u_fused = d_u_h = d_b_const = d_b_hh = None
        if u_fused is not None:
            blocks = [d_gates.t() @ h_prev] if plan.gates_read_h and G else []
            if plan.candidate == "no_reset":
                blocks.append(d_cand.t() @ h_prev)
            elif plan.candidate == "reset_after":
                blocks.append((d_cand * r).t() @ h_prev)
            d_u_fused = torch.cat(blocks).to(u_fused.dtype)
        if u_h is not None:
            d_u_h = (d_cand.t() @ (r * h_prev)).to(u_h.dtype)
        if ctx.has[0]:
            d_b_const = d_gates.sum(0).to(ctx.dtypes[2])
        if ctx.has[1]:
            d_b_hh = (d_cand * r).sum(0).to(ctx.dtypes[3])
        return d_xw, d_h.to(ctx.dtypes[1]), None, None, d_u_fused, d_u_h, d_b_const, d_b_hh
