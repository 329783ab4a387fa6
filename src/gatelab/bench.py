"""Side-by-side timings of gatelab layers and ``torch.nn.GRU``, measured in one run.

Rounds are interleaved across all modules of a size, so that drift and noisy neighbours hit every module alike;
the figure reported is the median, the ratio is against ``torch.nn.GRU``'s median of the same run. Achieved
GFLOP/s are given against a matrix-product ceiling measured in the same process. Peak memory is measured in a
fresh subprocess per module (the rise of the peak resident set, VmHWM, over one forward+backward), since CPU
PyTorch has no allocator statistics.
"""

from __future__ import annotations

import json
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch
from torch import nn

from ._errors import bad_argument
from .layers import GRU, LSTM, recurrent_layer
from .ops import recurrence_trace
from .ops.dispatch import BACKENDS

REFERENCE = "torch.nn.GRU"
TORCH_LSTM = "torch.nn.LSTM"
NAIVE = "naive"           # the per-step loop a user writes by hand: x[:, t], project, step, autograd


@dataclass(frozen=True)
class BenchSize:
    batch: int
    steps: int
    input_size: int
    hidden_size: int

    def __str__(self) -> str:
        return f"B={self.batch} T={self.steps} I={self.input_size} H={self.hidden_size}"

    @classmethod
    def parse(cls, text: str) -> BenchSize:
        """``"32x256x64x64"`` → B=32, T=256, I=64, H=64."""
        parts = text.lower().split("x")
        if len(parts) != 4 or not all(p.isdigit() and int(p) > 0 for p in parts):
            raise bad_argument("sizes", "BxTxIxH with four positive integers, e.g. 32x256x64x64", text)
        return cls(*(int(p) for p in parts))


@dataclass(frozen=True)
class Contender:
    """One module to time: a variant under a backend, torch.nn.GRU, or the naive loop of a variant."""

    variant: str | None      # None for torch.nn.GRU; "lstm" with backend "aten" for torch.nn.LSTM
    backend: str             # a gatelab backend, "aten" for torch, "naive"

    @property
    def label(self) -> str:
        if self.backend == "aten":
            return REFERENCE if self.variant is None else TORCH_LSTM
        return f"{self.variant} [{self.backend}]"


@dataclass(frozen=True)
class BenchRow:
    size: str
    mode: str                # "forward+backward" or "forward (no grad)"
    label: str
    variant: str | None
    backend: str
    median_ms: float
    ratio: float             # median / torch.nn.GRU's median, same size and mode
    gflops: float            # achieved GFLOP/s (matrix products only)
    peak_mb: float | None = None


def contenders(variants: list[str], backends: list[str] | None, naive: bool,
               device: str = "cpu") -> list[Contender]:
    """torch.nn.GRU first (and torch.nn.LSTM when the LSTM is asked for), then every variant under every
    applicable backend (or those asked for); GPU-only backends only on a GPU, CPU-only ones only on the CPU."""
    chosen = [Contender(None, "aten")] + ([Contender("lstm", "aten")] if "lstm" in variants else [])
    for name in variants:
        layout = _make(Contender(name, "auto"), BenchSize(1, 1, 1, 1), torch.float32).layouts[0]
        for backend, spec in BACKENDS.items():
            if backend == "ref" or not spec.applies(layout) or (backends and backend not in backends) or (
                    spec.gpu_only and device == "cpu") or (spec.cpu_only and device != "cpu"):
                continue
            chosen.append(Contender(name, backend))
        if naive:
            chosen.append(Contender(name, NAIVE))
    return chosen


def _make(c: Contender, size: BenchSize, dtype: torch.dtype) -> nn.Module:
    if c.backend == "aten":
        torch_layer = nn.GRU if c.variant is None else nn.LSTM
        return torch_layer(size.input_size, size.hidden_size, batch_first=True, dtype=dtype)
    backend = "loop" if c.backend in (NAIVE, "auto") else c.backend
    return recurrent_layer(c.variant, size.input_size, size.hidden_size, batch_first=True, backend=backend,
                           dtype=dtype)


def naive_forward(layer: GRU | LSTM, x: torch.Tensor) -> torch.Tensor:
    """What a hand-written recurrent layer does: index x[:, t], project it, take a cell step, under autograd."""
    return recurrence_trace(x.transpose(0, 1), None, layer.layouts[0], layer.cell_params(0, 0)).hidden.transpose(0, 1)


TRAINING_STEP = "training step (Adam)"


def _runner(c: Contender, module: nn.Module, x: torch.Tensor, backward: bool | str) -> Callable[[], None]:
    """One timed call: forward+backward (``backward=True``), forward without grad (False), or a whole training
    step of a small regression model — layer, linear head on the last output, MSE, backward, Adam
    (``TRAINING_STEP``: what the lab pays per step)."""
    def forward() -> torch.Tensor:
        return naive_forward(module, x) if c.backend == NAIVE else module(x)[0]

    def forward_backward() -> None:
        forward().sum().backward()

    def forward_only() -> None:
        with torch.no_grad():
            forward()

    if backward == TRAINING_STEP:
        head = nn.Linear(module.hidden_size, 1)
        target = torch.randn(x.shape[0], 1, generator=torch.Generator().manual_seed(1))
        optimizer = torch.optim.Adam([*module.parameters(), *head.parameters()], lr=1e-3)

        def training_step() -> None:
            optimizer.zero_grad(set_to_none=True)
            torch.nn.functional.mse_loss(head(forward()[:, -1]), target).backward()
            optimizer.step()

        return training_step
    return forward_backward if backward else forward_only


