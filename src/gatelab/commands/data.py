"""``gatelab explain --data``: a user's sequences (or a bundled UEA set) checked, copied into the study folder
(named by its content) and turned into the study's one task."""

from __future__ import annotations

import argparse
from pathlib import Path


def data_task(args: argparse.Namespace, out: Path) -> dict:
    """Load and check ``--data`` (an InputError names file, column and row; nothing is written before), save its
    normalised copy in ``out`` and return the study-file task that points to it."""
    from ..tasks.user_data import load_bundled, load_data, save_normalised

    source = args.data
    if source.startswith("uea:"):
        data = load_bundled(source.removeprefix("uea:"))
    else:
        data = load_data(source, target=args.target, id_column=args.id, time_column=args.time,
                         split_column=args.split, kind=args.task_kind or "auto")
    copy = save_normalised(data, out)
    return {"name": "data", "store": str(copy.resolve()), "digest": data.digest()}
