"""``gatelab forecast FILE | --dataset NAME``."""

from __future__ import annotations

import argparse
import sys


def run(args: argparse.Namespace) -> int:
    """``gatelab forecast``: the model ladder on a CSV or a bundled series, then the report."""
    import csv
    import json
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
    from ..study.forecast import ForecastSpec, cross_validate, ladder_names
    from ..tasks.series import bundled, check_lengths, load_csv

    if (args.file is None) == (args.dataset is None):
        raise InputError("file: expected a CSV file or --dataset NAME (exactly one), got "
                         + ("both" if args.file else "neither"), "file")
    if args.file is not None and args.target is None:
        raise InputError("target: expected the name of the value column of FILE, got nothing", "target")
    for name in ("season_length", "horizon", "origins", "train_steps", "hidden_size"):
        value = getattr(args, name)
        if value is not None and value <= 0:
            raise InputError(f"{name}: expected a positive int, got {value}", name)
    data = (bundled(args.dataset, args.season_length) if args.dataset else
            load_csv(args.file, args.target, args.time, args.id, args.fill, args.season_length))
    horizon = args.horizon if args.horizon is not None else (data.season_length if data.season_length > 1 else 8)
    spec = ForecastSpec(horizon, args.origins, models=tuple(args.models) if args.models else None,
                        hidden_size=args.hidden_size, train_steps=args.train_steps)
    check_lengths(data, spec.horizon, spec.origins, spec.stride)           # before anything is written
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    console = Console()
    console.print(f"[bold]gatelab forecast[/]: {data.name} — {len(data.series)} series, horizon {horizon}, "
                  f"{spec.origins} origins, season {data.season_length} → {out}/")
    for note in data.notes:
        console.print(f"  {note}")
    names = spec.models or ladder_names()
    meta = {"command": "gatelab " + shlex.join(sys.argv[1:]) if sys.argv[1:2] == ["forecast"] else "",
            "data": {"name": data.name, "season_length": data.season_length, "notes": list(data.notes),
                     "series": [s.id for s in data.series]},
            "spec": {"horizon": horizon, "origins": spec.origins, "stride": spec.stride}, "models": []}
    fields = ["unique_id", "origin", "cutoff", "ds", "horizon", "model", "y", "y_hat", "scale"]
    with (out / "forecasts.csv").open("w", newline="") as handle:
        csv.DictWriter(handle, fields).writeheader()

    with Progress(TextColumn("{task.description:<34}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console) as progress:
        bar = progress.add_task("models", total=len(names))

        def on_model(outcome) -> None:                                       # kept as soon as a model is done
            with (out / "forecasts.csv").open("a", newline="") as handle:
                csv.DictWriter(handle, fields).writerows(outcome.rows)
            meta["models"].append(outcome.summary())
            (out / "models.json").write_text(json.dumps(meta, indent=1))
            status = "" if outcome.status == "ok" else f" [red]{outcome.status}[/]"
            progress.console.print(f"  {outcome.name:<20} {outcome.seconds:6.2f} s{status}")
            progress.update(bar, advance=1)

        cross_validate(data, spec, on_model=on_model, on_fit=lambda name, k: progress.update(
            bar, description=f"fitting {name} (origin {k + 1}/{spec.origins})"))
    index = write_forecast_report(out)
    for line in (out / "report.md").read_text().splitlines():
        if line.startswith("**Verdict") or line.startswith("- Gates"):
            console.print(line.strip("*"))
    console.print(f"report: {index}\nforecasts: {out / 'forecasts.csv'}")
    return 0
