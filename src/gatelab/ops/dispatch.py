"""The one place that chooses how a sequence is computed.

Every backend is declared once below with the layouts it applies to. ``backend="auto"`` picks per layout,
size and device (:func:`resolve_backend`); ``with use_backend("ref"):`` forces a backend everywhere inside the
block (tests compare paths with it). Layers record the backend they actually used in ``last_backend``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

import torch

from .._errors import bad_argument, unknown_name
from ..cells import CellLayout
from .chunked import time_chunked
from .fused_gru import fused_gru_recurrence
from .fused_lstm import fused_lstm_recurrence
from .linear_scan import linear_gru_recurrence, scan_gru_recurrence
from .recurrence import recurrence, recurrence_ref

SequenceOp = Callable[..., tuple]


def _any(layout: CellLayout) -> bool:
    return True


def _gru_family(layout: CellLayout) -> bool:
    return layout.options.spec.family == "gru"


def _lstm_sigmoid_tanh(layout: CellLayout) -> bool:
    o = layout.options
    return o.spec.family == "lstm" and (o.gate_activation, o.candidate_activation) == ("sigmoid", "tanh")


def _h_independent(layout: CellLayout) -> bool:
    return layout.options.spec.h_independent


@dataclass(frozen=True)
class Backend:
    """A way to run one (layer, direction) over a sequence; all share the signature of ``recurrence``."""

    name: str
    op: SequenceOp
    applies: Callable[[CellLayout], bool]
    double_backward: bool
    summary: str


_DECLARED = [
    Backend("ref", recurrence_ref, _any, True, "readable reference: project x_t and step, under autograd"),
    Backend("loop", recurrence, _any, True, "input projection hoisted, autograd through a Python loop"),
    Backend("fused", time_chunked(fused_gru_recurrence), _gru_family, False,
            "fused in-place step loop with a hand-written backward (GRU family)"),
    Backend("fused_lstm", time_chunked(fused_lstm_recurrence), _lstm_sigmoid_tanh, False,
            "fused in-place step loop with a hand-written backward (LSTM, sigmoid/tanh)"),
    Backend("linear", time_chunked(linear_gru_recurrence), _h_independent, False,
            "gates and candidate for all steps at once, then h_t = a_t h_{t-1} + b_t, one FMA per step"),
    Backend("scan", scan_gru_recurrence, _h_independent, False,
            "as 'linear', with a parallel (Hillis–Steele) scan: O(log T) depth, for GPUs and many cores"),
]
BACKENDS: dict[str, Backend] = {b.name: b for b in _DECLARED}
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
    """The backend that will run: a forced one, else the requested one, else the rule for ``"auto"``.

    The ``"auto"`` rule (measured, see docs/benchmarks.md): h-independent variants solve their linear
    recurrence — one FMA per step on the CPU, the parallel scan on an accelerator; the rest of the GRU family
    and the sigmoid/tanh LSTM run their fused loops; anything else the hoisted autograd loop.
    """
    name = _forced.get() or requested
    if name == "auto":
        if _h_independent(layout):
            name = "linear" if device.type == "cpu" else "scan"
        elif BACKENDS["fused"].applies(layout):
            name = "fused"
        elif BACKENDS["fused_lstm"].applies(layout):
            name = "fused_lstm"
        else:
            name = "loop"
    backend = BACKENDS[name]
    if not backend.applies(layout):
        raise bad_argument("backend", f"a backend that applies to variant {layout.options.variant!r}", name,
                           hint=backend.summary)
    return name


def sequence_op(name: str) -> SequenceOp:
    return BACKENDS[name].op
