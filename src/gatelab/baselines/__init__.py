"""Forecasters behind one contract — ``fit(y) -> self``, ``predict(h)`` — classical (statsforecast) or recurrent
(any registered variant trained on windows of the series). ``y`` is one 1-D series or a list of them (then one
model per series for the classical ones, one global model for the recurrent ones)."""

from .classical import CLASSICAL, ClassicalForecaster
from .contract import Forecaster
from .recurrent import RecurrentForecaster, matched_hidden_size

__all__ = ["CLASSICAL", "ClassicalForecaster", "Forecaster", "RecurrentForecaster", "matched_hidden_size"]
