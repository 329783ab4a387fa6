"""Memory tasks with symbols: copying after a long gap, and selective copying among noise."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from .._errors import check_positive_int
from .base import IGNORE, SequenceTask, checked_stream, one_hot


@dataclass(frozen=True)
class CopyMemoryTask(SequenceTask):
    """Isolates retention of several items plus their ordered readout: K symbols, a long blank gap, a delimiter,
    then the K symbols again.

    Alphabet: 0 = blank, 1…n_symbols = data, n_symbols + 1 = delimiter. Input: K data symbols, ``gap − 1``
    blanks, the delimiter, K blanks (length gap + 2K). Target: blanks everywhere, then the K symbols. Metric:
    cross-entropy per step over the whole sequence; the memoryless baseline (blank, then uniform guessing) is
    K·log(n_symbols)/(gap + 2K) (Arjovsky et al. 2016); solved below 10% of it.
    """

    name = "copy_memory"
    kind = "classification"
    readout = "all"
    metric = "cross_entropy"
    symbols: int = 5
    gap: int = 40
    n_symbols: int = 8

    def __post_init__(self) -> None:
        for field in ("symbols", "gap", "n_symbols"):
            check_positive_int(field, getattr(self, field))

    input_size = property(lambda self: self.n_symbols + 2)
    output_size = property(lambda self: self.n_symbols + 2)
    solved_at = property(lambda self: 0.1 * self.trivial)

    @property
    def trivial(self) -> float:
        return self.symbols * math.log(self.n_symbols) / (self.gap + 2 * self.symbols)

    def batch(self, size: int, generator: torch.Generator, split: str = "train") -> tuple[Tensor, Tensor]:
        """x (B, gap + 2K, n_symbols + 2) one-hot, y (B, gap + 2K) classes."""
        g = checked_stream(generator, split)
        K, total = self.symbols, self.gap + 2 * self.symbols
        data = torch.randint(1, self.n_symbols + 1, (size, K), generator=g)
        inputs = torch.zeros(size, total, dtype=torch.long)
        inputs[:, :K] = data
        inputs[:, self.gap + K - 1] = self.n_symbols + 1                      # delimiter
        target = torch.zeros(size, total, dtype=torch.long)
        target[:, -K:] = data
        return one_hot(inputs, self.input_size), target


@dataclass(frozen=True)
class SelectiveCopyTask(SequenceTask):
    """Isolates content-dependent selection by z: M tokens scattered among noise, then M markers, and the output
    is the tokens in order.

    Alphabet: 0 = noise, 1…n_tokens = tokens, n_tokens + 1 = marker. Input: ``length`` steps of noise with M
    tokens at random positions, then M markers. Target: the tokens, in order, at the marker steps (other steps
    are not scored). Metric: accuracy on the marker steps; chance 1/n_tokens; solved at 0.99 (Gu & Dao 2023).
    """

    name = "selective_copy"
    kind = "classification"
    readout = "all"
    metric = "accuracy"
    higher_is_better = True
    tokens: int = 4
    length: int = 40
    n_tokens: int = 8

    def __post_init__(self) -> None:
        for field in ("tokens", "length", "n_tokens"):
            check_positive_int(field, getattr(self, field))
        if self.tokens > self.length:
            raise ValueError(f"tokens: expected at most length={self.length}, got {self.tokens}")

    input_size = property(lambda self: self.n_tokens + 2)
    output_size = property(lambda self: self.n_tokens + 1)
    trivial = property(lambda self: 1.0 / self.n_tokens)
    solved_at = property(lambda self: 0.99)

    def batch(self, size: int, generator: torch.Generator, split: str = "train") -> tuple[Tensor, Tensor]:
        """x (B, length + M, n_tokens + 2) one-hot, y (B, length + M) classes (IGNORE where unscored)."""
        g = checked_stream(generator, split)
        M, total = self.tokens, self.length + self.tokens
        tokens = torch.randint(1, self.n_tokens + 1, (size, M), generator=g)
        positions = torch.rand(size, self.length, generator=g).topk(M, dim=1).indices.sort(dim=1).values
        inputs = torch.zeros(size, total, dtype=torch.long)
        inputs.scatter_(1, positions, tokens)
        inputs[:, self.length:] = self.n_tokens + 1                           # markers
        target = torch.full((size, total), IGNORE, dtype=torch.long)
        target[:, self.length:] = tokens
        return one_hot(inputs, self.input_size), target
