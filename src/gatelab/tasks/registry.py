"""THE place where the tasks of the battery are registered (the variant registry knows nothing of tasks).

A task class registers under its ``name``; :func:`get_task` builds one with its sizes. Study files written
before the task-length fields were renamed (``steps`` → ``length``, ``test_steps`` → ``test_length``; the
Mackey–Glass series' ``length`` → ``series_length``) are still read, with a ``FutureWarning``.
"""

from __future__ import annotations

import dataclasses
import warnings

from .._errors import bad_argument, unknown_name
from .base import SequenceTask

_TASKS: dict[str, type[SequenceTask]] = {}


def register_task(task: type[SequenceTask]) -> type[SequenceTask]:
    """Add a task class under its ``name``; a name declared twice is an error."""
    if not task.name or task.name in _TASKS:
        raise bad_argument("task", "a new, non-empty task name", task.name, hint="already registered or unnamed")
    _TASKS[task.name] = task
    return task


def unregister_task(name: str) -> type[SequenceTask]:
    """Remove a task (for tests and plugins); returns its class."""
    if name not in _TASKS:
        raise unknown_name("task", name, _TASKS)
    return _TASKS.pop(name)


def tasks() -> list[str]:
    """Names of the battery's registered tasks, in declaration order (a user's data task is not listed)."""
    return [name for name, cls in _TASKS.items() if cls.in_battery]


def task_class(name: str) -> type[SequenceTask]:
    """The class registered under ``name``."""
    return _task_class(name)


def is_registered(name: str) -> bool:
    return name in _TASKS


def _task_class(name: str) -> type[SequenceTask]:
    try:
        return _TASKS[name]
    except (KeyError, TypeError):
        raise unknown_name("task", name, _TASKS) from None


def current_sizes(name: str, sizes: dict[str, object]) -> dict[str, object]:
    """``sizes`` of task ``name`` in today's field names (a dict using a renamed field is read in the old
    spelling, with a FutureWarning); an unknown size is an error listing the close matches."""
    cls = _task_class(name)
    fields = {f.name for f in dataclasses.fields(cls)}                   # the sizes (ClassVars are not)
    old = {k for k in sizes if k not in fields and k in cls.renamed}
    if old:
        warnings.warn(f"task {name!r}: the size(s) {sorted(old)} were renamed "
                      f"({', '.join(f'{a} → {b}' for a, b in cls.renamed.items())}); update the study file",
                      FutureWarning, stacklevel=3)
        sizes = {cls.renamed.get(k, k): v for k, v in sizes.items()}
    unknown = set(sizes) - fields
    if unknown:
        raise unknown_name(f"{name} size", sorted(unknown)[0], sorted(fields))
    return dict(sizes)


def get_task(name: str, **sizes: object) -> SequenceTask:
    """An instance of the task ``name`` with the given sizes; unknown names list the close matches."""
    return _task_class(name)(**current_sizes(name, sizes))
