"""The recurrent rungs: any registered variant, trained on windows of the series with the one training loop.

At each step the model reads two features of a series — its level and its first difference, each standardised by
the series' own mean and standard deviation in what ``fit`` sees — and predicts the next difference. Predicting
differences carries a trend past the range seen in training (a level-trained model cannot); reading the level
keeps what a stationary non-linear series needs. One global model learns one-step-ahead prediction over all
series; ``predict(h)`` rolls it forward h steps, feeding each forecast back.
"""

from __future__ import annotations

import numpy as np
import torch

from .._errors import check_positive_int
from ..registry import get_variant
from ..tasks.windows import WindowTask
from ..train import TrainConfig, train
from .contract import Forecaster


class RecurrentForecaster(Forecaster):
    """``variant`` (e.g. ``"gru"``, ``"rnn"``, ``"lstm"``) with ``hidden_size`` units and a linear read-out.

    ``window``: steps the model reads (default: two seasons, at least 24, at most what the shortest series
    allows); ``steps``: Adam steps of ``batch_size`` windows; seeded by ``seed`` (bit-identical on the CPU).
    """

    def __init__(self, variant: str, season_length: int = 1, hidden_size: int = 32, window: int | None = None,
                 steps: int = 400, batch_size: int = 64, learning_rate: float = 3e-3, seed: int = 0) -> None:
        super().__init__()
        get_variant(variant)                                                  # unknown names fail here
        for name, value in (("season_length", season_length), ("hidden_size", hidden_size), ("steps", steps),
                            ("batch_size", batch_size)):
            check_positive_int(name, value)
        if window is not None:
            check_positive_int("window", window)
        self.name, self.variant, self.season_length = variant, variant, season_length
        self.hidden_size, self.window, self.seed = hidden_size, window, seed
        self.train_config = TrainConfig(steps=steps, batch_size=batch_size, learning_rate=learning_rate,
                                        eval_every=steps, eval_size=64, seed=seed)
        self.model = None
        self.parameters = 0

    def _fit(self, series: list[np.ndarray]) -> None:
        from ..layers import SequenceModel

        self._scale = [((float(s.mean()), float(s.std()) or 1.0), (float(np.diff(s).mean()),
                                                                   float(np.diff(s).std()) or 1.0)) for s in series]
        scaled = tuple(self._features(s, scale) for s, scale in zip(series, self._scale, strict=True))
        shortest = min(len(s) for s in scaled)
        self._window = min(self.window or max(2 * self.season_length, 24), shortest - 1)
        torch.manual_seed(self.seed)
        self.model = SequenceModel(self.variant, 2, self.hidden_size, 1, readout="all")
        self.parameters = sum(p.numel() for p in self.model.parameters())
        result = train(self.model, WindowTask(scaled, self._window), self.train_config)
        if result.status != "ok":
            raise RuntimeError(f"{self.variant}: training diverged at step {result.steps_done}")
        self._history = [s[-self._window - 1:].copy() for s in series]

    @staticmethod
    def _features(values: np.ndarray, scale) -> torch.Tensor:
        """(n − 1, 2): the standardised level and first difference at steps 2 … n."""
        (level_mean, level_std), (step_mean, step_std) = scale
        return torch.tensor(np.stack([(values[1:] - level_mean) / level_std,
                                      (np.diff(values) - step_mean) / step_std], axis=1), dtype=torch.float32)

    @torch.no_grad()
    def _predict(self, h: int) -> list[np.ndarray]:
        self.model.eval()
        out = []
        for values, scale in zip(self._history, self._scale, strict=True):
            (_, _), (step_mean, step_std) = scale
            values = list(values)
            for _ in range(h):
                window = self._features(np.asarray(values[-self._window - 1:]), scale)      # (L, 2)
                step = float(self.model(window.unsqueeze(0))[0, -1, 0]) * step_std + step_mean
                values.append(values[-1] + step)
            out.append(np.asarray(values[-h:]))
        return out
