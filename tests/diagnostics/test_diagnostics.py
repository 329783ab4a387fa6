"""Diagnostics on cases whose answer is known in closed form."""

from __future__ import annotations

import math

import pytest
import torch

import gatelab
from gatelab.diagnostics import clamp_tests, clamped, gate_statistics, loss_gradient_profile, state_sensitivity
from gatelab.layers import SequenceModel
from gatelab.tasks import get_task


def test_constant_update_gate_gives_a_geometric_profile_of_one_minus_c():
    """z ≡ c (gates read only their bias) and U_h = 0: ∂h_T/∂h_t = (1 − c)^(T−t) · I exactly."""
    c, T = 0.3, 12
    layer = gatelab.GRU(2, 4, batch_first=True, variant="gru_gates_bias", dtype=torch.float64)
    with torch.no_grad():
        p = layer.seed_params()
        p["b_z"].fill_(math.log(c / (1 - c)))                                 # σ(b_z) = c
        p["U_h"].zero_()
    x = torch.randn(3, T, 2, dtype=torch.float64)
    profile = state_sensitivity(layer, x)
    expected = torch.tensor([(1 - c) ** (T - 1 - t) for t in range(T)], dtype=torch.float64)
    assert torch.allclose(profile, expected, rtol=1e-12, atol=0)


def test_rnn_with_scaled_orthogonal_recurrence_has_the_expected_geometric_profile():
    """Linear rnn, U = s·Q (Q orthogonal): ‖uᵀ ∂h_T/∂h_t‖ = s^(T−t) for a unit u."""
    s, T, H = 0.8, 10, 6
    layer = gatelab.GRU(2, H, batch_first=True, variant="rnn", candidate_activation="identity",
                        dtype=torch.float64)
    q, _ = torch.linalg.qr(torch.randn(H, H, dtype=torch.float64))
    with torch.no_grad():
        layer.seed_params()["U_h"].copy_(s * q)
    profile = state_sensitivity(layer, torch.randn(2, T, 2, dtype=torch.float64))
    expected = torch.tensor([s ** (T - 1 - t) for t in range(T)], dtype=torch.float64)
    assert torch.allclose(profile, expected, rtol=1e-10)


def test_time_scale_of_a_constant_update_gate_is_one_over_c():
    c = 0.05
    layer = gatelab.GRU(2, 3, batch_first=True, variant="gru_gates_bias", dtype=torch.float64)
    with torch.no_grad():
        layer.seed_params()["b_z"].fill_(math.log(c / (1 - c)))
    stats = gate_statistics(layer, torch.randn(4, 9, 2, dtype=torch.float64))
    assert torch.allclose(stats.time_scale, torch.full((3,), 1 / c, dtype=torch.float64))
    assert stats.z.shape == (9, 4, 3) and stats.r.shape == (9, 4, 3)


def test_gate_statistics_say_what_a_variant_lacks():
    stats = gate_statistics(gatelab.GRU(2, 3, batch_first=True, variant="gru_no_update"), torch.randn(2, 5, 2))
    assert stats.z is None and stats.time_scale is None and stats.r is not None
    assert 0.0 <= stats.r_closed <= 1.0 and 0.0 <= stats.r_open <= 1.0
    assert set(gate_statistics(gatelab.GRU(2, 3, batch_first=True, variant="mgu"), torch.randn(2, 5, 2)).gates) \
        == {"z", "r"}                                                       # MGU's r is its z
    assert gate_statistics(gatelab.GRU(2, 3, batch_first=True, variant="rnn"), torch.randn(2, 5, 2)).gates == {}


