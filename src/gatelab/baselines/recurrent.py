"""The recurrent rungs: any registered variant, trained on windows of the series with the one training loop.

At each step the model reads two features of a series — its level and its first difference, each standardised by
the series' own mean and standard deviation in what ``fit`` sees — and predicts the next difference. Predicting
differences carries a trend past the range seen in training (a level-trained model cannot); reading the level
keeps what a stationary non-linear series needs. One global model learns one-step-ahead prediction over all
series; ``predict(h)`` rolls it forward h steps, feeding each forecast back. Each rolled step is kept within
``STEP_BOUND`` times the largest standardised difference the fit saw: fed back into itself, a model whose candidate
is linear in its input (min_gru) can otherwise run away over a horizon (measured on AirPassengers: 2 of 36 origins
at MASE 26 and 254 before the bound).

A rung is an ensemble of seeds (``seeds``): each member is trained alone, with early stopping on a tail of the
series it never trained on (the best validation weights are kept); the forecast is the members' mean, and their
spread is kept (:meth:`RecurrentForecaster.member_forecasts`). :meth:`RecurrentForecaster.update` gives the
fitted ensemble newer data without training again (a rolling origin between refits).

With several ``candidates`` (hidden size, learning rate), the first seed is trained at each of them and the one
with the lowest validation error on the held-out tail is kept (``chosen``): the ensemble trains at it, so no
variant loses by an ill-suited size or rate. The tail is the part of the series before the cutoff that the
training windows never reach, so the choice sees nothing after the cutoff either.
"""

from __future__ import annotations

import math
from dataclasses import replace
from functools import cache

import numpy as np
import torch

from .._errors import bad_argument, check_positive_int
from ..registry import get_variant
from ..tasks.windows import WindowTask
from ..train import TrainConfig, train
from .contract import Forecaster

INPUT_FEATURES = 2                      # the standardised level and first difference
STEP_BOUND = 1.5                        # a rolled step is at most this × the largest standardised step in training


def parameter_count(variant: str, hidden_size: int) -> int:
    """Learned parameters of a forecaster's network: the cell on 2 features and a linear read-out."""
    from ..layers import SequenceModel

    net = SequenceModel(variant, INPUT_FEATURES, hidden_size, 1, readout="all")
    return sum(p.numel() for p in net.parameters())


@cache
def matched_hidden_size(variant: str, gru_hidden_size: int) -> int:
    """The hidden size whose parameter count is closest to the ``gru``'s at ``gru_hidden_size`` (so the rungs
    compare cells, not sizes; Chung et al. 2014)."""
    target = parameter_count("gru", gru_hidden_size)
    low, high = 1, gru_hidden_size
    while parameter_count(variant, high) < target and high < 4096:
        high *= 2
    while low < high:
        mid = (low + high) // 2
        low, high = (mid + 1, high) if parameter_count(variant, mid) < target else (low, mid)
    return min((max(1, low - 1), low), key=lambda h: abs(parameter_count(variant, h) - target))


