"""Records → per-task summaries: the table rows, every variant's corrected comparison with ``gru`` and its verdict.

A pure function of the typed records (and the study's declared primary families, which the store keeps with its
spec). A task's facts come from its records; the comparison groups from the registry's questions.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

from ..registry import QUESTIONS, REFERENCE_VARIANT, get_variant, variants
from ..study.record import RunRecord
from ..study.spec import PrimaryFamily
from ..tasks import TaskFacts
from .claims import Comparison, Verdict, compare, correct, verdict
from .stats import Interval, interval

REFERENCE = REFERENCE_VARIANT


@dataclass(frozen=True)
class Row:
    variant: str
    learning_rate: float
    test: Interval
    success: float
    steps_to_criterion: float
    parameters: int
    seconds: float
    statuses: str
    backends: str


@dataclass
class TaskSummary:
    """Everything the report says about one task."""

    facts: TaskFacts
    rows: list[Row]
    references: dict[str, float]
    runs: dict[str, list[RunRecord]]                      # per variant, at its chosen learning rate
    comparisons: dict[str, Comparison] = field(default_factory=dict)
    verdicts: dict[str, Verdict] = field(default_factory=dict)

    @property
    def curves(self) -> dict[str, list]:
        return {v: [r.curve for r in rs if r.curve] for v, rs in self.runs.items()}

    @property
    def reset(self) -> str:
        first = next(iter(self.runs.values()))[0]
        return str(first.config.get("model", {}).get("reset", "before"))


def summary_of(variant: str) -> str:
    return get_variant(variant).summary.split(":")[0] if variant in variants() else "not registered"


def comparison_groups(present: set[str]) -> list[tuple[str, str, tuple[str, ...]]]:
    """(question key, title, variants) per registry question, variants in declaration order and limited to
    ``present``; stored variants no longer registered come last, under their own title."""
    groups = [(key, title, tuple(v for v in variants() if get_variant(v).question == key and v in present))
              for key, title in QUESTIONS.items()]
    unregistered = tuple(sorted(v for v in present if v != REFERENCE and v not in variants()))
    if unregistered:
        groups.append(("unregistered", "Variants no longer registered", unregistered))
    return [g for g in groups if g[2]]


def task_facts(task_name: str, records: list[RunRecord]) -> TaskFacts:
    """The facts of a task as its records carry them (a placeholder when no run got as far as building it)."""
    found = next((r.task_facts for r in records if r.task_facts is not None), None)
    return found or TaskFacts(task_name, "regression", "—", False, math.nan, math.nan, "No run reached training.")


def summarise(records: list[RunRecord], primary: tuple[PrimaryFamily, ...] = ()) -> dict[str, TaskSummary]:
    """Per task (in the order first stored): rows, corrected comparisons against gru and their verdicts."""
    by_task: dict[str, dict[str, list[RunRecord]]] = defaultdict(lambda: defaultdict(list))
    for r in records:
        by_task[r.task][r.variant].append(r)
    out: dict[str, TaskSummary] = {}
    comparisons: list[Comparison] = []
    for task_name, per_variant in by_task.items():
        facts = task_facts(task_name, [r for rs in per_variant.values() for r in rs])
        chosen = {v: _best_rate(rs, facts.higher_is_better) for v, rs in per_variant.items()}
        rows = [_row(v, rs) for v, rs in sorted(chosen.items(), key=lambda kv: (kv[0] != REFERENCE, kv[0]))]
        references = next((r.metrics.references for rs in chosen.values() for r in rs if r.metrics.references), {})
        out[task_name] = TaskSummary(facts, rows, references, chosen)
        if REFERENCE not in chosen:
            continue
        for _, _, members in comparison_groups(set(chosen)):
            for variant in members:
                family = next((f.name for f in primary if f.contains(task_name, variant)), None)
                comparisons.append(compare(task_name, facts, chosen[variant], chosen[REFERENCE], family))
    for c in correct(comparisons):
        out[c.task].comparisons[c.variant] = c
        out[c.task].verdicts[c.variant] = verdict(c)
    return out


def _row(variant: str, rs: list[RunRecord]) -> Row:
    ok = [r for r in rs if r.status == "ok"]
    steps = sorted(r.metrics.steps_to_criterion for r in ok if r.metrics.steps_to_criterion)
    return Row(variant, rs[0].learning_rate,
               interval([number(r.metrics.test) for r in ok]),
               sum(r.metrics.solved for r in ok) / len(rs),
               steps[len(steps) // 2] if steps else math.nan,
               max((r.metrics.parameters for r in rs), default=0),
               sum(r.seconds for r in rs) / len(rs),
               ", ".join(sorted({r.status for r in rs})),
               ", ".join(sorted({str(r.backend) for r in rs})))


def number(value: object) -> float:
    """A stored metric (null where it was not finite) as a float."""
    return math.nan if value is None else float(value)


def fmt(x: float) -> str:
    """A number for a sentence or a table cell (— where not finite)."""
    return "—" if not math.isfinite(x) else f"{x:.4g}"


def interval_text(i: Interval) -> str:
    """``mean ± half-width`` of a 95% interval, or the single value with "(1 seed)"."""
    if i.n == 0:
        return "—"
    if i.n == 1:
        return f"{fmt(i.mean)} (1 seed)"
    return f"{fmt(i.mean)} ± {fmt((i.high - i.low) / 2)}"


def _best_rate(records: list[RunRecord], higher_is_better: bool) -> list[RunRecord]:
    """The records of the learning rate with the best mean validation metric (all, when there is one rate)."""
    by_rate: dict[float, list[RunRecord]] = defaultdict(list)
    for r in records:
        by_rate[r.learning_rate].append(r)
    if len(by_rate) == 1:
        return records

    def score(rs: list[RunRecord]) -> float:
        values = [number(r.metrics.best_valid) for r in rs if r.status == "ok"]
        values = [v for v in values if math.isfinite(v)]
        if not values:
            return -math.inf
        mean = sum(values) / len(values)
        return mean if higher_is_better else -mean

    return max(by_rate.values(), key=score)
