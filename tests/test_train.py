from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from gatelab.tasks import AddingTask
from gatelab.train import TrainConfig, train


def test_adding_task_targets_are_the_sum_of_the_marked_values():
    task = AddingTask(10)
    x, y = task.batch(64, torch.Generator().manual_seed(0))
    assert x.shape == (64, 10, 2) and y.shape == (64, 1)
    markers = x[..., 1]
    assert torch.all(markers[:, :5].sum(1) == 1) and torch.all(markers[:, 5:].sum(1) == 1)
    assert torch.allclose(y[:, 0], (x[..., 0] * markers).sum(1))
    # predicting the mean target (1) gives Var(U1 + U2) = 1/6
    _, y_big = task.batch(200_000, torch.Generator().manual_seed(1))
    assert abs(float((y_big - 1).pow(2).mean()) - task.trivial) < 0.003


class Exploding(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.tensor(1.0))

    def forward(self, x):
        return (x[:, :1, 0] * self.w * math.inf)


def test_non_finite_loss_is_recorded_as_diverged_without_an_update():
    model = Exploding()
    result = train(model, AddingTask(4), TrainConfig(steps=5, eval_every=1, eval_size=4))
    assert result.status == "diverged" and result.steps_done == 1
    assert model.w.item() == 1.0


@pytest.mark.parametrize("field,value", [("steps", 0), ("learning_rate", -1.0), ("clip_norm", math.nan)])
def test_train_config_rejects_bad_values(field, value):
    with pytest.raises((ValueError, TypeError), match=field):
        TrainConfig(**{field: value})
