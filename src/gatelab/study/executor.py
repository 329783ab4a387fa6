"""What the driver needs of an executor (local processes, Ray): the interface, and how a lost worker is reported.

Executors only run configs and return :class:`~gatelab.study.record.RunRecord`\\ s; the driver alone writes the
store. An executor module imports this one and the run, never the driver.
"""

from __future__ import annotations

from typing import Protocol

from .record import RunRecord


class WorkerLost(Exception):
    """The process (or Ray worker) running a run died before returning its record."""


class Executor(Protocol):
    capacity: int                                                # runs it can hold in flight

    def submit(self, config: dict, study: str) -> object: ...    # a handle

    def wait(self, handles: list) -> list[tuple[object, RunRecord | WorkerLost]]: ...   # at least one finished

    def cancel(self, handles: list) -> None: ...

    def close(self) -> None: ...
