"""Claims: each comparison of a variant with ``gru`` on a task, its three tests, its correction, and the words.

A claim is a computation with its evidence grade (STYLE 15). :func:`compare` turns the records of one variant and
of ``gru`` on one task into a :class:`Comparison` (success, steps to criterion, final metric — see
:mod:`gatelab.report.stats`); :func:`correct` adjusts every endpoint's p-values — Holm within each declared
primary family, Benjamini–Hochberg over all exploratory comparisons; :func:`verdict` reads one corrected
comparison and returns a :class:`Verdict` whose sentence comes from the wording table :data:`WORDS`. The same
numbers always give the same words, and tests assert the words on hand-made numbers.

Rules the wording keeps:
- no comparison on a task the reference does not solve in ≥ 80% of its seeds;
- "fails" only for "misses the criterion in x/n seeds while gru meets it in y/n", beyond the noise;
- a variant that gets there later is "slower (median k steps against m)", one that mostly never gets there within
  the budget "did not reach the criterion in x/n seeds" (log-rank evidence); when both meet the criterion in every
  seed and neither is slower, "both solve it" (not "the data cannot tell");
- a parameter-count gap above 5% is said in the sentence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from ..diagnostics.witnesses import witness_for
from ..study.record import RunRecord, met_criterion
from ..tasks import TaskFacts
from .stats import (
    ALPHA,
    PairedMetricTest,
    SuccessTest,
    SurvivalTest,
    benjamini_hochberg,
    holm,
    paired_metric_test,
    steps_test,
    success_test,
)

REFERENCE_SOLVES = 0.8          # gru must meet the criterion in this share of seeds for a task to be compared
PARAMETER_GAP = 0.05            # parameter counts further apart than this are flagged
ENDPOINTS = ("success", "steps", "metric")


@dataclass(frozen=True)
class Comparison:
    """One variant against ``gru`` on one task, with the p-values of its three endpoints after correction.

    ``primary_family``: the declared primary family it belongs to (None: exploratory). ``adjusted``: endpoint →
    corrected p-value; ``correction``: ``"Holm"`` or ``"Benjamini–Hochberg"``, with ``tests_in_family`` tests."""

    task: str
    variant: str
    facts: TaskFacts
    success: SuccessTest
    steps: SurvivalTest
    metric: PairedMetricTest
    parameters: int
    parameters_ref: int
    primary_family: str | None = None
    adjusted: tuple[tuple[str, float], ...] = ()
    correction: str = ""
    tests_in_family: int = 0

    @property
    def reference_solves(self) -> bool:
        """Whether a comparison may be made: gru meets the criterion in ≥ 80% of its seeds (always, for a task
        whose criterion is only a baseline to beat — a user's data set)."""
        if self.facts.compare_unsolved:
            return self.success.n_ref > 0
        return self.success.n_ref > 0 and self.success.rate_ref >= REFERENCE_SOLVES

    def p(self, endpoint: str) -> float:
        return {"success": self.success.p_value, "steps": self.steps.p_value, "metric": self.metric.p_value}[endpoint]

    def p_adjusted(self, endpoint: str) -> float:
        return dict(self.adjusted).get(endpoint, math.nan)

    @property
    def parameter_gap(self) -> float:
        return abs(self.parameters - self.parameters_ref) / self.parameters_ref if self.parameters_ref else 0.0


def compare(task: str, facts: TaskFacts, runs: list[RunRecord], reference: list[RunRecord],
            primary_family: str | None = None) -> Comparison:
    """The comparison of ``runs`` (one variant's) with ``reference`` (gru's) on ``task``; failed runs (an
    exception, no result) are left out, diverged ones count as not solved."""
    runs = [r for r in runs if r.status in ("ok", "diverged")]
    reference = [r for r in reference if r.status in ("ok", "diverged")]

    def survival(rs: list[RunRecord]) -> tuple[list[float], list[bool]]:
        times = [float(r.metrics.steps_to_criterion if r.metrics.steps_to_criterion else r.metrics.steps_done)
                 for r in rs]
        return times, [bool(r.metrics.steps_to_criterion) for r in rs]

    success = success_test(sum(map(met_criterion, runs)), len(runs), sum(map(met_criterion, reference)),
                           len(reference))
    steps = steps_test(*survival(runs), *survival(reference))
    ref_metric = {r.seed: r.metrics.test for r in reference if r.metrics.test is not None}
    differences = [r.metrics.test - ref_metric[r.seed] for r in runs
                   if r.metrics.test is not None and r.seed in ref_metric]
    parameters = max((r.metrics.parameters for r in runs), default=0)
    parameters_ref = max((r.metrics.parameters for r in reference), default=0)
    return Comparison(task, runs[0].variant if runs else "?", facts, success, steps,
                      paired_metric_test(differences), parameters, parameters_ref, primary_family)


def correct(comparisons: list[Comparison]) -> list[Comparison]:
    """Adjust every endpoint's p-values: Holm within each primary family (per endpoint), Benjamini–Hochberg over
    the exploratory comparisons (per endpoint). Comparisons on a task the reference does not solve are not
    tested and not counted."""
    tested = [c for c in comparisons if c.reference_solves]
    families: dict[str | None, list[int]] = {}
    for i, c in enumerate(tested):
        families.setdefault(c.primary_family, []).append(i)
    adjusted: dict[int, dict[str, float]] = {i: {} for i in range(len(tested))}
    for family, members in families.items():
        method = benjamini_hochberg if family is None else holm
        for endpoint in ENDPOINTS:
            for i, p in zip(members, method([tested[i].p(endpoint) for i in members])):
                adjusted[i][endpoint] = p
    out = []
    for i, c in enumerate(tested):
        members = families[c.primary_family]
        out.append(replace(c, adjusted=tuple(adjusted[i].items()),
                           correction="Benjamini–Hochberg" if c.primary_family is None else "Holm",
                           tests_in_family=len(members) * len(ENDPOINTS)))
    return out + [c for c in comparisons if not c.reference_solves]


# ---- the words -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Verdict:
    """What a comparison says: ``kind`` (a key of :data:`WORDS`), ``grade`` (``clear``: passes its correction;
    ``suggestive``: uncorrected only; ``none``: no detectable difference; ``n/a``: not compared), ``direction``
    (+1: the variant is worse than gru, −1: better, 0: neither) and the sentence."""

    kind: str
    grade: str
    direction: int
    sentence: str


WORDS = {
    "unsolved": "gru does not solve {task} at this budget (it meets the criterion in {k_ref}/{n_ref} seeds); no "
                "conclusion about the gates here.",
    "fails": "{variant} fails {task}: it misses the criterion in {missed}/{n} seeds while gru meets it in "
             "{k_ref}/{n_ref} ({evidence}).",
    "succeeds_more": "{variant} meets the criterion on {task} in {k}/{n} seeds against gru's {k_ref}/{n_ref} "
                     "({evidence}).",
    "not_reached": "{variant} did not reach the criterion on {task} in {missed}/{n} seeds within the budget, while "
                   "gru reached it in {k_ref}/{n_ref} (median {median_ref} steps; {evidence}).",
    "slower": "{variant} gets there slower on {task}: median {median} steps to the criterion against gru's "
              "{median_ref} ({k}/{n} and {k_ref}/{n_ref} seeds meet it; {evidence}).",
    "faster": "{variant} gets there faster on {task}: median {median} steps to the criterion against gru's "
              "{median_ref} ({k}/{n} and {k_ref}/{n_ref} seeds meet it; {evidence}).",
    "worse_metric": "{variant} is worse than gru on {task}'s test {metric} ({value_text}; {evidence}), though "
                    "success does not differ ({k}/{n} against {k_ref}/{n_ref}).",
    "better_metric": "{variant} is better than gru on {task}'s test {metric} ({value_text}; {evidence}).",
    "both_solve": "{variant} and gru both solve {task} (every seed: {k}/{n} and {k_ref}/{n_ref}); no detectable "
                  "difference in speed ({steps_text}).",
    "no_difference": "no detectable difference between {variant} and gru on {task} (criterion met in {k}/{n} "
                     "against {k_ref}/{n_ref}; {value_text}).",
}


def _steps_text(s: SurvivalTest) -> str:
    return f"median {fmt_steps(s.median)} against {fmt_steps(s.median_ref)} steps, log-rank p = {s.p_value:.2g}"


def _value_text(c: Comparison) -> str:
    m = c.metric
    if m.n == 0:
        return "no paired test values"
    span = f", 95% bootstrap CI [{m.low:+.3g}, {m.high:+.3g}]" if math.isfinite(m.low) else ""
    return (f"test {c.facts.metric} difference {m.mean:+.3g}{span} over {m.n} paired seeds, Wilcoxon "
            f"p = {m.p_value:.2g}")


def _evidence(c: Comparison, endpoint: str, test_name: str) -> tuple[str, str]:
    """(grade, the evidence in words) of one endpoint."""
    p, q = c.p(endpoint), c.p_adjusted(endpoint)
    n = min(c.success.n, c.success.n_ref)
    if q < ALPHA:
        every = ", every seed" if endpoint == "metric" and c.metric.same_sign else ""
        return "clear", (f"clear: {test_name} p = {p:.2g}, {c.correction}-corrected p = {q:.2g} over "
                         f"{c.tests_in_family} tests, {n} seeds{every}")
    if p < ALPHA:
        return "suggestive", (f"suggestive: {test_name} p = {p:.2g} uncorrected only; {c.correction}-corrected "
                              f"p = {q:.2g} over {c.tests_in_family} tests, {n} seeds")
    return "none", f"{test_name} p = {p:.2g}, {n} seeds"


def verdict(c: Comparison) -> Verdict:
    """The verdict of one corrected comparison (see the module docstring for the rules)."""
    s = c.success
    fields = dict(task=c.task, variant=c.variant, k=s.k, n=s.n, k_ref=s.k_ref, n_ref=s.n_ref, missed=s.n - s.k,
                  metric=c.facts.metric, value_text=_value_text(c), steps_text=_steps_text(c.steps),
                  median=fmt_steps(c.steps.median), median_ref=fmt_steps(c.steps.median_ref))

    def say(kind: str, grade: str, direction: int, evidence: str = "") -> Verdict:
        sentence = WORDS[kind].format(evidence=evidence, **fields)
        if c.parameter_gap > PARAMETER_GAP and kind != "unsolved":
            sentence = sentence[:-1] + (f" — parameters {c.parameters} against gru's {c.parameters_ref} "
                                        f"({c.parameter_gap:.0%} apart: not matched).")
        if kind == "fails" and (w := witness_for(c.variant, c.facts.name)) is not None:
            sentence += (f" It can represent {c.task} (witness: {w.construction}), so it did not learn it in "
                         f"{s.n - s.k} of {s.n} seeds.")
        return Verdict(kind, grade, direction, sentence)

    if not c.reference_solves:
        return say("unsolved", "n/a", 0)
    grade, evidence = _evidence(c, "success", "Fisher exact")
    if grade != "none":
        return say("fails" if s.rate < s.rate_ref else "succeeds_more", grade, 1 if s.rate < s.rate_ref else -1,
                   evidence)
    slower = later(c.steps.median, c.steps.median_ref)
    grade_steps, evidence_steps = _evidence(c, "steps", "log-rank")
    if grade_steps != "none" and slower != 0:
        kind = "not_reached" if c.steps.median is None else ("slower" if slower > 0 else "faster")
        return say(kind, grade_steps, slower, evidence_steps)
    higher_worse = -1 if c.facts.higher_is_better else 1
    grade_metric, evidence_metric = _evidence(c, "metric", "Wilcoxon signed-rank")
    if grade_metric != "none" and c.metric.mean != 0:
        worse = (c.metric.mean > 0) == (higher_worse > 0)
        return say("worse_metric" if worse else "better_metric", grade_metric, 1 if worse else -1, evidence_metric)
    if s.k == s.n and s.k_ref == s.n_ref and s.n > 0:
        return say("both_solve", "none", 0)
    return say("no_difference", "none", 0)


def later(median: float | None, median_ref: float | None) -> int:
    """+1 when the variant's median steps to criterion is later than the reference's, −1 earlier, 0 neither."""
    a = math.inf if median is None else median
    b = math.inf if median_ref is None else median_ref
    return 0 if a == b else (1 if a > b else -1)


def fmt_steps(median: float | None) -> str:
    """A Kaplan–Meier median of steps to criterion ("not reached" where fewer than half met it)."""
    return "not reached" if median is None else f"{median:g}"
