"""The demonstration: train ``gru`` and ``gru_no_update`` on the adding problem and measure what the carry path
(z's ``(1 − z) ⊙ h_{t-1}`` term) does. Everything reported is measured here; nothing is written in advance."""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass

import torch

from ..layers import SequenceModel
from ..tasks import AddingTask
from ..train import TrainConfig, train


@dataclass(frozen=True)
class DemoConfig:
    """Attributes: variants compared, sequence length (``length``), hidden size, seeds, and the training config."""

    variants: tuple[str, ...] = ("gru", "gru_no_update")
    length: int = 40
    hidden_size: int = 32
    seeds: tuple[int, ...] = (0, 1)
    train: TrainConfig = TrainConfig(steps=600, batch_size=64, learning_rate=1e-2, eval_every=100)


@dataclass(frozen=True)
class DemoRun:
    variant: str
    seed: int
    status: str
    test_mse: float
    gradient_ratio: float   # mean ‖∂L/∂x_t‖ over the first quarter of steps / over the last quarter
    seconds: float
    backend: str            # the computation backend the layer actually ran


def early_to_late_gradient(model: SequenceModel, x: torch.Tensor, y: torch.Tensor) -> float:
    """How much of the loss gradient reaches the first quarter of the input steps, relative to the last quarter
    (both halves hold a marked value, so a model that uses both needs gradient in both)."""
    x = x.clone().requires_grad_(True)
    torch.nn.functional.mse_loss(model(x), y).backward()
    per_step = x.grad.norm(dim=(0, 2))                                        # (T,)
    quarter = max(1, len(per_step) // 4)
    return float(per_step[:quarter].mean() / per_step[-quarter:].mean().clamp_min(1e-30))


def run_demo(config: DemoConfig = DemoConfig(),
             on_progress: Callable[[str, int, int], None] | None = None) -> list[DemoRun]:
    """Train every (variant, seed); ``on_progress(label, step, total)`` reports training steps."""
    task = AddingTask(config.length)
    runs = []
    for variant in config.variants:
        for seed in config.seeds:
            torch.manual_seed(seed)
            model = SequenceModel(variant, task.input_size, config.hidden_size, task.output_size)
            label = f"{variant} seed {seed}"
            result = train(model, task, TrainConfig(**{**config.train.__dict__, "seed": seed}),
                           on_step=None if on_progress is None else
                           lambda step, _loss, label=label: on_progress(label, step, config.train.steps))
            x, y = task.batch(512, torch.Generator().manual_seed(10_000 + seed))
            with torch.no_grad():
                test_mse = float(torch.nn.functional.mse_loss(model(x), y))
            ratio = early_to_late_gradient(model, x, y)
            runs.append(DemoRun(variant, seed, result.status, test_mse, ratio, result.seconds,
                                model.rnn.last_backend))
    return runs


def summarise(runs: list[DemoRun], task: AddingTask) -> list[str]:
    """Sentences computed from the measured runs (medians over seeds, with the range)."""
    lines = []
    by_variant: dict[str, list[DemoRun]] = {}
    for run in runs:
        by_variant.setdefault(run.variant, []).append(run)
    for variant, group in by_variant.items():
        mses = [r.test_mse for r in group]
        solved = sum(m < task.solved_at for m in mses)
        lines.append(f"{variant}: test MSE median {statistics.median(mses):.4f} (range {min(mses):.4f}–"
                     f"{max(mses):.4f}) against {task.trivial:.4f} for predicting the mean; solved "
                     f"(MSE < {task.solved_at}) in {solved}/{len(group)} seeds.")
    if {"gru", "gru_no_update"} <= by_variant.keys():
        gru = statistics.median(r.test_mse for r in by_variant["gru"])
        ablated = statistics.median(r.test_mse for r in by_variant["gru_no_update"])
        factor = ablated / gru if gru > 0 else math.inf

        def spread(name: str) -> str:
            ratios = sorted(r.gradient_ratio for r in by_variant[name])
            return f"{ratios[0]:.2g}" if len(ratios) == 1 else f"{ratios[0]:.2g} to {ratios[-1]:.2g}"

        lines.append(f"Removing the update gate (z ≡ 1, no carry path) multiplied the median test MSE by "
                     f"{factor:.1f}. The input gradient in the first quarter of the sequence, relative to the last "
                     f"quarter, was {spread('gru')} with z and {spread('gru_no_update')} without (across seeds).")
    return lines
