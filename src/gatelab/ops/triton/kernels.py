"""Triton kernels for the recurrence of every h-dependent GRU-family variant: forward and backward.

Two pairs. For H ≤ 64 the *persistent* kernels load every U block once and keep the state (and, going back,
the carried gradient) in registers for all T steps. For larger H the *tiled* kernels: one program owns a block of
``BB`` batch rows and walks the T steps; within a step it sweeps the H units in tiles of ``BH``, each tile's
recurrent products ``h_{t−1} U^T`` done as ``tl.dot`` over ``BK``-wide slices of h, U re-read (from L2) every
step. States live in a (T + 1, B, H) float32 buffer (row 0 is h_0), so step t reads h_{t−1} from row t; the
phases of a step are separated by ``tl.debug_barrier`` because later tiles read what earlier tiles wrote.

The variant is compile-time data (constexpr flags from :class:`~gatelab.cells.gru.GRUPlan`), so each variant
gets its own specialised kernel with no branches at run time. Gates, candidates (and U_h h + b_hh for
``reset="after"``) are kept for the backward, which runs the steps in reverse and writes the pre-activation
gradients of every step; the weight gradients are then single large matrix products outside the kernels (see
``__init__.py``).

Equations: :func:`gatelab.cells.gru.gru_gates` / :func:`gatelab.cells.gru.gru_step` (seed convention).
Reference twin: :func:`gatelab.ops.recurrence_ref`; parity tests run under ``TRITON_INTERPRET=1`` on the CPU.
"""

from __future__ import annotations

import triton
import triton.language as tl

# CAND: the candidate modes of GRUPlan.candidate — 0 x_only, 1 fused, 2 reset_after, 3 reset_before


@triton.jit
def _sigma(a, KIND: tl.constexpr):
    if KIND == 0:
        out = tl.sigmoid(a)
    else:                                                    # hard_sigmoid: clip(a/6 + 1/2, 0, 1)
        out = tl.minimum(tl.maximum(a / 6.0 + 0.5, 0.0), 1.0)
    return out


@triton.jit
def _sigma_grad(g, KIND: tl.constexpr):
    """σ' from the gate value g = σ(a)."""
    if KIND == 0:
        out = g - g * g
    else:
        out = tl.where((g > 0.0) & (g < 1.0), 1.0 / 6.0, 0.0)
    return out


@triton.jit
def _phi(a, KIND: tl.constexpr):
    if KIND == 0:                                            # tanh(a) = 2σ(2a) − 1
        out = 2.0 * tl.sigmoid(2.0 * a) - 1.0
    elif KIND == 1:
        out = tl.maximum(a, 0.0)
    else:
        out = a
    return out


@triton.jit
def _phi_grad(c, KIND: tl.constexpr):
    """φ' from the candidate value c = φ(a)."""
    if KIND == 0:
        out = 1.0 - c * c
    elif KIND == 1:
        out = tl.where(c > 0.0, 1.0, 0.0)
    else:
        out = c * 0.0 + 1.0
    return out


@triton.jit
def _matvec(src, src_stride, rows, row_ok, w, w_row0, n0, H,
            TRANS: tl.constexpr, BB: tl.constexpr, BH: tl.constexpr, BK: tl.constexpr, PREC: tl.constexpr):
    """acc[b, n] = Σ_k src[b, k] · W[w_row0 + n, k]   (TRANS=False: h U^T, the forward's products)
       acc[b, n] = Σ_k src[b, k] · W[w_row0 + k, n]   (TRANS=True:  δ U, the backward's)
    for the output units n0 … n0 + BH of the rows ``rows``; W is row-major with H columns."""
    cols = n0 + tl.arange(0, BH)
    col_ok = cols < H
    acc = tl.zeros((BB, BH), dtype=tl.float32)
    for k0 in range(0, H, BK):
        ks = k0 + tl.arange(0, BK)
        k_ok = ks < H
        s = tl.load(src + rows[:, None] * src_stride + ks[None, :], mask=row_ok[:, None] & k_ok[None, :],
                    other=0.0)
        if TRANS:
            wt = tl.load(w + (w_row0 + ks)[:, None] * H + cols[None, :], mask=k_ok[:, None] & col_ok[None, :],
                         other=0.0)
        else:
            wt = tl.load(w + (w_row0 + cols)[None, :] * H + ks[:, None], mask=k_ok[:, None] & col_ok[None, :],
                         other=0.0)
        acc += tl.dot(s.to(wt.dtype), wt, input_precision=PREC)
    return acc


