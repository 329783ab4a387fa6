"""The standard LSTM on torch's own kernel (``backend="torch_lstm"``): oneDNN's RNN primitive on the CPU, cuDNN on
CUDA.

gatelab's LSTM with sigmoid gates and tanh is the standard LSTM, with torch's gate order (i, f, g, o) and one
bias (torch's two biases sum; the second is passed as zeros). So the fastest correct thing is to hand the
sequence to ``torch.lstm``, the function behind ``torch.nn.LSTM`` — measured against the fused Python loop in
docs/benchmarks.md. Lengths: a prefix mask runs as a packed sequence (torch's own handling of lengths: the state
stops at each row's last step, as gatelab's masks define); any other mask, or an empty row, runs the fused
loop. Twin: :func:`gatelab.ops.recurrence_ref` (tests/ops/test_recurrence.py).
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from ..cells import CellLayout, CellParams, State
from .fused_lstm import fused_lstm_recurrence


def torch_lstm_recurrence(x: Tensor, state0: State, layout: CellLayout, params: CellParams,
                          mask: Tensor | None = None) -> tuple[Tensor, State]:
    """Same contract as :func:`gatelab.ops.recurrence` for the LSTM (state ``(h, c)``)."""
    h0, c0 = state0
    bias = layout.input_bias(params)
    weights = [params.weight_ih, params.weight_hh]
    if bias is not None:
        weights += [bias, torch.zeros_like(bias)]
    hx = (h0.unsqueeze(0), c0.unsqueeze(0))
    if mask is None:
        out, h_n, c_n = torch.lstm(x, hx, weights, bias is not None, 1, 0.0, torch.is_grad_enabled(), False, False)
        return out, (h_n[0], c_n[0])
    lengths = mask.sum(0)
    is_prefix = bool((mask == (torch.arange(mask.shape[0], device=mask.device)[:, None] < lengths)).all())
    if not is_prefix or bool((lengths == 0).any()):
        return fused_lstm_recurrence(x, state0, layout, params, mask)
    packed = pack_padded_sequence(x, lengths.cpu(), enforce_sorted=False)
    order = packed.sorted_indices
    hx = tuple(s.index_select(1, order) for s in hx) if order is not None else hx
    out, h_n, c_n = torch.lstm(packed.data, packed.batch_sizes, hx, weights, bias is not None, 1, 0.0,
                               torch.is_grad_enabled(), False)
    restore = packed.unsorted_indices
    if restore is not None:
        h_n, c_n = h_n.index_select(1, restore), c_n.index_select(1, restore)
    padded, _ = pad_packed_sequence(type(packed)(out, packed.batch_sizes, order, restore),
                                    total_length=x.shape[0])
    return padded, (h_n[0], c_n[0])
