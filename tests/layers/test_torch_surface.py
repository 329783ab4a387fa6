"""A torch-safe surface: torch.nn state dicts never load silently wrong, the state argument is spelled alike on
every layer, and torch's own conventions (proj_size, dropout with one layer, repr) are honoured."""

from __future__ import annotations

import warnings

import pytest
import torch

import gatelab

X = torch.randn(9, 3, 4, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("strict", [True, False], ids=["strict", "not-strict"])
@pytest.mark.parametrize("layers, bidirectional, bias", [(1, False, True), (2, True, True), (1, False, False)],
                         ids=["L1", "L2-bi", "L1-nobias"])
def test_a_torch_gru_state_dict_loads_exactly_where_the_maths_agree(strict, layers, bidirectional, bias):
    torch.manual_seed(1)
    reference = torch.nn.GRU(4, 6, num_layers=layers, bidirectional=bidirectional, bias=bias)
    layer = gatelab.GRU(4, 6, num_layers=layers, bidirectional=bidirectional, bias=bias, reset="after")
    result = layer.load_state_dict(reference.state_dict(), strict=strict)
    assert not result.missing_keys and not result.unexpected_keys
    out, h_n = layer(X)
    want, want_h = reference(X)
    torch.testing.assert_close(out, want, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(h_n, want_h, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("strict", [True, False], ids=["strict", "not-strict"])
@pytest.mark.parametrize("variant, reset", [("gru", "before"), ("mgu", "after"), ("gru_no_reset", "after")])
def test_a_torch_gru_state_dict_is_refused_where_the_maths_differ(strict, variant, reset):
    layer = gatelab.GRU(4, 6, variant=variant, reset=reset)
    before = {k: v.clone() for k, v in layer.state_dict().items()}
    with pytest.raises(ValueError, match="state_dict: expected a gatelab GRU state dict, got a torch.nn.GRU one.*"
                                         "from_torch"):
        layer.load_state_dict(torch.nn.GRU(4, 6).state_dict(), strict=strict)
    assert all(torch.equal(before[k], v) for k, v in layer.state_dict().items()), "nothing was loaded"


@pytest.mark.parametrize("bias", [True, False])
def test_gatelab_state_dicts_still_round_trip(bias):
    for variant in gatelab.variants("gru"):
        source = gatelab.GRU(4, 6, variant=variant, bias=bias, reset="after")
        target = gatelab.GRU(4, 6, variant=variant, bias=bias, reset="after")
        target.load_state_dict(source.state_dict())
        torch.testing.assert_close(target(X)[0], source(X)[0], atol=0, rtol=0)


def test_a_torch_lstm_state_dict_loads_exactly():
    reference = torch.nn.LSTM(4, 6, num_layers=2)
    layer = gatelab.LSTM(4, 6, num_layers=2)
    layer.load_state_dict(reference.state_dict(), strict=False)
    torch.testing.assert_close(layer(X)[0], reference(X)[0], atol=1e-6, rtol=1e-5)


def test_grucell_converts_to_and_from_torch_and_its_state_dict():
    reference = torch.nn.GRUCell(4, 6)
    h = torch.randn(3, 6)
    cell = gatelab.GRUCell.from_torch(reference)
    torch.testing.assert_close(cell(X[0], h), reference(X[0], h), atol=1e-6, rtol=1e-5)
    back = cell.to_torch()
    for name in ("weight_ih", "weight_hh"):
        torch.testing.assert_close(getattr(back, name), getattr(reference, name), atol=1e-7, rtol=0)
    # torch keeps two biases where only their sum acts (r and z rows); the candidate's b_hh stays apart
    torch.testing.assert_close(back.bias_ih[:12] + back.bias_hh[:12], reference.bias_ih[:12] + reference.bias_hh[:12])
    torch.testing.assert_close(back.bias_hh[12:], reference.bias_hh[12:])
    torch.testing.assert_close(back(X[0], h), reference(X[0], h), atol=1e-6, rtol=1e-5)
    loaded = gatelab.GRUCell(4, 6, reset="after")
    loaded.load_state_dict(reference.state_dict(), strict=False)
    torch.testing.assert_close(loaded(X[0], h), reference(X[0], h), atol=1e-6, rtol=1e-5)
    with pytest.raises(ValueError, match="GRUCell.from_torch"):
        gatelab.GRUCell(4, 6).load_state_dict(reference.state_dict())
    with pytest.raises(ValueError, match="self: expected variant='gru', reset='after'"):
        gatelab.GRUCell(4, 6, variant="mgu", reset="after").to_torch()


def test_grucell_seed_grads_are_the_gradients_of_the_seed_views():
    cell = gatelab.GRUCell(4, 6)
    with pytest.raises(ValueError, match="seed_grads: expected gradients"):
        cell.seed_grads()
    cell(X[0]).pow(2).sum().backward()
    grads, params = cell.seed_grads(), cell.seed_params()
    assert set(grads) == set(params)
    flat = {"W": cell.weight_ih.grad, "U": cell.weight_hh.grad}
    torch.testing.assert_close(grads["W_z"], flat["W"][:6])
    torch.testing.assert_close(grads["U_h"], flat["U"][12:])


def test_the_state_is_spelled_h0_everywhere_and_hx_is_accepted():
    h = torch.randn(1, 3, 6)
    gru, lstm, cell = gatelab.GRU(4, 6), gatelab.LSTM(4, 6), gatelab.GRUCell(4, 6)
    torch.testing.assert_close(gru(X, h0=h)[0], gru(X, hx=h)[0])
    torch.testing.assert_close(lstm(X, h0=(h, h))[0], lstm(X, hx=(h, h))[0])
    torch.testing.assert_close(cell(X[0], h0=h[0]), cell(X[0], hx=h[0]))
    torch.testing.assert_close(gru(X, h)[0], gru(X, h0=h)[0])                 # positional, as torch
    for call in (lambda: gru(X, h0=h, hx=h), lambda: lstm(X, h0=(h, h), hx=(h, h)), lambda: cell(X[0], h[0], hx=h[0])):
        with pytest.raises(ValueError, match="hx: expected None when h0 is given"):
            call()


def test_proj_size_dropout_and_repr_follow_torch():
    with pytest.raises(ValueError, match="proj_size: expected 0"):
        gatelab.LSTM(4, 6, proj_size=3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        layer = gatelab.GRU(4, 6, dropout=0.5)
        torch.nn.GRU(4, 6, dropout=0.5)
    assert [str(w.message)[:30] for w in caught if "dropout" in str(w.message)][0].startswith("dropout acts between")
    assert len([w for w in caught if "dropout" in str(w.message)]) == 2, "gatelab warns where torch warns"
    assert layer.training and torch.equal(layer(X)[0], layer(X)[0]), "one layer: no dropout acts"
    assert repr(gatelab.GRU(4, 6)) == "GRU(4, 6)" == repr(torch.nn.GRU(4, 6))
    assert repr(gatelab.GRU(4, 6, 2, batch_first=True, variant="mgu", reset="after")) == (
        "GRU(4, 6, num_layers=2, batch_first=True, variant='mgu', reset='after')")
    assert repr(gatelab.LSTM(4, 6)) == repr(torch.nn.LSTM(4, 6))
    assert repr(gatelab.GRUCell(4, 6, bias=False)) == "GRUCell(4, 6, bias=False)"
    assert repr(gatelab.GRU(4, 6, variant="gru_no_reset", gate_activation="hard_sigmoid")) == (
        "GRU(4, 6, variant='gru_no_reset', gate_activation='hard_sigmoid')")
