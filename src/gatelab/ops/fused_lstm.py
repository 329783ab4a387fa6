"""Fused CPU recurrence for the LSTM, with a hand-written backward (twin: :func:`gatelab.ops.recurrence_ref`).

Per step forward: one ``addmm`` for all four gates (their input part was projected for all steps at once by the
caller), in-place activations, the cell update. It saves the gate values and the cell states. Per step
backward: five whole-slab operations and one matrix product, with every factor that does not depend on the
carried gradients computed for all steps at once before the loop; the recurrent weight gradient is one
product over all T·B rows after it. First derivatives only (``create_graph=True`` raises).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from ..cells import CellLayout, CellParams, State
from .recurrence import refuse_double_backward


def fused_lstm_recurrence(x: Tensor, state0: State, layout: CellLayout, params: CellParams,
                          mask: Tensor | None = None) -> tuple[Tensor, State]:
    """Same contract as :func:`gatelab.ops.recurrence` for the LSTM (state ``(h, c)``)."""
    if (layout.sigma.name, layout.phi.name) != ("sigmoid", "tanh"):
        raise NotImplementedError("fused LSTM: sigmoid gates and tanh only; use backend='loop'")
    xw = F.linear(x, params.weight_ih, layout.input_bias(params))            # (T, B, 4H), one GEMM
    h0, c0 = state0
    if torch.is_grad_enabled() and any(t.requires_grad for t in (xw, h0, c0, params.weight_hh)):
        out, h_last, c_last = _FusedLSTM.apply(xw, h0, c0, params.weight_hh, mask)
    else:
        out, cells, _ = _forward(xw, h0, c0, params.weight_hh, mask, keep=False)
        h_last, c_last = out[-1], cells[(xw.shape[0] - 1) % cells.shape[0]]
    if mask is not None:
        out = out * mask.unsqueeze(-1).to(out.dtype)
    return out, (h_last, c_last)


def _forward(xw: Tensor, h0: Tensor, c0: Tensor, u: Tensor, mask: Tensor | None, *, keep: bool):
    """The forward loop. ``keep``: keep every step's gates and cell state for the backward; otherwise reuse one
    step of gate scratch and two alternating cell-state buffers (inference)."""
    steps, batch, _ = xw.shape
    H = h0.shape[-1]
    out = xw.new_empty(steps, batch, H)
    cells = xw.new_empty(steps if keep else 2, batch, H)
    gates = xw.new_empty(steps if keep else 1, batch, 4 * H)                 # i, f, g, o after activation
    u_t = u.t()
    g_s = gates.unbind(0) if keep else gates.unbind(0) * steps
    c_s = cells.unbind(0) if keep else [cells[t % 2] for t in range(steps)]
    xw_s, o_s = xw.unbind(0), out.unbind(0)
    m_s = mask.unsqueeze(-1).unbind(0) if mask is not None else None
    h, c = h0, c0
    for t in range(steps):
        g = torch.addmm(xw_s[t], h, u_t, out=g_s[t])                         # (B, 4H)
        g[:, :2 * H].sigmoid_()
        g[:, 2 * H:3 * H].tanh_()
        g[:, 3 * H:].sigmoid_()
        c_new = torch.mul(g[:, H:2 * H], c, out=c_s[t]).addcmul_(g[:, :H], g[:, 2 * H:3 * H])
        h_new = torch.mul(g[:, 3 * H:], torch.tanh(c_new), out=o_s[t])
        if m_s is not None:
            c_new.copy_(torch.where(m_s[t], c_new, c))
            h_new.copy_(torch.where(m_s[t], h_new, h))
        h, c = h_new, c_new
    return out, cells, gates


class _FusedLSTM(torch.autograd.Function):
    @staticmethod
    def forward(ctx, xw: Tensor, h0: Tensor, c0: Tensor, u: Tensor, mask: Tensor | None):
        out, cells, gates = _forward(xw, h0, c0, u, mask, keep=True)
        ctx.save_for_backward(h0, c0, u, out, cells, gates, mask)
        return out, out[-1].clone(), cells[-1].clone()

    @staticmethod
    def backward(ctx, d_out: Tensor | None, d_h_last: Tensor | None, d_c_last: Tensor | None):
        refuse_double_backward("'fused_lstm'")
        h0, c0, u, out, cells, gates, mask = ctx.saved_tensors
        steps, batch, H = out.shape
        i, f, g, o = gates.split(H, dim=-1)
        c_prev = torch.cat([c0.unsqueeze(0), cells[:-1]])
        h_prev = torch.cat([h0.unsqueeze(0), out[:-1]])
        tc = torch.tanh(cells)
        # Factors that do not depend on the carried gradients, for all steps at once:
        dh_to_c = o * (1 - tc * tc)                                          # ∂h/∂c through h = o tanh(c)
        dh_to_o = tc * o * (1 - o)                                           # ∂h/∂(o's pre-activation)
        dc_to_ifg = torch.cat([g * i * (1 - i), c_prev * f * (1 - f), i * (1 - g * g)], dim=-1)  # (T, B, 3H)
        m = notm = None
        if mask is not None:
            m = mask.unsqueeze(-1).to(out.dtype)
            notm = 1 - m

        d_xw = out.new_empty(steps, batch, 4 * H)
        dx_s = d_xw.unbind(0)
        ifg_s, hc_s, ho_s, f_s = dc_to_ifg.unbind(0), dh_to_c.unbind(0), dh_to_o.unbind(0), f.unbind(0)
        dout_s = d_out.unbind(0) if d_out is not None else None
        m_s = m.unbind(0) if m is not None else None
        notm_s = notm.unbind(0) if notm is not None else None

        d_h = d_h_last.clone() if d_h_last is not None else out.new_zeros(batch, H)
        if dout_s is not None:
            d_h = d_h + dout_s[-1]
        d_c = d_c_last.clone() if d_c_last is not None else out.new_zeros(batch, H)
        for t in range(steps - 1, -1, -1):
            s_h, s_c = (d_h * m_s[t], d_c * m_s[t]) if m_s is not None else (d_h, d_c)
            dc = torch.addcmul(s_c, s_h, hc_s[t])                            # total ∂L/∂c_t
            dx = dx_s[t]
            torch.mul(ifg_s[t].view(batch, 3, H), dc.unsqueeze(1), out=dx[:, :3 * H].view(batch, 3, H))
            torch.mul(s_h, ho_s[t], out=dx[:, 3 * H:])
            d_c_next = dc * f_s[t]
            following = dout_s[t - 1] if (dout_s is not None and t > 0) else None
            d_h_next = torch.addmm(following, dx, u) if following is not None else torch.mm(dx, u)
            if notm_s is not None:
                d_h_next.addcmul_(d_h, notm_s[t])
                d_c_next.addcmul_(d_c, notm_s[t])
            d_h, d_c = d_h_next, d_c_next
        rows = steps * batch
        d_u = d_xw.reshape(rows, 4 * H).t().mm(h_prev.reshape(rows, H))
        return d_xw, d_h, d_c, d_u, None
