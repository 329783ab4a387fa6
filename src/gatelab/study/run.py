"""One run of a study: build the task and the model from a :class:`RunConfig`, train, evaluate, return a record.

A run never raises: a non-finite loss is recorded as ``diverged`` at its step, an exception as ``failed`` with
its traceback. The record is a :class:`~gatelab.study.record.RunRecord`; only the driver writes it to the store.
"""

from __future__ import annotations

import math
import platform
import time
import traceback
from dataclasses import replace

import torch
from torch.nn.utils.rnn import PackedSequence

from .._version import __version__
from ..config import RunConfig
from ..diagnostics import clamp_tests, gate_statistics, jacobian_spectrum, smoothing_fit, state_sensitivity
from ..layers import SequenceModel
from ..train import train
from .record import RunDiagnostics, RunMetrics, RunRecord, SmoothingFit


def failed_record(config: RunConfig, study: str, cause: str | None) -> RunRecord:
    """The record of a run that produced nothing (yet): status ``failed``, with its cause."""
    return RunRecord(config.key, study, config.model.variant, config.task.key, config.train.seed,
                     config.to_dict(), "failed", traceback=cause,
                     versions={"gatelab": __version__, "torch": torch.__version__,
                               "python": platform.python_version()})


def execute_run(config_data: dict, study: str) -> RunRecord:
    """Run the config (given as ``RunConfig.to_dict()``) and return its record."""
    start = time.perf_counter()
    config = RunConfig.from_dict(config_data)
    record = failed_record(config, study, None)
    try:
        model, task = build_run(config)
        record = replace(record, task_facts=task.facts())
        x_probe, _ = test_batch(config, task)
        clock = time.perf_counter()
        initial = diagnose_initial(model, first(x_probe, 64))              # before any training step
        diagnostics_seconds = time.perf_counter() - clock
        result = train(model, task, config.train)
        metrics = RunMetrics(parameters=sum(p.numel() for p in model.parameters()), steps_done=result.steps_done,
                             steps_to_criterion=result.steps_to_criterion, best_valid=result.best_metric)
        diagnostics = RunDiagnostics(**initial)
        if result.status == "ok":
            x, y = test_batch(config, task)
            model.eval()
            with torch.no_grad():
                value = task.evaluate(model(x), y)
            metrics = replace(metrics, test=value, solved=bool(task.solved(value)) if math.isfinite(value) else False,
                              references=task.reference_metrics())
            clock = time.perf_counter()
            trained = diagnose(model, task, first(x, 64), y[:64])
            diagnostics = RunDiagnostics(**initial, **trained,
                                         seconds=diagnostics_seconds + time.perf_counter() - clock)
        record = replace(record, status=result.status, metrics=metrics, diagnostics=diagnostics,
                         curve=[list(point) for point in result.curve], backend=model.rnn.last_backend)
    except Exception:  # noqa: BLE001 — a failed run is a record, never a crashed study
        record = replace(record, traceback=traceback.format_exc())
    return replace(record, seconds=time.perf_counter() - start)


def build_run(config: RunConfig):
    """The task and the freshly initialised model of ``config`` (seeded by the config). Training is deterministic
    on the CPU, so a stored run's model can be rebuilt from its config alone (``gatelab diagnose``)."""
    task = config.task.build()
    torch.manual_seed(config.train.seed)
    model = SequenceModel(config.model.variant, task.input_size, config.model.hidden_size, task.output_size,
                          num_layers=config.model.num_layers, readout=task.readout, reset=config.model.reset)
    if config.model.init == "chrono":                        # time scales over [1, T] of the training length
        length = task.batch(1, torch.Generator().manual_seed(0), "train")[0].shape[1]
        model.rnn.chrono_init_(length, torch.Generator().manual_seed(config.train.seed))
    return model, task


def test_batch(config: RunConfig, task) -> tuple[torch.Tensor, torch.Tensor]:
    """The fixed test batch of a run."""
    return task.batch(max(config.train.eval_size, 512), torch.Generator().manual_seed(config.train.seed + 2_000_003),
                      "test")


HEATMAP_UNITS = 32          # gate heatmaps keep the first units of the first test sequence
PACKED = "diagnostics need sequences of one length; this batch holds several (a PackedSequence)"


def first(x, n: int):
    """The first ``n`` sequences of a batch (a PackedSequence is left whole: the diagnostics say they skip it)."""
    return x if isinstance(x, PackedSequence) else x[:n]


def diagnose_initial(model: SequenceModel, x: torch.Tensor) -> dict:
    """The gradient-flow profile and the step Jacobian's spectral radius of the untrained model."""
    if isinstance(x, PackedSequence):
        return {"error_init": PACKED}
    try:
        with torch.enable_grad():
            sensitivity = state_sensitivity(model.rnn, x).tolist()
        return {"sensitivity_init": sensitivity,
                "spectral_radius_init": jacobian_spectrum(model.rnn, x[0]).spectral_radius.tolist()}
    except Exception as error:  # noqa: BLE001 — diagnostics never fail a run
        return {"error_init": repr(error)}


def diagnose(model: SequenceModel, task, x: torch.Tensor, y: torch.Tensor) -> dict:
    """Compact diagnostics of a trained model on a test batch — what the report's "Why" sections plot and cite:
    the gradient-flow profile, the step Jacobian's spectral radius along the first sequence, every unit's time
    scale, the reset gate's saturation, the distance to exponential smoothing, and for ``gru`` the clamp tests
    and gate heatmaps. A diagnostic that does not apply is absent; one that fails leaves its error message (the
    run itself stands)."""
    out: dict = {}
    if isinstance(x, PackedSequence):
        return {"error": PACKED}
    try:
        with torch.enable_grad():
            out["sensitivity"] = state_sensitivity(model.rnn, x).tolist()
        radius = jacobian_spectrum(model.rnn, x[0]).spectral_radius
        out["spectral_radius"] = radius.tolist()
        out["spectral_radius_median"] = float(radius.median())
        stats = gate_statistics(model.rnn, x)
        if stats.time_scale is not None:
            out["time_scales"] = stats.time_scale.tolist()
            out["time_scale_quartiles"] = torch.quantile(stats.time_scale, torch.tensor(
                [0.25, 0.5, 0.75], dtype=stats.time_scale.dtype)).tolist()
        if stats.r is not None:
            out["r_closed"], out["r_open"] = stats.r_closed, stats.r_open
        spec = model.rnn.options.spec
        if "z" in spec.gates and spec.carry:
            fit = smoothing_fit(model.rnn, x)
            out["smoothing"] = SmoothingFit(fit.explained_variance, fit.clamp_explained_variance)
        if model.rnn.options.variant == "gru":
            out["clamps"] = clamp_tests(model, task, x, y)
            out["heatmaps"] = {name: gate[:, 0, :HEATMAP_UNITS].T.tolist() for name, gate in stats.gates.items()}
    except Exception as error:  # noqa: BLE001 — diagnostics never fail a finished run
        out["error"] = repr(error)
    return out
