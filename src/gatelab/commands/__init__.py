"""The longer ``gatelab`` commands, one module each (:mod:`gatelab.cli` parses the arguments and calls them),
and what several commands share."""

from __future__ import annotations


def study_store(folder: str):
    """The store of a study folder, or the CLI's usual error."""
    from pathlib import Path

    from .._errors import InputError

    store = Path(folder) / "runs.sqlite"
    if not store.exists():
        raise InputError(f"dir: expected a study folder holding runs.sqlite, got {str(folder)!r}", "dir")
    return store
