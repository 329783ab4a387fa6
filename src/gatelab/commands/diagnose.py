"""``gatelab diagnose DIR KEY | CHECKPOINT``."""

from __future__ import annotations

import argparse

from . import study_store


def run(args: argparse.Namespace) -> int:
    """``gatelab diagnose``: the diagnostics of one trained model, a stored run (retrained) or a checkpoint."""
    from dataclasses import asdict, replace
    from pathlib import Path

    import torch
    from rich.console import Console
    from rich.table import Table

    from .._errors import InputError
    from ..config import RunConfig, TaskConfig
    from ..diagnostics import gate_statistics
    from ..diagnostics.plots import write_diagnostic_plots
    from ..store import Store
    from ..study.record import RunDiagnostics, RunRecord
    from ..study.run import build_run, diagnose, diagnose_initial, test_batch
    from ..train import load_checkpoint, save_checkpoint, train

    console = Console(soft_wrap=True)                        # paths and sentences stay whole in logs
    source = Path(args.target)
    if not source.exists():
        raise InputError(f"source: expected a study folder or a checkpoint file, got {args.target!r} "
                         "(no such file or folder)", "source")
    if source.is_dir():                                       # a study folder and a run key: retrain the run
        if args.key is None:
            raise InputError("key: expected a run key (or prefix) after the study folder, got nothing", "key")
        store_path = study_store(args.target)
        with Store.open(store_path, readonly=True) as store:
            record = RunRecord.from_dict(store.find(args.key))
        config = RunConfig.from_dict(record.config)
        label, folder = record.key, store_path.parent / "diagnose" / record.key
        console.print(f"[bold]{label}[/]: {config.model.variant} on {config.task.name}, seed {config.train.seed} "
                      f"— retraining from its config (deterministic on the CPU)")
        model, task = build_run(config)
        x, y = test_batch(config, task)
        initial = diagnose_initial(model, x[:64])
        train(model, task, config.train)
        stored = record.metrics.test
    else:                                                     # a checkpoint: its weights, on its task or --task
        if args.key is not None:
            raise InputError(f"key: expected no run key after a checkpoint file, got {args.key!r}", "key")
        config_data, weights = load_checkpoint(source)
        config = RunConfig.from_dict(config_data)
        if args.task is not None:
            config = replace(config, task=TaskConfig(args.task, config.task.sizes if args.task == config.task.name
                                                     else ()))
        model, task = build_run(config)
        try:
            model.load_state_dict(weights)
        except RuntimeError:
            raise InputError(f"task: expected a task with the checkpoint's input and output sizes, got "
                             f"{config.task.name!r} ({task.input_size} in, {task.output_size} out)", "task") from None
        x, y = test_batch(config, task)
        initial, stored = {}, None
        label, folder = source.stem, source.parent / f"{source.stem}-diagnose"
        console.print(f"[bold]{source}[/]: {config.model.variant} on {config.task.name} (checkpoint; the profile "
                      "at initialisation is not in a checkpoint)")
    model.eval()
    with torch.no_grad():
        value = task.evaluate(model(x), y)
    if source.is_dir():
        console.print(f"test {task.metric}: {value:.6g} (stored {stored}); reproduced: "
                      f"{'yes' if stored is not None and value == stored else 'no'}")
    else:
        console.print(f"test {task.metric}: {value:.6g}")
    if args.save_checkpoint:
        console.print(f"wrote {save_checkpoint(args.save_checkpoint, model, config.to_dict())}")
    found = RunDiagnostics(**initial, **diagnose(model, task, x[:64], y[:64]))     # what every study run stores
    if found.error is not None:
        raise RuntimeError(f"diagnostics failed for this run: {found.error}")
    profile, start = found.sensitivity, found.sensitivity_init
    table = Table(title="how much of a unit signal at the last state reaches back: ‖uᵀ ∂h_T/∂h_t‖")
    for column in ("steps back", "at initialisation", "trained"):
        table.add_column(column, justify="right")
    for back in sorted({0, 1, 5, 10, 25, 50, 100, len(profile) - 1} & set(range(len(profile)))):
        at = len(profile) - 1 - back
        table.add_row(str(back), f"{start[at]:.3e}" if start else "—", f"{profile[at]:.3e}")
    console.print(table)
    init_radius = found.spectral_radius_init
    console.print(f"median spectral radius of ∂h_t/∂h_(t-1): {found.spectral_radius_median:.3g} trained"
                  + (f", {sorted(init_radius)[len(init_radius) // 2]:.3g} at initialisation" if init_radius else ""))
    if found.time_scale_quartiles is not None:
        q = found.time_scale_quartiles
        console.print(f"time scales τ over units: quartiles {q[0]:.3g} / {q[1]:.3g} / {q[2]:.3g} steps")
    if found.r_closed is not None:
        console.print(f"reset gate: r < 0.1 in {100 * found.r_closed:.1f}%, r > 0.9 in "
                      f"{100 * found.r_open:.1f}% of (unit, step)")
    if found.smoothing is not None:
        fit = found.smoothing
        console.print(f"exponential smoothing with the trained z explains {100 * fit.explained_variance:.1f}% of "
                      f"the states' variance ({100 * fit.clamp_explained_variance:.1f}% with r ≡ 0 before fitting)")
    else:
        console.print("exponential-smoothing distance: does not apply (no update gate with a carry path)")
    if found.clamps is not None:
        console.print("clamped without retraining: " + ", ".join(f"{k} {v:.4g}" for k, v in found.clamps.items()))
    else:
        console.print("clamp tests: only for variant 'gru' (they remove one of its gates)")
    stats = gate_statistics(model.rnn, x[:64])
    for path in write_diagnostic_plots({k: v for k, v in asdict(found).items() if v is not None}, stats, folder):
        console.print(f"wrote {path}")
    return 0
