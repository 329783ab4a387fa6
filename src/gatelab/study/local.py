"""The local executor: runs a study's missing runs in a process pool; the driver alone writes the store."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

import torch

from ..store import Store
from .run import execute_run
from .spec import StudySpec

Event = Callable[[str, dict], None]


def _init_worker(threads: int) -> None:
    torch.set_num_threads(threads)


def run_study(spec: StudySpec, store: Store, workers: int | None = None,
              on_event: Event | None = None) -> dict[str, int]:
    """Run every run of ``spec`` that ``store`` has not finished; return counts by status.

    ``workers``: processes (default: the cores); 1 runs in this process. At most ``workers`` runs are handed
    out at a time, so a killed study repeats only those. ``on_event(kind, data)`` reports ``"plan"`` (total,
    todo), ``"start"`` (the run's labels) and ``"run"`` (a finished record), for progress bars.
    """
    emit = on_event or (lambda kind, data: None)
    runs = spec.runs()
    finished = store.finished_keys()
    todo = [r for r in runs if r.key not in finished]
    emit("plan", {"total": len(runs), "todo": len(todo)})
    counts: dict[str, int] = {"skipped": len(runs) - len(todo)}
    workers = workers or os.cpu_count() or 1

    def keep(record: dict) -> None:
        store.write(record)                                                  # committed before the next one
        counts[record["status"]] = counts.get(record["status"], 0) + 1
        emit("run", record)

    def label(run) -> dict:
        return {"key": run.key, "task": run.task.name, "variant": run.model.variant, "seed": run.train.seed}

    if workers == 1:
        for run in todo:
            emit("start", label(run))
            keep(execute_run(run.to_dict(), spec.name))
        return counts
    threads = max(1, (os.cpu_count() or 1) // workers)
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_init_worker, initargs=(threads,))
    pending = iter(todo)
    in_flight: dict = {}
    try:
        while True:
            while len(in_flight) < workers and (run := next(pending, None)) is not None:
                in_flight[pool.submit(execute_run, run.to_dict(), spec.name)] = run
                emit("start", label(run))
            if not in_flight:
                break
            done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            for future in done:
                run = in_flight.pop(future)
                try:
                    keep(future.result())
                except BrokenProcessPool as error:                           # a worker died (killed, OOM)
                    keep({**label(run), "study": spec.name, "config": run.to_dict(), "status": "failed",
                          "metrics": {}, "curve": [], "backend": None, "seconds": 0.0, "traceback": repr(error),
                          "versions": {}})
                    return counts                                            # the pool is gone; rerun resumes
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return counts