def matmul_flops(c: Contender, size: BenchSize, backward: bool) -> float:
    """Multiply-adds ×2 of the matrix products: the input projection and the recurrent products (the
    backward does each twice more: the data and the weight gradients)."""
    if c.backend == "aten":
        n_x = n_h = 3 if c.variant is None else 4
    else:
        layout = _make(c, BenchSize(1, 1, 1, 1), torch.float32).layouts[0]
        n_x, n_h = len(layout.ih_blocks), len(layout.hh_blocks)
    forward = 2.0 * size.batch * size.steps * size.hidden_size * (size.input_size * n_x + size.hidden_size * n_h)
    return forward * (3.0 if backward else 1.0)


def matmul_ceiling(n: int = 1024, rounds: int = 5) -> float:
    """GFLOP/s of a large square float32 matrix product on this machine (best of ``rounds``)."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    best = min(_seconds(lambda: a @ b) for _ in range(rounds))
    return 2.0 * n ** 3 / best / 1e9


def _seconds(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def compare(chosen: list[Contender], sizes: list[BenchSize], *, rounds: int = 7, backward: bool | str = True,
            on_measure: Callable[[str], None] | None = None) -> list[BenchRow]:
    """Median time of each contender per size, rounds interleaved across contenders. ``backward``: True for
    forward+backward, False for inference, :data:`TRAINING_STEP` for a whole training step."""
    rows: list[BenchRow] = []
    mode = backward if isinstance(backward, str) else "forward+backward" if backward else "forward (no grad)"
    for size in sizes:
        torch.manual_seed(0)
        x = torch.randn(size.batch, size.steps, size.input_size)
        runners = {}
        for c in chosen:
            torch.manual_seed(0)
            runners[c] = _runner(c, _make(c, size, torch.float32), x, backward)
        for run in runners.values():                                          # warm-up
            run()
        times: dict[Contender, list[float]] = {c: [] for c in runners}
        for _ in range(rounds):
            for c, run in runners.items():
                times[c].append(_seconds(run))
                if on_measure is not None:
                    on_measure(f"{size} {c.label}")
        reference = statistics.median(times[chosen[0]])
        for c, samples in times.items():
            median = statistics.median(samples)
            rows.append(BenchRow(str(size), mode, c.label, c.variant, c.backend, median * 1e3, median / reference,
                                 matmul_flops(c, size, bool(backward)) / median / 1e9))
    return rows


_PEAK_SCRIPT = """
import json, sys, torch
from gatelab.bench import BenchSize, Contender, _make, _runner
c = Contender(*json.loads(sys.argv[1])); size = BenchSize(*json.loads(sys.argv[2]))
torch.manual_seed(0)
x = torch.randn(size.batch, size.steps, size.input_size)
module = _make(c, size, torch.float32)
def status_kb(field):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field + ":"))
with open("/proc/self/clear_refs", "w") as f:   # reset VmHWM, the peak resident set of this process image
    f.write("5")
before = status_kb("VmRSS")
_runner(c, module, x, True)()
print(json.dumps((status_kb("VmHWM") - before) / 1024))
"""


def peak_memory_mb(c: Contender, size: BenchSize) -> float:
    """Rise of the resident set (MiB) over one forward+backward, in a fresh process."""
    result = subprocess.run([sys.executable, "-c", _PEAK_SCRIPT, json.dumps([c.variant, c.backend]),
                             json.dumps(list(asdict(size).values()))],
                            capture_output=True, text=True, timeout=600, check=True)
    return float(result.stdout.strip().splitlines()[-1])


def machine_line() -> str:
    return (f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
            f"{platform.processor() or platform.machine()}, Python {platform.python_version()}")


def markdown_table(rows: list[BenchRow], ceiling: float | None = None) -> str:
    head = "| size | mode | module | median ms | × torch.nn.GRU | GFLOP/s |"
    rule = "|---|---|---|---:|---:|---:|"
    with_peak = any(r.peak_mb is not None for r in rows)
    if with_peak:
        head, rule = head + " peak MiB |", rule + "---:|"
    lines = [head, rule]
    for r in rows:
        share = f" ({100 * r.gflops / ceiling:.0f}%)" if ceiling else ""
        line = f"| {r.size} | {r.mode} | {r.label} | {r.median_ms:.1f} | {r.ratio:.2f} | {r.gflops:.1f}{share} |"
        if with_peak:
            line += f" {r.peak_mb:.0f} |" if r.peak_mb is not None else " |"
        lines.append(line)
    return "\n".join(lines)