@triton.jit
def gru_forward_kernel(xw, states, u, u_h, b_const, b_hh, mask, gates, cand, uh_keep, rh,
                       T, B, H, NX,
                       N_GATES: tl.constexpr, Z_AT: tl.constexpr, R_AT: tl.constexpr, GATES_X: tl.constexpr,
                       GATES_H: tl.constexpr, CAND: tl.constexpr, CARRY: tl.constexpr, SIGMA: tl.constexpr,
                       PHI: tl.constexpr, HAS_BC: tl.constexpr, HAS_BHH: tl.constexpr, HAS_MASK: tl.constexpr,
                       KEEP: tl.constexpr, BB: tl.constexpr, BH: tl.constexpr, BK: tl.constexpr,
                       PREC: tl.constexpr):
    rows = tl.program_id(0) * BB + tl.arange(0, BB)
    row_ok = rows < B
    G = N_GATES * H
    NHB: tl.constexpr = N_GATES if GATES_H else 0            # gate blocks at the top of u
    for t in range(T):
        h_prev = states + t * B * H
        saved = t * KEEP                                     # inference keeps one step of scratch
        if N_GATES > 0:                                      # z_t, r_t = σ(W x + U h + b)
            for n0 in range(0, H, BH):
                cols = n0 + tl.arange(0, BH)
                ok = row_ok[:, None] & (cols < H)[None, :]
                for j in tl.static_range(N_GATES):
                    pre = tl.zeros((BB, BH), dtype=tl.float32)
                    if GATES_X:
                        pre += tl.load(xw + t * B * NX + rows[:, None] * NX + j * H + cols[None, :], mask=ok,
                                       other=0.0).to(tl.float32)
                    if GATES_H:
                        pre += _matvec(h_prev, H, rows, row_ok, u, j * H, n0, H, False, BB, BH, BK, PREC)
                    if HAS_BC:
                        pre += tl.load(b_const + j * H + cols, mask=cols < H, other=0.0).to(tl.float32)[None, :]
                    tl.store(gates + saved * B * G + rows[:, None] * G + j * H + cols[None, :], _sigma(pre, SIGMA),
                             mask=ok)
            tl.debug_barrier()
        if CAND == 3:                                        # r ⊙ h_{t−1}, read whole by U_h below
            for n0 in range(0, H, BH):
                cols = n0 + tl.arange(0, BH)
                ok = row_ok[:, None] & (cols < H)[None, :]
                r = tl.load(gates + saved * B * G + rows[:, None] * G + R_AT * H + cols[None, :], mask=ok, other=0.0)
                hp = tl.load(h_prev + rows[:, None] * H + cols[None, :], mask=ok, other=0.0)
                tl.store(rh + rows[:, None] * H + cols[None, :], r * hp, mask=ok)
            tl.debug_barrier()
        for n0 in range(0, H, BH):                           # ĥ_t, then h_t
            cols = n0 + tl.arange(0, BH)
            ok = row_ok[:, None] & (cols < H)[None, :]
            a = tl.load(xw + t * B * NX + rows[:, None] * NX + (NX - H) + cols[None, :], mask=ok,
                        other=0.0).to(tl.float32)
            if CAND == 1:
                a += _matvec(h_prev, H, rows, row_ok, u, NHB * H, n0, H, False, BB, BH, BK, PREC)
            if CAND == 2:
                v = _matvec(h_prev, H, rows, row_ok, u, NHB * H, n0, H, False, BB, BH, BK, PREC)
                if HAS_BHH:
                    v += tl.load(b_hh + cols, mask=cols < H, other=0.0).to(tl.float32)[None, :]
                tl.store(uh_keep + saved * B * H + rows[:, None] * H + cols[None, :], v, mask=ok)
                r = tl.load(gates + saved * B * G + rows[:, None] * G + R_AT * H + cols[None, :], mask=ok, other=0.0)
                a += r * v
            if CAND == 3:
                a += _matvec(rh, H, rows, row_ok, u_h, 0, n0, H, False, BB, BH, BK, PREC)
            c = _phi(a, PHI)
            hp = tl.load(h_prev + rows[:, None] * H + cols[None, :], mask=ok, other=0.0)
            if Z_AT >= 0:
                z = tl.load(gates + saved * B * G + rows[:, None] * G + Z_AT * H + cols[None, :], mask=ok, other=0.0)
                tl.store(cand + saved * B * H + rows[:, None] * H + cols[None, :], c, mask=ok)
                if CARRY:
                    h_new = hp + z * (c - hp)                # (1 − z) h_{t−1} + z ĥ_t
                else:
                    h_new = z * c
            else:
                h_new = c                                    # z ≡ 1
            if HAS_MASK:
                real = tl.load(mask + t * B + rows, mask=row_ok, other=0) != 0
                h_new = tl.where(real[:, None], h_new, hp)
            tl.store(h_prev + B * H + rows[:, None] * H + cols[None, :], h_new, mask=ok)
        tl.debug_barrier()


