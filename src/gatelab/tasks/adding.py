"""The adding problem (Hochreiter & Schmidhuber 1997; modern form of Le et al. 2015) and its time-warped form."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from .._errors import bad_argument, check_positive_int
from .base import SequenceTask, checked_stream


@dataclass(frozen=True)
class AddingTask(SequenceTask):
    """Isolates the carry path: two marked values must be kept over a long gap and summed at the end.

    Each step carries ``(value, marker)`` with value ~ U[0, 1]; exactly one marker lies in each half of the
    sequence; the target is the sum of the two marked values. Metric: MSE. Predicting the mean (1) gives
    Var(U₁ + U₂) = 2/12 ≈ 0.1667; solved below 0.01.

    Attributes:
        length: sequence length T.
    """

    name = "adding"
    length: int = 50

    def __post_init__(self) -> None:
        check_positive_int("length", self.length)
        if self.length < 2:
            raise bad_argument("length", "at least 2 (one marker per half)", self.length)

    input_size = property(lambda self: 2)
    output_size = property(lambda self: 1)
    trivial = property(lambda self: 2.0 / 12.0)
    solved_at = property(lambda self: 0.01)

    def batch(self, size: int, generator: torch.Generator, split: str = "train") -> tuple[Tensor, Tensor]:
        """x (B, T, 2), y (B, 1)."""
        return _adding_batch(size, self.length, checked_stream(generator, split))


def _adding_batch(size: int, steps: int, g: torch.Generator) -> tuple[Tensor, Tensor]:
    half = steps // 2
    values = torch.rand(size, steps, generator=g)
    first = torch.randint(0, half, (size,), generator=g)
    second = torch.randint(half, steps, (size,), generator=g)
    markers = torch.zeros(size, steps)
    rows = torch.arange(size)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    x = torch.stack([values, markers], dim=-1)                                # (B, T, 2)
    y = (values * markers).sum(dim=1, keepdim=True)                           # (B, 1)
    return x, y


@dataclass(frozen=True)
class PaddedAddingTask(AddingTask):
    """Isolates whether z acts as a learned time step: the adding problem with blank steps inserted at random.

    An adding sequence of ``length`` real steps is spread over ``length + blanks`` steps; a blank step is all
    zeros (value 0, marker 0), so only the real steps change the sum. A unit that can leave its state untouched
    (z ≈ 0 on blanks) sees the same problem at any warp (Tallec & Ollivier 2018). Metric and levels as adding.

    Attributes:
        length: real steps; blanks: inserted blank steps.
    """

    name = "padded_adding"
    length: int = 30
    blanks: int = 30

    def __post_init__(self) -> None:
        super().__post_init__()
        if isinstance(self.blanks, bool) or not isinstance(self.blanks, int) or self.blanks < 0:
            raise bad_argument("blanks", "a non-negative int", self.blanks)

    def batch(self, size: int, generator: torch.Generator, split: str = "train") -> tuple[Tensor, Tensor]:
        """x (B, length + blanks, 2), y (B, 1)."""
        g = checked_stream(generator, split)
        real, y = _adding_batch(size, self.length, g)
        total = self.length + self.blanks
        # choose, per row, which of the total positions hold the real steps (kept in order)
        keys = torch.rand(size, total, generator=g)
        positions = keys.topk(self.length, dim=1).indices.sort(dim=1).values   # (B, length)
        x = torch.zeros(size, total, 2)
        x.scatter_(1, positions.unsqueeze(-1).expand(-1, -1, 2), real)
        return x, y
