"""The linear recurrence h_t = a_t ⊙ h_{t-1} + b_t, for variants whose gates and candidate do not read h.

For such a variant (``VariantSpec.h_independent``, e.g. ``min_gru``) every a_t and b_t is a function of x only,
so they are computed for all steps at once, and only this elementwise recurrence is left:

    z_t = σ_g(W_z x_t + b_z),  ĥ_t = φ_h(W_h x_t + b_h)
    a_t = 1 − z_t,  b_t = z_t ⊙ ĥ_t      (carry);   a_t = 0, b_t = z_t ⊙ ĥ_t (no carry);   a_t = 0, b_t = ĥ_t (z ≡ 1)

Two solvers with one hand-written backward (the gradient obeys the same recurrence run backwards,
g_t = ∂L/∂h_t + a_{t+1} ⊙ g_{t+1}, then ∂L/∂a_t = g_t ⊙ h_{t-1}, ∂L/∂b_t = g_t, ∂L/∂h_0 = a_1 ⊙ g_1):

- ``"loop"``: one fused multiply-add per step; the fastest on a few CPU cores.
- ``"scan"``: a Hillis–Steele parallel scan, ⌈log₂ T⌉ rounds of whole-tensor products — O(log T) depth for
  GPUs and many cores. It only multiplies and adds (no logarithms, no divisions), so it stays exact in the same
  sense as the loop for any T: products of a_t ∈ [0, 1] can only shrink towards 0, never overflow.

Twin: :func:`linear_recurrence_ref`, a plain autograd loop.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from .._errors import bad_argument, unknown_name
from ..cells import CellLayout, CellParams, State, gru_gates, gru_plan, gru_step_weights
from .recurrence import refuse_double_backward

SOLVERS = ("loop", "scan")


def linear_recurrence_ref(a: Tensor, b: Tensor, h0: Tensor) -> Tensor:
    """h_t = a_t ⊙ h_{t-1} + b_t for t = 1 … T; a, b (T, B, H), h0 (B, H) → (T, B, H). Plain autograd loop."""
    h, out = h0, []
    for a_t, b_t in zip(a.unbind(0), b.unbind(0)):
        h = a_t * h + b_t
        out.append(h)
    return torch.stack(out)


def linear_recurrence(a: Tensor, b: Tensor, h0: Tensor, solver: str = "loop") -> Tensor:
    """Same as :func:`linear_recurrence_ref`, with a hand-written backward and the chosen solver."""
    if solver not in SOLVERS:
        raise unknown_name("solver", solver, SOLVERS)
    return _LinearRecurrence.apply(a, b, h0, solver)


def _solve_loop(a: Tensor, b: Tensor, h0: Tensor) -> Tensor:
    out = torch.empty_like(b)
    h = h0
    for a_t, b_t, o_t in zip(a.unbind(0), b.unbind(0), out.unbind(0)):
        h = torch.addcmul(b_t, a_t, h, out=o_t)
    return out


def _adjoint_loop(a: Tensor, d_h: Tensor) -> Tensor:
    """g_t = d_h_t + a_{t+1} ⊙ g_{t+1}, from t = T down to 1, without copying anything reversed."""
    g = torch.empty_like(d_h)
    a_s, d_s, g_s = a.unbind(0), d_h.unbind(0), g.unbind(0)
    g_s[-1].copy_(d_s[-1])
    for t in range(len(g_s) - 2, -1, -1):
        torch.addcmul(d_s[t], a_s[t + 1], g_s[t + 1], out=g_s[t])
    return g


def _adjoint_scan(a: Tensor, d_h: Tensor) -> Tensor:
    """The same as :func:`_adjoint_loop` through the parallel scan on time-reversed inputs."""
    a_next = torch.cat([a[1:], a.new_zeros((1, *a.shape[1:]))]).flip(0)
    return _solve_scan(a_next, d_h.flip(0), torch.zeros_like(d_h[0])).flip(0)


def _solve_scan(a: Tensor, b: Tensor, h0: Tensor) -> Tensor:
    """Inclusive scan of the affine maps h ↦ a_t h + b_t; composing two is (a₂a₁, a₂b₁ + b₂)."""
    coef = a.clone()
    acc = b.clone()
    acc[0].addcmul_(a[0], h0)                                                # fold h0 into the first map
    shift = 1
    while shift < a.shape[0]:
        acc_next = acc.clone()
        acc_next[shift:].addcmul_(coef[shift:], acc[:-shift])
        coef_next = coef.clone()
        coef_next[shift:].mul_(coef[:-shift])
        acc, coef = acc_next, coef_next
        shift *= 2
    return acc


_SOLVE = {"loop": _solve_loop, "scan": _solve_scan}
_ADJOINT = {"loop": _adjoint_loop, "scan": _adjoint_scan}


class _LinearRecurrence(torch.autograd.Function):
    @staticmethod
    def forward(ctx, a: Tensor, b: Tensor, h0: Tensor, solver: str) -> Tensor:
        h = _SOLVE[solver](a, b, h0.expand_as(b[0]))
        ctx.solver = solver
        ctx.save_for_backward(a, h0, h)
        return h

    @staticmethod
    def backward(ctx, d_h: Tensor):
        refuse_double_backward("'linear' or 'scan'")
        a, h0, h = ctx.saved_tensors
        g = _ADJOINT[ctx.solver](a, d_h.contiguous())                         # ∂L/∂h_t, all t
        d_a = torch.empty_like(g)                                            # g_t ⊙ h_{t-1}
        torch.mul(g[1:], h[:-1], out=d_a[1:])
        torch.mul(g[0], h0, out=d_a[0])
        d_h0 = (a[0] * g[0]).sum_to_size(h0.shape)
        return d_a, g, d_h0, None


def linear_gru_recurrence(x: Tensor, state0: State, layout: CellLayout, params: CellParams,
                          mask: Tensor | None = None, *, solver: str = "loop") -> tuple[Tensor, State]:
    """Same contract as :func:`gatelab.ops.recurrence`, for h-independent GRU-family layouts only."""
    spec = layout.options.spec
    if not spec.h_independent:
        raise bad_argument("layout", "an h-independent variant", spec.name)
    steps, batch, _ = x.shape
    H = layout.hidden_size
    xw = F.linear(x, params.weight_ih, layout.input_bias(params))            # (T, B, n_x·H), one GEMM
    no_state = xw.new_zeros(()).expand(steps * batch, H)                     # never read: gates ignore h
    z, _, candidate = gru_gates(xw.reshape(steps * batch, xw.shape[-1]), no_state, gru_step_weights(layout, params),
                                gru_plan(layout))
    candidate = candidate.reshape(steps, batch, H)
    if z is None:
        a, b = torch.zeros_like(candidate), candidate
    else:
        z = z.reshape(steps, batch, H)
        a = 1.0 - z if spec.carry else torch.zeros_like(z)
        b = z * candidate
    if mask is not None:                                                      # frozen steps: h_t = h_{t-1}
        keep = mask.unsqueeze(-1)
        a, b = torch.where(keep, a, torch.ones_like(a)), torch.where(keep, b, torch.zeros_like(b))
    h = linear_recurrence(a, b, state0[0], solver)
    final = h[-1]
    if mask is not None:
        h = h * mask.unsqueeze(-1).to(h.dtype)
    return h, (final,)


def scan_gru_recurrence(x: Tensor, state0: State, layout: CellLayout, params: CellParams,
                        mask: Tensor | None = None) -> tuple[Tensor, State]:
    """:func:`linear_gru_recurrence` with the parallel-scan solver."""
    return linear_gru_recurrence(x, state0, layout, params, mask, solver="scan")
