"""The speed and memory figures of docs/benchmarks.md, measured side by side with torch.nn.GRU in one run.

    python benchmarks/bench_layers.py [--rounds 5] [--write docs/benchmarks.md]

1. B=32, T=256, I=64, H=64 and H=256: every variant under every backend that applies (the compiled loop
   ``native`` among them), torch.nn.GRU and torch.nn.LSTM, plus the naive hand-written autograd loop of each
   variant; forward+backward and forward (no grad).
2. B=16, T=4096, I=64, H=128: the h-independent variants under each backend (the parallel-scan target).
3. The lab's training step (B=32, T=100, I=4, H=32; layer + linear head + MSE + backward + Adam) on one thread:
   the GRU family under ``native`` and ``fused`` against torch.nn.GRU.
4. Peak memory of forward+backward (the backend ``"auto"`` picks, ``fused`` beside ``native``, and
   torch.nn.GRU), each in a fresh process.
5. The targets of the compiled-loop issue, each checked against the figures just measured.
"""

from __future__ import annotations

import argparse
import datetime
import sys
from pathlib import Path

import torch

import gatelab
from gatelab.bench import (
    TORCH_LSTM,
    TRAINING_STEP,
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
LAB = [BenchSize(32, 100, 4, 32)]


def auto_backend(variant: str) -> str:
    layer = gatelab.LSTM(1, 1) if variant == "lstm" else gatelab.GRU(1, 1, variant=variant)
    return resolve_backend("auto", layer.layouts[0], torch.device("cpu"))


def find(rows: list[BenchRow], size: BenchSize, mode: str, variant: str | None, backend: str) -> BenchRow:
    return next(r for r in rows if r.size == str(size) and r.mode == mode and r.variant == variant
                and r.backend == backend)


def targets(rows: list[BenchRow], memory: dict[tuple[str, str | None, str], float]) -> list[tuple[str, str, bool]]:
    """(target, measured, met) for each target of the compiled-loop issue (ratios against torch.nn.GRU, or
    torch.nn.LSTM for the LSTM, from the same run)."""
    checks = []
    fb, fwd = "forward+backward", "forward (no grad)"
    lab = find(rows, LAB[0], TRAINING_STEP, "gru", auto_backend("gru"))
    checks.append((f"lab training step (gru [{lab.backend}], {LAB[0]}, 1 thread) ≤ 0.2× torch.nn.GRU",
                   f"{lab.ratio:.2f}×", lab.ratio <= 0.2))
    for size, limit in zip(SHORT, (0.5, 0.6), strict=True):
        r = find(rows, size, fb, "gru", auto_backend("gru"))
        checks.append((f"gru [{r.backend}] ≤ {limit}× at H={size.hidden_size}, fwd+bwd", f"{r.ratio:.2f}×",
                       r.ratio <= limit))
        r = find(rows, size, fwd, "gru", auto_backend("gru"))
        checks.append((f"gru [{r.backend}] inference ≤ 0.6× at H={size.hidden_size}", f"{r.ratio:.2f}×",
                       r.ratio <= 0.6))
        for variant in gatelab.variants():
            backend = auto_backend(variant)
            if variant in ("gru", "lstm") or gatelab.get_variant(variant).h_independent:
                continue
            r = find(rows, size, fb, variant, backend)
            checks.append((f"{variant} [{backend}] ≤ 0.8× at H={size.hidden_size}, fwd+bwd", f"{r.ratio:.2f}×",
                           r.ratio <= 0.8))
        for mode in (fb, fwd):
            ours, torch_lstm = find(rows, size, mode, "lstm", auto_backend("lstm")), find(rows, size, mode, "lstm",
                                                                                           "aten")
            ratio = ours.median_ms / torch_lstm.median_ms
            checks.append((f"gatelab.LSTM [{ours.backend}] ≤ 1.0× {TORCH_LSTM} at H={size.hidden_size}, {mode}",
                           f"{ratio:.2f}×", ratio <= 1.0))
    for variant in gatelab.variants():
        if gatelab.get_variant(variant).h_independent:
            r = find(rows, LONG[0], fb, variant, auto_backend(variant))
            checks.append((f"{variant} [{r.backend}] ≤ 0.25× at {LONG[0]}, fwd+bwd", f"{r.ratio:.2f}×",
                           r.ratio <= 0.25))
    for (size, variant, backend), peak in memory.items():
        if backend == "native":
            fused = memory[(size, variant, "fused")]
            checks.append((f"{variant} [native] peak memory ≤ [fused] at {size}",
                           f"{peak:.0f} / {fused:.0f} MiB = {peak / fused:.2f}×", peak <= fused))
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
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    lab_contenders = [c for c in contenders([v for v in gatelab.variants() if v not in independent and v != "lstm"],
                                            ["native", "fused"], naive=False)]
    rows += compare(lab_contenders, LAB, rounds=args.rounds + 4, backward=TRAINING_STEP, on_measure=tick)
    torch.set_num_threads(threads)
    memory: dict[tuple[str, str | None, str], float] = {}
    for size in SHORT + LONG:
        chosen = [(None, "aten")]
        for v in gatelab.variants():
            if (size in LONG) == (v in independent):
                chosen.append((v, auto_backend(v)))
                if auto_backend(v) == "native":
                    chosen.append((v, "fused"))
        for variant, backend in chosen:
            memory[(str(size), variant, backend)] = peak_memory_mb(Contender(variant, backend), size)
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
    lines += [f"| {size} | {variant or 'torch.nn.GRU'} | {backend} | {peak:.0f} |"
              for (size, variant, backend), peak in memory.items()]
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
