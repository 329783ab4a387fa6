"""Every variant recomputed by hand from its seed-named parameters, with a plain float64 loop."""

from __future__ import annotations

import pytest
import torch
from support import GRU_VARIANTS, assert_close

import gatelab

sig = torch.sigmoid


def _lin(p, name, v):
    """p[name] @ v, or 0 when the variant has no such matrix; same for biases."""
    return v @ p[name].T if name in p else 0.0


def _b(p, name):
    return p.get(name, 0.0)


def _candidate_reset(p, x, h, r, reset):
    if reset == "before":
        return torch.tanh(_lin(p, "W_h", x) + _lin(p, "U_h", r * h) + _b(p, "b_h"))
    return torch.tanh(_lin(p, "W_h", x) + _b(p, "b_h") + r * (_lin(p, "U_h", h) + _b(p, "b_hh")))


def _z(p, x, h):
    return sig(_lin(p, "W_z", x) + _lin(p, "U_z", h) + _b(p, "b_z"))


def _r(p, x, h):
    return sig(_lin(p, "W_r", x) + _lin(p, "U_r", h) + _b(p, "b_r"))


# The seed's equations, one hand-written function per variant: (params, x_t, h_{t-1}, reset) -> h_t.
HAND = {
    "gru": lambda p, x, h, reset: (
        _z(p, x, h) * _candidate_reset(p, x, h, _r(p, x, h), reset) + (1 - _z(p, x, h)) * h),
    "gru_no_reset": lambda p, x, h, reset: (
        _z(p, x, h) * torch.tanh(x @ p["W_h"].T + h @ p["U_h"].T + _b(p, "b_h")) + (1 - _z(p, x, h)) * h),
    "gru_reset_zero": lambda p, x, h, reset: (
        _z(p, x, h) * torch.tanh(x @ p["W_h"].T + _b(p, "b_h")) + (1 - _z(p, x, h)) * h),
    "gru_no_update": lambda p, x, h, reset: _candidate_reset(p, x, h, _r(p, x, h), reset),
    "gru_no_carry": lambda p, x, h, reset: _z(p, x, h) * _candidate_reset(p, x, h, _r(p, x, h), reset),
    "min_gru": lambda p, x, h, reset: (
        (1 - sig(x @ p["W_z"].T + _b(p, "b_z"))) * h
        + sig(x @ p["W_z"].T + _b(p, "b_z")) * (x @ p["W_h"].T + _b(p, "b_h"))),
    "mgu": lambda p, x, h, reset: (
        _z(p, x, h) * _candidate_reset(p, x, h, _z(p, x, h), reset) + (1 - _z(p, x, h)) * h),
    "gru_gates_h": lambda p, x, h, reset: (
        sig(h @ p["U_z"].T + _b(p, "b_z")) * _candidate_reset(p, x, h, sig(h @ p["U_r"].T + _b(p, "b_r")), reset)
        + (1 - sig(h @ p["U_z"].T + _b(p, "b_z"))) * h),
    "gru_gates_bias": lambda p, x, h, reset: (
        sig(_b(p, "b_z") + 0 * h) * _candidate_reset(p, x, h, sig(_b(p, "b_r") + 0 * h), reset)
        + (1 - sig(_b(p, "b_z") + 0 * h)) * h),
    "rnn": lambda p, x, h, reset: torch.tanh(x @ p["W_h"].T + h @ p["U_h"].T + _b(p, "b_h")),
}


def hand_loop(layer: gatelab.GRU, x: torch.Tensor, h0: torch.Tensor, reset: str) -> tuple[torch.Tensor, torch.Tensor]:
    """x (T, B, I), one layer, one direction."""
    p = {k: v.detach() for k, v in layer.seed_params().items()}
    h, outs = h0, []
    for x_t in x:
        h = HAND[layer.options.variant](p, x_t, h, reset)
        outs.append(h)
    return torch.stack(outs), h


def test_every_gru_variant_has_hand_equations():
    assert set(HAND) == set(GRU_VARIANTS), "declare the hand-written equations of each new variant here"


@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("reset", ["before", "after"])
@pytest.mark.parametrize("variant", GRU_VARIANTS)
def test_layer_matches_the_seed_equations(variant, reset, bias):
    torch.manual_seed(0)
    layer = gatelab.GRU(3, 5, bias=bias, variant=variant, reset=reset, dtype=torch.float64)
    with torch.no_grad():  # larger weights than the default init, so every term matters
        for view in layer.seed_params().values():
            view.normal_(0, 0.8)
    x = torch.randn(9, 4, 3, dtype=torch.float64)
    h0 = torch.randn(1, 4, 5, dtype=torch.float64)
    out, h_n = layer(x, h0)
    expected_out, expected_h = hand_loop(layer, x, h0[0], reset)
    assert_close(out, expected_out, "output", "equations")
    assert_close(h_n[0], expected_h, "h_n", "equations")


def test_lstm_matches_its_equations():
    torch.manual_seed(0)
    layer = gatelab.LSTM(3, 5, dtype=torch.float64)
    p = {k: v.detach() for k, v in layer.seed_params().items()}
    x = torch.randn(6, 2, 3, dtype=torch.float64)
    h, c = torch.randn(2, 5, dtype=torch.float64), torch.randn(2, 5, dtype=torch.float64)
    out, (h_n, c_n) = layer(x, (h[None], c[None]))
    outs = []
    for x_t in x:
        gate = {b: x_t @ p[f"W_{b}"].T + h @ p[f"U_{b}"].T + p[f"b_{b}"] for b in "ifgo"}
        c = sig(gate["f"]) * c + sig(gate["i"]) * torch.tanh(gate["g"])
        h = sig(gate["o"]) * torch.tanh(c)
        outs.append(h)
    assert_close(out, torch.stack(outs), "output", "equations")
    assert_close(h_n[0], h, "h_n", "equations")
    assert_close(c_n[0], c, "c_n", "equations")


def test_lstm_forget_bias_starts_at_one():
    layer = gatelab.LSTM(3, 4, num_layers=2, bidirectional=True)
    for k in range(2):
        for d in range(2):
            assert torch.equal(layer.seed_params(k, d)["b_f"], torch.ones(4))


@pytest.mark.parametrize("gate,candidate", [("hard_sigmoid", "tanh"), ("sigmoid", "relu"), ("sigmoid", "identity")])
def test_activations_are_the_named_functions(gate, candidate):
    torch.manual_seed(1)
    layer = gatelab.GRU(2, 3, gate_activation=gate, candidate_activation=candidate, dtype=torch.float64)
    p = {k: v.detach() for k, v in layer.seed_params().items()}
    sigma = {"hard_sigmoid": lambda a: torch.clamp(a / 6 + 0.5, 0, 1), "sigmoid": torch.sigmoid}[gate]
    phi = {"tanh": torch.tanh, "relu": torch.relu, "identity": lambda a: a}[candidate]
    x = 3 * torch.randn(5, 2, 2, dtype=torch.float64)
    h = torch.zeros(2, 3, dtype=torch.float64)
    for x_t in x:
        z = sigma(x_t @ p["W_z"].T + h @ p["U_z"].T + p["b_z"])
        r = sigma(x_t @ p["W_r"].T + h @ p["U_r"].T + p["b_r"])
        h = z * phi(x_t @ p["W_h"].T + (r * h) @ p["U_h"].T + p["b_h"]) + (1 - z) * h
    assert_close(layer(x)[1][0], h, "h_n", "equations")
