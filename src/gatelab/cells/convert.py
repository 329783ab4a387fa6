"""Weight converters between gatelab's seed-named parameters and PyTorch's / Keras's GRU and LSTM layouts.

The conventions (see docs/conventions.md):

=========  ===========  ====================  ======================================  ==================
library    gate order   reset placement       update                                  candidate biases
=========  ===========  ====================  ======================================  ==================
gatelab    z, r, h      ``reset=`` either     h = z ĥ + (1 − z) h_{t-1}  (seed)       b_h (+ b_hh after)
PyTorch    r, z, n      after                 h = (1 − z') n + z' h_{t-1}             b_in, b_hn
Keras 3    z, r, h      ``reset_after``       h = z' h_{t-1} + (1 − z') ĥ            bias[0], bias[1]
=========  ===========  ====================  ======================================  ==================

Their z' keeps the *old* state: z' = 1 − z. Because σ(−a) = 1 − σ(a) for both gate activations, z' = σ(a)
is exactly z = σ(−a): the conversion negates W_z, U_z and b_z. It is exact, not an approximation. Both
libraries carry two biases per gate; only their sum matters for z and r, so they are summed on the way in and
put on the input side on the way out.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

Seed = dict[str, Tensor]


def seed_from_torch_gru(w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None, b_hh: Tensor | None) -> Seed:
    """PyTorch GRU tensors (rows r, z, n) → seed names (``reset="after"``)."""
    (w_r, w_z, w_n), (u_r, u_z, u_n) = w_ih.chunk(3), w_hh.chunk(3)
    seed = {"W_z": -w_z, "W_r": w_r, "W_h": w_n, "U_z": -u_z, "U_r": u_r, "U_h": u_n}
    if b_ih is not None:
        (bi_r, bi_z, bi_n), (bh_r, bh_z, bh_n) = b_ih.chunk(3), b_hh.chunk(3)
        seed.update(b_z=-(bi_z + bh_z), b_r=bi_r + bh_r, b_h=bi_n, b_hh=bh_n)
    return seed


def torch_gru_from_seed(seed: Seed) -> tuple[Tensor, Tensor, Tensor | None, Tensor | None]:
    """Seed names (``reset="after"``) → PyTorch's (weight_ih, weight_hh, bias_ih, bias_hh)."""
    w_ih = torch.cat([seed["W_r"], -seed["W_z"], seed["W_h"]])
    w_hh = torch.cat([seed["U_r"], -seed["U_z"], seed["U_h"]])
    if "b_z" not in seed:
        return w_ih, w_hh, None, None
    b_ih = torch.cat([seed["b_r"], -seed["b_z"], seed["b_h"]])
    b_hh = torch.cat([torch.zeros_like(seed["b_r"]), torch.zeros_like(seed["b_z"]), seed["b_hh"]])
    return w_ih, w_hh, b_ih, b_hh


def seed_from_torch_lstm(w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None, b_hh: Tensor | None) -> Seed:
    """PyTorch LSTM tensors (rows i, f, g, o; same maths as gatelab's) → seed-style names."""
    seed = {}
    for block, w, u in zip("ifgo", w_ih.chunk(4), w_hh.chunk(4)):
        seed[f"W_{block}"], seed[f"U_{block}"] = w, u
    if b_ih is not None:
        for block, b in zip("ifgo", (b_ih + b_hh).chunk(4)):
            seed[f"b_{block}"] = b
    return seed


def torch_lstm_from_seed(seed: Seed) -> tuple[Tensor, Tensor, Tensor | None, Tensor | None]:
    w_ih = torch.cat([seed[f"W_{b}"] for b in "ifgo"])
    w_hh = torch.cat([seed[f"U_{b}"] for b in "ifgo"])
    if "b_i" not in seed:
        return w_ih, w_hh, None, None
    b_ih = torch.cat([seed[f"b_{b}"] for b in "ifgo"])
    return w_ih, w_hh, b_ih, torch.zeros_like(b_ih)


def seed_from_keras_gru(weights: list[np.ndarray], reset_after: bool) -> Seed:
    """Keras GRU ``get_weights()`` — kernel (I, 3H), recurrent_kernel (H, 3H) in order z, r, h, and a bias of
    shape (3H,) or, with ``reset_after``, (2, 3H) = [input bias; recurrent bias] — → seed names."""
    kernel, recurrent = (torch.as_tensor(np.asarray(w)) for w in weights[:2])
    (w_z, w_r, w_h), (u_z, u_r, u_h) = kernel.T.chunk(3), recurrent.T.chunk(3)
    seed = {"W_z": -w_z, "W_r": w_r, "W_h": w_h, "U_z": -u_z, "U_r": u_r, "U_h": u_h}
    if len(weights) > 2:
        bias = torch.as_tensor(np.asarray(weights[2]))
        if reset_after:
            (bi_z, bi_r, bi_h), (bh_z, bh_r, bh_h) = bias[0].chunk(3), bias[1].chunk(3)
            seed.update(b_z=-(bi_z + bh_z), b_r=bi_r + bh_r, b_h=bi_h, b_hh=bh_h)
        else:
            b_z, b_r, b_h = bias.chunk(3)
            seed.update(b_z=-b_z, b_r=b_r, b_h=b_h)
    return seed


def keras_gru_from_seed(seed: Seed, reset_after: bool) -> list[np.ndarray]:
    """Seed names → the list Keras's ``GRU.set_weights`` takes (float arrays, Keras layout)."""
    def arr(t: Tensor) -> np.ndarray:
        return t.detach().cpu().numpy()

    kernel = np.concatenate([arr(-seed["W_z"]).T, arr(seed["W_r"]).T, arr(seed["W_h"]).T], axis=1)
    recurrent = np.concatenate([arr(-seed["U_z"]).T, arr(seed["U_r"]).T, arr(seed["U_h"]).T], axis=1)
    if "b_z" not in seed:
        return [kernel, recurrent]
    bias = np.concatenate([arr(-seed["b_z"]), arr(seed["b_r"]), arr(seed["b_h"])])
    if reset_after:
        recurrent_bias = np.concatenate([np.zeros_like(bias[:-len(arr(seed["b_h"]))]), arr(seed["b_hh"])])
        bias = np.stack([bias, recurrent_bias])
    return [kernel, recurrent, bias]