def test_lstm_time_scale_of_a_constant_forget_gate_is_one_over_one_minus_f():
    f = 0.9
    layer = gatelab.LSTM(2, 3, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        p = layer.seed_params()
        p["W_f"].zero_()
        p["U_f"].zero_()
        p["b_f"].fill_(math.log(f / (1 - f)))
    stats = gate_statistics(layer, torch.randn(4, 7, 2, dtype=torch.float64))
    assert set(stats.gates) == {"i", "f", "o"} and stats.gates["i"].shape == (7, 4, 3)
    assert torch.allclose(stats.time_scale, torch.full((3,), 1 / (1 - f), dtype=torch.float64))
    assert stats.z is None and stats.r_closed is None


def test_gate_values_are_those_the_layer_computes():
    """Recomputed from the gates: the GRU update with the recorded z reproduces the layer's own states."""
    layer = gatelab.GRU(3, 5, batch_first=True, variant="gru_reset_zero", dtype=torch.float64)
    x = torch.randn(2, 6, 3, dtype=torch.float64)
    out, _ = layer(x)
    p = layer.seed_params()
    stats = gate_statistics(layer, x)
    h = torch.zeros(2, 5, dtype=torch.float64)
    for t in range(6):
        candidate = torch.tanh(x[:, t] @ p["W_h"].T + p["b_h"])
        h = (1 - stats.z[t]) * h + stats.z[t] * candidate
        assert torch.allclose(h, out[:, t], atol=1e-12)


def test_clamping_r_to_one_changes_nothing_when_r_is_already_saturated_at_one():
    torch.manual_seed(0)
    task = get_task("adding", length=10)
    model = SequenceModel("gru", 2, 8, 1).double()
    with torch.no_grad():
        p = model.rnn.seed_params()
        p["W_r"].zero_()
        p["U_r"].zero_()
        p["b_r"].fill_(60.0)                                                 # σ(60) = 1 in float64
    x, y = task.batch(16, torch.Generator().manual_seed(1))
    results = clamp_tests(model, task, x.double(), y.double())
    assert results["r=1"] == pytest.approx(results["none"], abs=1e-15)
    assert results["r=0"] != pytest.approx(results["none"], abs=1e-6)      # and r ≡ 0 does change something


def test_clamped_layers_keep_the_trained_parameters_and_leave_the_original_alone():
    layer = gatelab.GRU(3, 4)
    before = {k: v.clone() for k, v in layer.seed_params().items()}
    for clamp in ("r=1", "r=0", "z=1", "U_h=0"):
        out = clamped(layer, clamp)
        for name, view in out.seed_params().items():
            expected = torch.zeros_like(view) if (clamp == "U_h=0" and name == "U_h") else before[name]
            assert torch.equal(view, expected), (clamp, name)
    assert all(torch.equal(v, before[k]) for k, v in layer.seed_params().items())
    with pytest.raises(ValueError, match="clamp: expected one of"):
        clamped(layer, "r=2")


def test_loss_gradient_profile_of_a_model_reading_its_last_state():
    torch.manual_seed(0)
    model = SequenceModel("gru_no_update", 2, 8, 1)
    x, y = get_task("adding", length=30).batch(8, torch.Generator().manual_seed(0))
    profile = loss_gradient_profile(model, x, y, torch.nn.functional.mse_loss)
    assert profile.shape == (30,) and torch.all(profile > 0)
    assert profile[0] < profile[-1], "without a carry path the gradient fades going back in time"


def test_jacobian_spectrum_of_a_constant_update_gate_is_one_minus_c():
    """z ≡ c, U_h = 0: ∂h_t/∂h_{t−1} = (1 − c)·I, so every singular value and the spectral radius are 1 − c."""
    from gatelab.diagnostics import jacobian_spectrum

    c = 0.25
    layer = gatelab.GRU(2, 4, variant="gru_gates_bias", dtype=torch.float64)
    with torch.no_grad():
        layer.seed_params()["b_z"].fill_(math.log(c / (1 - c)))
        layer.seed_params()["U_h"].zero_()
    spectrum = jacobian_spectrum(layer, torch.randn(6, 2, dtype=torch.float64))
    assert torch.allclose(spectrum.spectral_radius, torch.full((6,), 1 - c, dtype=torch.float64))
    assert torch.allclose(spectrum.singular_values, torch.full((6, 3), 1 - c, dtype=torch.float64))


def test_jacobian_spectrum_of_a_linear_rnn_is_that_of_its_recurrence():
    from gatelab.diagnostics import jacobian_spectrum

    layer = gatelab.GRU(2, 5, variant="rnn", candidate_activation="identity", dtype=torch.float64)
    u = layer.seed_params()["U_h"].detach()
    spectrum = jacobian_spectrum(layer, torch.randn(3, 2, dtype=torch.float64))
    assert torch.allclose(spectrum.spectral_radius, torch.linalg.eigvals(u).abs().max().expand(3))
    assert torch.allclose(spectrum.singular_values[0], torch.linalg.svdvals(u)[:3])
    lstm = jacobian_spectrum(gatelab.LSTM(2, 5, dtype=torch.float64), torch.randn(3, 2, dtype=torch.float64))
    assert lstm.singular_values.shape == (3, 3)


def test_the_lstm_jacobian_includes_its_cell_state():
    """∂(h_t, c_t)/∂(h_{t−1}, c_{t−1}) (2H × 2H), checked against torch.autograd.functional.jacobian of one step."""
    from gatelab.cells import bind_step
    from gatelab.diagnostics import jacobian_spectrum

    torch.manual_seed(3)
    layer = gatelab.LSTM(2, 4, dtype=torch.float64)
    x = torch.randn(3, 2, dtype=torch.float64)
    spectrum = jacobian_spectrum(layer, x)
    layout, params = layer.layouts[0], layer.cell_params(0, 0)
    step = bind_step(layout, params)
    xw = torch.nn.functional.linear(x, params.weight_ih, layout.input_bias(params))
    with torch.no_grad():
        state = (torch.zeros(1, 4, dtype=torch.float64),) * 2
        for t in range(2):
            state = step(xw[t:t + 1], state)

    def last(hc):
        h, c = hc[:4].unsqueeze(0), hc[4:].unsqueeze(0)
        return torch.cat(step(xw[2:3], (h, c)), dim=-1)[0]

    jac = torch.autograd.functional.jacobian(last, torch.cat(state, -1)[0])
    assert jac.shape == (8, 8)
    torch.testing.assert_close(spectrum.spectral_radius[2], torch.linalg.eigvals(jac).abs().max())
    assert spectrum.spectral_radius[2] > 0.3, "the cell state's carry (f ≈ σ(1)) shows in the spectrum"


def test_smoothing_explains_all_of_a_unit_whose_candidate_reads_only_the_input():
    """r ≡ 0 units and min_gru are exponential smoothings: explained variance 1 before any fitting."""
    from gatelab.diagnostics import smoothing_fit

    x = torch.randn(4, 15, 2, dtype=torch.float64)
    for variant in ("gru_reset_zero", "min_gru"):
        fit = smoothing_fit(gatelab.GRU(2, 6, batch_first=True, variant=variant, dtype=torch.float64), x)
        assert fit.clamp_explained_variance == pytest.approx(1.0, abs=1e-12)
        assert fit.explained_variance == pytest.approx(1.0, abs=1e-9)
        assert torch.allclose(fit.per_unit, torch.ones(6), atol=1e-6)
    gru = gatelab.GRU(2, 6, batch_first=True, reset="before", dtype=torch.float64)
    with torch.no_grad():
        gru.seed_params()["U_h"].zero_()                                     # the candidate no longer reads h
    assert smoothing_fit(gru, x).clamp_explained_variance == pytest.approx(1.0, abs=1e-12)


def test_smoothing_cannot_explain_a_candidate_driven_by_its_past():
    """A unit whose candidate mostly follows h (large U_h, small W_h) leaves much unexplained; the fit only
    improves on the r ≡ 0 clamp."""
    from gatelab.diagnostics import smoothing_fit

    torch.manual_seed(0)
    layer = gatelab.GRU(1, 8, batch_first=True, reset="before", dtype=torch.float64)
    q, _ = torch.linalg.qr(torch.randn(8, 8, dtype=torch.float64))
    with torch.no_grad():
        p = layer.seed_params()
        p["U_h"].copy_(3.0 * q)
        p["W_h"].mul_(0.1)
        p["W_r"].zero_(), p["U_r"].zero_(), p["b_r"].fill_(20.0)            # r ≈ 1: the past enters ĥ fully
    fit = smoothing_fit(layer, torch.randn(8, 40, 1, dtype=torch.float64))
    assert fit.explained_variance < 0.6
    assert fit.explained_variance >= fit.clamp_explained_variance - 1e-12


def test_smoothing_says_where_it_does_not_apply():
    from gatelab.diagnostics import smoothing_fit

    for variant, why in (("rnn", "no update gate"), ("gru_no_update", "no update gate"), ("gru_no_carry", "no carry")):
        with pytest.raises(ValueError, match=why):
            smoothing_fit(gatelab.GRU(2, 3, batch_first=True, variant=variant), torch.randn(2, 4, 2))
    with pytest.raises(ValueError, match="no update gate"):
        smoothing_fit(gatelab.LSTM(2, 3, batch_first=True), torch.randn(2, 4, 2))


def test_flow_tracker_watches_training_through_the_loops_callback():
    from gatelab.diagnostics import FlowTracker
    from gatelab.train import TrainConfig, train

    torch.manual_seed(0)
    task = get_task("adding", length=12)
    model = SequenceModel("gru", 2, 8, 1)
    x, _ = task.batch(16, torch.Generator().manual_seed(5), "test")
    tracker = FlowTracker(model.rnn, x, every=10)
    train(model, task, TrainConfig(steps=30, batch_size=8, eval_every=30, eval_size=16), on_step=tracker)
    assert tracker.steps == [10, 20, 30] and all(p.shape == (12,) for p in tracker.profiles)
    assert all(tau is not None and tau > 1.0 for tau in tracker.median_time_scales)
    assert model.rnn.training, "the tracker leaves the model in training mode"
    assert torch.equal(tracker.profiles[-1], state_sensitivity(model.rnn, x)), "the last profile is the model's"
    with pytest.raises(ValueError, match="every: expected a positive int"):
        FlowTracker(model.rnn, x, every=0)


def test_the_u_h_clamp_runs_only_where_it_differs_from_r_zero():
    """Under reset="before", U_h = 0 and r ≡ 0 are one equation (ĥ = φ(W_h x + b_h)); under "after" r still
    gates b_hh, so the two clamps differ."""
    torch.manual_seed(0)
    task = get_task("adding", length=10)
    x, y = task.batch(16, torch.Generator().manual_seed(1))
    before = SequenceModel("gru", 2, 8, 1).double()
    assert "U_h=0" not in clamp_tests(before, task, x.double(), y.double())
    same = clamped(before.rnn, "U_h=0")(x.double())[0]
    torch.testing.assert_close(same, clamped(before.rnn, "r=0")(x.double())[0], rtol=0, atol=1e-14)
    after = SequenceModel("gru", 2, 8, 1, reset="after").double()
    with torch.no_grad():
        after.rnn.seed_params()["b_hh"].fill_(0.7)
    results = clamp_tests(after, task, x.double(), y.double())
    assert results["U_h=0"] != pytest.approx(results["r=0"], abs=1e-9)
