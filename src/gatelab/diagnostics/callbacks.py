"""Diagnostics during training: callbacks for the training loop's ``on_step`` hook.

The loop knows nothing of GRUs (the project's style guide, §9); these attach to it from outside and watch the model.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor

from .._errors import check_positive_int
from .flow import state_sensitivity
from .gates import gate_statistics


@dataclass
class FlowTracker:
    """Every ``every`` steps, the gradient-flow profile ‖uᵀ ∂h_T/∂h_t‖ of ``layer`` on the fixed batch ``x``
    (and, for variants with an update gate, the median time scale of its units): how the reach of the last
    state into the past changes while the model learns.

    Use: ``tracker = FlowTracker(model.rnn, x_probe, every=50)``, then ``train(..., on_step=tracker)``;
    ``tracker.steps``, ``tracker.profiles``, ``tracker.median_time_scales`` hold what was seen.
    """

    layer: torch.nn.Module
    x: Tensor
    every: int = 100
    steps: list[int] = field(default_factory=list)
    profiles: list[Tensor] = field(default_factory=list)
    median_time_scales: list[float | None] = field(default_factory=list)

    def __post_init__(self) -> None:
        check_positive_int("every", self.every)

    def __call__(self, step: int, loss: float) -> None:
        if step % self.every:
            return
        was_training = self.layer.training
        self.layer.eval()
        with torch.enable_grad():
            self.profiles.append(state_sensitivity(self.layer, self.x))
        stats = gate_statistics(self.layer, self.x)
        self.median_time_scales.append(float(stats.time_scale.median()) if stats.time_scale is not None else None)
        self.steps.append(step)
        self.layer.train(was_training)