@triton.jit
def gru_backward_kernel(d_out, states, u, u_h, mask, gates, cand, uh_keep, d_pre, d_h, d_hp, scratch,
                        T, B, H,
                        N_GATES: tl.constexpr, Z_AT: tl.constexpr, R_AT: tl.constexpr, GATES_H: tl.constexpr,
                        CAND: tl.constexpr, CARRY: tl.constexpr, SIGMA: tl.constexpr, PHI: tl.constexpr,
                        HAS_MASK: tl.constexpr, BB: tl.constexpr, BH: tl.constexpr, BK: tl.constexpr,
                        PREC: tl.constexpr):
    """d_pre (T, B, G + H): ∂L/∂(pre-activation) of the gates, then of the candidate, per step; d_h (B, H)
    carries ∂L/∂h_t backwards and ends as ∂L/∂h_0; d_hp and scratch are (B, H) work buffers."""
    rows = tl.program_id(0) * BB + tl.arange(0, BB)
    row_ok = rows < B
    G = N_GATES * H
    GH = G + H
    NHB: tl.constexpr = N_GATES if GATES_H else 0
    for step in range(T):
        t = T - 1 - step
        h_prev = states + t * B * H
        dp = d_pre + t * B * GH
        for n0 in range(0, H, BH):                           # what each unit's own values give
            cols = n0 + tl.arange(0, BH)
            ok = row_ok[:, None] & (cols < H)[None, :]
            at = rows[:, None] * H + cols[None, :]
            dh = tl.load(d_h + at, mask=ok, other=0.0) + tl.load(d_out + t * B * H + at, mask=ok, other=0.0)
            passed = dh * 0.0
            if HAS_MASK:
                real = (tl.load(mask + t * B + rows, mask=row_ok, other=0) != 0)[:, None]
                passed = tl.where(real, 0.0, dh)             # a padded step hands its gradient straight back
                dh = tl.where(real, dh, 0.0)
            hp = tl.load(h_prev + at, mask=ok, other=0.0)
            if Z_AT >= 0:
                c = tl.load(cand + t * B * H + at, mask=ok, other=0.0)
                z = tl.load(gates + t * B * G + rows[:, None] * G + Z_AT * H + cols[None, :], mask=ok, other=0.0)
                dc = dh * z
                if CARRY:
                    dz = dh * (c - hp)
                    dhp = dh * (1.0 - z)
                else:
                    dz = dh * c
                    dhp = dh * 0.0
                tl.store(dp + rows[:, None] * GH + Z_AT * H + cols[None, :], dz, mask=ok)
            else:
                c = tl.load(h_prev + B * H + at, mask=ok, other=0.0)
                dc = dh
                dhp = dh * 0.0
            da = dc * _phi_grad(c, PHI)
            tl.store(dp + rows[:, None] * GH + G + cols[None, :], da, mask=ok)
            if CAND == 2:
                r = tl.load(gates + t * B * G + rows[:, None] * G + R_AT * H + cols[None, :], mask=ok, other=0.0)
                v = tl.load(uh_keep + t * B * H + at, mask=ok, other=0.0)
                tl.store(scratch + at, da * r, mask=ok)      # ∂L/∂(U_h h + b_hh)
                dr = da * v
                if R_AT == Z_AT:                             # mgu: the one gate is z and r
                    dr += dz
                tl.store(dp + rows[:, None] * GH + R_AT * H + cols[None, :], dr, mask=ok)
            tl.store(d_hp + at, dhp + passed, mask=ok)
        tl.debug_barrier()
        for n0 in range(0, H, BH):                           # what needs a whole row: U_h's products, then σ'
            cols = n0 + tl.arange(0, BH)
            ok = row_ok[:, None] & (cols < H)[None, :]
            at = rows[:, None] * H + cols[None, :]
            dhp = tl.load(d_hp + at, mask=ok, other=0.0)
            if CAND == 1:
                dhp += _matvec(dp + G, GH, rows, row_ok, u, NHB * H, n0, H, True, BB, BH, BK, PREC)
            if CAND == 2:
                dhp += _matvec(scratch, H, rows, row_ok, u, NHB * H, n0, H, True, BB, BH, BK, PREC)
            if CAND == 3:
                drh = _matvec(dp + G, GH, rows, row_ok, u_h, 0, n0, H, True, BB, BH, BK, PREC)
                r = tl.load(gates + t * B * G + rows[:, None] * G + R_AT * H + cols[None, :], mask=ok, other=0.0)
                hp = tl.load(h_prev + at, mask=ok, other=0.0)
                dhp += drh * r
                dr = drh * hp
                if R_AT == Z_AT:
                    dr += tl.load(dp + rows[:, None] * GH + Z_AT * H + cols[None, :], mask=ok, other=0.0)
            for j in tl.static_range(N_GATES):
                slot = dp + rows[:, None] * GH + j * H + cols[None, :]
                g = tl.load(gates + t * B * G + rows[:, None] * G + j * H + cols[None, :], mask=ok, other=0.0)
                if CAND == 3 and j == R_AT:
                    raw = dr                                 # computed just above, in registers
                else:
                    raw = tl.load(slot, mask=ok, other=0.0)  # written by the first sweep
                tl.store(slot, raw * _sigma_grad(g, SIGMA), mask=ok)
            if GATES_H and N_GATES > 0:
                tl.store(d_hp + at, dhp, mask=ok)
            else:
                tl.store(d_h + at, dhp, mask=ok)
        tl.debug_barrier()
        if GATES_H and N_GATES > 0:                          # the gates' own U products
            for n0 in range(0, H, BH):
                cols = n0 + tl.arange(0, BH)
                ok = row_ok[:, None] & (cols < H)[None, :]
                at = rows[:, None] * H + cols[None, :]
                dhp = tl.load(d_hp + at, mask=ok, other=0.0)
                for j in tl.static_range(N_GATES):
                    dhp += _matvec(dp + j * H, GH, rows, row_ok, u, j * H, n0, H, True, BB, BH, BK, PREC)
                tl.store(d_h + at, dhp, mask=ok)
            tl.debug_barrier()


