"""GPU check and timing of the Triton backend, side by side with torch.nn.GRU (cuDNN) and the plain-torch loop.

    python benchmarks/bench_gpu.py [--out DIR] [--budget SECONDS] [--quick]

1. Parity at full size on the GPU (float32, IEEE products): every h-dependent variant, both reset placements,
   B=64, T=256, H=256 — outputs, final state and every gradient against the reference twin.
2. One table: forward and forward+backward milliseconds of gatelab (Triton) vs torch.nn.GRU (cuDNN) for `gru`
   on the grid B ∈ {16, 64, 256} × T ∈ {256, 1024} × H ∈ {128, 256, 512}, float32 and bfloat16; every other
   h-dependent variant, and the plain-torch loop, at the target size B=64, T=1024, H=256.
3. The h-independent scan (min_gru, backend "scan") at B=64, T=4096, H=256: achieved memory bandwidth.
Writes gpu_table.md (and gpu_results.json) to --out (default: $OUT, else the current folder). Stops adding rows
when the time budget (default 420 s) is spent, and says so in the table.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import torch

import gatelab
from gatelab.ops import recurrence_ref
from gatelab.ops.triton import triton_gru_recurrence

PEAK_BANDWIDTH_GBS = {"H100 SXM": 3350, "H100 PCIe": 2000, "H100 NVL": 3900, "H200": 4800, "A100-SXM4-80GB": 2039,
                      "A100-SXM4-40GB": 1555, "A100-PCIE": 1555, "L40S": 864, "L4": 300}
H_DEPENDENT = [v for v in gatelab.variants("gru") if not gatelab.get_variant(v).h_independent]


def peak_bandwidth(name: str) -> float | None:
    for key, value in PEAK_BANDWIDTH_GBS.items():
        if all(part in name for part in key.split()):
            return value
    return None


def timed(fn, reps: int = 5) -> float:
    """Median milliseconds of ``fn`` over ``reps`` runs after one warm-up (which also compiles)."""
    fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


def parity(report: list[str]) -> bool:
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    ok = True
    for variant in H_DEPENDENT:
        for reset in ("after", "before"):
            torch.manual_seed(0)
            layer = gatelab.GRU(64, 256, variant=variant, reset=reset, device="cuda")
            x = torch.randn(256, 64, 64, device="cuda", requires_grad=True)
            h0 = torch.randn(64, 256, device="cuda", requires_grad=True)
            results = []
            for op in (triton_gru_recurrence, recurrence_ref):
                out, (h_n,) = op(x, (h0,), layer.layouts[0], layer.cell_params(0, 0), None)
                loss = out.sum() + (h_n * h_n).sum()
                results.append((out, h_n, torch.autograd.grad(loss, [x, h0, *layer.parameters()])))
            (a_out, a_h, a_g), (b_out, b_h, b_g) = results
            errors = [float((a - b).abs().max() / b.abs().max().clamp_min(1e-30))
                      for a, b in [(a_out, b_out), (a_h, b_h), *zip(a_g, b_g, strict=True)]]
            worst = max(errors)
            ok &= worst < 1e-4
            report.append(f"| {variant} | {reset} | {worst:.2e} | {'ok' if worst < 1e-4 else 'MISMATCH'} |")
    torch.backends.cudnn.allow_tf32 = True
    torch.backends.cuda.matmul.allow_tf32 = True
    return ok


def layer_pair(variant: str, B: int, T: int, H: int, dtype: torch.dtype, backend: str):
    torch.manual_seed(0)
    if backend == "cudnn":
        layer = torch.nn.GRU(H, H, device="cuda", dtype=dtype)
    else:
        layer = gatelab.GRU(H, H, variant=variant, reset="after", backend=backend, device="cuda", dtype=dtype)
    x = torch.randn(T, B, H, device="cuda", dtype=dtype, requires_grad=True)
    return layer, x


def measure(variant: str, B: int, T: int, H: int, dtype: torch.dtype, backend: str) -> tuple[float, float]:
    layer, x = layer_pair(variant, B, T, H, dtype, backend)

    def forward():
        with torch.no_grad():
            layer(x)

    def forward_backward():
        out, _ = layer(x)
        out.float().sum().backward()

    return timed(forward), timed(forward_backward, reps=3 if backend == "loop" else 5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default=os.environ.get("OUT", "."))
    parser.add_argument("--budget", type=float, default=420.0)
    parser.add_argument("--quick", action="store_true", help="parity and the target size only")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("bench_gpu: expected a CUDA GPU, found none")
    start = time.perf_counter()
    name = torch.cuda.get_device_name()
    lines = [f"# Triton backend on {name} (torch {torch.__version__}, triton "
             f"{__import__('triton').__version__})", "", "## Parity at B=64, T=256, H=256, float32 (IEEE)", "",
             "| variant | reset | max relative error (outputs, h_n, all gradients) | |", "|---|---|---:|---|"]
    parity_ok = parity(lines)
    lines += ["", f"parity: {'all ok' if parity_ok else 'MISMATCHES above'} ({time.perf_counter() - start:.0f} s)", ""]
    results = []
    lines += ["## Times (ms, median; ratios against torch.nn.GRU / cuDNN measured in the same run)", "",
              "| variant | dtype | B | T | H | gatelab fwd | cuDNN fwd | ratio | gatelab fwd+bwd | cuDNN fwd+bwd | "
              "ratio | loop fwd+bwd | loop / gatelab |",
              "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    target = (64, 1024, 256)
    grid = [(B, T, H) for B in (16, 64, 256) for T in (256, 1024) for H in (128, 256, 512)]
    rows = [("gru", dtype, *size) for dtype in (torch.float32, torch.bfloat16) for size in
            ([target] if args.quick else [target] + [s for s in grid if s != target])]
    rows[1:1] = [(v, dtype, *target) for dtype in (torch.float32, torch.bfloat16) for v in H_DEPENDENT if v != "gru"]
    cudnn_cache: dict = {}
    for variant, dtype, B, T, H in rows:
        if time.perf_counter() - start > args.budget:
            lines.append(f"| (time budget of {args.budget:.0f} s spent: the remaining rows were not measured) |")
            break
        try:
            key = (dtype, B, T, H)
            if key not in cudnn_cache:
                cudnn_cache[key] = measure("gru", B, T, H, dtype, "cudnn")
            ours = measure(variant, B, T, H, dtype, "triton")
            loop = measure(variant, B, T, H, dtype, "loop") if (B, T, H) == target else (float("nan"),) * 2
        except Exception as error:  # noqa: BLE001 — one failing size must not lose the table
            lines.append(f"| {variant} | {dtype} | {B} | {T} | {H} | failed: {type(error).__name__}: "
                         f"{str(error)[:120]} |")
            continue
        cudnn = cudnn_cache[key]
        results.append({"variant": variant, "dtype": str(dtype), "B": B, "T": T, "H": H, "triton": ours,
                        "cudnn": cudnn, "loop": loop})
        lines.append(f"| {variant} | {str(dtype).removeprefix('torch.')} | {B} | {T} | {H} | {ours[0]:.2f} | "
                     f"{cudnn[0]:.2f} | {ours[0] / cudnn[0]:.2f}× | {ours[1]:.2f} | {cudnn[1]:.2f} | "
                     f"{ours[1] / cudnn[1]:.2f}× | {loop[1]:.1f} | {loop[1] / ours[1]:.1f}× |")
    lines += ["", "## The h-independent scan (min_gru, backend 'scan', float32)", ""]
    try:
        B, T, H = 64, 4096, 256
        layer = gatelab.GRU(H, H, variant="min_gru", backend="scan", device="cuda")
        x = torch.randn(T, B, H, device="cuda")
        xw = torch.nn.functional.linear(x, layer.cell_params(0, 0).weight_ih)
        ms = timed(lambda: layer(x)[0].sum())
        # the recurrence proper reads the gates and candidates (2·T·B·H) and writes h (T·B·H), float32
        moved = 3 * T * B * H * 4
        peak = peak_bandwidth(name)
        lines.append(f"min_gru B={B} T={T} H={H}: {ms:.2f} ms for the whole layer; {moved / ms / 1e6:.0f} GB/s "
                     f"counting only the recurrence's traffic" + (f" = {100 * moved / ms / 1e6 / peak:.0f}% of the "
                                                                 f"{peak} GB/s peak" if peak else ""))
        del xw
    except Exception as error:  # noqa: BLE001
        lines.append(f"scan failed: {type(error).__name__}: {error}")
    lines.append(f"\ntotal {time.perf_counter() - start:.0f} s")
    text = "\n".join(lines) + "\n"
    print(text)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "gpu_table.md").write_text(text)
    (out / "gpu_results.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
