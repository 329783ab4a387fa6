"""The study driver: hands a study's missing runs to an executor and writes every record — the store's only writer.

Executors (local processes, Ray) only run configs and return records; they sit behind :class:`Executor`. The
driver hands out at most ``executor.capacity`` runs at a time and records each hand-out as an attempt before it
leaves, so a killed driver re-executes at most the runs in flight, and a finished run is never executed again.
A worker that dies is detected, its runs are retried up to ``max_retries`` times and then recorded ``failed``
with the cause.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable

from .._errors import InputError
from ..config import RunConfig
from ..store import Store
from .executor import Executor, WorkerLost
from .local import LocalExecutor
from .lock import StudyLock
from .record import RunRecord, read_records
from .run import failed_record
from .spec import StudySpec

Event = Callable[[str, dict], None]


class Interrupted(KeyboardInterrupt):
    """Ctrl+C: the runs in flight were cancelled; everything finished is in the store."""

    def __init__(self, counts: dict[str, int], cancelled: int) -> None:
        super().__init__(f"interrupted with {cancelled} run(s) in flight")
        self.counts, self.cancelled = counts, cancelled


class SpecChanged(InputError):
    """The study in the folder was started from another spec."""


def spec_differences(old: dict, new: dict, prefix: str = "") -> list[str]:
    """``"key: old → new"`` for every (dotted) key whose value differs."""
    out = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key, "—"), new.get(key, "—")
        if isinstance(a, dict) and isinstance(b, dict):
            out += spec_differences(a, b, f"{prefix}{key}.")
        elif a != b:
            out.append(f"{prefix}{key}: {json.dumps(a)} → {json.dumps(b)}")
    return out


def run_study(spec: StudySpec, store: Store, workers: int | None = None, on_event: Event | None = None, *,
              executor: Executor | None = None, max_retries: int = 1, allow_changed: bool = False) -> dict[str, int]:
    """Run every run of ``spec`` that ``store`` has not finished; return counts by status.

    ``executor``: where runs execute (default: :class:`~gatelab.study.local.LocalExecutor` with ``workers``
    processes; 1 runs in this process). ``on_event(kind, data)`` reports ``"plan"`` (total, todo), ``"start"``
    (the run's labels) and ``"run"`` (a finished :class:`RunRecord`), for progress bars. A store started from
    another spec is refused (:class:`SpecChanged`, listing the differences) unless ``allow_changed``; then only
    new runs are added. A folder another live driver holds is refused at once (:class:`StudyLocked`). Ctrl+C
    cancels the runs in flight and raises :class:`Interrupted`.
    """
    with StudyLock(store.path):
        return _run_locked(spec, store, workers, on_event, executor, max_retries, allow_changed)


def _run_locked(spec: StudySpec, store: Store, workers: int | None, on_event: Event | None,
                executor: Executor | None, max_retries: int, allow_changed: bool) -> dict[str, int]:
    emit = on_event or (lambda kind, data: None)
    wanted = spec.to_dict()
    stored = store.meta("spec")
    if stored is not None and json.loads(stored) != wanted and not allow_changed:
        changes = spec_differences(json.loads(stored), wanted)
        raise SpecChanged("study: expected the spec this folder was started with, got another ("
                          + "; ".join(changes) + "); pass --allow-changed to add only the new runs, or use "
                          "another --out")
    store.set_meta("spec", json.dumps(wanted))
    store.close_open_attempts("interrupted")                 # in flight when an earlier driver died
    records = read_records(store, spec.name)       # what is done: it decides the later seeds' configurations
    finished = store.finished_keys()
    runs = spec.runs(records)
    queued = {r.key for r in runs}
    todo = deque(r for r in runs if r.key not in finished)
    total = spec.run_count()
    emit("plan", {"total": total, "todo": total - (len(runs) - len(todo))})
    counts: dict[str, int] = {"skipped": len(runs) - len(todo)}
    executor = executor or LocalExecutor(workers)
    in_flight: dict[object, tuple[RunConfig, int]] = {}

    def keep(record: RunRecord) -> None:
        store.write(record.to_dict())                        # committed before the next run is handed out
        counts[record.status] = counts.get(record.status, 0) + 1
        records.append(record)
        emit("run", record)
        # a (task, variant) whose tuning seeds have all finished now knows its later seeds' configuration
        for run in spec.runs(records) if spec.tune_seeds is not None else ():
            if run.key not in queued:
                queued.add(run.key)
                if run.key in finished:
                    counts["skipped"] += 1
                else:
                    todo.append(run)

    try:
        while todo or in_flight:
            while todo and len(in_flight) < executor.capacity:
                run = todo.popleft()
                attempt = store.start_attempt(run.key)
                in_flight[executor.submit(run.to_dict(), spec.name)] = (run, attempt)
                emit("start", {"key": run.key, "task": run.task.key, "variant": run.model.variant,
                               "seed": run.train.seed, "attempt": attempt})
            for handle, outcome in executor.wait(list(in_flight)):
                run, attempt = in_flight.pop(handle)
                if isinstance(outcome, WorkerLost):
                    store.end_attempt(run.key, attempt, f"lost: {outcome}")
                    if attempt <= max_retries:
                        todo.appendleft(run)
                        emit("retry", {"key": run.key, "attempt": attempt, "cause": str(outcome)})
                    else:
                        keep(failed_record(run, spec.name, f"worker lost {attempt} time(s); last: {outcome}"))
                    continue
                store.end_attempt(run.key, attempt, outcome.status)
                keep(outcome)
    except KeyboardInterrupt:
        executor.cancel(list(in_flight))
        for run, attempt in in_flight.values():
            store.end_attempt(run.key, attempt, "cancelled")
        raise Interrupted(counts, len(in_flight)) from None
    finally:
        executor.close()
    return counts
