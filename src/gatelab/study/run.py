"""One run of a study: build the task and the model from a :class:`RunConfig`, train, evaluate, return a record.

A run never raises: a non-finite loss is recorded as ``diverged`` at its step, an exception as ``failed`` with
its traceback. The record is plain data (JSON-able); only the driver writes it to the store.
"""

from __future__ import annotations

import math
import platform
import time
import traceback

import torch

from .. import __version__
from ..config import RunConfig
from ..diagnostics import clamp_tests, gate_statistics, jacobian_spectrum, state_sensitivity
from ..layers import SequenceModel
from ..train import train


def execute_run(config_data: dict, study: str) -> dict:
    """Run the config (given as ``RunConfig.to_dict()``) and return its record."""
    start = time.perf_counter()
    config = RunConfig.from_dict(config_data)
    record = {"key": config.key, "study": study, "variant": config.model.variant, "task": config.task.name,
              "seed": config.train.seed, "config": config.to_dict(), "status": "failed", "metrics": {},
              "curve": [], "backend": None, "seconds": 0.0, "traceback": None,
              "versions": {"gatelab": __version__, "torch": torch.__version__,
                           "python": platform.python_version()}}
    try:
        model, task = build_run(config)
        x_probe, _ = test_batch(config, task)
        with torch.enable_grad():
            initial_sensitivity = state_sensitivity(model.rnn, x_probe[:64]).tolist()  # before any training step
        result = train(model, task, config.train)
        record["curve"] = [list(point) for point in result.curve]
        record["backend"] = model.rnn.last_backend
        metrics = {"parameters": sum(p.numel() for p in model.parameters()), "steps_done": result.steps_done,
                   "steps_to_criterion": result.steps_to_criterion, "best_valid": result.best_metric,
                   "metric": task.metric, "higher_is_better": task.higher_is_better, "trivial": task.trivial,
                   "solved_at": task.solved_at}
        if result.status == "ok":
            x, y = test_batch(config, task)
            model.eval()
            with torch.no_grad():
                value = task.evaluate(model(x), y)
            metrics.update(test=value, solved=bool(task.solved(value)) if math.isfinite(value) else False,
                           references=task.reference_metrics())
            record["diagnostics"] = {"sensitivity_init": initial_sensitivity, **diagnose(model, task, x[:64], y[:64])}
        record["metrics"] = metrics
        record["status"] = result.status
    except Exception:  # noqa: BLE001 — a failed run is a record, never a crashed study
        record["traceback"] = traceback.format_exc()
    record["seconds"] = time.perf_counter() - start
    return record


def train_run(config: RunConfig):
    """Build and train the model of ``config``: (model, task, TrainResult). Deterministic on the CPU, so a
    stored run's model can be rebuilt from its config alone (``gatelab diagnose``)."""
    model, task = build_run(config)
    return model, task, train(model, task, config.train)


def build_run(config: RunConfig):
    """The task and the freshly initialised model of ``config`` (seeded by the config)."""
    task = config.task.build()
    torch.manual_seed(config.train.seed)
    model = SequenceModel(config.model.variant, task.input_size, config.model.hidden_size, task.output_size,
                          num_layers=config.model.num_layers, readout=task.readout, reset=config.model.reset)
    return model, task


def test_batch(config: RunConfig, task) -> tuple[torch.Tensor, torch.Tensor]:
    """The fixed test batch of a run."""
    return task.batch(max(config.train.eval_size, 512), torch.Generator().manual_seed(config.train.seed + 2_000_003),
                      "test")


def diagnose(model: SequenceModel, task, x: torch.Tensor, y: torch.Tensor) -> dict:
    """Compact diagnostics of a trained model on a test batch: the state-sensitivity profile through time, gate
    summaries, and (for ``gru``) the clamp tests. A diagnostic that does not apply is absent, one that fails
    leaves its error message (the run itself stands)."""
    out: dict = {}
    try:
        with torch.enable_grad():
            out["sensitivity"] = state_sensitivity(model.rnn, x).tolist()
        spectrum = jacobian_spectrum(model.rnn, x[0])
        out["spectral_radius_median"] = float(spectrum.spectral_radius.median())
        if model.rnn.options.spec.family == "gru":
            stats = gate_statistics(model.rnn, x)
            if stats.time_scale is not None:
                out["time_scale_quartiles"] = torch.quantile(stats.time_scale, torch.tensor([0.25, 0.5, 0.75],
                                                             dtype=stats.time_scale.dtype)).tolist()
            if stats.r is not None:
                out["r_closed"], out["r_open"] = stats.r_closed, stats.r_open
        if model.rnn.options.variant == "gru":
            out["clamps"] = clamp_tests(model, task, x, y)
    except Exception as error:  # noqa: BLE001 — diagnostics never fail a finished run
        out["error"] = repr(error)
    return out
