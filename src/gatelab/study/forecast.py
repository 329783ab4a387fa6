"""The model ladder on a set of series, evaluated by rolling-origin cross-validation, and the folder it writes.

Origins: for origin k of K, each series is cut ``(K − 1 − k)·step + horizon`` observations before its end; the
forecast at that cutoff sees only what precedes it (tested by corrupting the data after a cutoff). Classical
rungs are fitted again at every origin (cheap); a recurrent rung is fitted at every ``refit_every``-th origin and
forecasts the origins between from the newer data with the weights it has (statsforecast's ``refit`` semantics),
as an ensemble of ``seeds`` models whose mean is the forecast and whose spread is kept.

Each forecast is a row (series, origin, model, step, truth, forecast, seed forecasts, MASE scale); the report
computes every error, interval and verdict from the rows alone. :func:`run_forecast` owns the output folder: a
model's rows are appended when the model is done, then ``models.json`` records it — so a killed forecast resumes
without fitting finished models again.
"""

from __future__ import annotations

import csv
import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from .._errors import InputError, bad_argument, check_positive_int, unknown_name
from ..baselines import CLASSICAL, ClassicalForecaster, RecurrentForecaster, matched_hidden_size
from ..registry import variants
from ..tasks.series import MIN_TRAIN, SeriesSet, check_lengths

Event = Callable[[str, dict], None]     # the lab's progress convention: on_event(kind, data)
FIELDS = ["unique_id", "origin", "cutoff", "ds", "horizon", "model", "y", "y_hat", "y_hat_seeds", "fit_origin",
          "scale"]
DEFAULT_TIME_LIMIT = 300.0
CALIBRATION_ERRORS = 19                 # the fewest earlier errors that give a 95% conformal interval: ⌈0.95 (n+1)⌉ ≤ n
SCORED_INTERVALS = 100                  # default origins leave this many 95% intervals (all series and horizons) to
#                                         score coverage: its binomial sd at 0.95 is then ≤ 0.022


