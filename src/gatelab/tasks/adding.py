"""The adding problem (Hochreiter & Schmidhuber 1997; modern form of Le et al. 2015)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from .._errors import check_positive_int


@dataclass(frozen=True)
class AddingTask:
    """Two marked values in a long sequence; the target is their sum. Isolates the carry path (long retention).

    Each step carries ``(value, marker)`` with value ~ U[0, 1]; exactly one marker lies in each half of the
    sequence. Metric: MSE of the sum. Predicting the mean (1) gives MSE = Var(U₁ + U₂) = 2/12 ≈ 0.1667; the
    task counts as solved below MSE 0.01.

    Attributes:
        steps: sequence length T.
    """

    steps: int = 50
    input_size: int = 2
    output_size: int = 1
    trivial_mse: float = 2.0 / 12.0
    solved_below: float = 0.01

    def __post_init__(self) -> None:
        check_positive_int("steps", self.steps)
        if self.steps < 2:
            raise ValueError(f"steps: expected at least 2 (one marker per half), got {self.steps}")

    def batch(self, size: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """Return x (B, T, 2) and y (B, 1), drawn from ``generator``."""
        half = self.steps // 2
        values = torch.rand(size, self.steps, generator=generator)
        first = torch.randint(0, half, (size,), generator=generator)
        second = torch.randint(half, self.steps, (size,), generator=generator)
        markers = torch.zeros(size, self.steps)
        rows = torch.arange(size)
        markers[rows, first] = 1.0
        markers[rows, second] = 1.0
        x = torch.stack([values, markers], dim=-1)                            # (B, T, 2)
        y = (values * markers).sum(dim=1, keepdim=True)                       # (B, 1)
        return x, y
