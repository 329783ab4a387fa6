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
from .native import DTYPES as NATIVE_DTYPES
from .native import available as native_available
from .native import native_gru_recurrence
from .recurrence import recurrence, recurrence_ref
from .torch_lstm import torch_lstm_recurrence
from .triton import available as triton_available
from .triton import triton_gru_recurrence

SequenceOp = Callable[..., tuple]


ANY = None          # a Backend field that accepts every value


@dataclass(frozen=True)
class Backend:
    """A way to run one (layer, direction) over a sequence; all share the signature of ``recurrence``.

    What it applies to is declared as data: the cell families it runs (keys of :data:`gatelab.cells.CELLS`),
    the activation names it has forms for, and whether it needs the recurrence to be linear in h (``linear``:
    True — only h-independent variants; False — only h-dependent ones; None — either). ``auto`` picks only
    among backends whose declaration covers the layout, so it never picks one that then raises.
    """

    name: str
    op: SequenceOp
    double_backward: bool
    summary: str
    transforms: bool = False            # runs under torch.func transforms (vmap, grad, jacrev) and jit tracing
    cells: tuple[str, ...] | None = ANY
    gate_activations: frozenset[str] | None = ANY
    candidate_activations: frozenset[str] | None = ANY
    linear: bool | None = ANY
    gpu_only: bool = False              # runs on the CPU only under an interpreter (tests), never for speed
    cpu_only: bool = False              # CPU tensors only (auto picks it only there; bench lists it only there)

    def applies(self, layout: CellLayout) -> bool:
        o, spec = layout.options, layout.options.spec
        return ((self.cells is ANY or spec.family in self.cells)
                and (self.gate_activations is ANY or o.gate_activation in self.gate_activations)
                and (self.candidate_activations is ANY or o.candidate_activation in self.candidate_activations)
                and (self.linear is ANY or spec.h_independent == self.linear))


_DECLARED = [
    Backend("ref", recurrence_ref, True, "readable reference: project x_t and step, under autograd",
            transforms=True),
    Backend("loop", recurrence, True, "input projection hoisted, autograd through a Python loop", transforms=True),
    Backend("native", native_gru_recurrence, False,
            "the whole time loop in compiled C++, forward and hand-written backward, products by torch's BLAS "
            "(GRU family with h-dependent gates; CPU, float32/float64; built on first use)", cells=("gru",),
            linear=False, cpu_only=True),
    Backend("fused", time_chunked(fused_gru_recurrence), False,
            "fused in-place step loop with a hand-written backward (GRU family)", cells=("gru",)),
    Backend("torch_lstm", torch_lstm_recurrence, True,
            "torch's own LSTM kernel (oneDNN on the CPU, cuDNN on CUDA) for the standard LSTM (sigmoid/tanh)",
            cells=("lstm",), gate_activations=frozenset({"sigmoid"}), candidate_activations=frozenset({"tanh"})),
    Backend("fused_lstm", time_chunked(fused_lstm_recurrence), False,
            "fused in-place step loop with a hand-written backward (LSTM, sigmoid/tanh)", cells=("lstm",),
            gate_activations=frozenset({"sigmoid"}), candidate_activations=frozenset({"tanh"})),
    Backend("linear", time_chunked(linear_gru_recurrence), False,
            "gates and candidate for all steps at once, then h_t = a_t h_{t-1} + b_t, one FMA per step",
            cells=("gru",), linear=True),
    Backend("scan", scan_gru_recurrence, False,
            "as 'linear', with a parallel (Hillis–Steele) scan: O(log T) depth, for GPUs and many cores",
            cells=("gru",), linear=True),
    Backend("triton", triton_gru_recurrence, False,
            "Triton kernels for the time loop, forward and backward (GRU family with h-dependent gates; CUDA, "
            "or the CPU under TRITON_INTERPRET=1)", cells=("gru",), linear=False, gpu_only=True),
]
BACKENDS: dict[str, Backend] = {b.name: b for b in _DECLARED}
TRITON_DTYPES = (torch.float32, torch.bfloat16, torch.float16)
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


