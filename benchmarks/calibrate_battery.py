"""How many steps does the reference ``gru`` need to meet each task's criterion? The measurement behind the
per-task budgets of the study presets (the battery issue: a budget at which gru succeeds in ≥ 80% of seeds).

    python benchmarks/calibrate_battery.py [--preset standard] [--seeds 10] [--budget 3000] [--out DIR]

Runs ``gru`` alone on every task of the preset at the preset's size, ``--seeds`` seeds, each stopped at its
task's criterion (checked on validation every ``eval_every`` steps) or at ``--budget`` steps. Prints per task: the
success rate, the median and 80th percentile of steps to criterion, the seconds per run, and the budget it
suggests (the 80th percentile × 1.25, rounded up to the evaluation interval; "—" where fewer than 80% succeed
within ``--budget``: the task needs a larger budget or other sizes). Resumable: a rerun with the same --out
finishes only what is missing.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import statistics
import time
from pathlib import Path

from gatelab.store import Store
from gatelab.study.driver import run_study
from gatelab.study.record import read_records
from gatelab.study.spec import load_study


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="standard", help="a preset name or a study file")
    parser.add_argument("--tasks", nargs="+", help="only these tasks of the preset")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--budget", type=int, default=3000, help="steps at which a run is censored")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("calibration"))
    args = parser.parse_args()

    base = load_study(args.preset).restricted(variants=["gru"], tasks=args.tasks, seeds=args.seeds)
    train = dataclasses.replace(base.train, steps=args.budget, stop_at_criterion=True)
    spec = dataclasses.replace(base, name=f"calibrate-{Path(args.preset).stem}", primary=(), primary_seeds=None,
                               budgets=(), train=train)
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with Store(args.out / "runs.sqlite") as store:
        run_study(spec, store, workers=args.workers)
        records = read_records(store)
    every = spec.train.eval_every
    lines = [f"`python benchmarks/calibrate_battery.py --preset {args.preset} --seeds {args.seeds} --budget "
             f"{args.budget}`: gru at the preset's size, stopped at the criterion or at {args.budget} steps "
             f"({time.perf_counter() - started:.0f} s wall for what this call ran).", "",
             "| task | criterion | success | median steps | 80th pct. steps | s / run | suggested budget |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for task in spec.tasks:
        rs = [r for r in records if r.task == task.key]
        if not rs:
            continue
        solved = sorted(r.metrics.steps_to_criterion for r in rs if r.metrics.steps_to_criterion)
        rate = len(solved) / len(rs)
        # the 80th percentile over all runs, a censored run counting as never: defined only when ≥ 80% succeed
        p80 = solved[math.ceil(0.8 * len(rs)) - 1] if rate >= 0.8 else None
        suggested = f"{math.ceil(1.25 * p80 / every) * every}" if p80 else "—"
        facts = rs[0].task_facts
        level = facts.solved_at_valid if facts and facts.solved_at_valid is not None else facts and facts.solved_at
        criterion = f"{facts.metric} {'≥' if facts.higher_is_better else '≤'} {level:.4g} (valid)" if facts else "?"
        lines.append(f"| {task.key} | {criterion} | {len(solved)}/{len(rs)} | "
                     f"{statistics.median(solved) if solved else '—'} | {p80 or '—'} | "
                     f"{statistics.median(r.seconds for r in rs):.1f} | {suggested} |")
    text = "\n".join(lines)
    print(text)
    (args.out / "calibration.md").write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
