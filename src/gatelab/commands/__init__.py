"""The longer ``gatelab`` commands, one module each (:mod:`gatelab.cli` parses the arguments and calls them),
and what several commands share."""

from __future__ import annotations


def study_store(folder: str):
    """The store of a study folder, or the CLI's usual error."""
    from pathlib import Path

    store = Path(folder) / "runs.sqlite"
    if not store.exists():
        raise ValueError(f"DIR: expected a study folder holding runs.sqlite, got {str(folder)!r}")
    return store
