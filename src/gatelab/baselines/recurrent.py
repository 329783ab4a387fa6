"""The recurrent rungs: any registered variant, trained on windows of the series with the one training loop.

At each step the model reads two features of a series — its level and its first difference, each standardised by
the series' own mean and standard deviation in what ``fit`` sees — and predicts the next difference. Predicting
differences carries a trend past the range seen in training (a level-trained model cannot); reading the level
keeps what a stationary non-linear series needs. One global model learns one-step-ahead prediction over all
series; ``predict(h)`` rolls it forward h steps, feeding each forecast back.

A rung is an ensemble of seeds (``seeds``): each member is trained alone, with early stopping on a tail of the
series it never trained on (the best validation weights are kept); the forecast is the members' mean, and their
spread is kept (:meth:`RecurrentForecaster.member_forecasts`). :meth:`RecurrentForecaster.update` gives the
fitted ensemble newer data without training again (a rolling origin between refits).
"""

from __future__ import annotations

from functools import cache

import numpy as np
import torch

from .._errors import bad_argument, check_positive_int
from ..registry import get_variant
from ..tasks.windows import WindowTask
from ..train import TrainConfig, train
from .contract import Forecaster

INPUT_FEATURES = 2                      # the standardised level and first difference


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
                 seeds: tuple[int, ...] | None = None, patience: int = 8) -> None:
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
        self.name, self.variant, self.season_length = variant, variant, season_length
        self.hidden_size, self.window, self.seeds = hidden_size, window, seeds
        every = max(1, min(25, steps // 8))
        self.train_config = TrainConfig(steps=steps, batch_size=batch_size, learning_rate=learning_rate,
                                        eval_every=every, eval_size=64, patience=patience, restore_best=True)
        self.members: list = []
        self.parameters = 0
        self.fits = 0

    def _fit(self, series: list[np.ndarray]) -> None:
        from ..layers import SequenceModel

        self._scale = [((float(s.mean()), float(s.std()) or 1.0), (float(np.diff(s).mean()),
                                                                   float(np.diff(s).std()) or 1.0)) for s in series]
        scaled = tuple(self._features(s, scale) for s, scale in zip(series, self._scale, strict=True))
        shortest = min(len(s) for s in scaled)
        holdout = min(max(self.season_length, 8), shortest // 5)
        self._window = max(2, min(self.window or max(2 * self.season_length, 24), shortest - 1 - holdout))
        task = WindowTask(scaled, self._window, holdout=holdout if shortest - 1 - holdout >= 2 else 0)
        self.members = []
        for seed in self.seeds:
            torch.manual_seed(seed)
            model = SequenceModel(self.variant, INPUT_FEATURES, self.hidden_size, 1, readout="all")
            result = train(model, task, TrainConfig(**{**self.train_config.__dict__, "seed": seed}))
            if result.status != "ok":
                raise RuntimeError(f"{self.variant}: training diverged at step {result.steps_done} (seed {seed})")
            model.eval()
            self.members.append(model)
        self.parameters = sum(p.numel() for p in self.members[0].parameters())
        self.fits = len(self.members)
        self.update(series)

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
