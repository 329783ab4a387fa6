"""The training loop: Adam, gradient-norm clipping, periodic evaluation, divergence detection."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

import torch
from torch import Tensor, nn

from .._errors import bad_argument, check_positive_int


class Task(Protocol):
    def batch(self, size: int, generator: torch.Generator, split: str = "train") -> tuple[Tensor, Tensor]: ...

    def loss(self, output: Tensor, target: Tensor) -> Tensor: ...


@dataclass(frozen=True)
class TrainConfig:
    """How a model is trained.

    Attributes:
        steps: optimiser steps.
        batch_size: sequences per step.
        learning_rate: Adam's step size.
        clip_norm: gradients are rescaled to at most this global norm.
        eval_every: steps between evaluations on a fixed held-out batch.
        eval_size: size of that batch.
        seed: seeds the data stream and the held-out batch (the model's init is seeded by whoever builds it).
    """

    steps: int = 500
    batch_size: int = 64
    learning_rate: float = 3e-3
    clip_norm: float = 1.0
    eval_every: int = 100
    eval_size: int = 1024
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "eval_every", "eval_size"):
            check_positive_int(name, getattr(self, name))
        for name in ("learning_rate", "clip_norm"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and value > 0 and math.isfinite(value)):
                raise bad_argument(name, "a positive finite number", value)


@dataclass
class TrainResult:
    status: Literal["ok", "diverged"]
    steps_done: int
    eval_loss: float
    seconds: float
    curve: list[tuple[int, float]] = field(default_factory=list)   # (step, held-out loss)


def train(model: nn.Module, task: Task, config: TrainConfig,
          on_step: Callable[[int, float], None] | None = None) -> TrainResult:
    """Train ``model`` on batches of ``task`` with the task's loss; evaluate on a fixed batch of its ``valid``
    split. A non-finite loss or gradient stops the run as ``diverged`` at that step, without applying the
    update. ``on_step(step, loss)`` is called after every step."""
    loss_fn = task.loss
    data = torch.Generator().manual_seed(config.seed)                      # the training stream
    held_out = task.batch(config.eval_size, torch.Generator().manual_seed(config.seed + 1_000_003), "valid")
    optimiser = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    curve: list[tuple[int, float]] = []
    start = time.perf_counter()

    def evaluate() -> float:
        model.eval()
        with torch.no_grad():
            value = float(loss_fn(model(held_out[0]), held_out[1]))
        model.train()
        return value

    for step in range(1, config.steps + 1):
        x, y = task.batch(config.batch_size, data, "train")
        optimiser.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        if not torch.isfinite(loss):
            return TrainResult("diverged", step, math.nan, time.perf_counter() - start, curve)
        loss.backward()
        norm = nn.utils.clip_grad_norm_(model.parameters(), config.clip_norm)
        if not torch.isfinite(norm):
            return TrainResult("diverged", step, math.nan, time.perf_counter() - start, curve)
        optimiser.step()
        if on_step is not None:
            on_step(step, loss.item())
        if step % config.eval_every == 0 or step == config.steps:
            curve.append((step, evaluate()))
    return TrainResult("ok", config.steps, curve[-1][1], time.perf_counter() - start, curve)
