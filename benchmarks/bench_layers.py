"""Forward+backward (and forward-only) time of every gatelab variant next to torch.nn.GRU, in one run.

    python benchmarks/bench_layers.py [--rounds 7] [--write docs/benchmarks.md]

Sizes follow the core issue: B=32, T=256, I=64, H=64 and H=256, float32 on the CPU.
"""

from __future__ import annotations

import argparse
import datetime
import sys
from pathlib import Path

import gatelab
from gatelab.bench import BenchSize, compare, machine_line, markdown_table

SIZES = [BenchSize(32, 256, 64, 64), BenchSize(32, 256, 64, 256)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--write", type=Path, help="write the tables into this Markdown file")
    args = parser.parse_args()
    names = gatelab.variants()
    rows = compare(names, SIZES, rounds=args.rounds, backward=True,
                   on_measure=lambda label: print(".", end="", flush=True, file=sys.stderr))
    rows += compare(names, SIZES, rounds=args.rounds, backward=False,
                    on_measure=lambda label: print(".", end="", flush=True, file=sys.stderr))
    print(file=sys.stderr)
    table = markdown_table(rows)
    print(table)
    if args.write:
        header = (f"<!-- written by benchmarks/bench_layers.py on {datetime.date.today()} -->\n"
                  f"Measured with `python benchmarks/bench_layers.py --rounds {args.rounds}`: {machine_line()}; "
                  f"medians of {args.rounds} interleaved rounds, ratios against torch.nn.GRU in the same run.\n\n")
        path = args.write
        text = path.read_text() if path.exists() else ""
        start, end = "<!-- bench_layers:start -->", "<!-- bench_layers:end -->"
        block = f"{start}\n{header}{table}\n{end}"
        if start in text and end in text:
            text = text[:text.index(start)] + block + text[text.index(end) + len(end):]
        else:
            text = text + ("\n" if text else "") + block + "\n"
        path.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
