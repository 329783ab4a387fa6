"""Side-by-side timings of gatelab layers and ``torch.nn.GRU``, measured in one run (interleaved rounds)."""

from __future__ import annotations

import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from .layers import GRU, LSTM
from .registry import get_variant

REFERENCE = "torch.nn.GRU"


@dataclass(frozen=True)
class BenchSize:
    batch: int
    steps: int
    input_size: int
    hidden_size: int

    def __str__(self) -> str:
        return f"B={self.batch} T={self.steps} I={self.input_size} H={self.hidden_size}"


@dataclass(frozen=True)
class BenchRow:
    size: BenchSize
    name: str            # a variant, or torch.nn.GRU
    mode: str            # "forward+backward" or "forward (no grad)"
    median_ms: float
    ratio: float         # median time / torch.nn.GRU's median time, same size and mode
    backend: str


def _module(name: str, size: BenchSize) -> nn.Module:
    if name == REFERENCE:
        return nn.GRU(size.input_size, size.hidden_size, batch_first=True)
    if get_variant(name).family == "lstm":
        return LSTM(size.input_size, size.hidden_size, batch_first=True)
    return GRU(size.input_size, size.hidden_size, batch_first=True, variant=name)


def _runner(module: nn.Module, x: torch.Tensor, backward: bool) -> Callable[[], None]:
    def forward_backward() -> None:
        out, _ = module(x)
        out.sum().backward()

    def forward_only() -> None:
        with torch.no_grad():
            module(x)

    return forward_backward if backward else forward_only


def compare(names: list[str], sizes: list[BenchSize], *, rounds: int = 7, backward: bool = True,
            on_measure: Callable[[str], None] | None = None) -> list[BenchRow]:
    """Median time of each module per size, rounds interleaved across modules so drift hits all alike."""
    rows: list[BenchRow] = []
    mode = "forward+backward" if backward else "forward (no grad)"
    for size in sizes:
        torch.manual_seed(0)
        x = torch.randn(size.batch, size.steps, size.input_size)
        modules = {name: _module(name, size) for name in [REFERENCE, *names]}
        runners = {name: _runner(m, x, backward) for name, m in modules.items()}
        for run in runners.values():                                  # warm-up
            run()
        times: dict[str, list[float]] = {name: [] for name in runners}
        for _ in range(rounds):
            for name, run in runners.items():
                start = time.perf_counter()
                run()
                times[name].append(time.perf_counter() - start)
                if on_measure is not None:
                    on_measure(f"{size} {name}")
        reference = statistics.median(times[REFERENCE])
        for name, samples in times.items():
            median = statistics.median(samples)
            backend = getattr(modules[name], "last_backend", None) or "aten"
            rows.append(BenchRow(size, name, mode, median * 1e3, median / reference, backend))
    return rows


def machine_line() -> str:
    return (f"torch {torch.__version__}, {torch.get_num_threads()} threads, {platform.processor() or platform.machine()}"
            f", Python {platform.python_version()}")


def markdown_table(rows: list[BenchRow]) -> str:
    lines = ["| size | mode | module | backend | median ms | × torch.nn.GRU |", "|---|---|---|---|---:|---:|"]
    for r in rows:
        lines.append(f"| {r.size} | {r.mode} | {r.name} | {r.backend} | {r.median_ms:.1f} | {r.ratio:.2f} |")
    return "\n".join(lines)
