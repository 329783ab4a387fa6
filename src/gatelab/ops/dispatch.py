"""The one place that chooses how a sequence is computed.

``backend="auto"`` picks per layout and device; ``with use_backend("ref"):`` forces a backend everywhere
inside the block (tests use it to compare paths). Layers record the backend they actually used.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import torch

from .._errors import unknown_name
from ..cells import CellLayout
from .recurrence import recurrence, recurrence_ref

SequenceOp = Callable[..., tuple]

BACKENDS: dict[str, SequenceOp] = {
    "loop": recurrence,        # input projection hoisted, autograd through a Python loop over cell steps
    "ref": recurrence_ref,     # the readable reference: projection step by step
}
BACKEND_CHOICES = ("auto", *BACKENDS)

_forced: ContextVar[str | None] = ContextVar("gatelab_forced_backend", default=None)


def check_backend(name: object) -> str:
    if name not in BACKEND_CHOICES:
        raise unknown_name("backend", name, BACKEND_CHOICES)
    return name  # type: ignore[return-value]


@contextmanager
def use_backend(name: str) -> Iterator[None]:
    """Force ``name`` for every gatelab layer run inside the block (overrides the layers' own setting)."""
    token = _forced.set(check_backend(name))
    try:
        yield
    finally:
        _forced.reset(token)


def resolve_backend(requested: str, layout: CellLayout, device: torch.device) -> str:
    """The backend that will run: a forced one, else the requested one, else the rule for ``"auto"``."""
    name = _forced.get() or requested
    if name != "auto":
        return name
    return "loop"  # the only fast path so far; fused CPU ops and GPU kernels will be chosen here


def sequence_op(name: str) -> SequenceOp:
    return BACKENDS[name]
