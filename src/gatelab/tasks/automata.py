"""Running computations with a label at every step: parity, sum modulo 3, S3 composition, and parity with a reset
symbol."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from .._errors import bad_argument, check_positive_int
from .base import SequenceTask, checked_stream, one_hot


@dataclass(frozen=True)
class _RunningTask(SequenceTask):
    kind = "classification"
    readout = "all"
    metric = "accuracy"
    higher_is_better = True
    length: int = 20           # training length
    test_length: int = 80      # valid/test length: longer, to test generalisation in length

    def __post_init__(self) -> None:
        check_positive_int("length", self.length)
        check_positive_int("test_length", self.test_length)

    solved_at = property(lambda self: 0.99)

    def length_of(self, split: str) -> int:
        return self.length if split == "train" else self.test_length


@dataclass(frozen=True)
class _RunningSumTask(_RunningTask):
    """The running sum of symbols in {0, …, modulus − 1} modulo ``modulus``, labelled at every step."""

    modulus: ClassVar[int] = 2
    input_size = property(lambda self: self.modulus)
    output_size = property(lambda self: self.modulus)
    trivial = property(lambda self: 1.0 / self.modulus)

    def batch(self, size: int, generator: torch.Generator, split: str = "train") -> tuple[Tensor, Tensor]:
        g = checked_stream(generator, split)
        symbols = torch.randint(0, self.modulus, (size, self.length_of(split)), generator=g)
        return one_hot(symbols, self.modulus), symbols.cumsum(1) % self.modulus


@dataclass(frozen=True)
class ParityTask(_RunningSumTask):
    """Isolates whether the candidate must depend on h (r ≠ 0): the running parity (XOR) of a bit stream.

    Input: bits one-hot (2). Target at every step: XOR of all bits so far. Trained on ``length``, tested on
    ``test_length`` (longer). Metric: accuracy at every step of the test length; chance 0.5; solved at 0.99.
    """

    name = "parity"
    modulus = 2


@dataclass(frozen=True)
class Mod3Task(_RunningSumTask):
    """Isolates whether the multiplicative x·h interaction that r provides matters beyond r ≡ 1: the running sum
    of symbols in {0, 1, 2} modulo 3.

    Input: symbols one-hot (3). Target at every step: the sum so far mod 3 (the cyclic group Z₃ acting on the
    state). Trained on ``length``, tested on ``test_length``. Metric: accuracy; chance 1/3; solved at 0.99.
    """

    name = "mod3"
    modulus = 3


@dataclass(frozen=True)
class ResetTokenTask(_RunningTask):
    """Isolates whether a learned "forget now" switch (r) beats emulating it through z: running parity that
    restarts at a RESET symbol.

    Input: one-hot over {0, 1, RESET}; RESET appears with probability ``reset_rate``. Target at every step: the
    parity of the bits since the last RESET (0 at a RESET). Metric: accuracy; chance 0.5; solved at 0.99.
    """

    name = "reset_token"
    reset_rate: float = 0.1
    input_size = property(lambda self: 3)
    output_size = property(lambda self: 2)
    trivial = property(lambda self: 0.5)

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0.0 < self.reset_rate < 1.0:
            raise bad_argument("reset_rate", "a probability in (0, 1)", self.reset_rate)

    def batch(self, size: int, generator: torch.Generator, split: str = "train") -> tuple[Tensor, Tensor]:
        g = checked_stream(generator, split)
        steps = self.length_of(split)
        symbols = torch.randint(0, 2, (size, steps), generator=g)
        symbols[torch.rand(size, steps, generator=g) < self.reset_rate] = 2
        target = torch.empty(size, steps, dtype=torch.long)
        parity = torch.zeros(size, dtype=torch.long)
        for t in range(steps):
            parity = torch.where(symbols[:, t] == 2, 0, (parity + symbols[:, t]) % 2)
            target[:, t] = parity
        return one_hot(symbols, 3), target


_S3 = tuple(itertools.permutations(range(3)))                    # the 6 elements of S3, as tuples p: i ↦ p[i]
# composition table: S3_PRODUCT[a][b] = index of (a ∘ b), i.e. i ↦ a[b[i]]
S3_PRODUCT = tuple(tuple(_S3.index(tuple(a[b[i]] for i in range(3))) for b in _S3) for a in _S3)


@dataclass(frozen=True)
class S3Task(_RunningTask):
    """Isolates state tracking under a non-abelian group, where the order of the inputs matters: the running
    composition of permutations of three objects (S3), labelled at every step.

    Input: one of the 6 permutations, one-hot. Target at every step: g_t ∘ … ∘ g_1 (6 classes; the first symbol
    alone at t = 1). Unlike parity and mod3, the result depends on the order, so the state must apply each input
    to what it holds (Merrill et al. 2024 use S5 for the same reason). Trained on ``length``, tested on the
    longer ``test_length``. Metric: accuracy at every step; chance 1/6; solved at 0.99.
    """

    name = "s3"
    input_size = property(lambda self: 6)
    output_size = property(lambda self: 6)
    trivial = property(lambda self: 1.0 / 6.0)

    def batch(self, size: int, generator: torch.Generator, split: str = "train") -> tuple[Tensor, Tensor]:
        g = checked_stream(generator, split)
        steps = self.length_of(split)
        symbols = torch.randint(0, 6, (size, steps), generator=g)
        table = torch.tensor(S3_PRODUCT)
        state = symbols[:, 0].clone()
        target = torch.empty(size, steps, dtype=torch.long)
        target[:, 0] = state
        for t in range(1, steps):
            state = table[symbols[:, t], state]                               # g_t ∘ (what it held)
            target[:, t] = state
        return one_hot(symbols, 6), target