class RecurrentForecaster(Forecaster):
    """``variant`` (e.g. ``"gru"``, ``"rnn"``, ``"lstm"``) with ``hidden_size`` units and a linear read-out.

    ``window``: steps the model reads (default: two seasons, at least 24, at most what the shortest series
    allows); ``steps``: at most this many Adam steps of ``batch_size`` windows per member, stopped early when the
    validation tail has not improved for ``patience`` evaluations; ``seeds``: one member per seed (default: the
    one ``seed``), bit-identical on the CPU.
    """

    def __init__(self, variant: str, season_length: int = 1, hidden_size: int = 32, window: int | None = None,
                 steps: int = 400, batch_size: int = 64, learning_rate: float = 3e-3, seed: int = 0,
                 seeds: tuple[int, ...] | None = None, patience: int = 8,
                 candidates: tuple[tuple[int, float], ...] | None = None) -> None:
        super().__init__()
        get_variant(variant)                                                  # unknown names fail here
        for name, value in (("season_length", season_length), ("hidden_size", hidden_size), ("steps", steps),
                            ("batch_size", batch_size)):
            check_positive_int(name, value)
        if window is not None:
            check_positive_int("window", window)
        seeds = (seed,) if seeds is None else tuple(seeds)
        if not seeds:
            raise bad_argument("seeds", "at least one seed", seeds)
        candidates = ((hidden_size, learning_rate),) if candidates is None else tuple(candidates)
        if not candidates:
            raise bad_argument("candidates", "at least one (hidden_size, learning_rate) pair", candidates)
        for k, (size, rate) in enumerate(candidates):
            check_positive_int(f"candidates[{k}] hidden size", size)
            if not (isinstance(rate, (int, float)) and rate > 0 and np.isfinite(rate)):
                raise bad_argument(f"candidates[{k}] learning rate", "a positive finite number", rate)
        self.name, self.variant, self.season_length = variant, variant, season_length
        self.hidden_size, self.window, self.seeds, self.candidates = hidden_size, window, seeds, candidates
        self.chosen: tuple[int, float] = candidates[0]
        self.trials: tuple[tuple[int, float, float], ...] = ()   # (hidden size, rate, validation MSE) per candidate
        every = max(1, min(25, steps // 8))
        self.train_config = TrainConfig(steps=steps, batch_size=batch_size, learning_rate=learning_rate,
                                        eval_every=every, eval_size=64, patience=patience, restore_best=True)
        self.members: list = []
        self.parameters = 0
        self.fits = 0

    def _fit(self, series: list[np.ndarray]) -> None:
        self._scale = [((float(s.mean()), float(s.std()) or 1.0), (float(np.diff(s).mean()),
                                                                   float(np.diff(s).std()) or 1.0)) for s in series]
        scaled = tuple(self._features(s, scale) for s, scale in zip(series, self._scale, strict=True))
        self._step_limit = STEP_BOUND * max(float(f[:, 1].abs().max()) for f in scaled)
        shortest = min(len(s) for s in scaled)
        holdout = min(max(self.season_length, 8), shortest // 5)
        self._window = max(2, min(self.window or max(2 * self.season_length, 24), shortest - 1 - holdout))
        task = WindowTask(scaled, self._window, holdout=holdout if shortest - 1 - holdout >= 2 else 0)
        first, *others = self.seeds
        trials = [(size, rate, *self._train_member(task, first, size, rate)) for size, rate in self.candidates]
        finite = [t for t in trials if math.isfinite(t[2])]
        if not finite:
            raise RuntimeError(f"{self.variant}: training diverged at every candidate (seed {first})")
        size, rate, _, best = min(finite, key=lambda t: t[2])
        self.chosen, self.hidden_size = (size, rate), size
        self.trials = tuple((s_, r_, m_) for s_, r_, m_, _ in trials)
        self.members = [best]
        for seed in others:
            metric, model = self._train_member(task, seed, size, rate)
            if not math.isfinite(metric):
                raise RuntimeError(f"{self.variant}: training diverged (seed {seed}, hidden size {size}, "
                                   f"learning rate {rate:g})")
            self.members.append(model)
        self.parameters = sum(p.numel() for p in self.members[0].parameters())
        self.fits = len(self.members) + len(self.candidates) - 1          # the tuning trials too
        self.update(series)

    def _train_member(self, task: WindowTask, seed: int, hidden_size: int, learning_rate: float):
        """One member trained on ``task``: (its best validation MSE, nan when it diverged; the model)."""
        from ..layers import SequenceModel

        torch.manual_seed(seed)
        model = SequenceModel(self.variant, INPUT_FEATURES, hidden_size, 1, readout="all")
        result = train(model, task, replace(self.train_config, seed=seed, learning_rate=learning_rate))
        model.eval()
        return (result.best_metric if result.status == "ok" else math.nan), model

    def update(self, y) -> RecurrentForecaster:
        """Give the fitted ensemble newer data (the same series, longer) without training again: the next
        forecast starts from its end. The standardisation stays the fit's."""
        series = [np.asarray(s, dtype=np.float64) for s in (y if not np.isscalar(y[0]) else [y])]
        if len(series) != len(self._scale):
            raise bad_argument("y", f"{len(self._scale)} series (as fitted)", len(series))
        self._history = [s[-self._window - 1:].copy() for s in series]
        return self

    @staticmethod
    def _features(values: np.ndarray, scale) -> torch.Tensor:
        """(n − 1, 2): the standardised level and first difference at steps 2 … n."""
        (level_mean, level_std), (step_mean, step_std) = scale
        return torch.tensor(np.stack([(values[1:] - level_mean) / level_std,
                                      (np.diff(values) - step_mean) / step_std], axis=1), dtype=torch.float32)

    @torch.no_grad()
    def _roll(self, model, tails: list[np.ndarray], scales: list, h: int) -> np.ndarray:
        """Roll ``model`` h steps forward from every tail at once (one batch: the forecasts of several origins
        and series cost one forward pass per step). Returns (len(tails), h)."""
        (level_mean, level_std), (step_mean, step_std) = (np.array([[s[i][j] for s in scales] for j in range(2)])
                                                          for i in range(2))
        values = np.stack([t[-self._window - 1:] for t in tails])                         # (N, L + 1)
        for _ in range(h):
            recent = values[:, -self._window - 1:]
            features = np.stack([(recent[:, 1:] - level_mean[:, None]) / level_std[:, None],
                                 (np.diff(recent, axis=1) - step_mean[:, None]) / step_std[:, None]], axis=2)
            step = model(torch.tensor(features, dtype=torch.float32))[:, -1, 0].double().numpy()
            step = np.clip(step, -self._step_limit, self._step_limit)
            values = np.concatenate([values, (values[:, -1] + step * step_std + step_mean)[:, None]], axis=1)
        return values[:, -h:]

    def forecast_from(self, histories: list[list[np.ndarray]], h: int) -> tuple[np.ndarray, np.ndarray]:
        """The fitted ensemble's forecasts from several sets of histories (e.g. the origins between two refits,
        each a list with one array per fitted series), without training again: (mean (O, S, h), members
        (M, O, S, h)). Standardisation stays the fit's."""
        for k, series in enumerate(histories):
            if len(series) != len(self._scale):
                raise bad_argument(f"histories[{k}]", f"{len(self._scale)} series (as fitted)", len(series))
        tails = [np.asarray(s, dtype=np.float64) for series in histories for s in series]
        scales = [scale for _ in histories for scale in self._scale]
        members = np.stack([self._roll(m, tails, scales, h) for m in self.members])     # (M, O·S, h)
        members = members.reshape(len(self.members), len(histories), len(self._scale), h)
        return members.mean(axis=0), members

    def member_forecasts(self) -> list[list[np.ndarray]]:
        """Per member (seed), per series: its own forecast of the last ``predict``."""
        return [list(m) for m in self._last_members[:, 0]]

    def _predict(self, h: int) -> list[np.ndarray]:
        mean, self._last_members = self.forecast_from([self._history], h)
        return list(mean[0])
