"""The speed and memory figures of docs/benchmarks.md, measured side by side with torch.nn.GRU in one run.

    python benchmarks/bench_layers.py [--rounds 5] [--write docs/benchmarks.md]

1. B=32, T=256, I=64, H=64 and H=256: every variant under every backend that applies, plus the naive
   hand-written autograd loop of each variant; forward+backward and forward (no grad).
2. B=16, T=4096, I=64, H=128: the h-independent variants under each backend (the parallel-scan target).
3. Peak memory of forward+backward (the backend ``"auto"`` picks, and torch.nn.GRU), each in a fresh process.
4. The targets of the CPU-speed issue, each checked against the figures just measured.
"""

from __future__ import annotations

import argparse
import datetime
import sys
from pathlib import Path

import torch

import gatelab
from gatelab.bench import (
    NAIVE,
    BenchRow,
    BenchSize,
    Contender,
    compare,
    contenders,
    machine_line,
    markdown_table,
    matmul_ceiling,
    peak_memory_mb,
)
from gatelab.ops import resolve_backend

SHORT = [BenchSize(32, 256, 64, 64), BenchSize(32, 256, 64, 256)]
LONG = [BenchSize(16, 4096, 64, 128)]


def auto_backend(variant: str) -> str:
    layer = gatelab.LSTM(1, 1) if variant == "lstm" else gatelab.GRU(1, 1, variant=variant)
    return resolve_backend("auto", layer.layouts[0], torch.device("cpu"))


def find(rows: list[BenchRow], size: BenchSize, mode: str, variant: str | None, backend: str) -> BenchRow:
    return next(r for r in rows if r.size == str(size) and r.mode == mode and r.variant == variant
                and r.backend == backend)


def targets(rows: list[BenchRow], memory: dict[tuple[str, str | None], float]) -> list[tuple[str, str, bool]]:
    """(target, measured, met) for each target of the CPU-speed issue."""
    checks = []
    fb, fwd = "forward+backward", "forward (no grad)"
    for variant in gatelab.variants():
        backend = auto_backend(variant)
        if gatelab.get_variant(variant).h_independent:
            r = find(rows, LONG[0], fb, variant, backend)
            checks.append((f"{variant} [{backend}] ≤ 0.25× at {LONG[0]}, fwd+bwd", f"{r.ratio:.2f}×", r.ratio <= 0.25))
            continue
        for size, limit in zip(SHORT, (0.8, 1.0)):
            r = find(rows, size, fb, variant, backend)
            checks.append((f"{variant} [{backend}] ≤ {limit}× at H={size.hidden_size}, fwd+bwd",
                           f"{r.ratio:.2f}×", r.ratio <= limit))
            naive = find(rows, size, fb, variant, NAIVE)
            speedup = naive.median_ms / r.median_ms
            checks.append((f"{variant} [{backend}] ≥ 3× faster than its naive loop at H={size.hidden_size}",
                           f"{speedup:.1f}×", speedup >= 3.0))
            inference = find(rows, size, fwd, variant, backend)
            checks.append((f"{variant} [{backend}] inference ≤ 1.0× at H={size.hidden_size}",
                           f"{inference.ratio:.2f}×", inference.ratio <= 1.0))
    for (size, variant), peak in memory.items():
        if variant is None:
            continue
        reference = memory[(size, None)]
        checks.append((f"{variant} [{auto_backend(variant)}] peak memory ≤ 1.2× at {size}",
                       f"{peak:.0f} / {reference:.0f} MiB = {peak / reference:.2f}×", peak <= 1.2 * reference))
    return checks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--write", type=Path, help="write the results into this Markdown file")
    args = parser.parse_args()
    tick = lambda label: print(".", end="", flush=True, file=sys.stderr)  # noqa: E731

    ceiling = matmul_ceiling()
    everyone = contenders(gatelab.variants(), None, naive=True)
    independent = [v for v in gatelab.variants() if gatelab.get_variant(v).h_independent]
    rows = []
    for backward in (True, False):
        rows += compare(everyone, SHORT, rounds=args.rounds, backward=backward, on_measure=tick)
        rows += compare(contenders(independent, None, naive=False), LONG, rounds=max(2, args.rounds - 2),
                        backward=backward, on_measure=tick)
    memory: dict[tuple[str, str | None], float] = {}
    for size in SHORT + LONG:
        chosen = [None] + [v for v in gatelab.variants() if (size in LONG) == (v in independent)]
        for variant in chosen:
            contender = Contender(variant, "aten" if variant is None else auto_backend(variant))
            memory[(str(size), variant)] = peak_memory_mb(contender, size)
            tick("")
    print(file=sys.stderr)

    checks = targets(rows, memory)
    met = sum(ok for *_, ok in checks)
    lines = [f"Measured by `python benchmarks/bench_layers.py --rounds {args.rounds}` on {datetime.date.today()}: "
             f"{machine_line()}; matrix-product ceiling {ceiling:.0f} GFLOP/s (1024² float32). Medians of "
             f"interleaved rounds; every ratio is against torch.nn.GRU measured in the same run.", "",
             f"### Targets ({met} of {len(checks)} met)", "", "| target | measured | met |", "|---|---:|:---:|"]
    lines += [f"| {name} | {value} | {'yes' if ok else '**no**'} |" for name, value, ok in checks]
    lines += ["", "### Peak memory of one forward+backward (MiB, rise of the peak resident set, fresh process)", "",
              "| size | module | backend | peak MiB |", "|---|---|---|---:|"]
    lines += [f"| {size} | {variant or 'torch.nn.GRU'} | {'aten' if variant is None else auto_backend(variant)} "
              f"| {peak:.0f} |" for (size, variant), peak in memory.items()]
    lines += ["", "### Times", "", markdown_table(rows, ceiling)]
    text = "\n".join(lines)
    print(text)
    if args.write:
        start, end = "<!-- bench_layers:start -->", "<!-- bench_layers:end -->"
        old = args.write.read_text() if args.write.exists() else ""
        block = f"{start}\n{text}\n{end}"
        if start in old and end in old:
            new = old[:old.index(start)] + block + old[old.index(end) + len(end):]
        else:
            new = old + ("\n" if old else "") + block + "\n"
        args.write.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
