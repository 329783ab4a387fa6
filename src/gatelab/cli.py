"""The ``gatelab`` command: a thin shell over the library.

Bad input (:class:`~gatelab._errors.InputError`) exits with code 2 and no traceback, its message naming the flag
(:data:`FLAGS` maps the library's argument names to the CLI's); a store that cannot be written exits 1; anything
else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import sys

from ._errors import InputError
from .commands import study_store
from .registry import describe, variants

# The library names arguments as Python does; the CLI names them as its users type them. One table.
FLAGS = {
    "address": "--address", "backends": "--backends", "cpus_per_run": "--cpus-per-run", "dataset": "--dataset",
    "executor": "--executor", "fill": "--fill", "hidden_size": "--hidden-size", "horizon": "--horizon",
    "id": "--id", "models": "--models", "origins": "--origins", "out": "--out", "preset": "--preset",
    "season_length": "--season-length", "seeds": "--seeds", "sizes": "--sizes", "study": "--study",
    "target": "--target", "task": "--task", "tasks": "--tasks", "time": "--time", "train_steps": "--train-steps",
    "variant": "--variants", "variants": "--variants", "workers": "--workers", "file": "FILE", "dir": "DIR",
    "key": "KEY", "source": "DIR|CHECKPOINT", "checkpoint": "CHECKPOINT", "data": "--data", "step": "--step",
    "refit_every": "--refit-every", "time_limit": "--time-limit", "hidden_sizes": "--hidden-sizes",
    "learning_rates": "--learning-rates",
}


def for_cli(message: str) -> str:
    """An input error's message with its leading argument name replaced by the CLI's flag."""
    head, sep, rest = message.partition(":")
    for name, flag in FLAGS.items():
        if head == name or head.startswith(name + " "):
            return flag + head[len(name):] + sep + rest
    return message


def _cmd_list(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from .tasks import get_task, isolates, tasks

    table = Table(title="gatelab variants")
    table.add_column("name", style="bold")
    table.add_column("equations")
    for name in variants():
        summary, *equations = describe(name).split("\n")
        table.add_row(name, summary.split(": ", 1)[1] + "\n" + "\n".join(equations))
    console = Console()
    console.print(table)
    battery = Table(title="gatelab tasks")
    for column in ("name", "metric", "what it isolates"):
        battery.add_column(column, style="bold" if column == "name" else None)
    for name in tasks():
        task = get_task(name)
        battery.add_row(name, task.metric, isolates(task))
    console.print(battery)
    return 0


def _cmd_explain(args: argparse.Namespace) -> int:
    import shlex
    from pathlib import Path

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from .report import write_report
    from .store import Store
    from .study.driver import Interrupted, run_study
    from .study.spec import load_study

    out = Path(args.out)
    data_tasks = None
    if args.data is not None:                                 # checked whole before anything is written
        from .commands.data import data_task

        data_tasks = [data_task(args, out)]
    elif any(getattr(args, name) is not None for name in ("target", "id", "time", "split", "task_kind")):
        raise InputError("data: expected --data FILE with --target/--id/--time/--split/--task, got none", "data")
    preset = args.preset if args.preset is not None else ("data" if data_tasks else "quick")
    spec = load_study(args.study or preset, tasks=data_tasks).restricted(args.variants, args.tasks, args.seeds)
    console = Console()
    command = "gatelab " + shlex.join(sys.argv[1:]) if sys.argv[1:2] == ["explain"] else ""
    if args.executor == "ray":
        from .study.ray_executor import RayExecutor

        executor = RayExecutor(args.address, args.cpus_per_run)
        where = f"Ray ({executor.capacity} runs at a time)"
    else:
        if args.address is not None:
            raise InputError("address: expected only with --executor ray, got it with --executor local", "address")
        from .study.local import LocalExecutor

        executor = LocalExecutor(args.workers)
        where = f"{executor.capacity} local process(es)"
    console.print(f"[bold]gatelab explain[/]: study {spec.name!r} — {len(spec.variants)} variants × "
                  f"{len(spec.tasks)} tasks × {spec.seeds} seeds on {where} → {out}/")
    try:
        with Store(out / "runs.sqlite") as store, Progress(
                TextColumn("{task.description:<40}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                console=console) as progress:
            bar = progress.add_task("runs", total=None)
            flight = progress.add_task("in flight", total=None)
            running: dict[str, str] = {}

            def on_event(kind: str, data) -> None:
                if kind == "plan":
                    progress.update(bar, total=data["total"], completed=data["total"] - data["todo"])
                    if data["total"] > data["todo"]:
                        console.print(f"resuming: {data['total'] - data['todo']} runs already in the store")
                elif kind == "start":
                    running[data["key"]] = f"{data['task']} {data['variant']} s{data['seed']}"
                elif kind == "retry":
                    running.pop(data["key"], None)
                    console.print(f"[yellow]worker lost[/] on {data['key'][:10]} (attempt {data['attempt']}); "
                                  f"retrying: {data['cause'][:80]}")
                else:                                                    # "run": a finished RunRecord
                    running.pop(data.key, None)
                    progress.update(bar, advance=1, description=f"last: {data.task} {data.variant} "
                                                                f"s{data.seed} {data.status}")
                progress.update(flight, description="running: " + ", ".join(running.values())[:60],
                                visible=bool(running))

            if command:
                store.set_meta("command", command)
            counts = run_study(spec, store, on_event=on_event, executor=executor, max_retries=args.max_retries,
                               allow_changed=args.allow_changed)
    except Interrupted as stop:
        done = sum(v for k, v in stop.counts.items() if k != "skipped")
        print(f"gatelab: interrupted — {done} run(s) finished and stored in this session, {stop.cancelled} in "
              f"flight cancelled; the store is consistent. Resume with:\n    {command or 'the same command'}",
              file=sys.stderr)
        return 130
    console.print("runs: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    from .playground import build_playground

    build_playground(out / "report" / "playground.html", out)   # the report links to it
    index = write_report(out / "runs.sqlite", out / "report")
    console.print(f"report: {index}")
    return 0


def _cmd_status(args: argparse.Namespace) -> int:
    import json
    from collections import Counter

    from rich.console import Console
    from rich.table import Table

    from .store import Store
    from .study.record import read_records
    from .study.spec import StudySpec

    with Store.open(study_store(args.dir), readonly=True) as store:
        statuses, attempts, spec = store.statuses(), store.attempts(), store.meta("spec")
        records = read_records(store) if spec else []
    note = "" if spec else " (no spec stored — a study from before specs were stored: the runs it holds)"
    try:
        study = StudySpec.from_dict(json.loads(spec)) if spec else None
        planned = [r.key for r in study.runs(records)] if study else list(statuses)
        unknown_yet = study.run_count() - len(planned) if study else 0    # later seeds waiting on their tuning
    except InputError as error:                  # a task or variant of the spec is no longer registered
        planned, unknown_yet = list(statuses), 0
        note = f" (the stored runs; the spec cannot be expanded here: {error})"
    counts = Counter(statuses.get(key, "remaining") for key in planned)
    counts["remaining"] += max(0, unknown_yet)
    total = len(planned) + max(0, unknown_yet)
    open_attempts = sum(a["ended"] is None for a in attempts)
    console = Console()
    console.print(f"{args.dir}: {total} runs planned" + note, soft_wrap=True)
    table = Table()
    table.add_column("status")
    table.add_column("runs", justify="right")
    for status in ("ok", "diverged", "failed", "remaining"):
        table.add_row(status, str(counts.get(status, 0)))
    console.print(table)
    retried = sum(a["attempt"] > 1 for a in attempts)
    console.print(f"attempts: {len(attempts)} handed out, {retried} of them retries, {open_attempts} still open "
                  "(in flight now, or in flight when a driver was killed)")
    lost = Counter(a["outcome"] for a in attempts if a["outcome"] and a["outcome"].startswith(("lost", "cancelled",
                                                                                              "interrupted")))
    for outcome, n in lost.most_common(5):
        console.print(f"  {n} × {outcome[:100]}")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from .report import write_report

    store = study_store(args.dir)
    print(f"report: {write_report(store, args.out or store.parent / 'report')}")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
    from rich.table import Table

    from .study.demo import DemoConfig, run_demo, summarise
    from .tasks import AddingTask

    config = DemoConfig(seeds=tuple(range(args.seeds)))
    console = Console()
    console.print(f"[bold]gatelab demo[/]: adding problem, T={config.length}, H={config.hidden_size}, "
                  f"{len(config.seeds)} seeds, {config.train.steps} Adam steps per run")
    total = len(config.variants) * len(config.seeds) * config.train.steps
    with Progress(TextColumn("{task.description:<22}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=console, transient=True) as progress:
        bar = progress.add_task("training", total=total)
        runs = run_demo(config, on_progress=lambda label, step, _n: progress.update(bar, advance=1,
                                                                                      description=label))
    table = Table(title="measured")
    for column in ("variant", "seed", "status", "test MSE", "grad first ¼ / last ¼", "seconds", "backend"):
        table.add_column(column)
    for r in runs:
        table.add_row(r.variant, str(r.seed), r.status, f"{r.test_mse:.4f}", f"{r.gradient_ratio:.2e}",
                      f"{r.seconds:.1f}", r.backend)
    console.print(table)
    for line in summarise(runs, AddingTask(config.length)):
        console.print("• " + line)
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    import dataclasses

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
    from rich.table import Table

    from ._errors import unknown_name
    from .bench import (
        BenchSize,
        compare,
        contenders,
        machine_line,
        markdown_table,
        matmul_ceiling,
        peak_memory_mb,
    )
    from .ops.dispatch import BACKENDS
    from .registry import get_variant

    for name in args.variants:
        get_variant(name)                                  # unknown names: a clear error, exit 2
    for name in args.backends or ():
        if name not in BACKENDS:
            raise unknown_name("backends", name, BACKENDS)
    sizes = [BenchSize.parse(text) for text in args.sizes]
    chosen = contenders(args.variants, args.backends, args.naive)
    console = Console()
    console.print(f"[bold]gatelab bench[/]: {machine_line()}")
    ceiling = matmul_ceiling()
    console.print(f"matrix-product ceiling: {ceiling:.0f} GFLOP/s (1024² float32)")
    modes = [False] if args.forward_only else [True, False]
    total = len(modes) * len(sizes) * len(chosen) * args.rounds
    rows = []
    with Progress(TextColumn("{task.description:<48}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=console, transient=True) as progress:
        bar = progress.add_task("timing", total=total)
        for backward in modes:
            rows += compare(chosen, sizes, rounds=args.rounds, backward=backward,
                            on_measure=lambda label: progress.update(bar, advance=1, description=label))
        if args.memory:
            memory = progress.add_task("peak memory", total=len(sizes) * len(chosen))
            for i, row in enumerate(rows):
                if row.mode == "forward+backward" and row.backend != "naive":
                    c = next(c for c in chosen if c.label == row.label)
                    size = sizes[[str(s) for s in sizes].index(row.size)]
                    progress.update(memory, advance=1, description=f"peak memory {row.label}")
                    rows[i] = dataclasses.replace(row, peak_mb=peak_memory_mb(c, size))
    for key in dict.fromkeys((r.size, r.mode) for r in rows):
        table = Table(title=f"{key[0]}, {key[1]} — medians; ratios against torch.nn.GRU in the same run")
        columns = ("module", "backend", "ms", "× torch", "GFLOP/s", "% ceiling")
        columns += ("peak MiB",) if args.memory else ()
        for column in columns:
            table.add_column(column, justify="left" if column in ("module", "backend") else "right")
        for r in rows:
            if (r.size, r.mode) != key:
                continue
            module = r.label if r.backend == "aten" else r.variant
            cells = [module, r.backend, f"{r.median_ms:.1f}", f"{r.ratio:.2f}", f"{r.gflops:.1f}",
                     f"{100 * r.gflops / ceiling:.0f}%"]
            if args.memory:
                cells.append("" if r.peak_mb is None else f"{r.peak_mb:.0f}")
            table.add_row(*cells, style="bold" if r.backend == "aten" else None)
        console.print(table)
    if args.markdown:
        with open(args.markdown, "w") as handle:
            handle.write(f"{machine_line()}; ceiling {ceiling:.0f} GFLOP/s\n\n{markdown_table(rows, ceiling)}\n")
        console.print(f"wrote {args.markdown}")
    return 0


def _cmd_diagnose(args: argparse.Namespace) -> int:
    from .commands.diagnose import run

    return run(args)


def _cmd_playground(args: argparse.Namespace) -> int:
    from .commands.playground import run

    return run(args)


def _cmd_forecast(args: argparse.Namespace) -> int:
    from .commands.forecast import run

    return run(args)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse already exits 2; keep it terse and traceback-free
        self.print_usage(sys.stderr)
        self.exit(2, f"gatelab: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    from .config import cli_option
    from .study.forecast import ForecastSpec
    from .study.spec import presets

    parser = _Parser(prog="gatelab", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    commands.add_parser("list", help="the registered variants and their equations").set_defaults(run=_cmd_list)
    demo = commands.add_parser("demo", help="train gru and gru_no_update on the adding problem (about a minute)")
    demo.add_argument("--seeds", type=int, default=2, choices=range(1, 11), metavar="N",
                      help="seeds per variant (1–10, default 2)")
    demo.set_defaults(run=_cmd_demo)

    explain = commands.add_parser("explain", help="run a study of the variants over the task battery, then the report")
    explain.add_argument("--preset", help=" | ".join(presets()) + " (default: quick; data with --data)")
    explain.add_argument("--data", metavar="FILE", help="your own sequences: a .npz (x (N, T, I), or x (ΣT, I) with "
                                                        "lengths; y), a long-format .csv/.parquet (--id, --target), "
                                                        "a .ts file, or uea:NAME for a bundled UEA set")
    explain.add_argument("--target", metavar="COLUMN", help="--data CSV: the label column")
    explain.add_argument("--id", metavar="COLUMN", help="--data CSV: the sequence-id column")
    explain.add_argument("--time", metavar="COLUMN", help="--data CSV: the order of steps within a sequence")
    explain.add_argument("--split", metavar="COLUMN", help="--data: your split column (train/valid/test)")
    explain.add_argument("--task", dest="task_kind", choices=["auto", "classification", "regression"],
                         help="--data: the kind of task (default: auto, from the labels)")
    explain.add_argument("--study", metavar="FILE", help="a study TOML file instead of a preset")
    explain.add_argument("--out", default="gatelab-study", metavar="DIR", help="study folder (default: gatelab-study)")
    explain.add_argument("--workers", type=int, choices=range(1, 65), metavar="N", help="processes (default: cores)")
    explain.add_argument("--variants", nargs="+", metavar="NAME", help="only these variants")
    explain.add_argument("--tasks", nargs="+", metavar="NAME",
                         help="only these tasks of the study (a task held twice: its label, e.g. adding_T200)")
    explain.add_argument("--seeds", type=int, choices=range(1, 101), metavar="N", help="seeds per (variant, task)")
    explain.add_argument("--executor", choices=["local", "ray"], default="local",
                         help="local processes (default) or Ray tasks (pip install 'gatelab[ray]')")
    explain.add_argument("--address", metavar="ADDR", help="Ray cluster: auto or ray://HOST:PORT (default: start a "
                                                          "local Ray instance for this study)")
    explain.add_argument("--cpus-per-run", type=int, default=1, choices=range(1, 257), metavar="N",
                         help="Ray: CPUs (and torch threads) per run (default 1)")
    explain.add_argument("--max-retries", type=int, default=1, choices=range(0, 101), metavar="K",
                         help="retries of a run whose worker died (default 1), then it is recorded failed")
    explain.add_argument("--allow-changed", action="store_true",
                         help="resume a folder started with another spec, adding only the new runs")
    explain.set_defaults(run=_cmd_explain)

    status = commands.add_parser("status", help="runs done / failed / diverged / remaining of a study, from its store")
    status.add_argument("dir", metavar="DIR", help="the study folder")
    status.set_defaults(run=_cmd_status)

    diagnose = commands.add_parser("diagnose", help="the diagnostics of one trained model: a stored run (retrained "
                                                    "from its config) or a checkpoint")
    diagnose.add_argument("target", metavar="DIR|CHECKPOINT", help="a study folder (then KEY), or a checkpoint file")
    diagnose.add_argument("key", metavar="KEY", nargs="?", help="a run key (or a unique prefix), as in the store")
    diagnose.add_argument("--task", metavar="T", help="checkpoint: diagnose on this task instead of its own")
    diagnose.add_argument("--save-checkpoint", metavar="FILE", help="also save the trained model as a checkpoint")
    diagnose.set_defaults(run=_cmd_diagnose)

    forecast = commands.add_parser(
        "forecast", help="run the model ladder (historical average … ARIMA, rnn, GRU variants, lstm) on a series "
                         "and say which model is enough")
    forecast.add_argument("file", nargs="?", metavar="FILE", help="a long-format CSV (one row per time and series)")
    forecast.add_argument("--dataset", metavar="NAME",
                          help="a bundled series: airpassengers, sunspots, nile, co2, elnino, macro (4 series), "
                               "mackey_glass")
    forecast.add_argument("--target", metavar="COLUMN", help="the column of values to forecast")
    forecast.add_argument("--time", metavar="COLUMN", help="the time-stamp column (default: rows are steps)")
    forecast.add_argument("--id", metavar="COLUMN", help="the series-id column, for several series")
    forecast.add_argument("--horizon", type=int, metavar="H", help="steps to forecast (default: the season, else 8)")
    forecast.add_argument("--season-length", type=int, metavar="S", help="default: from the frequency (12 monthly …)")
    forecast.add_argument("--origins", type=int, metavar="K", **cli_option(ForecastSpec, "origins"))
    forecast.add_argument("--step", type=int, metavar="N", **cli_option(ForecastSpec, "step"))
    forecast.add_argument("--refit-every", type=int, metavar="K", **cli_option(ForecastSpec, "refit_every"))
    forecast.add_argument("--seeds", type=int, metavar="N", **cli_option(ForecastSpec, "seeds"))
    forecast.add_argument("--time-limit", type=float, metavar="SECONDS", **cli_option(ForecastSpec, "time_limit"))
    forecast.add_argument("--fill", default="error", metavar="HOW",
                          help="gaps: error (default) | interpolate | ffill | zero")
    forecast.add_argument("--models", nargs="+", metavar="NAME", help="only these rungs of the ladder")
    forecast.add_argument("--train-steps", type=int, metavar="N", **cli_option(ForecastSpec, "train_steps"))
    forecast.add_argument("--hidden-size", type=int, metavar="N", **cli_option(ForecastSpec, "hidden_size"))
    forecast.add_argument("--hidden-sizes", type=int, nargs="+", metavar="N",
                          **cli_option(ForecastSpec, "hidden_sizes"))
    forecast.add_argument("--learning-rates", type=float, nargs="+", metavar="RATE",
                          **cli_option(ForecastSpec, "learning_rates"))
    forecast.add_argument("--workers", type=int, metavar="N",
                          help="models fitted at once, one process each (default: the cores; 1: in this process)")
    forecast.add_argument("--out", default="gatelab-forecast", metavar="DIR", help="output folder")
    forecast.set_defaults(run=_cmd_forecast)

    playground = commands.add_parser("playground", help="write the gate playground: move z and r by hand, watch h "
                                                        "(one offline HTML page)")
    playground.add_argument("--study", metavar="DIR", help="also replay trained gru units of this study folder")
    playground.add_argument("--out", default="gatelab-playground.html", metavar="FILE",
                            help="the page to write (default: gatelab-playground.html)")
    playground.add_argument("--open", action="store_true", help="open it in the default browser")
    playground.set_defaults(run=_cmd_playground)

    report = commands.add_parser("report", help="rewrite DIR/report from the store in DIR alone (read-only)")
    report.add_argument("dir", metavar="DIR")
    report.add_argument("--out", metavar="FOLDER", help="write the report here instead (e.g. for a read-only DIR)")
    report.set_defaults(run=_cmd_report)

    bench = commands.add_parser("bench", help="time variants and backends against torch.nn.GRU, side by side")
    bench.add_argument("--variants", nargs="+", default=["gru"], metavar="NAME", help="variants (default: gru)")
    bench.add_argument("--backends", nargs="+", metavar="NAME", help="backends (default: every one that applies)")
    bench.add_argument("--sizes", nargs="+", default=["32x256x64x64", "32x256x64x256"], metavar="BxTxIxH",
                       help="sizes (default: 32x256x64x64 32x256x64x256)")
    bench.add_argument("--rounds", type=int, default=7, choices=range(1, 101), metavar="N",
                       help="interleaved rounds per contender (1–100, default 7)")
    bench.add_argument("--forward-only", action="store_true", help="time inference only (no grad)")
    bench.add_argument("--naive", action="store_true", help="also time the hand-written autograd loop per variant")
    bench.add_argument("--memory", action="store_true", help="also measure peak memory of forward+backward")
    bench.add_argument("--markdown", metavar="FILE", help="also write the table as Markdown")
    bench.set_defaults(run=_cmd_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from .store import StoreWriteError

    try:
        return args.run(args)
    except InputError as error:
        print(f"gatelab: error: {for_cli(str(error))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("gatelab: interrupted", file=sys.stderr)
        return 130
    except StoreWriteError as error:                          # the store could not be written: disk, permissions
        print(f"gatelab: error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