# ---- persistent kernels: the whole state and every U block stay on chip for all T steps (H ≤ 64) ------------
@triton.jit
def _weights(w, row0, H, HP: tl.constexpr, FOR_H: tl.constexpr):
    """An H × H block of a row-major weight starting at row ``row0``, padded to HP × HP with zeros, laid out
    for ``tl.dot(x, ·)``: FOR_H → element (k, n) = W[row0 + n, k] (x U^T); else (k, n) = W[row0 + k, n] (δ U)."""
    k = tl.arange(0, HP)
    n = tl.arange(0, HP)
    ok = (k < H)[:, None] & (n < H)[None, :]
    if FOR_H:
        out = tl.load(w + (row0 + n)[None, :] * H + k[:, None], mask=ok, other=0.0)
    else:
        out = tl.load(w + (row0 + k)[:, None] * H + n[None, :], mask=ok, other=0.0)
    return out


@triton.jit
def _gate(g0, g1, AT: tl.constexpr):
    """The gate at position AT (0 or 1) among the learned gates."""
    if AT == 1:
        out = g1
    else:
        out = g0
    return out


@triton.jit
def gru_forward_persistent_kernel(xw, states, u, u_h, b_const, b_hh, mask, gates, cand, uh_keep,
                                  T, B, H, NX,
                                  N_GATES: tl.constexpr, Z_AT: tl.constexpr, R_AT: tl.constexpr,
                                  GATES_X: tl.constexpr, GATES_H: tl.constexpr, CAND: tl.constexpr,
                                  CARRY: tl.constexpr, SIGMA: tl.constexpr, PHI: tl.constexpr, HAS_BC: tl.constexpr,
                                  HAS_BHH: tl.constexpr, HAS_MASK: tl.constexpr, KEEP: tl.constexpr,
                                  BB: tl.constexpr, HP: tl.constexpr, PREC: tl.constexpr):
    """As :func:`gru_forward_kernel` for H ≤ HP: U is loaded once, h_t never leaves the registers between
    steps (it is written out for the caller and the backward, not read back)."""
    rows = tl.program_id(0) * BB + tl.arange(0, BB)
    cols = tl.arange(0, HP)
    row_ok = rows < B
    ok = row_ok[:, None] & (cols < H)[None, :]
    G = N_GATES * H
    NHB: tl.constexpr = N_GATES if GATES_H else 0
    if GATES_H:
        u_g0 = _weights(u, 0, H, HP, True)
        if N_GATES == 2:
            u_g1 = _weights(u, H, H, HP, True)
    if CAND == 1 or CAND == 2:
        u_c = _weights(u, NHB * H, H, HP, True)
    if CAND == 3:
        u_hh = _weights(u_h, 0, H, HP, True)
    if HAS_BC:
        bc0 = tl.load(b_const + cols, mask=cols < H, other=0.0).to(tl.float32)
        if N_GATES == 2:
            bc1 = tl.load(b_const + H + cols, mask=cols < H, other=0.0).to(tl.float32)
    if HAS_BHH:
        bhh = tl.load(b_hh + cols, mask=cols < H, other=0.0).to(tl.float32)
    h = tl.load(states + rows[:, None] * H + cols[None, :], mask=ok, other=0.0)        # h_0, float32
    for t in range(T):
        saved = t * KEEP
        x_row = xw + t * B * NX + rows[:, None] * NX
        g_row = gates + saved * B * G + rows[:, None] * G
        hd = h.to(xw.dtype.element_ty)
        if N_GATES >= 1:
            pre0 = tl.zeros((BB, HP), dtype=tl.float32)
            if GATES_X:
                pre0 += tl.load(x_row + cols[None, :], mask=ok, other=0.0).to(tl.float32)
            if GATES_H:
                pre0 += tl.dot(hd, u_g0, input_precision=PREC)
            if HAS_BC:
                pre0 += bc0[None, :]
            g0 = _sigma(pre0, SIGMA)
            tl.store(g_row + cols[None, :], g0, mask=ok)
        if N_GATES == 2:
            pre1 = tl.zeros((BB, HP), dtype=tl.float32)
            if GATES_X:
                pre1 += tl.load(x_row + H + cols[None, :], mask=ok, other=0.0).to(tl.float32)
            if GATES_H:
                pre1 += tl.dot(hd, u_g1, input_precision=PREC)
            if HAS_BC:
                pre1 += bc1[None, :]
            g1 = _sigma(pre1, SIGMA)
            tl.store(g_row + H + cols[None, :], g1, mask=ok)
        if N_GATES == 1:
            g1 = g0                                          # unread: keeps _gate's arguments defined
        if Z_AT >= 0:
            z = _gate(g0, g1, Z_AT)
        if R_AT >= 0:
            r = _gate(g0, g1, R_AT)
        a = tl.load(x_row + (NX - H) + cols[None, :], mask=ok, other=0.0).to(tl.float32)
        if CAND == 1:
            a += tl.dot(hd, u_c, input_precision=PREC)
        if CAND == 2:
            v = tl.dot(hd, u_c, input_precision=PREC)
            if HAS_BHH:
                v += bhh[None, :]
            tl.store(uh_keep + saved * B * H + rows[:, None] * H + cols[None, :], v, mask=ok)
            a += r * v
        if CAND == 3:
            a += tl.dot((r * h).to(xw.dtype.element_ty), u_hh, input_precision=PREC)
        c = _phi(a, PHI)
        if Z_AT >= 0:
            tl.store(cand + saved * B * H + rows[:, None] * H + cols[None, :], c, mask=ok)
            if CARRY:
                h_new = h + z * (c - h)
            else:
                h_new = z * c
        else:
            h_new = c
        if HAS_MASK:
            real = tl.load(mask + t * B + rows, mask=row_ok, other=0) != 0
            h_new = tl.where(real[:, None], h_new, h)
        tl.store(states + (t + 1) * B * H + rows[:, None] * H + cols[None, :], h_new, mask=ok)
        h = h_new