@dataclass(frozen=True)
class ForecastSpec:
    """What to run. Left at None, ``origins``, ``step`` and ``refit_every`` are chosen from the data by
    :meth:`resolved` (see there)."""

    horizon: int = field(metadata={"help": "steps to forecast"})
    origins: int | None = field(default=None, metadata={
        "help": "rolling forecast origins (default: enough for 100 calibrated 95%% intervals to score, at least "
                "three seasons and 24, as the series allow)"})
    step: int | None = field(default=None, metadata={"help": "observations between origins (default: 1)"})
    models: tuple[str, ...] | None = field(default=None, metadata={"help": "only these rungs of the ladder"})
    hidden_size: int = field(default=32, metadata={
        "help": "units of the recurrent gru; the other variants get the size that matches its parameters"})
    hidden_sizes: tuple[int, ...] | None = field(default=None, metadata={
        "help": "the gru sizes tried on each training window's held-out tail (default: half of --hidden-size "
                "and itself); every variant tries the sizes that match their parameters"})
    learning_rates: tuple[float, ...] = field(default=(3e-3, 1e-2), metadata={
        "help": "the learning rates tried on the held-out tail, each with every size"})
    train_steps: int = field(default=400, metadata={"help": "most Adam steps per recurrent fit (early stopping)"})
    seed: int = field(default=0, metadata={"help": "first seed of the recurrent ensembles"})
    seeds: int = field(default=5, metadata={"help": "recurrent ensemble size (the forecast is their mean)"})
    refit_every: int | None = field(default=None, metadata={
        "help": "refit the recurrent models every K origins (default: half the origins, at least a season)"})
    time_limit: float = field(default=DEFAULT_TIME_LIMIT, metadata={
        "help": "seconds per model; past it the model is recorded as skipped and the rest proceed"})

    def __post_init__(self) -> None:
        for name in ("horizon", "hidden_size", "train_steps", "seeds"):
            check_positive_int(name, getattr(self, name))
        for name in ("origins", "step", "refit_every"):
            if getattr(self, name) is not None:
                check_positive_int(name, getattr(self, name))
        if self.hidden_sizes is not None:
            if not self.hidden_sizes:
                raise bad_argument("hidden_sizes", "at least one size", self.hidden_sizes)
            for size in self.hidden_sizes:
                check_positive_int("hidden_sizes", size)
        if not self.learning_rates or not all(
                isinstance(r, (int, float)) and not isinstance(r, bool) and 0 < r < math.inf
                for r in self.learning_rates):
            raise bad_argument("learning_rates", "one or more positive finite numbers", self.learning_rates)
        if isinstance(self.time_limit, bool) or not isinstance(self.time_limit, (int, float)) or not (
                self.time_limit > 0):
            raise bad_argument("time_limit", "a positive number of seconds", self.time_limit)
        for name in self.models or ():
            if name not in ladder_names():
                raise unknown_name("models", name, ladder_names())

    @property
    def stride(self) -> int:
        return self.step or 1

    def resolved(self, data: SeriesSet) -> ForecastSpec:
        """Concrete origins, step and refit interval for ``data``. Default origins: enough that the series and
        horizons together get ``SCORED_INTERVALS`` 95% intervals to score, each calibrated on the 19 earlier
        errors at its horizon that a 95% split-conformal interval needs (horizon h's first interval comes at origin
        19 + ⌈h / step⌉), and at least three seasons and 24, step 1 — as far as the shortest series allows
        (``MIN_TRAIN`` observations and one season before the first cutoff). Default
        refit: every ``ceil(origins / 2)`` origins, at least one season — two fits per recurrent member (measured:
        AirPassengers' 36 origins took 5.2 min with four, against the 3-minute target)."""
        step = self.step or 1
        origins = self.origins
        if origins is None:
            shortest = min(len(s) for s in data.series)
            room = (shortest - max(MIN_TRAIN, data.season_length + 1) - self.horizon) // step + 1
            unscored = sum(CALIBRATION_ERRORS + math.ceil(h / step) for h in range(1, self.horizon + 1))
            calibrated = math.ceil((SCORED_INTERVALS / len(data.series) + unscored) / self.horizon)
            origins = max(1, min(max(3 * data.season_length, 24, calibrated), room))
        refit = self.refit_every or max(math.ceil(origins / 2), min(data.season_length, origins))
        sizes = self.hidden_sizes or tuple(dict.fromkeys((max(1, self.hidden_size // 2), self.hidden_size)))
        return replace(self, origins=origins, step=step, refit_every=refit, hidden_sizes=tuple(sizes),
                       learning_rates=tuple(float(r) for r in self.learning_rates))


def ladder_names() -> tuple[str, ...]:
    """The ladder in the order it is run: the classical rungs, simplest first, then the recurrent variants."""
    return tuple(CLASSICAL) + tuple(variants())


@dataclass
class ModelOutcome:
    name: str
    kind: str                              # "classical" | "recurrent"
    status: str = "ok"                     # "ok" | "failed" | "skipped"
    message: str = ""
    seconds: float = 0.0
    parameters: int = 0                    # learned parameters of a recurrent model (0 for classical)
    fits: int = 0                          # fits made (recurrent: refits × seeds, and the tuning trials)
    chosen: dict = field(default_factory=dict)   # recurrent: the hidden size and learning rate chosen on the tail
    trials: list = field(default_factory=list)   # recurrent: [gru-equivalent size, size, rate, validation MSE]
    rows: list[dict] = field(default_factory=list, repr=False)

    def summary(self) -> dict:
        return {k: v for k, v in asdict(self).items() if k != "rows"}


def mase_scale(history: np.ndarray, season_length: int) -> float:
    """The in-sample MAE of the seasonal naive forecast (naive when the history is shorter than two seasons)."""
    m = season_length if len(history) > season_length else 1
    diffs = np.abs(history[m:] - history[:-m])
    return float(diffs.mean()) if len(diffs) and diffs.mean() > 0 else 1.0


def tuning_grid(name: str, spec: ForecastSpec) -> list[tuple[int, int, float]]:
    """(gru's size, the recurrent rung ``name``'s size matched to its parameters, learning rate) per candidate."""
    return [(size, matched_hidden_size(name, size), rate) for size in spec.hidden_sizes for rate in spec.learning_rates]


def _build(name: str, data: SeriesSet, spec: ForecastSpec, candidates: tuple[tuple[int, float], ...] = ()):
    """The rung ``name``; a recurrent one tries each (size, rate) of ``candidates`` on its held-out tail."""
    if name in CLASSICAL:
        return ClassicalForecaster(name, data.season_length)
    return RecurrentForecaster(name, data.season_length, hidden_size=candidates[0][0], steps=spec.train_steps,
                               seeds=tuple(range(spec.seed, spec.seed + spec.seeds)), candidates=candidates)


def cutoffs(data: SeriesSet, spec: ForecastSpec) -> list[list[int]]:
    """Per origin, per series: how many observations the forecast at that origin may see."""
    return [[len(s) - ((spec.origins - 1 - k) * spec.stride + spec.horizon) for s in data.series]
            for k in range(spec.origins)]


def forecast_model(name: str, data: SeriesSet, spec: ForecastSpec,
                   on_origin: Callable[[int], None] | None = None) -> ModelOutcome:
    """One rung over every origin of a resolved spec. A failure, or the time limit, is recorded in the
    outcome (with no rows: a comparison needs every origin); it never stops the ladder."""
    outcome = ModelOutcome(name, "classical" if name in CLASSICAL else "recurrent")
    start = time.perf_counter()
    all_cuts = cutoffs(data, spec)
    groups = [[k] for k in range(spec.origins)] if outcome.kind == "classical" else \
        [list(range(g, min(g + spec.refit_every, spec.origins))) for g in range(0, spec.origins, spec.refit_every)]
    grid = tuning_grid(name, spec) if outcome.kind == "recurrent" else []
    candidates = tuple((size, rate) for _, size, rate in grid)   # the first fit tunes; later fits reuse its choice
    try:
        for group in groups:
            fit_origin = group[0]
            if on_origin is not None:
                on_origin(fit_origin)
            histories = [[s.values[:c] for s, c in zip(data.series, all_cuts[k], strict=True)] for k in group]
            model = _build(name, data, spec, candidates).fit(histories[0])
            outcome.fits += getattr(model, "fits", 1)
            outcome.parameters = getattr(model, "parameters", 0)
            if outcome.kind == "recurrent" and not outcome.chosen:
                candidates = (model.chosen,)
                gru_size = next(g for g, own, r in grid if (own, r) == model.chosen)
                outcome.chosen = {"hidden_size": model.chosen[0], "learning_rate": model.chosen[1],
                                  "gru_hidden_size": gru_size}
                outcome.trials = [[g, own, r, metric if math.isfinite(metric) else None]
                                  for (g, _, _), (own, r, metric) in zip(grid, model.trials, strict=True)]
            if outcome.kind == "classical":
                means = np.asarray(model.predict(spec.horizon))[None]        # fitted on a list: (1, S, h)
                members = None
            else:                                  # the origins up to the next refit: newer data, same weights
                means, members = model.forecast_from(histories, spec.horizon)
            for g, k in enumerate(group):
                for i, (s, history) in enumerate(zip(data.series, histories[g], strict=True)):
                    c, scale = len(history), mase_scale(history, data.season_length)
                    for h in range(spec.horizon):
                        outcome.rows.append({
                            "unique_id": s.id, "origin": k, "cutoff": s.stamps[c - 1], "ds": s.stamps[c + h],
                            "horizon": h + 1, "model": name, "y": float(s.values[c + h]),
                            "y_hat": float(means[g, i, h]),
                            "y_hat_seeds": tuple(float(v) for v in members[:, g, i, h]) if members is not None
                            else (), "fit_origin": fit_origin, "scale": scale})
            elapsed = time.perf_counter() - start
            if elapsed > spec.time_limit and group[-1] + 1 < spec.origins:
                outcome.status = "skipped"
                outcome.message = (f"over its time limit ({spec.time_limit:g} s) after {group[-1] + 1} of "
                                   f"{spec.origins} origins ({elapsed:.0f} s); --time-limit raises it")
                outcome.rows = []
                break
        if outcome.rows and not np.all(np.isfinite([r["y_hat"] for r in outcome.rows])):
            raise ValueError("non-finite forecasts")
    except Exception as error:  # noqa: BLE001 — a model that cannot fit is reported; the rest proceed
        outcome.status, outcome.message, outcome.rows = "failed", f"{type(error).__name__}: {error}", []
    outcome.seconds = time.perf_counter() - start
    return outcome


def cross_validate(data: SeriesSet, spec: ForecastSpec, on_model: Callable[[ModelOutcome], None] | None = None,
                   on_fit: Callable[[str, int], None] | None = None) -> list[ModelOutcome]:
    """Run every model of the ladder over every origin (in memory); one outcome per model, in ladder order."""
    spec = spec.resolved(data)
    check_lengths(data, spec.horizon, spec.origins, spec.stride)
    outcomes = []
    for name in spec.models or ladder_names():
        outcome = forecast_model(name, data, spec, None if on_fit is None else lambda k, n=name: on_fit(n, k))
        outcomes.append(outcome)
        if on_model is not None:
            on_model(outcome)
    return outcomes


# ---- the folder: forecasts.csv (rows) and models.json (what ran), resumable ------------------------------------
def _identity(data: SeriesSet, spec: ForecastSpec) -> dict:
    """What a folder's forecasts depend on: the data and the resolved spec (not the model list, which may grow)."""
    return {"data": {"name": data.name, "season_length": data.season_length, "series": [s.id for s in data.series],
                     "lengths": [len(s) for s in data.series],
                     "checksum": float(sum(float(np.sum(s.values)) for s in data.series))},
            "spec": {k: list(v) if isinstance(v, tuple) else v            # as JSON gives it back
                     for k, v in asdict(spec).items() if k not in ("models", "time_limit")}}


def _write_json(path: Path, value: dict) -> None:
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(value, indent=1))
    os.replace(tmp, path)


def _finished(out: Path, identity: dict) -> tuple[dict | None, list[dict]]:
    """The models a folder already holds for the same data and spec, and their rows (rows of a model whose
    record was not written — a kill between the two writes — are dropped)."""
    meta_path, rows_path = out / "models.json", out / "forecasts.csv"
    if not meta_path.exists():
        return None, []
    meta = json.loads(meta_path.read_text())
    if meta.get("identity") != identity:
        raise InputError(f"out: expected an empty folder or one holding this forecast, got {out} holding a forecast "
                         "of other data or settings (use another --out)", "out")
    done = {m["name"] for m in meta.get("models", [])}
    rows = []
    if rows_path.exists():
        with rows_path.open(newline="") as handle:
            rows = [r for r in csv.DictReader(handle) if r["model"] in done]
    return meta, rows


def run_forecast(data: SeriesSet, spec: ForecastSpec, out: str | Path, on_event: Event | None = None, *,
                 command: str = "", workers: int | None = None) -> dict:
    """Run the ladder on ``data`` into the folder ``out`` and return its ``models.json`` content.

    Writes ``forecasts.csv`` (one row per series, origin, model and horizon) and ``models.json`` (the data, the
    resolved spec, one record per finished model). A folder holding part of the same forecast (a killed run) is
    resumed: finished models are kept, the rest run. ``workers``: models fitted at once, each in its own process
    with cores / workers torch threads (default: the cores; 1: in this process, in ladder order) — the networks
    are small, so one thread each is faster than two threads on one. ``on_event(kind, data)``: ``"plan"``
    (total, todo, spec), ``"start"`` (model), ``"origin"`` (model, origin; in-process only), ``"model"`` (the
    finished model's record) — the lab's convention, for progress bars.
    """
    spec = spec.resolved(data)
    check_lengths(data, spec.horizon, spec.origins, spec.stride)                 # before anything is written
    if workers is not None:
        check_positive_int("workers", workers)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    identity = _identity(data, spec)
    meta, kept = _finished(out, identity)
    if meta is None:
        meta = {"identity": identity, "models": []}
    meta.update(command=command or meta.get("command", ""),
                data={"name": data.name, "season_length": data.season_length, "notes": list(data.notes),
                      "series": [s.id for s in data.series]},
                spec={"horizon": spec.horizon, "origins": spec.origins, "stride": spec.stride,
                      "refit_every": spec.refit_every, "seeds": spec.seeds, "hidden_size": spec.hidden_size,
                      "hidden_sizes": list(spec.hidden_sizes), "learning_rates": list(spec.learning_rates),
                      "train_steps": spec.train_steps, "time_limit": spec.time_limit})
    with (out / "forecasts.csv").open("w", newline="") as handle:                  # only whole models survive
        writer = csv.DictWriter(handle, FIELDS)
        writer.writeheader()
        writer.writerows(kept)
    _write_json(out / "models.json", meta)
    names = spec.models or ladder_names()
    done = {m["name"] for m in meta["models"]}
    todo = [n for n in names if n not in done]
    if on_event is not None:
        on_event("plan", {"total": len(names), "todo": len(todo), "spec": meta["spec"]})

    def record(outcome: ModelOutcome) -> None:                 # rows first, then the record that vouches for them
        with (out / "forecasts.csv").open("a", newline="") as handle:
            csv.DictWriter(handle, FIELDS).writerows(
                {**r, "y_hat_seeds": ";".join(f"{v:.8g}" for v in r["y_hat_seeds"])} for r in outcome.rows)
            handle.flush()
            os.fsync(handle.fileno())
        meta["models"].append(outcome.summary())
        _write_json(out / "models.json", meta)
        if on_event is not None:
            on_event("model", outcome.summary())

    workers = min(workers or os.cpu_count() or 1, max(1, len(todo)))
    if workers == 1:
        for name in todo:
            if on_event is not None:
                on_event("start", {"model": name})
            record(forecast_model(name, data, spec, None if on_event is None else
                                  lambda k, n=name: on_event("origin", {"model": n, "origin": k})))
    else:
        _in_pool(todo, data, spec, workers, record, on_event)
    meta["models"].sort(key=lambda m: names.index(m["name"]) if m["name"] in names else len(names))
    _write_json(out / "models.json", meta)
    return meta


def _in_pool(todo: list[str], data: SeriesSet, spec: ForecastSpec, workers: int,
             record: Callable[[ModelOutcome], None], on_event: Event | None) -> None:
    """Fit the models of ``todo`` in ``workers`` spawned processes, recording each as it finishes. The slowest
    rungs (the recurrent ones, then ARIMA and ETS) go first so that the last to finish is short."""
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    from .local import init_worker

    order = sorted(todo, key=lambda n: (n in CLASSICAL, n not in ("arima", "ets")))
    threads = max(1, (os.cpu_count() or 1) // workers)
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"), initializer=init_worker,
                               initargs=(threads,))
    try:
        pending = {}
        for name in order:
            pending[pool.submit(forecast_model, name, data, spec)] = name
            if on_event is not None:
                on_event("start", {"model": name})
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                pending.pop(future)
                record(future.result())
    except BaseException:                      # Ctrl+C or a failure: stop the workers now, not after their model
        processes = list(getattr(pool, "_processes", {}).values())
        for process in processes:
            process.terminate()
        for process in processes:
            process.join(timeout=10)
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