def resolve_backend(requested: str, layout: CellLayout, device: torch.device,
                    dtype: torch.dtype = torch.float32) -> str:
    """The backend that will run: a forced one, else the requested one, else the rule for ``"auto"``.

    Under a torch.func transform or ``torch.jit.trace`` ``"auto"`` runs the ``"loop"`` backend (plain autograd
    ops, which every transform composes with); a forced backend that cannot is refused, naming the ones that can.
    Otherwise the ``"auto"`` rule (measured, see docs/benchmarks.md): h-independent variants solve their linear
    recurrence — one FMA per step on the CPU, the parallel scan on an accelerator; on CUDA with Triton installed
    the rest of the GRU family runs the Triton kernels (float32, bfloat16, float16); on the CPU it runs the
    compiled loop (float32, float64; built on first use) or, where that cannot be built, the fused Python loop;
    the sigmoid/tanh LSTM torch's own kernel (oneDNN, cuDNN); anything else the hoisted autograd loop.
    """
    name = _forced.get() or requested
    transformed = under_transform()
    if name == "auto" and transformed:                       # torch.func / jit.trace need plain autograd ops
        name = "loop"
    if name == "auto":
        linear = "linear" if device.type == "cpu" else "scan"
        triton = device.type == "cuda" and dtype in TRITON_DTYPES and triton_available(device)
        native = (device.type == "cpu" and dtype in NATIVE_DTYPES and not _tracing_fake_tensors()
                  and native_available())
        preferred = (linear, *(("triton",) if triton else ()), *(("native",) if native else ()), "fused",
                     "torch_lstm", "loop")
        name = next(n for n in preferred if BACKENDS[n].applies(layout))
    backend = BACKENDS[name]
    if not backend.applies(layout):
        raise bad_argument("backend", f"a backend that applies to variant {layout.options.variant!r}", name,
                           hint=backend.summary)
    if transformed and not backend.transforms:
        raise bad_argument("backend", f"one of {[b.name for b in _DECLARED if b.transforms]} (or 'auto') under "
                           "torch.func transforms and torch.jit.trace", name,
                           hint="its hand-written backward is not a composable autograd function")
    if backend.cpu_only and device.type != "cpu":
        raise bad_argument("backend", f"backend {name!r} on the CPU", str(device), hint="use 'auto'")
    if name == "triton":
        _check_triton(device, dtype)
    if name == "native":
        _check_native(device, dtype)
    return name


def under_transform() -> bool:
    """Whether a torch.func transform (vmap, grad, jacrev, …) or torch.jit tracing is running."""
    return torch.jit.is_tracing() or torch._C._functorch.peek_interpreter_stack() is not None


def _check_triton(device: torch.device, dtype: torch.dtype) -> None:
    """The Triton backend's requirements, as clear errors."""
    try:
        import triton  # noqa: F401
    except ImportError:
        raise bad_argument("backend", "an installed Triton for backend 'triton'", "no module 'triton'",
                           hint="pip install triton", kind=RuntimeError) from None
    if not triton_available(device):
        raise bad_argument("backend", "backend 'triton' on a CUDA device (or the CPU under TRITON_INTERPRET=1)",
                           str(device))
    if dtype not in TRITON_DTYPES or (device.type == "cpu" and dtype != torch.float32):
        allowed = "float32 (the CPU interpreter)" if device.type == "cpu" else "float32, bfloat16 or float16"
        raise bad_argument("dtype", f"{allowed} for backend 'triton'", str(dtype).removeprefix("torch."))


def _tracing_fake_tensors() -> bool:
    """Whether torch.compile / torch.export (and so torch.onnx.export) is tracing: its tensors have no data for
    compiled code to read, so ``auto`` keeps the fused loop, which traces as plain torch ops."""
    return torch.compiler.is_compiling()


def _check_native(device: torch.device, dtype: torch.dtype) -> None:
    """The compiled loop's requirements, as clear errors."""
    if _tracing_fake_tensors():
        raise bad_argument("backend", "a backend other than 'native' under torch.compile and torch.export",
                           "native", hint="the compiled loop reads the tensors' data; use 'auto' or 'fused'")
    if dtype not in NATIVE_DTYPES:
        raise bad_argument("dtype", "float32 or float64 for backend 'native'", str(dtype).removeprefix("torch."))
    if not native_available():
        raise bad_argument("backend", "a built compiled loop for backend 'native'", "no C++ compiler or a failed "
                           "build", hint="see the warning above; install g++ or set CXX", kind=RuntimeError)


def sequence_op(name: str) -> SequenceOp:
    return BACKENDS[name].op
