"""onnxruntime's CPU inference time for exported gatelab layers, beside gatelab's own and torch.nn.GRU's, measured
side by side in one run (medians of interleaved rounds; ratios against torch.nn.GRU).

    python benchmarks/bench_onnx.py [--rounds 7] [--sizes 32x256x64x64 32x256x64x256]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import onnxruntime as ort
import torch

import gatelab
from gatelab.layers import recurrent_layer

VARIANTS = ("gru", "mgu", "min_gru", "lstm")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--sizes", nargs="+", default=["32x256x64x64", "32x256x64x256"])
    args = parser.parse_args()
    options = ort.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    print(f"torch {torch.__version__}, onnxruntime {ort.__version__}, {torch.get_num_threads()} threads, "
          f"gatelab {gatelab.__version__}")
    print("| size | module | torch / gatelab ms | onnxruntime ms | × torch.nn.GRU (gatelab, onnxruntime) |")
    print("|---|---|---:|---:|---:|")
    folder = Path(tempfile.mkdtemp())
    for text in args.sizes:
        B, T, inputs, H = (int(v) for v in text.split("x"))
        x = torch.randn(B, T, inputs)
        reference = torch.nn.GRU(inputs, H, batch_first=True)
        runners = {"torch.nn.GRU": ((lambda m=reference, x=x: m(x)), None)}
        for variant in VARIANTS:
            layer = recurrent_layer(variant, inputs, H, batch_first=True)
            session = ort.InferenceSession(str(layer.to_onnx(folder / f"{variant}.onnx")), options,
                                           providers=["CPUExecutionProvider"])
            feeds = {"input": x.numpy(), "h0": torch.zeros(1, B, H).numpy()}
            if variant == "lstm":
                feeds["c0"] = feeds["h0"]
            runners[variant] = ((lambda m=layer, x=x: m(x)), (lambda s=session, f=feeds: s.run(None, f)))
        times: dict[tuple[str, int], list[float]] = {}
        with torch.no_grad():
            for _ in range(args.rounds):                       # interleaved: every contender once per round
                for name, pair in runners.items():
                    for which, run in enumerate(pair):
                        if run is None:
                            continue
                        start = time.perf_counter()
                        run()
                        times.setdefault((name, which), []).append(time.perf_counter() - start)
        base = statistics.median(times[("torch.nn.GRU", 0)])
        for name in runners:
            own = statistics.median(times[(name, 0)])
            onnx = statistics.median(times[(name, 1)]) if (name, 1) in times else None
            print(f"| B{B} T{T} I{inputs} H{H} | {name} | {1000 * own:.1f} | "
                  f"{'—' if onnx is None else f'{1000 * onnx:.1f}'} | {own / base:.2f}"
                  f"{'' if onnx is None else f', {onnx / base:.2f}'} |")


if __name__ == "__main__":
    main()
