"""The model ladder on a set of series, evaluated by rolling-origin cross-validation.

Every model sees the same origins: for origin k of K, each series is cut ``(K − k)·step`` observations before
its end, the model is fitted on what precedes the cut and forecasts ``horizon`` steps. Each forecast is a row
(series, origin, model, step, truth, forecast, MASE scale); the report computes every error and the verdict from
these rows alone. Rows reach the caller model by model (``on_model``), so a failure or a kill loses nothing that
was finished.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np

from .._errors import check_positive_int, unknown_name
from ..baselines import CLASSICAL, ClassicalForecaster, RecurrentForecaster
from ..registry import variants
from ..tasks.series import SeriesSet, check_lengths


@dataclass(frozen=True)
class ForecastSpec:
    """What to run. ``step``: observations between origins (default: the horizon, so test spans don't overlap);
    ``models``: ladder names to run (default: the whole ladder — the classical rungs, then every variant)."""

    horizon: int = field(metadata={"help": "steps to forecast"})
    origins: int = field(default=4, metadata={"help": "rolling forecast origins"})
    step: int | None = field(default=None, metadata={"help": "observations between origins (default: the horizon)"})
    models: tuple[str, ...] | None = field(default=None, metadata={"help": "only these rungs of the ladder"})
    hidden_size: int = field(default=32, metadata={"help": "units of each recurrent model"})
    train_steps: int = field(default=400, metadata={"help": "Adam steps per recurrent model and origin"})
    seed: int = field(default=0, metadata={"help": "seed of the recurrent models"})

    def __post_init__(self) -> None:
        for name in ("horizon", "origins", "hidden_size", "train_steps"):
            check_positive_int(name, getattr(self, name))
        if self.step is not None:
            check_positive_int("step", self.step)
        for name in self.models or ():
            if name not in ladder_names():
                raise unknown_name("models", name, ladder_names())

    @property
    def stride(self) -> int:
        return self.step or self.horizon


def ladder_names() -> tuple[str, ...]:
    """The ladder in the order it is run: the classical rungs, simplest first, then the recurrent variants."""
    return tuple(CLASSICAL) + tuple(variants())


@dataclass
class ModelOutcome:
    name: str
    kind: str                              # "classical" | "recurrent"
    status: str = "ok"                     # "ok" | "failed"
    message: str = ""
    seconds: float = 0.0
    parameters: int = 0                    # learned parameters of a recurrent model (0 for classical)
    rows: list[dict] = field(default_factory=list, repr=False)

    def summary(self) -> dict:
        return {k: v for k, v in asdict(self).items() if k != "rows"}


def mase_scale(history: np.ndarray, season_length: int) -> float:
    """The in-sample MAE of the seasonal naive forecast (naive when the history is shorter than two seasons)."""
    m = season_length if len(history) > season_length else 1
    diffs = np.abs(history[m:] - history[:-m])
    return float(diffs.mean()) if len(diffs) and diffs.mean() > 0 else 1.0


def _build(name: str, data: SeriesSet, spec: ForecastSpec):
    if name in CLASSICAL:
        return ClassicalForecaster(name, data.season_length)
    return RecurrentForecaster(name, data.season_length, hidden_size=spec.hidden_size, steps=spec.train_steps,
                               seed=spec.seed)


def cross_validate(data: SeriesSet, spec: ForecastSpec, on_model: Callable[[ModelOutcome], None] | None = None,
                   on_fit: Callable[[str, int], None] | None = None) -> list[ModelOutcome]:
    """Run every model of the ladder over every origin; return one outcome per model, in ladder order.
    ``on_fit(model, origin)`` is called before each fit, ``on_model(outcome)`` after each model (progress)."""
    check_lengths(data, spec.horizon, spec.origins, spec.stride)
    names = spec.models or ladder_names()
    outcomes = []
    for name in names:
        outcome = ModelOutcome(name, "classical" if name in CLASSICAL else "recurrent")
        start = time.perf_counter()
        try:
            for k in range(spec.origins):
                if on_fit is not None:
                    on_fit(name, k)
                back = (spec.origins - k - 1) * spec.stride + spec.horizon          # test span starts here
                histories = [s.values[:len(s) - back] for s in data.series]
                model = _build(name, data, spec).fit(histories)
                forecasts = model.predict(spec.horizon)
                outcome.parameters = getattr(model, "parameters", 0)
                for s, history, forecast in zip(data.series, histories, forecasts, strict=True):
                    cut = len(history)
                    scale = mase_scale(history, data.season_length)
                    for h in range(spec.horizon):
                        outcome.rows.append({"unique_id": s.id, "origin": k, "cutoff": s.stamps[cut - 1],
                                             "ds": s.stamps[cut + h], "horizon": h + 1, "model": name,
                                             "y": float(s.values[cut + h]), "y_hat": float(forecast[h]),
                                             "scale": scale})
            if not np.all(np.isfinite([r["y_hat"] for r in outcome.rows])):
                raise ValueError("non-finite forecasts")
        except Exception as error:  # noqa: BLE001 — a model that cannot fit is reported; the rest proceed
            outcome.status, outcome.message, outcome.rows = "failed", f"{type(error).__name__}: {error}", []
        outcome.seconds = time.perf_counter() - start
        outcomes.append(outcome)
        if on_model is not None:
            on_model(outcome)
    return outcomes
