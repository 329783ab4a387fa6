"""from_torch / to_torch against torch.nn.GRU and torch.nn.LSTM: outputs, h_n and every gradient."""

from __future__ import annotations

import pytest
import torch
from support import assert_close
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

import gatelab

CONFIGS = [  # (num_layers, bidirectional, batch_first, bias)
    (1, False, False, True), (2, False, True, True), (2, True, False, True), (3, True, True, False),
]
CONFIG_IDS = [f"L{c[0]}-{'bi' if c[1] else 'uni'}-{'bf' if c[2] else 'tf'}-{'bias' if c[3] else 'nobias'}"
              for c in CONFIGS]
DTYPES = [pytest.param(torch.float64, id="fp64"), pytest.param(torch.float32, id="fp32")]


def expected_seed_grads(module: torch.nn.GRU, k: int, d: int) -> dict[str, torch.Tensor]:
    """torch's gradients mapped onto the seed names (W_z = −W_iz, b_z = −(b_iz + b_hz), …)."""
    sfx = f"l{k}{'_reverse' if d else ''}"
    g_ih, g_hh = getattr(module, f"weight_ih_{sfx}").grad.chunk(3), getattr(module, f"weight_hh_{sfx}").grad.chunk(3)
    grads = {"W_r": g_ih[0], "W_z": -g_ih[1], "W_h": g_ih[2], "U_r": g_hh[0], "U_z": -g_hh[1], "U_h": g_hh[2]}
    if module.bias:
        b_ih, b_hh = getattr(module, f"bias_ih_{sfx}").grad.chunk(3), getattr(module, f"bias_hh_{sfx}").grad.chunk(3)
        assert torch.allclose(b_ih[0], b_hh[0]) and torch.allclose(b_ih[1], b_hh[1])  # only their sum matters
        grads.update(b_r=b_ih[0], b_z=-b_ih[1], b_h=b_ih[2], b_hh=b_hh[2])
    return grads


def forward_backward(module, x, h0, packed_lengths=None):
    x = x.detach().clone().requires_grad_()
    h0 = h0.detach().clone().requires_grad_()
    inp = x if packed_lengths is None else pack_padded_sequence(x, packed_lengths, module.batch_first,
                                                               enforce_sorted=False)
    out, h_n = module(inp, h0)
    if packed_lengths is not None:
        out, _ = pad_packed_sequence(out, module.batch_first)
    g = torch.Generator().manual_seed(7)
    loss = (out * torch.randn(out.shape, generator=g, dtype=out.dtype)).sum() \
        + (h_n * torch.randn(h_n.shape, generator=g, dtype=h_n.dtype)).sum()
    loss.backward()
    return out, h_n, x.grad, h0.grad


@pytest.mark.parametrize("packed", [False, True], ids=["padded", "packed"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layers,bidirectional,batch_first,bias", CONFIGS, ids=CONFIG_IDS)
def test_from_torch_matches_torch_gru(layers, bidirectional, batch_first, bias, dtype, packed):
    torch.manual_seed(0)
    reference = torch.nn.GRU(4, 6, layers, bias=bias, batch_first=batch_first, bidirectional=bidirectional,
                             dtype=dtype)
    ours = gatelab.GRU.from_torch(reference)
    assert ours.options.reset == "after"
    B, T, D = 5, 11, 2 if bidirectional else 1
    x = torch.randn((B, T, 4) if batch_first else (T, B, 4), dtype=dtype)
    h0 = torch.randn(layers * D, B, 6, dtype=dtype)
    lengths = torch.tensor([11, 3, 7, 1, 11]) if packed else None
    expected = forward_backward(reference, x, h0, lengths)
    actual = forward_backward(ours, x, h0, lengths)
    for name, a, e in zip(("output", "h_n", "grad input", "grad h0"), actual, expected):
        assert_close(a, e, name, "torch")
    for k in range(layers):
        for d in range(D):
            want = expected_seed_grads(reference, k, d)
            got = ours.seed_grads(k, d)
            assert set(got) == set(want)
            for name in want:
                assert_close(got[name], want[name], f"grad {name} l{k} d{d}", "torch")


@pytest.mark.parametrize("dtype", DTYPES)
def test_to_torch_round_trip(dtype):
    torch.manual_seed(1)
    ours = gatelab.GRU(3, 5, 2, bidirectional=True, reset="after", dtype=dtype)
    theirs = ours.to_torch()
    x = torch.randn(8, 2, 3, dtype=dtype)
    assert_close(theirs(x)[0], ours(x)[0], "output", "torch")
    back = gatelab.GRU.from_torch(theirs)
    assert_close(back(x)[1], ours(x)[1], "h_n", "torch")


def test_to_torch_refuses_what_torch_cannot_compute():
    with pytest.raises(ValueError,
                       match="self: expected variant='gru', reset='after'.*got variant='gru', reset='before'"):
        gatelab.GRU(3, 5).to_torch()
    with pytest.raises(ValueError, match="variant='mgu'"):
        gatelab.GRU(3, 5, variant="mgu", reset="after").to_torch()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layers,bidirectional,batch_first,bias", CONFIGS, ids=CONFIG_IDS)
def test_from_torch_matches_torch_lstm(layers, bidirectional, batch_first, bias, dtype):
    torch.manual_seed(0)
    reference = torch.nn.LSTM(4, 6, layers, bias=bias, batch_first=batch_first, bidirectional=bidirectional,
                              dtype=dtype)
    ours = gatelab.LSTM.from_torch(reference)
    B, T, D = 3, 9, 2 if bidirectional else 1
    x = torch.randn((B, T, 4) if batch_first else (T, B, 4), dtype=dtype, requires_grad=True)
    state = tuple(torch.randn(layers * D, B, 6, dtype=dtype, requires_grad=True) for _ in range(2))
    out_e, (h_e, c_e) = reference(x, state)
    grads_e = torch.autograd.grad((out_e.sum() + h_e.sum() * 2 + c_e.sum() * 3), (x, *state))
    out_a, (h_a, c_a) = ours(x, state)
    grads_a = torch.autograd.grad((out_a.sum() + h_a.sum() * 2 + c_a.sum() * 3), (x, *state))
    for name, a, e in zip(("output", "h_n", "c_n"), (out_a, h_a, c_a), (out_e, h_e, c_e)):
        assert_close(a, e, name, "torch")
    for name, a, e in zip(("grad input", "grad h0", "grad c0"), grads_a, grads_e):
        assert_close(a, e, name, "torch")
    assert_close(ours.to_torch()(x, state)[0], out_e, "to_torch output", "torch")
