"""Records → per-task summaries: the table rows, every variant's corrected comparison with ``gru`` and its verdict.

A pure function of the typed records (and the study's declared primary families, which the store keeps with its
spec). A task's facts come from its records; the comparison groups from the registry's questions.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

from ..registry import QUESTIONS, REFERENCE_VARIANT, get_variant, variants
from ..study.record import RunRecord, met_criterion
from ..study.spec import PrimaryFamily, chosen_configuration, configuration_of
from ..tasks import TaskFacts
from .claims import Comparison, Verdict, compare, correct, verdict
from .stats import Interval, interval

REFERENCE = REFERENCE_VARIANT


@dataclass(frozen=True)
class Row:
    variant: str
    learning_rate: float
    init: str
    test: Interval
    success: float
    steps_to_criterion: float
    parameters: int
    seconds: float
    statuses: str
    backends: str
    tried: int = 1                                        # configurations (rate × init) it was tried at


@dataclass
class TaskSummary:
    """Everything the report says about one task."""

    facts: TaskFacts
    rows: list[Row]
    references: dict[str, float]
    runs: dict[str, list[RunRecord]]                      # per variant, at its chosen rate and init
    tune_seeds: int | None = None
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


def summarise(records: list[RunRecord], primary: tuple[PrimaryFamily, ...] = (),
              tune_seeds: int | None = None) -> dict[str, TaskSummary]:
    """Per task (in the order first stored): rows, corrected comparisons against gru and their verdicts. A
    variant tried at several configurations (learning rate × init) is represented by the runs of the one the
    study chose (:func:`~gatelab.study.spec.chosen_configuration`, over the ``tune_seeds`` when set)."""
    by_task: dict[str, dict[str, list[RunRecord]]] = defaultdict(lambda: defaultdict(list))
    for r in records:
        by_task[r.task][r.variant].append(r)
    out: dict[str, TaskSummary] = {}
    comparisons: list[Comparison] = []
    for task_name, per_variant in by_task.items():
        facts = task_facts(task_name, [r for rs in per_variant.values() for r in rs])
        chosen = {v: _chosen_runs(rs, tune_seeds) for v, rs in per_variant.items()}
        rows = [_row(v, rs, len({configuration_of(r) for r in per_variant[v]}))
                for v, rs in sorted(chosen.items(), key=lambda kv: (kv[0] != REFERENCE, kv[0]))]
        references = next((r.metrics.references for rs in chosen.values() for r in rs if r.metrics.references), {})
        out[task_name] = TaskSummary(facts, rows, references, chosen, tune_seeds)
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


def _row(variant: str, rs: list[RunRecord], tried: int = 1) -> Row:
    ok = [r for r in rs if r.status == "ok"]
    steps = sorted(r.metrics.steps_to_criterion for r in ok if r.metrics.steps_to_criterion)
    return Row(variant, rs[0].learning_rate, configuration_of(rs[0])[1],
               interval([number(r.metrics.test) for r in ok]),
               sum(map(met_criterion, rs)) / len(rs),
               steps[len(steps) // 2] if steps else math.nan,
               max((r.metrics.parameters for r in rs), default=0),
               sum(r.seconds for r in rs) / len(rs),
               ", ".join(sorted({r.status for r in rs})),
               ", ".join(sorted({str(r.backend) for r in rs})), tried)


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


def _chosen_runs(records: list[RunRecord], tune_seeds: int | None) -> list[RunRecord]:
    """The records of the chosen configuration (all, when there is one)."""
    if len({configuration_of(r) for r in records}) == 1:
        return records
    chosen = chosen_configuration(records, tune_seeds)
    return [r for r in records if configuration_of(r) == chosen]
