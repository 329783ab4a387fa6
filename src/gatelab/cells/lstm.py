"""One step of the LSTM (the lab's other gated unit). The time loop lives in :mod:`gatelab.ops`."""

from __future__ import annotations

from typing import NamedTuple

import torch.nn.functional as F
from torch import Tensor

from .activations import Activation


class LSTMGates(NamedTuple):
    """What one LSTM step computes before its update; each (B, H)."""

    i: Tensor
    f: Tensor
    g: Tensor
    o: Tensor


def lstm_gates(xw: Tensor, h: Tensor, u: Tensor, sigma: Activation, phi: Activation) -> LSTMGates:
    r"""The gates and the candidate of one LSTM step (PyTorch's block order i, f, g, o)::

        i_t = σ_g(W_i x_t + U_i h_{t-1} + b_i)          input gate
        f_t = σ_g(W_f x_t + U_f h_{t-1} + b_f)          forget gate (b_f initialised to 1)
        g_t = φ_h(W_g x_t + U_g h_{t-1} + b_g)          candidate
        o_t = σ_g(W_o x_t + U_o h_{t-1} + b_o)          output gate

    Args:
        xw: (B, 4H) the input projection W x_t + b, computed for all steps at once by the caller.
        h: (B, H) the previous hidden state.
        u: (4H, H) the stacked U_i, U_f, U_g, U_o.
    """
    H = h.shape[-1]
    pre = xw + F.linear(h, u)                                                # (B, 4H)
    i, f = sigma(pre[:, :2 * H]).chunk(2, dim=1)
    return LSTMGates(i, f, phi(pre[:, 2 * H:3 * H]), sigma(pre[:, 3 * H:]))


def lstm_step(xw: Tensor, h: Tensor, c: Tensor, u: Tensor, sigma: Activation,
              phi: Activation) -> tuple[Tensor, Tensor]:
    r"""One step (h_{t-1}, c_{t-1}) → (h_t, c_t) of the standard LSTM: :func:`lstm_gates`, then::

        c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t
        h_t = o_t ⊙ φ_h(c_t)

    Args:
        xw: (B, 4H) the input projection W x_t + b, computed for all steps at once by the caller.
        h, c: (B, H) the previous hidden and cell states.
        u: (4H, H) the stacked U_i, U_f, U_g, U_o.

    Follows Hochreiter & Schmidhuber 1997 with the forget gate of Gers et al. 2000; the single bias per block
    is PyTorch's b_ih + b_hh.
    """
    i, f, g, o = lstm_gates(xw, h, u, sigma, phi)
    c = f * c + i * g
    return o * phi(c), c
