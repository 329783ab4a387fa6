"""Rolling origins with power: no look-ahead, refits between origins, seed ensembles, time limits, the folder that
resumes after a kill, the model confidence set and the conformal intervals."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from gatelab.report.forecast import conformal_coverage, summarise_forecasts
from gatelab.study import forecast as forecast_module
from gatelab.study.forecast import ForecastSpec, forecast_model, run_forecast
from gatelab.tasks.series import Series, SeriesSet


def series_set(values, season: int = 1, name: str = "s") -> SeriesSet:
    values = np.asarray(values, dtype=float)
    return SeriesSet(name, (Series(name, values, tuple(str(k) for k in range(len(values))), "step"),), season)


def seasonal(n: int = 96, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return 10 + 0.05 * t + 2 * np.sin(2 * np.pi * t / 12) + 0.3 * rng.standard_normal(n)


SMALL = dict(hidden_size=6, train_steps=40, seeds=2)


def scored_95_intervals(origins: int, horizon: int, step: int = 1, series: int = 1) -> int:
    """How many forecasts get a 95% interval: horizon h's first comes at origin 19 + ⌈h / step⌉."""
    return series * sum(max(0, origins - (19 + -(-h // step))) for h in range(1, horizon + 1))


def test_default_origins_leave_a_hundred_calibrated_intervals_and_recurrent_models_refit_less():
    spec = ForecastSpec(horizon=12).resolved(series_set(seasonal(144), season=12))
    assert (spec.origins, spec.stride) == (36, 1) and spec.refit_every == 18          # three seasons suffice
    assert scored_95_intervals(36, 12) >= 100
    nile_like = ForecastSpec(horizon=8).resolved(series_set(seasonal(100)))
    assert scored_95_intervals(nile_like.origins, 8) >= 100 > scored_95_intervals(nile_like.origins - 1, 8)
    strided = ForecastSpec(horizon=12, step=3).resolved(series_set(seasonal(400), season=1))
    assert scored_95_intervals(strided.origins, 12, 3) >= 100 > scored_95_intervals(strided.origins - 1, 12, 3)
    long_season = ForecastSpec(horizon=4).resolved(series_set(seasonal(400), season=24))
    assert long_season.origins == 3 * 24                                  # three seasons when that is more
    short = ForecastSpec(horizon=6).resolved(series_set(seasonal(40), season=4))
    assert short.origins == 40 - 8 - 6 + 1 and short.stride == 1          # as many as the series allows
    tiny_data = series_set(seasonal(30), season=12)
    tiny = ForecastSpec(horizon=4).resolved(tiny_data)
    # as many as fit: 30 points − (one season + 1 = 13 before the first cutoff) − horizon 4, + 1
    assert tiny.origins == 14
    forecast_module.check_lengths(tiny_data, tiny.horizon, tiny.origins, tiny.stride)          # they do fit


@pytest.mark.parametrize("name", ["naive", "ets", "gru"])
def test_no_data_after_a_cutoff_reaches_the_forecast_made_at_it(name):
    """Corrupt everything after origin 3's cutoff: the forecasts at origins ≤ 3 stay the same to the bit —
    also for a recurrent model that was fitted at origin 2 and forecasts origin 3 from newer data."""
    values = seasonal(90)
    spec = ForecastSpec(horizon=4, origins=6, step=1, refit_every=2, **SMALL).resolved(series_set(values, 12))
    cut = forecast_module.cutoffs(series_set(values, 12), spec)[3][0]
    corrupted = values.copy()
    corrupted[cut:] = 1e6 * np.arange(1, len(values) - cut + 1)
    clean = forecast_model(name, series_set(values, 12), spec)
    dirty = forecast_model(name, series_set(corrupted, 12), spec)
    assert clean.status == dirty.status == "ok", (clean.message, dirty.message)
    for a, b in zip(clean.rows, dirty.rows, strict=True):
        if a["origin"] <= 3:
            assert a["y_hat"] == b["y_hat"] and a["y_hat_seeds"] == b["y_hat_seeds"]
    assert any(a["y_hat"] != b["y_hat"] for a, b in zip(clean.rows, dirty.rows, strict=True) if a["origin"] == 4)


def test_recurrent_rungs_refit_every_k_origins_as_seed_ensembles():
    spec = ForecastSpec(horizon=3, origins=6, step=1, refit_every=3, **SMALL)
    outcome = forecast_model("gru", series_set(seasonal(80), 12), spec.resolved(series_set(seasonal(80), 12)))
    # the first fit: seed 0 at each of the 2 × 2 (size, rate) candidates, then seed 1 at the chosen one; the second
    # fit: both seeds at the chosen one only
    assert outcome.status == "ok" and outcome.fits == (4 + 1) + 2
    assert [t[:3] for t in outcome.trials] == [[3, 3, 0.003], [3, 3, 0.01], [6, 6, 0.003], [6, 6, 0.01]]
    best = min(outcome.trials, key=lambda t: t[3])
    assert (outcome.chosen["hidden_size"], outcome.chosen["learning_rate"]) == (best[1], best[2])
    assert outcome.parameters == __import__("gatelab").baselines.recurrent.parameter_count("gru", best[1])
    assert sorted({(r["origin"], r["fit_origin"]) for r in outcome.rows}) == [(0, 0), (1, 0), (2, 0), (3, 3),
                                                                               (4, 3), (5, 3)]
    for r in outcome.rows:                                    # the forecast is the members' mean
        members = r["y_hat_seeds"]
        assert len(members) == 2 and r["y_hat"] == pytest.approx(np.mean(members), rel=1e-6, abs=1e-9)
    classical = forecast_model("ses", series_set(seasonal(80), 12), spec.resolved(series_set(seasonal(80), 12)))
    assert classical.fits == 6 and {r["fit_origin"] for r in classical.rows} == set(range(6))


def test_recurrent_sizes_are_matched_to_grus_parameters_within_5_percent():
    from gatelab.baselines.recurrent import matched_hidden_size, parameter_count
    from gatelab.registry import variants

    target = parameter_count("gru", 32)
    for variant in variants():
        assert abs(parameter_count(variant, matched_hidden_size(variant, 32)) / target - 1) <= 0.05, variant


def test_classical_rungs_equal_statsforecast_cross_validation_on_the_rolling_origins():
    import pandas as pd
    from statsforecast import StatsForecast
    from statsforecast.models import AutoETS, Naive, SeasonalNaive, SimpleExponentialSmoothingOptimized

    values = seasonal(96)
    data = series_set(values, 12)
    spec = ForecastSpec(horizon=6, origins=8, step=2).resolved(data)
    frame = pd.DataFrame({"unique_id": "s", "ds": np.arange(len(values)), "y": values})
    library = StatsForecast(models=[Naive(), SeasonalNaive(12), SimpleExponentialSmoothingOptimized(),
                                    AutoETS(season_length=12)], freq=1)
    reference = library.cross_validation(df=frame, h=6, n_windows=8, step_size=2).sort_values(["cutoff", "ds"])
    for name, column in (("naive", "Naive"), ("seasonal_naive", "SeasonalNaive"), ("ses", "SESOpt"),
                         ("ets", "AutoETS")):
        ours = forecast_model(name, data, spec)
        np.testing.assert_allclose([r["y_hat"] for r in ours.rows], reference[column].to_numpy(), rtol=1e-9,
                                   atol=1e-9, err_msg=name)


def test_a_model_over_its_time_limit_is_skipped_with_its_reason_and_the_rest_proceed(monkeypatch, tmp_path):
    real = forecast_module._build

    class Slow:
        def __init__(self, inner):
            self.inner = inner

        def fit(self, y):
            time.sleep(0.3)
            self.inner.fit(y)
            return self

        def predict(self, h):
            return self.inner.predict(h)

    monkeypatch.setattr(forecast_module, "_build", lambda name, *args: Slow(real(name, *args))
                        if name == "ets" else real(name, *args))
    spec = ForecastSpec(horizon=3, origins=5, step=1, models=("naive", "ets", "ses"), time_limit=0.5)
    meta = run_forecast(series_set(seasonal(60), 12), spec, tmp_path, workers=1)      # the patch lives here
    status = {m["name"]: (m["status"], m["message"]) for m in meta["models"]}
    assert status["naive"][0] == status["ses"][0] == "ok"
    assert status["ets"][0] == "skipped" and "over its time limit (0.5 s) after 2 of 5 origins" in status["ets"][1]
    summary = summarise_forecasts(forecast_module_rows(tmp_path), meta["models"], 1)
    assert any(s.startswith("ets was skipped: over its time limit") for s in summary["sentences"])


def forecast_module_rows(folder):
    from gatelab.report.forecast import read_rows

    return read_rows(folder)


KILLED = textwrap.dedent("""
    import sys, time, numpy as np
    from gatelab.study import forecast as module
    from gatelab.study.forecast import ForecastSpec, run_forecast
    from gatelab.tasks.series import Series, SeriesSet
    real = module._build
    def build(name, *args):                               # gru hangs: the kill comes while it is being fitted
        if name == "gru":
            time.sleep(600)
        return real(name, *args)
    module._build = build
    t = np.arange(90)
    v = 10 + 0.05 * t + 2 * np.sin(2 * np.pi * t / 12) + 0.3 * np.random.default_rng(0).standard_normal(90)
    data = SeriesSet("s", (Series("s", v, tuple(str(k) for k in range(90)), "step"),), 12)
    spec = ForecastSpec(horizon=4, origins=6, step=1, models=("naive", "ses", "gru", "mgu"), hidden_size=6,
                        train_steps=30, seeds=2)
    run_forecast(data, spec, sys.argv[1], workers=int(sys.argv[2]))
""")


KILLED_SPEC = ForecastSpec(horizon=4, origins=6, step=1, models=("naive", "ses", "gru", "mgu"), hidden_size=6,
                           train_steps=30, seeds=2)                   # what the script above runs, on these values
KILLED_VALUES = (10 + 0.05 * np.arange(90) + 2 * np.sin(2 * np.pi * np.arange(90) / 12)
                 + 0.3 * np.random.default_rng(0).standard_normal(90))


def test_a_killed_forecast_resumes_without_fitting_finished_models_again(tmp_path):
    out = tmp_path / "forecast"
    worker = subprocess.Popen([sys.executable, "-c", KILLED, str(out), "1"], start_new_session=True)
    try:
        deadline = time.time() + 120
        while time.time() < deadline:                 # wait until naive and ses are recorded, gru is training
            meta = json.loads((out / "models.json").read_text()) if (out / "models.json").exists() else {}
            if len(meta.get("models", [])) >= 2:
                break
            time.sleep(0.05)
        time.sleep(0.5)
        os.killpg(worker.pid, signal.SIGKILL)
    finally:
        worker.wait(timeout=60)
    before = json.loads((out / "models.json").read_text())
    assert [m["name"] for m in before["models"]] == ["naive", "ses"]
    events = []
    meta = run_forecast(series_set(KILLED_VALUES, 12), KILLED_SPEC, out, lambda kind, info: events.append((kind, info)),
                        workers=1)
    assert events[0] == ("plan", {"total": 4, "todo": 2, "spec": meta["spec"]})
    assert [m["name"] for m in meta["models"]] == ["naive", "ses", "gru", "mgu"]
    assert meta["models"][:2] == before["models"], "finished models were kept, not refitted"
    rows = forecast_module_rows(out)
    assert {m: sum(r["model"] == m for r in rows) for m in ("naive", "ses", "gru", "mgu")} == dict.fromkeys(
        ("naive", "ses", "gru", "mgu"), 6 * 4)


def test_a_killed_pool_of_workers_resumes_keeping_what_finished(tmp_path):
    """The same with models fitted in two worker processes: the whole process group is killed once a model is
    recorded; the resumed run (two workers again) keeps the recorded models and completes the rest."""
    out = tmp_path / "forecast"
    script = KILLED.replace('if name == "gru"', 'if False')                   # nothing hangs: kill mid-ladder
    worker = subprocess.Popen([sys.executable, "-c", script, str(out), "2"], start_new_session=True)
    try:
        deadline = time.time() + 180
        while time.time() < deadline and worker.poll() is None:
            meta = json.loads((out / "models.json").read_text()) if (out / "models.json").exists() else {}
            if 1 <= len(meta.get("models", [])) < 4:
                break
            time.sleep(0.02)
        os.killpg(worker.pid, signal.SIGKILL)
    finally:
        worker.wait(timeout=60)
    before = json.loads((out / "models.json").read_text())["models"]
    assert 1 <= len(before) < 4, "killed mid-ladder"
    events = []
    meta = run_forecast(series_set(KILLED_VALUES, 12), KILLED_SPEC, out, lambda kind, info: events.append((kind, info)),
                        workers=2)
    assert events[0][1]["todo"] == 4 - len(before)
    assert [m["name"] for m in meta["models"]] == ["naive", "ses", "gru", "mgu"]
    assert [m for m in meta["models"] if m["name"] in {b["name"] for b in before}] == before
    rows = forecast_module_rows(out)
    assert sorted(r["model"] for r in rows) == sorted(m for m in ("naive", "ses", "gru", "mgu") for _ in range(24))


def test_workers_give_the_forecasts_of_one_process(tmp_path):
    """Two worker processes and one give the same classical forecasts to the bit and the same recurrent ones to
    float32 rounding (their torch thread counts differ)."""
    data = series_set(seasonal(70), 12)
    spec = ForecastSpec(horizon=3, origins=4, models=("naive", "ets", "rnn"), hidden_size=4, train_steps=30,
                        seeds=2)
    one = run_forecast(data, spec, tmp_path / "one", workers=1)
    two = run_forecast(data, spec, tmp_path / "two", workers=2)
    assert [m["name"] for m in one["models"]] == [m["name"] for m in two["models"]] == ["naive", "ets", "rnn"]
    a, b = forecast_module_rows(tmp_path / "one"), forecast_module_rows(tmp_path / "two")
    key = lambda r: (r["model"], r["origin"], r["horizon"])  # noqa: E731
    for x, y in zip(sorted(a, key=key), sorted(b, key=key), strict=True):
        assert key(x) == key(y)
        if x["model"] == "rnn":
            assert x["y_hat"] == pytest.approx(y["y_hat"], rel=1e-4)
        else:
            assert x["y_hat"] == y["y_hat"]


def test_a_folder_of_another_forecast_is_refused_by_name(tmp_path):
    data = series_set(seasonal(60), 12)
    run_forecast(data, ForecastSpec(horizon=3, origins=2, models=("naive",)), tmp_path)
    with pytest.raises(ValueError, match=r"out: expected an empty folder or one holding this forecast"):
        run_forecast(data, ForecastSpec(horizon=4, origins=2, models=("naive",)), tmp_path)


def rows_for(errors: dict[str, list[float]], horizon: int = 1) -> tuple[list[dict], list[dict]]:
    rows = [{"unique_id": "s", "origin": k // horizon, "horizon": k % horizon + 1, "model": model, "y": 0.0,
             "y_hat": e, "scale": 1.0, "y_hat_seeds": ()} for model, values in errors.items()
            for k, e in enumerate(values)]
    models = [{"name": m, "kind": "classical", "status": "ok", "message": "", "seconds": 0.0, "parameters": 0}
              for m in errors]
    return rows, models


def test_the_verdict_is_the_simplest_model_in_the_confidence_set():
    rng = np.random.default_rng(1)
    noise = np.abs(rng.standard_normal((3, 40)))        # ses and arima: the same error distribution, independently
    rows, models = rows_for({"naive": list(3 + noise[0]), "ses": list(1 + noise[2]), "arima": list(1 + noise[1])})
    summary = summarise_forecasts(rows, models, stride=1)
    assert "naive" not in summary["confidence_set"] and {"ses", "arima"} <= set(summary["confidence_set"])
    assert summary["chosen"] == "ses" and summary["sentences"][0].startswith("Verdict: ses is enough")


def test_a_set_that_cannot_separate_a_far_worse_simpler_model_says_so():
    """naive errs 4× more than arima on average, all of it in one of 4 origins: both stay in the confidence set,
    and the verdict names both instead of calling naive enough."""
    rows, models = rows_for({"naive": [0.0, 0.0, 8.0, 0.0], "arima": [0.5, 0.5, 0.5, 0.5]})
    summary = summarise_forecasts(rows, models, stride=1)
    assert summary["best"] == "arima" and set(summary["confidence_set"]) == {"naive", "arima"}
    assert summary["sentences"][0].startswith("Verdict: the data cannot separate naive from arima")


def test_conformal_intervals_from_earlier_origins_cover_exchangeable_errors_at_their_level():
    rng = np.random.default_rng(0)
    rows = [{"unique_id": "s", "origin": k, "horizon": 1, "model": "m", "y": float(e), "y_hat": 0.0,
             "scale": 1.0} for k, e in enumerate(rng.standard_normal(2000))]
    (l80, c80, n80), (l95, c95, n95) = conformal_coverage(rows, stride=1)
    assert (l80, l95) == (80, 95) and n80 > 1900 and n95 > 1900
    assert abs(c80 - 0.80) < 0.03 and abs(c95 - 0.95) < 0.02
    few = conformal_coverage(rows[:10], stride=1)
    assert few[1][2] == 0, "no 95% interval from fewer than 19 earlier errors"


def test_a_gate_comparison_at_unmatched_parameter_counts_says_so():
    """Sizes are chosen on the tail per variant: when the chosen counts differ by more than 5%, the gate sentence
    says how many parameters each had; within 5% it says nothing of them."""
    rng = np.random.default_rng(2)
    errors = {name: list(1 + np.abs(rng.standard_normal(30))) for name in ("gru", "gru_no_reset", "mgu")}
    rows, models = rows_for(errors)
    counts = {"gru": 3393, "gru_no_reset": 941, "mgu": 3316}
    for m in models:
        m.update(kind="recurrent", parameters=counts[m["name"]], chosen={"hidden_size": 8, "learning_rate": 0.01})
    sentences = summarise_forecasts(rows, models, stride=1)["sentences"]
    assert any(s.startswith("Gates: gru_no_reset") and s.endswith(
        "(941 parameters against gru's 3393: not matched within 5%).") for s in sentences)
    assert any(s.startswith("Gates: mgu") and "parameters" not in s for s in sentences)


def test_ctrl_c_stops_the_worker_processes_at_once(tmp_path):
    """SIGINT to a forecast fitting in two worker processes: the command exits 130 within seconds (the workers are
    terminated, not waited for until their model is done) and no process of its group is left."""
    script = textwrap.dedent("""
        import sys, numpy as np
        from gatelab.cli import main
        t = np.arange(200)
        np.savetxt(sys.argv[1] + "/y.csv", np.sin(t / 5.0) + 0.01 * t, header="y", comments="")
        sys.exit(main(["forecast", sys.argv[1] + "/y.csv", "--target", "y", "--horizon", "4", "--origins", "4",
                       "--models", "gru", "lstm", "--train-steps", "100000", "--out", sys.argv[1] + "/out"]))
    """)
    worker = subprocess.Popen([sys.executable, "-c", script, str(tmp_path)], start_new_session=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 120
        while time.time() < deadline and not (tmp_path / "out" / "models.json").exists():
            time.sleep(0.05)
        time.sleep(8)                                             # the workers are fitting now
        worker.send_signal(signal.SIGINT)
        _, err = worker.communicate(timeout=30)
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
    assert worker.returncode == 130, err.decode()[-2000:]
    time.sleep(1)
    assert not live_processes_of_group(worker.pid), "a worker outlived the command"


def live_processes_of_group(group: int) -> list[int]:
    """The pids of the processes of a process group that are still running (not zombies), from /proc."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[2]) == group and stat[0] != "Z":                 # fields after the name: state, ppid, pgrp
                found.append(int(entry))
    return found
