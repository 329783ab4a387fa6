"""The answer first: "The answer, from this study", one part per question of the registry, assembled from the
verdicts — nothing in it is written in advance. Each claim carries its evidence grade and links to its task."""

from __future__ import annotations

from ..diagnostics.witnesses import witness_for
from ..registry import get_variant, variants
from .claims import ENDPOINTS, Verdict, fmt_steps
from .markup import Block, Bullets, Figure, Heading, Table, Text, anchor
from .stats import ALPHA
from .summary import TaskSummary, comparison_groups, summary_of

GRADE_WORDS = {"clear": "clear, survives its correction", "suggestive": "suggestive, uncorrected only"}


def _entry(task: str, v: Verdict, part: TaskSummary, variant: str) -> str:
    c = part.comparisons[variant]
    s = c.success
    what = {
        "fails": f"fails ({s.n - s.k}/{s.n} seeds miss the criterion, gru meets it in {s.k_ref}/{s.n_ref})",
        "succeeds_more": f"meets the criterion more often ({s.k}/{s.n} against {s.k_ref}/{s.n_ref})",
        "not_reached": f"did not reach the criterion ({s.n - s.k}/{s.n} seeds; gru reached it in {s.k_ref}/{s.n_ref}, "
                       f"median {fmt_steps(c.steps.median_ref)} steps)",
        "slower": f"slower (median {fmt_steps(c.steps.median)} steps against {fmt_steps(c.steps.median_ref)})",
        "faster": f"faster (median {fmt_steps(c.steps.median)} steps against {fmt_steps(c.steps.median_ref)})",
        "worse_metric": f"worse test {c.facts.metric} ({c.metric.mean:+.3g})",
        "better_metric": f"better test {c.facts.metric} ({c.metric.mean:+.3g})",
        "both_solve": "both solve it",
        "no_difference": "no detectable difference",
    }[v.kind]
    if v.kind == "fails" and witness_for(variant, c.facts.name) is not None:
        what += ", though it can represent it (a witness: see the task)"
    grade = GRADE_WORDS.get(v.grade)
    return f"[{task}](#{anchor(task)}): {what}" + (f" — {grade}" if grade else "")


def variant_line(variant: str, summary: dict[str, TaskSummary]) -> str:
    entries, unsolved = [], []
    for task, part in summary.items():
        v = part.verdicts.get(variant)
        if v is None:
            continue
        if v.kind == "unsolved":
            unsolved.append(f"[{task}](#{anchor(task)})")
        else:
            entries.append(_entry(task, v, part, variant))
    text = f"{variant} ({summary_of(variant)}): " + ("; ".join(entries) if entries else "compared on no task")
    if unsolved:
        text += f". Not compared on {', '.join(unsolved)} (gru does not solve it)"
    return text + "."


def conclusion(title: str, members: tuple[str, ...], summary: dict[str, TaskSummary]) -> str:
    """One sentence per question, from the verdicts of its variants."""
    compared = sorted({t for t, p in summary.items() for m in members
                       if (v := p.verdicts.get(m)) is not None and v.kind != "unsolved"})
    if not compared:
        return (f"{title}: no task of this study can answer it — gru does not meet the criterion in ≥ 80% of its "
                "seeds on any task where these variants ran.")

    def listed(grade: str, direction: int) -> list[str]:
        found = []
        for m in members:
            tasks = [t for t, p in summary.items() if (v := p.verdicts.get(m)) is not None and v.grade == grade
                     and v.direction == direction]
            if tasks:
                found.append(f"{m} on {', '.join(tasks)}")
        return found

    parts = []
    if worse := listed("clear", 1):
        parts.append("worse than gru beyond the noise, after correction: " + "; ".join(worse))
    if better := listed("clear", -1):
        parts.append("better than gru beyond the noise, after correction: " + "; ".join(better))
    if hints := listed("suggestive", 1):
        parts.append("worse than gru, suggestive only (uncorrected): " + "; ".join(hints))
    if hints := listed("suggestive", -1):
        parts.append("better than gru, suggestive only (uncorrected): " + "; ".join(hints))
    if not parts:
        seeds = min(p.comparisons[m].success.n for p in summary.values() for m in members if m in p.comparisons)
        return (f"{title}: on the {len(compared)} task(s) compared ({', '.join(compared)}), no variant of this "
                f"group differs detectably from gru (at least {seeds} seeds each) — which does not show that they "
                "are equal.")
    return f"{title}: " + ". ".join(p[0].upper() + p[1:] for p in parts) + "."


def lead(members: tuple[str, ...]) -> str:
    """What the question compares, from the registry (descriptions, not results)."""
    described = [f"{m} — {get_variant(m).summary}" if m in variants() else m for m in members]
    return "Each against gru on the same tasks and seeds: " + "; ".join(described) + "."


def answer_blocks(summary: dict[str, TaskSummary], forests: dict[str, str]) -> list[Block]:
    present = {v for part in summary.values() for v in part.runs}
    blocks: list[Block] = [Heading(2, "The answer, from this study", "the-answer")]
    for key, title, members in comparison_groups(present):
        blocks += [Heading(3, title), Text(lead(members)),
                   Bullets(tuple(variant_line(m, summary) for m in members)),
                   Text(conclusion(title, members, summary), css="verdict")]
        if key in forests:
            blocks.append(Figure(forests[key], f"paired differences against gru: {title}"))
    return blocks


def statistics_blocks(summary: dict[str, TaskSummary]) -> list[Block]:
    """How many tests each family holds, which correction it gets, and how many survive it."""
    families: dict[str, dict] = {}
    for part in summary.values():
        for c in part.comparisons.values():
            if not c.reference_solves:
                continue
            name = c.primary_family or "exploratory"
            entry = families.setdefault(name, {"correction": c.correction, "tests": 0, "raw": 0, "kept": 0})
            for endpoint in ENDPOINTS:
                entry["tests"] += 1
                entry["raw"] += c.p(endpoint) < ALPHA
                entry["kept"] += c.p_adjusted(endpoint) < ALPHA
    if not families:
        return [Heading(2, "Statistics"), Text("No comparison was tested: gru solves none of the tasks.")]
    rows = tuple((name, e["correction"], str(e["tests"]), str(e["raw"]), str(e["kept"]))
                 for name, e in sorted(families.items(), key=lambda kv: kv[0] == "exploratory"))
    return [Heading(2, "Statistics"),
            Text("Three endpoints per comparison with gru: success against the criterion (Fisher's exact test, "
                 "Clopper–Pearson intervals), steps to criterion censored at the budget (log-rank, Kaplan–Meier "
                 "medians), and the final test metric paired over seeds (Wilcoxon signed-rank, percentile "
                 f"bootstrap interval). Significance level {ALPHA}; primary families are corrected with Holm, the "
                 "rest with Benjamini–Hochberg. Tasks gru does not solve in ≥ 80% of seeds are not tested."),
            Table(("family", "correction", "tests", "p < 0.05 uncorrected", "survive correction"), rows)]
