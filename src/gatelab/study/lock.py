"""One driver per study folder: an OS file lock held while a study runs.

The lock is ``flock`` on a file beside the store, so it is released by the operating system when its holder
exits in any way — a driver killed with SIGKILL leaves a file behind but no lock, and the next driver proceeds.
"""

from __future__ import annotations

import os
from pathlib import Path

from .._errors import InputError

try:
    import fcntl
except ImportError:                                   # not POSIX: no lock (documented in docs/scaling.md)
    fcntl = None  # type: ignore[assignment]


class StudyLocked(InputError):
    """Another live driver holds the study folder."""


class StudyLock:
    """``with StudyLock(store_path):`` — held for the block; raises :class:`StudyLocked` at once if taken."""

    def __init__(self, store_path: str | Path) -> None:
        self.path = Path(f"{store_path}.lock")
        self._handle = None

    def __enter__(self) -> StudyLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+")                # noqa: SIM115 — held until __exit__
        if fcntl is not None:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                holder = handle.read().strip() or "unknown"
                handle.close()
                raise StudyLocked(f"out: expected a study folder no other gatelab driver is running on, got "
                                  f"{str(self.path.parent)!r}, held by process {holder}; wait for it to finish "
                                  "(gatelab status shows its progress) or use another --out", "out") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()} on {os.uname().nodename if hasattr(os, 'uname') else '?'}\n")
        handle.flush()
        self._handle = handle
        return self

    def __exit__(self, *exc) -> None:
        if self._handle is not None:
            if fcntl is not None:
                fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None
