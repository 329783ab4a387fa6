"""The classical rungs of the ladder, from statsforecast: one local model per series.

statsforecast rather than statsmodels: it has every rung (historical average, naive, seasonal naive, SES, and
automatic ETS and ARIMA selection, which statsmodels lacks), its compiled core fits AutoARIMA on AirPassengers
in ~0.3 s, and its models are the references the parity test compares against.
"""

from __future__ import annotations

import numpy as np

from .._errors import unknown_name
from .contract import Forecaster


def _factory(name: str, season_length: int):
    from statsforecast import models  # the forecast extra, imported where used

    return {"historical_average": lambda: models.HistoricAverage(),
            "naive": lambda: models.Naive(),
            "seasonal_naive": lambda: models.SeasonalNaive(season_length=season_length),
            "ses": lambda: models.SimpleExponentialSmoothingOptimized(),
            "ets": lambda: models.AutoETS(season_length=season_length),
            "arima": lambda: models.AutoARIMA(season_length=season_length)}[name]


# The classical ladder, simplest first, with what each rung assumes of the series.
CLASSICAL = {"historical_average": "the mean of the whole past",
             "naive": "the last value",
             "seasonal_naive": "the value one season ago",
             "ses": "simple exponential smoothing: a level updated by a fixed share α of each error",
             "ets": "exponential smoothing with automatic error/trend/season (AutoETS, AICc)",
             "arima": "ARIMA with automatic orders (AutoARIMA, Hyndman–Khandakar)"}


class ClassicalForecaster(Forecaster):
    """A statsforecast model by ladder name, fitted per series."""

    def __init__(self, name: str, season_length: int = 1) -> None:
        super().__init__()
        if name not in CLASSICAL:
            raise unknown_name("name", name, CLASSICAL)
        self.name, self.season_length = name, season_length
        self._fitted: list = []

    def _fit(self, series: list[np.ndarray]) -> None:
        self._fitted = [_factory(self.name, self.season_length)().fit(y) for y in series]

    def _predict(self, h: int) -> list[np.ndarray]:
        return [model.predict(h)["mean"] for model in self._fitted]
