"""How big is a study, and how long would it take on this machine? Its runs per (task, variant), and the time of
one block of training steps measured for each, at the sizes the study gives them.

    python benchmarks/size_of_study.py [PRESET_OR_FILE] [--workers 2] [--block 25]

For every task entry and variant it builds the study's first run (seed 0, its hidden size after parameter
matching, the first configuration) and times ``--block`` training steps plus one evaluation on the validation
batch — one evaluation interval of the study when ``--block`` is its ``eval_every`` — in one process with one torch
thread, as a local worker runs. The ceiling of a run is its budget's worth of blocks; a run that meets its criterion
stops earlier, so the study takes less (for ``standard``, measured end to end at 54 min against the ceiling printed
here: docs/battery.md). Prints per task the runs, the budget, the seconds per block of the slowest and the fastest
variant and the task's ceiling, then the study's: runs × budget ÷ workers, in hours.
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import torch

from gatelab.study.run import build_run
from gatelab.study.spec import load_study
from gatelab.train import train


def block_seconds(config, block: int) -> float:
    """Wall seconds of ``block`` training steps and one evaluation of ``config``'s run (build excluded)."""
    model, task = build_run(config)
    task.criterion("valid")                 # a reference fitted once per process (digits, charlm): not per block
    steps = dataclasses.replace(config.train, steps=block, eval_every=block, stop_at_criterion=False)
    started = time.perf_counter()
    train(model, task, steps)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("preset", nargs="?", default="full", help="a preset name or a study file")
    parser.add_argument("--workers", type=int, default=2, help="runs at a time (local processes or Ray slots)")
    parser.add_argument("--block", type=int, help="steps timed per run (default: the study's eval_every)")
    args = parser.parse_args()
    torch.set_num_threads(1)

    spec = load_study(args.preset)
    block = args.block or spec.train.eval_every
    counts = spec.run_counts()
    first = {}
    for run in spec.runs():
        first.setdefault((run.task.key, run.model.variant), run)
    block_seconds(next(iter(first.values())), block)          # warm-up: the compiled loop's first load, caches
    print(f"{spec.name}: {sum(counts.values())} runs, {len(spec.tasks)} task entries, {len(spec.variants)} variants; "
          f"seconds per {block} steps + one evaluation, one torch thread\n")
    print("| task | gru H | runs | budget | s / block (fastest – slowest variant) | ceiling (h, 1 worker) |")
    print("|---|---:|---:|---:|---|---:|")
    total = 0.0
    for task in spec.tasks:
        budget = spec.budget(task.key)
        seconds = {v: block_seconds(first[task.key, v], block) for v in spec.variants}
        ceiling = sum(counts[task.key, v] * seconds[v] * budget / block for v in spec.variants)
        total += ceiling
        runs = sum(counts[task.key, v] for v in spec.variants)
        print(f"| {task.key} | {spec.model_of(task.key).hidden_size} | {runs} | {budget} | "
              f"{min(seconds.values()):.2f} – {max(seconds.values()):.2f} "
              f"({max(seconds, key=seconds.get)}) | {ceiling / 3600:.1f} |", flush=True)
    print(f"\nceiling: {total / 3600:.1f} h on 1 worker, {total / 3600 / args.workers:.1f} h on {args.workers} "
          f"(every run to its budget; runs that meet their criterion stop earlier)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
