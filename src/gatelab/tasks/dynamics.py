"""Dynamical systems: NARMA-10 system identification and Mackey–Glass forecasting."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import torch
from torch import Tensor

from .._errors import bad_argument, check_positive_int
from .base import SequenceTask, checked_stream

AR_ORDER = 10      # taps of the linear reference printed beside Mackey–Glass


@dataclass(frozen=True)
class Narma10Task(SequenceTask):
    """Isolates short memory with a multiplicative state nonlinearity: identify the NARMA-10 system from its
    input.

    u_t ~ U[0, 0.5];  y_{t+1} = 0.3 y_t + 0.05 y_t Σ_{i=0}^{9} y_{t−i} + 1.5 u_{t−9} u_t + 0.1 (Atiya & Parlos
    2000). Input u_t at every step of a ``warmup`` and the ``length`` steps after it; target y_{t+1} at the
    ``length`` steps after the warm-up only (the warm-up is read, not scored: every scored target depends only on
    inputs the model has seen). Metric: NRMSE (RMSE / std of the target); predicting the mean gives 1; solved
    below 0.2.
    """

    name = "narma10"
    readout = "all"
    metric = "nrmse"
    length: int = 100
    warmup: int = 50

    def __post_init__(self) -> None:
        check_positive_int("length", self.length)
        check_positive_int("warmup", self.warmup)

    input_size = property(lambda self: 1)
    output_size = property(lambda self: 1)
    trivial = property(lambda self: 1.0)
    solved_at = property(lambda self: 0.2)

    def batch(self, size: int, generator: torch.Generator, split: str = "train") -> tuple[Tensor, Tensor]:
        """x (B, T, 1), y (B, T, 1). NARMA-10 blows up for a small share of input sequences (|y| → ∞); such
        rows are drawn again from the same stream, as is usual for this benchmark."""
        g = checked_stream(generator, split)
        total = self.warmup + self.length
        u = torch.rand(size, total, generator=g, dtype=torch.float64) * 0.5
        y = _narma10(u)
        bad = ~torch.isfinite(y).all(1) | (y.abs().amax(1) > 10)
        while bool(bad.any()):
            u[bad] = torch.rand(int(bad.sum()), total, generator=g, dtype=torch.float64) * 0.5
            y[bad] = _narma10(u[bad])
            bad = ~torch.isfinite(y).all(1) | (y.abs().amax(1) > 10)
        x = u.unsqueeze(-1).float()                                             # (B, warmup + length, 1)
        target = y[:, 1:].unsqueeze(-1).float()
        target[:, :self.warmup] = math.nan                                     # read, not scored
        return x, target


def _narma10(u: Tensor) -> Tensor:
    """y (B, T + 1) from u (B, T), y_0 = 0."""
    size, total = u.shape
    y = torch.zeros(size, total + 1, dtype=u.dtype)
    with torch.no_grad():
        for t in range(total):
            window = y[:, max(0, t - 9):t + 1].sum(1)
            lagged = u[:, t - 9] if t >= 9 else torch.zeros(size, dtype=u.dtype)
            y[:, t + 1] = 0.3 * y[:, t] + 0.05 * y[:, t] * window + 1.5 * lagged * u[:, t] + 0.1
    return y


@cache
def mackey_glass_series(length: int, tau: int = 17, dt: float = 0.1, warmup: int = 1000) -> tuple[float, ...]:
    """The Mackey–Glass delay equation dx/dt = 0.2 x(t−τ) / (1 + x(t−τ)¹⁰) − 0.1 x(t), constant history 1.2,
    integrated by Euler steps of ``dt`` and sampled once per time unit, after ``warmup`` time units."""
    per_unit = round(1 / dt)
    lag = tau * per_unit
    history = [1.2] * (lag + 1)
    samples = []
    for i in range((warmup + length) * per_unit):
        x, delayed = history[-1], history[-1 - lag]
        history.append(x + dt * (0.2 * delayed / (1 + delayed ** 10) - 0.1 * x))
        if len(history) > lag + 1:
            history.pop(0)
        if i % per_unit == 0 and i // per_unit >= warmup:
            samples.append(history[-1])
    return tuple(samples)


@dataclass(frozen=True)
class MackeyGlassTask(SequenceTask):
    """Isolates nothing in particular — a smooth chaotic control: forecasting the Mackey–Glass series (τ = 17)
    ``horizon`` steps ahead.

    One series of ``series_length`` samples (deterministic), standardised by its training part, split 70/15/15 in time;
    a batch is random windows of ``washout + length`` steps from one split; input x_t, target x_{t+horizon},
    scored at the ``length`` steps after an unscored ``washout`` (a cold start cannot know the delayed state)
    (``horizon=1``: one-step; larger: multi-step, direct). Metric: NRMSE; the trivial level is persistence
    (x̂_{t+horizon} = x_t) on the test split; solved below a fifth of it.
    """

    name = "mackey_glass"
    readout = "all"
    metric = "nrmse"
    length: int = 100
    series_length: int = 6000
    horizon: int = 1
    washout: int = 20

    renamed = {"steps": "length", "length": "series_length"}

    def __post_init__(self) -> None:
        check_positive_int("length", self.length)
        check_positive_int("horizon", self.horizon)
        if isinstance(self.washout, bool) or not isinstance(self.washout, int) or self.washout < 0:
            raise bad_argument("washout", "a non-negative int", self.washout)
        if self.series_length < 10 * self.length:
            raise bad_argument("series_length", f"at least 10·length = {10 * self.length}", self.series_length)

    input_size = property(lambda self: 1)
    output_size = property(lambda self: 1)
    solved_at = property(lambda self: self.criterion("test"))

    def series(self, split: str) -> Tensor:
        raw = torch.tensor(mackey_glass_series(self.series_length))
        cut1, cut2 = int(0.7 * self.series_length), int(0.85 * self.series_length)
        train = raw[:cut1]
        standard = (raw - train.mean()) / train.std()
        return {"train": standard[:cut1], "valid": standard[cut1:cut2], "test": standard[cut2:]}[split]

    @property
    def trivial(self) -> float:
        return self.persistence_nrmse("test")

    def criterion(self, split: str) -> float:
        return self.persistence_nrmse(split) / 5

    def persistence_nrmse(self, split: str) -> float:
        """NRMSE of x̂_{t+h} = x_t over the whole ``split`` (the trivial level, on test)."""
        series, h = self.series(split), self.horizon
        return math.sqrt(float((series[h:] - series[:-h]).pow(2).mean())) / float(series[h:].std())

    def reference_metrics(self) -> dict[str, float]:
        return {f"linear autoregression on the last {AR_ORDER} inputs": self.autoregression_nrmse(AR_ORDER)}

    def autoregression_nrmse(self, order: int) -> float:
        """Test NRMSE of x̂_{t+h} = c + Σ_{i<order} a_i x_{t−i}, fitted by least squares on the training split —
        the linear reference (a delay line of ``order`` taps, which a linear recurrence holds exactly)."""
        h = self.horizon

        def lagged(series: Tensor) -> tuple[Tensor, Tensor]:
            s = series.double()
            rows = len(s) - order - h + 1
            X = torch.stack([s[i:i + rows] for i in range(order)] + [torch.ones(rows, dtype=s.dtype)], dim=1)
            return X, s[order - 1 + h:]

        X, y = lagged(self.series("train"))
        coef = torch.linalg.lstsq(X, y[:, None]).solution[:, 0]
        X, y = lagged(self.series("test"))
        return math.sqrt(float((X @ coef - y).pow(2).mean())) / float(y.std())

    def batch(self, size: int, generator: torch.Generator, split: str = "train") -> tuple[Tensor, Tensor]:
        """x (B, T, 1), y (B, T, 1): windows of the split."""
        g = checked_stream(generator, split)
        series = self.series(split)
        h = self.horizon
        steps = self.washout + self.length
        starts = torch.randint(0, len(series) - steps - h, (size,), generator=g)
        index = starts.unsqueeze(1) + torch.arange(steps + h)
        windows = series[index].float()
        target = windows[:, h:, None].clone()
        target[:, :self.washout] = math.nan                                    # the washout: read, not scored
        return windows[:, :steps, None], target
