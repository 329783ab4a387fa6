"""Do two studies agree? The direction of every comparison they both hold, side by side.

    python benchmarks/compare_presets.py QUICK_FOLDER STANDARD_FOLDER [--primary-only]

For each (task, variant) compared against gru in both folders: the verdict (kind and evidence grade) in each and
its point direction — +1 the variant did worse than gru, −1 better, 0 the same — read from the first endpoint
that differs: the share of seeds meeting the criterion, then the median steps to it, then the mean test metric
(a study of 2 seeds can show a direction that no test can confirm). Agreement is on the point direction. Tasks
are matched by name: `quick`'s adding (T = 20) stands for `standard`'s adding
(T = 100) — which is what "quick agrees with standard" asks. Then, per task, gru's share of seeds meeting the
criterion in each folder.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from gatelab.commands import study_store
from gatelab.report.build import primary_families
from gatelab.report.claims import Comparison, later
from gatelab.report.summary import REFERENCE, summarise
from gatelab.store import Store
from gatelab.study.record import read_records


def load(folder: str) -> dict:
    with Store.open(study_store(folder), readonly=True) as store:
        records, spec_text = read_records(store), store.meta("spec")
    tune_seeds = json.loads(spec_text).get("tune_seeds") if spec_text else None
    return summarise(records, primary_families(spec_text), tune_seeds)


def point_direction(c: Comparison) -> int:
    """+1 worse than gru, −1 better, 0 the same, on the first endpoint that differs."""
    if c.success.rate != c.success.rate_ref:
        return 1 if c.success.rate < c.success.rate_ref else -1
    if slower := later(c.steps.median, c.steps.median_ref):
        return slower
    if c.metric.mean == 0 or c.metric.mean != c.metric.mean:
        return 0
    return 1 if (c.metric.mean > 0) != c.facts.higher_is_better else -1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("first")
    parser.add_argument("second")
    parser.add_argument("--primary-only", action="store_true", help="only the comparisons primary in the second")
    args = parser.parse_args()
    a, b = load(args.first), load(args.second)
    print(f"| task | variant | {Path(args.first).name} | {Path(args.second).name} | agree |")
    print("|---|---|---|---|---|")
    agree = total = 0
    for task in [t for t in b if t in a]:
        for variant, verdict_b in b[task].verdicts.items():
            verdict_a = a[task].verdicts.get(variant)
            if verdict_a is None or (args.primary_only and b[task].comparisons[variant].primary_family is None):
                continue
            if not (a[task].comparisons[variant].reference_solves and b[task].comparisons[variant].reference_solves):
                continue                                           # no comparison where gru does not solve it
            da, db = point_direction(a[task].comparisons[variant]), point_direction(b[task].comparisons[variant])
            agree, total = agree + (da == db), total + 1
            print(f"| {task} | {variant} | {verdict_a.kind} ({verdict_a.grade}), {da:+d} | "
                  f"{verdict_b.kind} ({verdict_b.grade}), {db:+d} | {'yes' if da == db else 'NO'} |")
    print(f"\n{agree} of {total} directions agree.\n")
    print(f"| task | gru meets the criterion: {Path(args.first).name} | {Path(args.second).name} |")
    print("|---|---|---|")
    for task in dict.fromkeys([*a, *b]):
        cells = []
        for summary in (a, b):
            row = next((r for r in summary[task].rows if r.variant == REFERENCE), None) if task in summary else None
            runs = len(summary[task].runs.get(REFERENCE, [])) if row else 0
            cells.append(f"{row.success:.0%} of {runs}" if row else "—")
        print(f"| {task} | {cells[0]} | {cells[1]} |")


if __name__ == "__main__":
    main()
