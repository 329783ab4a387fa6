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
    higher_is_better: bool

    def batch(self, size: int, generator: torch.Generator, split: str = "train") -> tuple[Tensor, Tensor]: ...

    def loss(self, output: Tensor, target: Tensor) -> Tensor: ...

    def evaluate(self, output: Tensor, target: Tensor) -> float: ...

    def solved(self, value: float, split: str = "test") -> bool: ...


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
        schedule: ``"constant"`` or ``"cosine"`` (decay to 10% of the rate over ``steps``).
        patience: stop after this many evaluations without improvement of the validation metric (0: never).
        stop_at_criterion: stop at the first evaluation whose validation metric meets the task's criterion (a
            run that never does runs to ``steps`` and is censored there: ``steps_to_criterion`` stays None).
        restore_best: end with the weights of the best validation evaluation (early stopping's usual rule)
            rather than the last ones.
    """

    steps: int = 500
    batch_size: int = 64
    learning_rate: float = 3e-3
    clip_norm: float = 1.0
    eval_every: int = 100
    eval_size: int = 1024
    seed: int = 0
    schedule: str = "cosine"
    patience: int = 0
    stop_at_criterion: bool = False
    restore_best: bool = False

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "eval_every", "eval_size"):
            check_positive_int(name, getattr(self, name))
        for name in ("learning_rate", "clip_norm"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and value > 0 and math.isfinite(value)):
                raise bad_argument(name, "a positive finite number", value)
        if self.schedule not in ("constant", "cosine"):
            raise bad_argument("schedule", "'constant' or 'cosine'", self.schedule)
        if isinstance(self.patience, bool) or not isinstance(self.patience, int) or self.patience < 0:
            raise bad_argument("patience", "a non-negative int", self.patience)
        if not isinstance(self.stop_at_criterion, bool):
            raise bad_argument("stop_at_criterion", "a bool", self.stop_at_criterion, kind=TypeError)


@dataclass
class TrainResult:
    status: Literal["ok", "diverged"]
    steps_done: int
    eval_loss: float
    seconds: float
    curve: list[tuple[int, float, float]] = field(default_factory=list)   # (step, held-out loss, metric)
    best_metric: float = math.nan          # the best validation metric seen (by the task's direction)
    steps_to_criterion: int | None = None  # first evaluation step whose validation metric passed


def train(model: nn.Module, task: Task, config: TrainConfig,
          on_step: Callable[[int, float], None] | None = None) -> TrainResult:
    """Train ``model`` on batches of ``task`` with the task's loss; evaluate on a fixed batch of its ``valid``
    split. A non-finite loss or gradient stops the run as ``diverged`` at that step, without applying the
    update. ``on_step(step, loss)`` is called after every step."""
    data = torch.Generator().manual_seed(config.seed)                      # the training stream
    held_out = task.batch(config.eval_size, torch.Generator().manual_seed(config.seed + 1_000_003), "valid")
    optimiser = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    schedule = None
    if config.schedule == "cosine":
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, config.steps,
                                                              eta_min=0.1 * config.learning_rate)
    result = TrainResult("ok", 0, math.nan, 0.0)
    start = time.perf_counter()
    sign = -1.0 if task.higher_is_better else 1.0
    best, stale = math.inf, 0
    best_state = None

    def evaluate() -> tuple[float, float]:
        model.eval()
        with torch.no_grad():
            output = model(held_out[0])
            value = (float(task.loss(output, held_out[1])), task.evaluate(output, held_out[1]))
        model.train()
        return value

    for step in range(1, config.steps + 1):
        x, y = task.batch(config.batch_size, data, "train")
        optimiser.zero_grad(set_to_none=True)
        loss = task.loss(model(x), y)
        if not torch.isfinite(loss):
            result.status, result.steps_done = "diverged", step
            break
        loss.backward()
        norm = nn.utils.clip_grad_norm_(model.parameters(), config.clip_norm)
        if not torch.isfinite(norm):
            result.status, result.steps_done = "diverged", step
            break
        optimiser.step()
        if schedule is not None:
            schedule.step()
        result.steps_done = step
        if on_step is not None:
            on_step(step, loss.item())
        if step % config.eval_every == 0 or step == config.steps:
            eval_loss, metric = evaluate()
            result.curve.append((step, eval_loss, metric))
            result.eval_loss = eval_loss
            if sign * metric < best:
                best, stale, result.best_metric = sign * metric, 0, metric
                if config.restore_best:
                    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            else:
                stale += 1
            if result.steps_to_criterion is None and task.solved(metric, "valid"):
                result.steps_to_criterion = step
                if config.stop_at_criterion:
                    break
            if config.patience and stale >= config.patience:
                break
    if result.status == "diverged":
        result.eval_loss = math.nan
    elif config.restore_best and best_state is not None:
        model.load_state_dict(best_state)
    result.seconds = time.perf_counter() - start
    return result