@triton.jit
def gru_backward_persistent_kernel(d_out, states, u, u_h, mask, gates, cand, uh_keep, d_pre, d_h,
                                   T, B, H,
                                   N_GATES: tl.constexpr, Z_AT: tl.constexpr, R_AT: tl.constexpr,
                                   GATES_H: tl.constexpr, CAND: tl.constexpr, CARRY: tl.constexpr,
                                   SIGMA: tl.constexpr, PHI: tl.constexpr, HAS_MASK: tl.constexpr,
                                   BB: tl.constexpr, HP: tl.constexpr, PREC: tl.constexpr):
    """As :func:`gru_backward_kernel` for H ≤ HP, with U and the carried ∂L/∂h on chip for all T steps."""
    rows = tl.program_id(0) * BB + tl.arange(0, BB)
    cols = tl.arange(0, HP)
    row_ok = rows < B
    ok = row_ok[:, None] & (cols < H)[None, :]
    at = rows[:, None] * H + cols[None, :]
    G = N_GATES * H
    GH = G + H
    NHB: tl.constexpr = N_GATES if GATES_H else 0
    if GATES_H:
        w_g0 = _weights(u, 0, H, HP, False)
        if N_GATES == 2:
            w_g1 = _weights(u, H, H, HP, False)
    if CAND == 1 or CAND == 2:
        w_c = _weights(u, NHB * H, H, HP, False)
    if CAND == 3:
        w_hh = _weights(u_h, 0, H, HP, False)
    dh = tl.zeros((BB, HP), dtype=tl.float32)
    for step in range(T):
        t = T - 1 - step
        dh += tl.load(d_out + t * B * H + at, mask=ok, other=0.0)
        passed = dh * 0.0
        if HAS_MASK:
            real = (tl.load(mask + t * B + rows, mask=row_ok, other=0) != 0)[:, None]
            passed = tl.where(real, 0.0, dh)
            dh = tl.where(real, dh, 0.0)
        hp = tl.load(states + t * B * H + at, mask=ok, other=0.0)
        g_row = gates + t * B * G + rows[:, None] * G
        if N_GATES >= 1:
            g0 = tl.load(g_row + cols[None, :], mask=ok, other=0.0)
        if N_GATES == 2:
            g1 = tl.load(g_row + H + cols[None, :], mask=ok, other=0.0)
        if N_GATES == 1:
            g1 = g0                                          # unread: keeps _gate's arguments defined
        if Z_AT >= 0:
            z = _gate(g0, g1, Z_AT)
        if R_AT >= 0:
            r = _gate(g0, g1, R_AT)
        if Z_AT >= 0:
            c = tl.load(cand + t * B * H + at, mask=ok, other=0.0)
            dc = dh * z
            if CARRY:
                dz = dh * (c - hp)
                dhp = dh * (1.0 - z)
            else:
                dz = dh * c
                dhp = dh * 0.0
        else:
            c = tl.load(states + (t + 1) * B * H + at, mask=ok, other=0.0)
            dc = dh
            dhp = dh * 0.0
        da = dc * _phi_grad(c, PHI)
        dp_row = d_pre + t * B * GH + rows[:, None] * GH
        tl.store(dp_row + G + cols[None, :], da, mask=ok)
        if CAND == 1:
            dhp += tl.dot(da.to(w_c.dtype), w_c, input_precision=PREC)
        if CAND == 2:
            v = tl.load(uh_keep + t * B * H + at, mask=ok, other=0.0)
            dhp += tl.dot((da * r).to(w_c.dtype), w_c, input_precision=PREC)
            dr = da * v
        if CAND == 3:
            drh = tl.dot(da.to(w_hh.dtype), w_hh, input_precision=PREC)
            dhp += drh * r
            dr = drh * hp
        if N_GATES >= 1:
            raw0 = dh * 0.0
            if Z_AT == 0:
                raw0 += dz
            if R_AT == 0:
                raw0 += dr
            d0 = raw0 * _sigma_grad(g0, SIGMA)
            tl.store(dp_row + cols[None, :], d0, mask=ok)
            if GATES_H:
                dhp += tl.dot(d0.to(w_g0.dtype), w_g0, input_precision=PREC)
        if N_GATES == 2:
            raw1 = dh * 0.0
            if Z_AT == 1:
                raw1 += dz
            if R_AT == 1:
                raw1 += dr
            d1 = raw1 * _sigma_grad(g1, SIGMA)
            tl.store(dp_row + H + cols[None, :], d1, mask=ok)
            if GATES_H:
                dhp += tl.dot(d1.to(w_g1.dtype), w_g1, input_precision=PREC)
        dh = dhp + passed
    tl.store(d_h + at, dh, mask=ok)
