"""The ``gatelab`` command: a thin shell over the library. Bad arguments exit with code 2 and no traceback."""

from __future__ import annotations

import argparse
import sys

from . import describe, variants


def _cmd_list(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="gatelab variants")
    table.add_column("name", style="bold")
    table.add_column("equations")
    for name in variants():
        summary, *equations = describe(name).split("\n")
        table.add_row(name, summary.split(": ", 1)[1] + "\n" + "\n".join(equations))
    Console().print(table)
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
    from rich.table import Table

    from .study.demo import DemoConfig, run_demo, summarise
    from .tasks import AddingTask

    config = DemoConfig(seeds=tuple(range(args.seeds)))
    console = Console()
    console.print(f"[bold]gatelab demo[/]: adding problem, T={config.steps}, H={config.hidden_size}, "
                  f"{len(config.seeds)} seeds, {config.train.steps} Adam steps per run")
    total = len(config.variants) * len(config.seeds) * config.train.steps
    with Progress(TextColumn("{task.description:<22}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=console, transient=True) as progress:
        bar = progress.add_task("training", total=total)
        runs = run_demo(config, on_progress=lambda label, step, _n: progress.update(bar, advance=1,
                                                                                      description=label))
    table = Table(title="measured")
    for column in ("variant", "seed", "status", "test MSE", "grad first ¼ / last ¼", "seconds"):
        table.add_column(column)
    for r in runs:
        table.add_row(r.variant, str(r.seed), r.status, f"{r.test_mse:.4f}", f"{r.gradient_ratio:.2e}",
                      f"{r.seconds:.1f}")
    console.print(table)
    for line in summarise(runs, AddingTask(config.steps)):
        console.print("• " + line)
    return 0


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse already exits 2; keep it terse and traceback-free
        self.print_usage(sys.stderr)
        self.exit(2, f"gatelab: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="gatelab", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    commands.add_parser("list", help="the registered variants and their equations").set_defaults(run=_cmd_list)
    demo = commands.add_parser("demo", help="train gru and gru_no_update on the adding problem (about a minute)")
    demo.add_argument("--seeds", type=int, default=2, choices=range(1, 11), metavar="N",
                      help="seeds per variant (1–10, default 2)")
    demo.set_defaults(run=_cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (ValueError, TypeError) as error:
        print(f"gatelab: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("gatelab: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
