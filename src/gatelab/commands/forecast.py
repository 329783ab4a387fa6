"""``gatelab forecast FILE | --dataset NAME``."""

from __future__ import annotations

import argparse
import sys


def run(args: argparse.Namespace) -> int:
    """``gatelab forecast``: the model ladder on a CSV or a bundled series, then the report."""
    import shlex
    from pathlib import Path

    from .._errors import InputError

    try:
        import pandas  # noqa: F401
        import statsforecast  # noqa: F401
        import statsmodels  # noqa: F401
    except ImportError as error:
        raise InputError(f"forecast: expected the forecast extra to be installed, got no module {error.name!r} "
                         "(pip install 'gatelab[forecast]')", "forecast") from None
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from ..report.forecast import write_forecast_report
    from ..study.forecast import ForecastSpec, run_forecast
    from ..tasks.series import bundled, load_csv

    if (args.file is None) == (args.dataset is None):
        raise InputError("file: expected a CSV file or --dataset NAME (exactly one), got "
                         + ("both" if args.file else "neither"), "file")
    if args.file is not None and args.target is None:
        raise InputError("target: expected the name of the value column of FILE, got nothing", "target")
    for name in ("season_length", "horizon", "origins", "train_steps", "hidden_size", "step", "refit_every",
                 "seeds", "workers"):
        value = getattr(args, name)
        if value is not None and value <= 0:
            raise InputError(f"{name}: expected a positive int, got {value}", name)
    for name in ("hidden_sizes", "learning_rates"):
        for value in getattr(args, name) or ():
            if not value > 0:
                raise InputError(f"{name}: expected positive numbers, got {value:g}", name)
    data = (bundled(args.dataset, args.season_length) if args.dataset else
            load_csv(args.file, args.target, args.time, args.id, args.fill, args.season_length))
    horizon = args.horizon if args.horizon is not None else (data.season_length if data.season_length > 1 else 8)
    spec = ForecastSpec(horizon, args.origins, args.step, models=tuple(args.models) if args.models else None,
                        hidden_size=args.hidden_size, train_steps=args.train_steps, seeds=args.seeds,
                        refit_every=args.refit_every, time_limit=args.time_limit,
                        hidden_sizes=tuple(args.hidden_sizes) if args.hidden_sizes else None,
                        learning_rates=tuple(args.learning_rates))
    resolved = spec.resolved(data)
    out = Path(args.out)
    console = Console()
    console.print(f"[bold]gatelab forecast[/]: {data.name} — {len(data.series)} series, horizon {horizon}, "
                  f"{resolved.origins} origins {resolved.stride} apart, season {data.season_length}, recurrent "
                  f"ensembles of {resolved.seeds} seeds refitted every {resolved.refit_every} origins, size × rate "
                  f"from {list(resolved.hidden_sizes)} × {list(resolved.learning_rates)} on the held-out tail → {out}/")
    for note in data.notes:
        console.print(f"  {note}")
    command = "gatelab " + shlex.join(sys.argv[1:]) if sys.argv[1:2] == ["forecast"] else ""
    with Progress(TextColumn("{task.description:<40}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console) as progress:
        bar = progress.add_task("models", total=None)

        def on_event(kind: str, info: dict) -> None:
            if kind == "plan":
                progress.update(bar, total=info["total"], completed=info["total"] - info["todo"])
                if info["todo"] < info["total"]:
                    progress.console.print(f"  resuming: {info['total'] - info['todo']} model(s) already done")
            elif kind == "origin":
                progress.update(bar, description=f"{info['model']} (origin {info['origin'] + 1}/{resolved.origins})")
            elif kind == "model":
                status = "" if info["status"] == "ok" else f" [red]{info['status']}[/]: {info['message']}"
                tuned = info.get("chosen") or {}
                choice = f"  (size {tuned['hidden_size']}, rate {tuned['learning_rate']:g})" if tuned else ""
                progress.console.print(f"  {info['name']:<20} {info['seconds']:7.2f} s{choice}{status}")
                progress.update(bar, advance=1)

        run_forecast(data, spec, out, on_event, command=command, workers=args.workers)
    index = write_forecast_report(out)
    for line in (out / "report.md").read_text().splitlines():
        if line.startswith("**Verdict") or line.startswith("- Gates"):
            console.print(line.strip("*"))
    console.print(f"report: {index}\nforecasts: {out / 'forecasts.csv'}")
    return 0
