"""The ladder end to end: rolling-origin cross-validation, the verdict, the report and the CLI."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from gatelab.baselines import CLASSICAL
from gatelab.cli import main
from gatelab.report.forecast import summarise_forecasts
from gatelab.study import forecast as forecast_module
from gatelab.study.forecast import ForecastSpec, cross_validate
from gatelab.tasks.series import Series, SeriesSet


def series_set(values: np.ndarray, season: int = 1, name: str = "synthetic") -> SeriesSet:
    return SeriesSet(name, (Series(name, values, tuple(str(k) for k in range(len(values))), "step"),), season)


def verdict_of(data: SeriesSet, spec: ForecastSpec) -> dict:
    outcomes = cross_validate(data, spec)
    return summarise_forecasts([r for o in outcomes for r in o.rows], [o.summary() for o in outcomes])


def test_a_series_that_is_exponential_smoothing_gets_a_smoothing_verdict():
    """y_t = ℓ_{t−1} + ε_t, ℓ_t = ℓ_{t−1} + α ε_t (the model SES estimates): the simplest adequate model is SES,
    or naive where the data cannot tell them apart — never the mean of the past, never a recurrent network."""
    rng = np.random.default_rng(0)
    level, values = 0.0, []
    for e in rng.standard_normal(400):
        values.append(level + e)
        level += 0.3 * e
    # one recurrent candidate (no size × rate grid): the claim is about the classical rungs' verdict
    spec = ForecastSpec(horizon=4, models=(*CLASSICAL, "rnn", "gru"), hidden_size=16, train_steps=200, seeds=3,
                        hidden_sizes=(16,), learning_rates=(1e-2,))
    summary = verdict_of(series_set(np.array(values)), spec)                # the default origins: 24, one step apart
    assert summary["chosen"] in ("ses", "naive"), summary["sentences"][0]
    scores = {s.name: s for s in summary["scores"]}
    assert scores["historical_average"].against_best.worse
    assert summary["sentences"][0].startswith(f"Verdict: {summary['chosen']} is enough")


def test_a_non_linear_recurrence_gets_a_recurrent_verdict():
    """A noisy logistic map x_{t+1} = 3.8 x_t (1 − x_t) + ε: linear models (ETS, ARIMA) cannot follow it."""
    rng = np.random.default_rng(0)
    x = [0.3]
    for _ in range(399):
        x.append(float(np.clip(3.8 * x[-1] * (1 - x[-1]) + 0.01 * rng.standard_normal(), 0.001, 0.999)))
    spec = ForecastSpec(horizon=2, models=(*CLASSICAL, "rnn", "gru"), hidden_size=16, train_steps=300, seeds=3,
                        hidden_sizes=(16,))                                  # the two rates of the grid, one size
    summary = verdict_of(series_set(np.array(x)), spec)                     # the default origins
    chosen = next(s for s in summary["scores"] if s.name == summary["chosen"])
    assert chosen.kind == "recurrent", summary["sentences"]
    assert next(s for s in summary["scores"] if s.name == "arima").against_best.worse


def test_a_pure_seasonal_series_gets_seasonal_naive_or_ets():
    """y_t = s_(t mod 12) + ε: last season's value (or ETS's seasonal state) is all there is to know."""
    rng = np.random.default_rng(0)
    pattern = rng.normal(0, 3, 12)
    values = 50 + np.tile(pattern, 20) + 0.5 * rng.standard_normal(240)
    # AutoARIMA left out: with a 12-season on 240 points it took ~5 s a fit, 36 origins
    rungs = tuple(n for n in CLASSICAL if n != "arima")
    spec = ForecastSpec(horizon=12, models=(*rungs, "rnn", "gru"), hidden_size=16, train_steps=200, seeds=3,
                        hidden_sizes=(16,), learning_rates=(1e-2,))
    summary = verdict_of(series_set(values, season=12), spec)
    assert summary["chosen"] in ("seasonal_naive", "ets"), summary["sentences"][0]
    assert "naive" not in summary["confidence_set"] and "historical_average" not in summary["confidence_set"]


def test_a_model_that_cannot_fit_is_reported_and_the_rest_proceed(monkeypatch):
    real = forecast_module._build

    def build(name, *args):
        if name == "ets":
            raise ValueError("cannot fit a constant series")
        return real(name, *args)

    monkeypatch.setattr(forecast_module, "_build", build)
    data = series_set(np.full(60, 3.0))
    outcomes = cross_validate(data, ForecastSpec(horizon=3, origins=2, models=("naive", "ets", "ses")))
    assert [o.status for o in outcomes] == ["ok", "failed", "ok"]
    assert outcomes[1].message == "ValueError: cannot fit a constant series" and outcomes[1].rows == []
    summary = summarise_forecasts([r for o in outcomes for r in o.rows], [o.summary() for o in outcomes])
    assert summary["chosen"] == "naive"                                      # naive and ses are both exact here
    assert "ets could not be fitted: ValueError: cannot fit a constant series" in summary["sentences"]


def test_rows_hold_every_origin_and_horizon_on_the_same_cut_for_every_model():
    data = series_set(np.sin(np.arange(80) / 3.0) + np.arange(80) / 40.0, season=1)
    outcomes = cross_validate(data, ForecastSpec(horizon=5, origins=3, step=2, models=("naive", "rnn"),
                                                 train_steps=20, hidden_size=4))
    for outcome in outcomes:
        assert len(outcome.rows) == 3 * 5
        cuts = sorted({(r["origin"], r["cutoff"]) for r in outcome.rows})
        assert cuts == [(0, "70"), (1, "72"), (2, "74")]                      # last origin: 80 − 5 − 1
        for r in outcome.rows:
            assert r["y"] == data.series[0].values[int(r["ds"])]
    naive = outcomes[0].rows
    assert all(r["y_hat"] == data.series[0].values[int(r["cutoff"])] for r in naive)


def test_the_cli_runs_the_ladder_on_a_long_format_csv(tmp_path, capsys):
    rng = np.random.default_rng(0)
    path = tmp_path / "sales.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["store", "month", "sales"])
        for store in ("north", "south"):
            for k in range(72):
                month = f"{2015 + k // 12}-{k % 12 + 1:02d}-01"
                writer.writerow([store, month, f"{100 + 10 * np.sin(2 * np.pi * k / 12) + rng.normal():.3f}"])
    out = tmp_path / "out"
    code = main(["forecast", str(path), "--target", "sales", "--time", "month", "--id", "store", "--horizon", "6",
                 "--origins", "2", "--models", "naive", "seasonal_naive", "ses", "gru", "--train-steps", "30",
                 "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 0 and "Verdict:" in printed
    with (out / "forecasts.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 4 * 2 * 2 * 6                                        # models × series × origins × horizon
    assert {r["unique_id"] for r in rows} == {"north", "south"} and rows[0]["ds"].startswith("20")
    meta = json.loads((out / "models.json").read_text())
    assert [m["name"] for m in meta["models"]] == ["naive", "seasonal_naive", "ses", "gru"]
    assert meta["data"]["season_length"] == 12
    page = (out / "index.html").read_text()
    assert "Verdict:" in page and "error_by_horizon.png" in page and (out / "forecasts.png").exists()
    assert "Gates:" not in page or "gru" in page


@pytest.mark.parametrize("name", ["airpassengers", "sunspots", "nile", "co2", "elnino", "macro", "mackey_glass"])
def test_bundled_series_load_without_gaps(name):
    from gatelab.tasks.series import bundled

    data = bundled(name)
    series = data.series[0]
    assert len(series) >= 60 and np.all(np.isfinite(series.values)) and len(series.stamps) == len(series)
    if name == "co2":
        assert series.filled > 0 and any("filled by linear interpolation" in n for n in data.notes)
    if name == "mackey_glass":
        assert len(series) >= 4000
    if name == "macro":                                         # several series on one quarterly grid
        assert [s.id for s in data.series] == ["realgdp", "realcons", "realinv", "unemp"]
        assert data.season_length == 4 and {len(s) for s in data.series} == {203}
        assert data.series[0].stamps[:2] == ("1959-01-01", "1959-04-01")


def test_several_series_get_a_verdict_each_beside_the_pooled_one(tmp_path):
    from gatelab.report.forecast import read_rows
    from gatelab.study.forecast import run_forecast
    from gatelab.tasks.series import bundled

    data = bundled("macro")
    meta = run_forecast(data, ForecastSpec(horizon=4, origins=8, models=("naive", "seasonal_naive", "ses")), tmp_path)
    summary = summarise_forecasts(read_rows(tmp_path), meta["models"], 1)
    assert set(summary["per_series"]) == {"realgdp", "realcons", "realinv", "unemp"}
    for sid, (simplest, lowest, in_set) in summary["per_series"].items():
        assert simplest in in_set or simplest == lowest, sid
        assert any(line.startswith(f"Series {sid}: {simplest} is the simplest") for line in summary["sentences"])
