"""Properties every layer must have, checked for every variant."""

from __future__ import annotations

import pytest
import torch
from support import GRU_VARIANTS, assert_close
from torch.nn.utils.rnn import pack_sequence, pad_packed_sequence

import gatelab

ALL = gatelab.variants()


def make(variant: str, *, layers: int = 2, bidirectional: bool = True, batch_first: bool = False,
         dtype=torch.float64, input_size: int = 3, hidden: int = 5):
    torch.manual_seed(0)
    if variant == "lstm":
        return gatelab.LSTM(input_size, hidden, layers, batch_first=batch_first, bidirectional=bidirectional,
                            dtype=dtype)
    return gatelab.GRU(input_size, hidden, layers, batch_first=batch_first, bidirectional=bidirectional,
                       variant=variant, dtype=dtype)


def zero_state(layer, batch):
    rows = layer.num_layers * layer.num_directions
    h = torch.zeros(rows, batch, layer.hidden_size, dtype=torch.float64)
    return (h, h.clone()) if isinstance(layer, gatelab.LSTM) else h


def h_of(final):
    return final[0] if isinstance(final, tuple) else final


def test_hx_is_another_name_for_h0():
    layer = make("gru")
    x, h = torch.randn(4, 2, 3, dtype=torch.float64), torch.randn(4, 2, 5, dtype=torch.float64)
    assert torch.equal(layer(x, hx=h)[0], layer(x, h)[0])


@pytest.mark.parametrize("variant", ALL)
def test_h0_none_is_zeros(variant):
    layer = make(variant)
    x = torch.randn(6, 3, 3, dtype=torch.float64)
    out_a, fin_a = layer(x)
    out_b, fin_b = layer(x, zero_state(layer, 3))
    assert torch.equal(out_a, out_b) and torch.equal(h_of(fin_a), h_of(fin_b))


@pytest.mark.parametrize("variant", ALL)
def test_batch_first_is_the_transposed_input(variant):
    x = torch.randn(6, 3, 3, dtype=torch.float64)
    out_tf, fin_tf = make(variant)(x)
    out_bf, fin_bf = make(variant, batch_first=True)(x.transpose(0, 1))
    assert_close(out_bf.transpose(0, 1), out_tf, "output", "property")
    assert_close(h_of(fin_bf), h_of(fin_tf), "h_n", "property")


@pytest.mark.parametrize("variant", ALL)
def test_each_row_alone_gives_the_same_result(variant):
    layer = make(variant)
    x = torch.randn(6, 4, 3, dtype=torch.float64)
    out, fin = layer(x)
    for b in range(4):
        out_b, fin_b = layer(x[:, b:b + 1])
        assert_close(out_b[:, 0], out[:, b], f"output row {b}", "property")
        assert_close(h_of(fin_b)[:, 0], h_of(fin)[:, b], f"h_n row {b}", "property")


@pytest.mark.parametrize("variant", ALL)
def test_lengths_give_each_row_its_result_alone(variant):
    layer = make(variant, batch_first=True)
    lengths = [7, 2, 5, 1]
    x = torch.randn(4, 7, 3, dtype=torch.float64)
    out, fin = layer(x, lengths=torch.tensor(lengths))
    for b, n in enumerate(lengths):
        alone_out, alone_fin = layer(x[b:b + 1, :n])
        assert_close(out[b, :n], alone_out[0], f"output row {b}", "property")
        assert torch.all(out[b, n:] == 0), "outputs past a row's length must be zero"
        assert_close(h_of(fin)[:, b], h_of(alone_fin)[:, 0], f"h_n row {b}", "property")


@pytest.mark.parametrize("variant", ALL)
def test_packed_is_the_unpadded_sequences_run_alone(variant):
    layer = make(variant)
    seqs = [torch.randn(n, 3, dtype=torch.float64) for n in (4, 7, 1, 7, 3)]
    packed = pack_sequence(seqs, enforce_sorted=False)
    out, fin = layer(packed)
    assert isinstance(out, torch.nn.utils.rnn.PackedSequence)
    assert torch.equal(out.sorted_indices, packed.sorted_indices)
    padded, lengths = pad_packed_sequence(out)
    assert lengths.tolist() == [4, 7, 1, 7, 3]
    for b, seq in enumerate(seqs):
        alone_out, alone_fin = layer(seq[:, None])
        assert_close(padded[:len(seq), b], alone_out[:, 0], f"output seq {b}", "property")
        assert_close(h_of(fin)[:, b], h_of(alone_fin)[:, 0], f"h_n seq {b}", "property")


def test_packed_sorted_input_round_trips():
    layer = make("gru")
    seqs = [torch.randn(n, 3, dtype=torch.float64) for n in (7, 4, 2)]
    out, _ = layer(pack_sequence(seqs, enforce_sorted=True))
    padded, _ = pad_packed_sequence(out)
    assert_close(padded[:4, 1], layer(seqs[1][:, None])[0][:, 0], "output", "property")


@pytest.mark.parametrize("reset", ["before", "after"])
@pytest.mark.parametrize("variant", GRU_VARIANTS)
def test_layer_is_unrolled_cell_steps(variant, reset):
    layer = gatelab.GRU(3, 5, variant=variant, reset=reset, dtype=torch.float64)
    cell = gatelab.GRUCell(3, 5, variant=variant, reset=reset, dtype=torch.float64)
    with torch.no_grad():
        for name, view in cell.seed_params().items():
            view.copy_(layer.seed_params()[name])
    x = torch.randn(6, 2, 3, dtype=torch.float64)
    h = torch.randn(2, 5, dtype=torch.float64)
    out, h_n = layer(x, h[None])
    steps = []
    for x_t in x:
        h = cell(x_t, h)
        steps.append(h)
    assert_close(out, torch.stack(steps), "output", "property")
    assert_close(h_n[0], h, "h_n", "property")


