"""Windows of scaled series features as a training task: the recurrent forecasters learn one-step-ahead prediction at
every step of a window (teacher forcing), over all series at once (one global model)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from .base import checked_stream


@dataclass(frozen=True, eq=False)
class WindowTask:
    """x: (B, L, F) a window of a series' features, y: (B, L, 1) its feature ``target`` one step
    later. ``valid`` windows end at a series' last step (where a forecast starts); with a ``holdout`` of n steps
    training windows end n steps before it and validation scores only those last n steps (early stopping on a
    tail the model never trained on)."""

    series: tuple[Tensor, ...]             # each (n_i, F), already scaled
    window: int
    target: int = -1                       # the feature to predict (the forecasters' last: the difference)
    holdout: int = 0
    higher_is_better = False
    metric = "mse"

    def batch(self, size: int, generator: torch.Generator, split: str = "train") -> tuple[Tensor, Tensor]:
        g = checked_stream(generator, split)
        starts = torch.tensor([len(s) - self.window - 1 for s in self.series])          # last start per series
        if split == "train":
            starts = starts - self.holdout
            weights = (starts + 1).double()
            which = torch.multinomial(weights, size, replacement=True, generator=g)
            offset = (torch.rand(size, generator=g, dtype=torch.float64) * (starts[which] + 1)).long()
        else:
            which = torch.arange(size) % len(self.series)
            offset = starts[which]
        rows = [self.series[i][o:o + self.window + 1] for i, o in zip(which.tolist(), offset.tolist(), strict=True)]
        stacked = torch.stack(rows)                                                      # (B, L + 1, F)
        return stacked[:, :-1], stacked[:, 1:, self.target:self.target + 1 or None]

    def loss(self, output: Tensor, target: Tensor) -> Tensor:
        return torch.nn.functional.mse_loss(output, target)

    def evaluate(self, output: Tensor, target: Tensor) -> float:
        if self.holdout:
            output, target = output[:, -self.holdout:], target[:, -self.holdout:]
        return float(self.loss(output, target))

    def solved(self, value: float, split: str = "test") -> bool:
        return False
