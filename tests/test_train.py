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


def test_a_run_stops_at_the_criterion_and_a_run_that_never_meets_it_is_censored():
    from gatelab.diagnostics.witnesses import witness_for
    from gatelab.tasks import get_task

    task = get_task("parity", length=8, test_length=16)
    solved = witness_for("gru", "parity").build(task)
    config = TrainConfig(steps=200, learning_rate=1e-9, eval_every=25, eval_size=64, stop_at_criterion=True)
    result = train(solved, task, config)
    assert (result.steps_done, result.steps_to_criterion) == (25, 25), "the first evaluation meets it: stop"
    assert task.solved(result.best_metric, "valid"), "the evaluation it stops at is the best seen"
    chance = get_task("parity", length=8, test_length=16)
    never = train(nn.Sequential(nn.Flatten(0, 0), nn.Linear(2, 2)), chance,
                  TrainConfig(steps=50, learning_rate=1e-9, eval_every=25, eval_size=64, stop_at_criterion=True))
    assert never.steps_done == 50 and never.steps_to_criterion is None, "censored at the budget"


def test_chrono_initialisation_spreads_time_scales_and_is_a_study_axis():
    import gatelab
    from gatelab.config import ModelConfig, RunConfig, TaskConfig
    from gatelab.study.run import build_run

    layer = gatelab.GRU(3, 500)
    assert layer.chrono_init_(101, torch.Generator().manual_seed(0))
    tau = 1.0 / torch.sigmoid(layer.seed_params()["b_z"].detach())          # z: share of the new candidate
    assert 2.0 <= float(tau.min()) < 5.0 and 90.0 < float(tau.max()) <= 101.0
    lstm = gatelab.LSTM(3, 500)
    lstm.chrono_init_(101)
    b = lstm.seed_params()
    assert torch.equal(b["b_i"], -b["b_f"]) and float(b["b_f"].detach().min()) >= 0.0
    assert not gatelab.GRU(3, 4, variant="gru_no_update").chrono_init_(10), "no z: nothing to set"
    task = TaskConfig("adding", (("length", 40),))
    default, chrono = (RunConfig(task, ModelConfig(init=i)) for i in ("default", "chrono"))
    assert default.key != chrono.key and "init" not in default.to_dict()["model"], "old keys stay valid"
    model, _ = build_run(chrono)
    scales = 1.0 / torch.sigmoid(model.rnn.seed_params()["b_z"].detach())
    assert float(scales.max()) > 10.0, "spread over the task's length"
    with pytest.raises(ValueError, match="init: expected one of"):
        ModelConfig(init="orthogonal")


def test_validation_is_judged_against_the_criterion_on_validation():
    """Where the criterion is a reference's score, a run is judged on validation against the reference's score on
    validation (not on test): a metric between the two levels meets one and not the other."""

    class Split(AddingTask):
        def criterion(self, split):
            return {"valid": 0.5, "test": 1e-9}[split]

        def evaluate(self, output, target):
            return 0.25

    task = Split(length=4)
    assert task.solved(0.25, "valid") and not task.solved(0.25)
    result = train(nn.Sequential(nn.Flatten(1), nn.Linear(8, 1)), task,
                   TrainConfig(steps=10, eval_every=5, eval_size=8, stop_at_criterion=True))
    assert result.steps_to_criterion == 5 and result.best_metric == 0.25