def test_cell_unbatched_input():
    cell = gatelab.GRUCell(3, 4, dtype=torch.float64)
    x, h = torch.randn(3, dtype=torch.float64), torch.randn(4, dtype=torch.float64)
    assert_close(cell(x, h), cell(x[None], h[None])[0], "h'", "property")


@pytest.mark.parametrize("variant", ALL)
def test_unbatched_input_is_a_batch_of_one(variant):
    layer = make(variant)
    x = torch.randn(5, 3, dtype=torch.float64)
    out, fin = layer(x)
    out1, fin1 = layer(x[:, None])
    assert out.shape == (5, 10) and h_of(fin).shape == (4, 5)
    assert_close(out, out1[:, 0], "output", "property")
    assert_close(h_of(fin), h_of(fin1)[:, 0], "h_n", "property")


@pytest.mark.parametrize("variant", ALL)
def test_non_contiguous_input_equals_contiguous(variant):
    layer = make(variant, batch_first=True)
    base = torch.randn(6, 3, 6, dtype=torch.float64)           # (T, B, 2I): strided views of it
    x = base[..., ::2].transpose(0, 1)                          # (B, T, I), non-contiguous
    assert not x.is_contiguous()
    out_a, fin_a = layer(x)
    out_b, fin_b = layer(x.contiguous())
    assert torch.equal(out_a, out_b) and torch.equal(h_of(fin_a), h_of(fin_b))


@pytest.mark.parametrize("variant", ALL)
def test_batch_size_zero(variant):
    layer = make(variant)
    out, fin = layer(torch.randn(4, 0, 3, dtype=torch.float64))
    assert out.shape == (4, 0, 10) and h_of(fin).shape == (4, 0, 5)
    out.sum().backward()


@pytest.mark.parametrize("variant", ALL)
def test_two_runs_are_bit_identical(variant):
    x = torch.randn(9, 3, 3, dtype=torch.float32)
    results = []
    for _ in range(2):
        layer = make(variant, dtype=torch.float32)
        out, fin = layer(x)
        out.square().sum().backward()
        results.append((out, h_of(fin), [p.grad for p in layer.parameters()]))
    (o1, h1, g1), (o2, h2, g2) = results
    assert torch.equal(o1, o2) and torch.equal(h1, h2)
    assert all(torch.equal(a, b) for a, b in zip(g1, g2))


@pytest.mark.parametrize("variant", GRU_VARIANTS)
def test_seed_params_are_writable_views(variant):
    layer = make(variant, bidirectional=False, layers=1)
    views = layer.seed_params()
    x = torch.randn(4, 2, 3, dtype=torch.float64)
    before = layer(x)[0]
    with torch.no_grad():
        views["W_h"].zero_()
        views["b_h"].zero_()
        if "U_h" in views:
            views["U_h"].zero_()
    assert torch.equal(layer.weight_ih_l0[-5:], torch.zeros(5, 3, dtype=torch.float64))
    after = layer(x)[0]
    assert not torch.equal(before, after)
    if variant in ("gru_no_update", "rnn"):   # h_t = ĥ_t = φ_h(0) = 0 with a zero candidate
        assert torch.equal(after, torch.zeros_like(after))


def test_seed_params_keys_follow_the_variant():
    keys = {v: set(gatelab.GRU(2, 3, variant=v, reset="after").seed_params()) for v in GRU_VARIANTS}
    assert keys["gru"] == {"W_z", "W_r", "W_h", "U_z", "U_r", "U_h", "b_z", "b_r", "b_h", "b_hh"}
    assert keys["gru_no_reset"] == {"W_z", "W_h", "U_z", "U_h", "b_z", "b_h"}
    assert keys["min_gru"] == {"W_z", "W_h", "b_z", "b_h"}
    assert keys["gru_gates_bias"] == {"W_h", "U_h", "b_z", "b_r", "b_h", "b_hh"}
    assert set(gatelab.GRU(2, 3).seed_params()) == keys["gru"] - {"b_hh"}
    assert set(gatelab.GRU(2, 3, bias=False).seed_params()) == {"W_z", "W_r", "W_h", "U_z", "U_r", "U_h"}


def test_dropout_acts_between_layers_in_training_only():
    torch.manual_seed(0)
    layer = gatelab.GRU(3, 8, 2, dropout=0.5, dtype=torch.float64)
    x = torch.randn(5, 2, 3, dtype=torch.float64)
    layer.eval()
    assert torch.equal(layer(x)[0], layer(x)[0])
    layer.train()
    assert not torch.equal(layer(x)[0], layer(x)[0])


def test_forced_backend_is_used_and_recorded():
    layer = make("gru")
    x = torch.randn(5, 2, 3, dtype=torch.float64)
    out = layer(x)[0]
    assert layer.last_backend == "native"         # the auto rule for the GRU family on the CPU
    with gatelab.use_backend("ref"):
        out_ref = layer(x)[0]
        assert layer.last_backend == "ref"
    assert_close(out, out_ref, "output", "property")
    assert gatelab.GRU(3, 5, backend="ref")(torch.randn(2, 1, 3))[0].shape == (2, 1, 5)


def test_parameter_count_matches_torch_for_the_plain_gru():
    ours = gatelab.GRU(7, 11, 2, bidirectional=True, reset="after")
    theirs = torch.nn.GRU(7, 11, 2, bidirectional=True)
    # gatelab sums the two gate biases torch keeps separately: 2·H fewer parameters per (layer, direction)
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in theirs.parameters()) - 4 * 2 * 11
