"""``gatelab playground [--study DIR] [--out FILE] [--open]``."""

from __future__ import annotations

import argparse


def run(args: argparse.Namespace) -> int:
    """Write the gate playground (with replays of a study's trained gru units when ``--study`` is given)."""
    import webbrowser
    from pathlib import Path

    from rich.console import Console

    from ..playground import build_playground

    console = Console()
    if args.study:
        console.print(f"retraining the study's first gru runs for the replays ({args.study}) …")
    page = build_playground(args.out, args.study)
    console.print(f"playground: {page} ({page.stat().st_size / 1024:.0f} KiB, opens offline)")
    if args.open:
        webbrowser.open(Path(page).resolve().as_uri())
    return 0
