"""The local executor: runs in a pool of processes on this machine (or in this process, with one worker)."""

from __future__ import annotations

import multiprocessing
import os
import signal
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

import torch

from .executor import WorkerLost
from .record import RunRecord
from .run import execute_run


def init_worker(threads: int) -> None:
    """A spawned worker's set-up: its share of the cores, and Ctrl+C left to the parent."""
    torch.set_num_threads(threads)
    signal.signal(signal.SIGINT, signal.SIG_IGN)             # Ctrl+C is the driver's to handle


class LocalExecutor:
    """``workers`` spawned processes (default: the cores), each with cores / workers torch threads; ``workers=1``
    runs each config in this process, one at a time."""

    def __init__(self, workers: int | None = None) -> None:
        self.capacity = workers or os.cpu_count() or 1
        self._threads = max(1, (os.cpu_count() or 1) // self.capacity)
        self._pool: ProcessPoolExecutor | None = None

    def submit(self, config: dict, study: str) -> Future:
        if self.capacity == 1:
            done: Future = Future()
            done.set_result(execute_run(config, study))
            return done
        if self._pool is None:                               # first use, or the last pool broke
            self._pool = ProcessPoolExecutor(max_workers=self.capacity,
                                             mp_context=multiprocessing.get_context("spawn"),
                                             initializer=init_worker, initargs=(self._threads,))
        return self._pool.submit(execute_run, config, study)

    def wait(self, handles: list[Future]) -> list[tuple[Future, RunRecord | WorkerLost]]:
        done, _ = wait(handles, return_when=FIRST_COMPLETED)
        out = []
        for future in done:
            try:
                out.append((future, future.result()))
            except BrokenProcessPool as error:               # a worker died (killed, out of memory)
                out.append((future, WorkerLost(f"worker process died: {error}")))
                self._discard_pool()
        return out

    def cancel(self, handles: list[Future]) -> None:
        for future in handles:
            future.cancel()
        self._discard_pool()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def _discard_pool(self) -> None:
        """Stop the pool's processes now (their runs are lost or cancelled) and start a new pool on next use."""
        if self._pool is None:
            return
        processes = list(getattr(self._pool, "_processes", {}).values())
        self._pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            if process.is_alive():
                process.terminate()
        for process in processes:
            process.join(timeout=10)
        self._pool = None
