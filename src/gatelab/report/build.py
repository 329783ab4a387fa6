"""The report: a pure function of the store. Writes ``index.html``, ``report.md`` and PNG figures into a folder.

It opens with the answer to the question (:mod:`gatelab.report.answer`), then the overview figure, the
statistics, and one section per task: its facts, its table, its learning curves, every comparison's verdict and
its "Why". Every sentence is computed from the stored numbers (:mod:`gatelab.report.claims`). Markdown and HTML
are rendered from one block list.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..store import Store
from ..study.record import read_records
from ..study.spec import PrimaryFamily
from .answer import answer_blocks, statistics_blocks
from .claims import REFERENCE_SOLVES
from .markup import Block, Bullets, Figure, Heading, Table, Text, html_body, markdown, page
from .plots import forest, overview, task_figures
from .summary import REFERENCE, TaskSummary, comparison_groups, fmt, interval_text, summarise
from .why import why, why_blocks

TITLE = "What the update gate and the reset gate did in this study"




def primary_families(spec_text: str | None) -> tuple[PrimaryFamily, ...]:
    """The primary families the stored study spec declares (none for a store without a spec)."""
    if not spec_text:
        return ()
    return tuple(PrimaryFamily.from_dict(f) for f in json.loads(spec_text).get("primary", ()))


def task_blocks(task_name: str, part: TaskSummary, figures: dict[str, str]) -> list[Block]:
    facts = part.facts
    direction = "higher" if facts.higher_is_better else "lower"
    at = "≥" if facts.higher_is_better else "<"
    valid = facts.solved_at_valid
    levels = (f"{at} {fmt(facts.solved_at)}" if valid is None or valid == facts.solved_at else
              f"{at} {fmt(valid)} on validation ({fmt(facts.solved_at)} on test: the reference's score on each)")
    blocks: list[Block] = [
        Heading(2, task_name),
        Text(f"*{facts.isolates}* Metric: {facts.metric} ({direction} is better); trivial level "
             f"{fmt(facts.trivial)}; the criterion is {levels}. A run meets it when its validation metric does at "
             f"an evaluation within its budget (where it stops); the test column is measured after."),
    ]
    blocks += [Text(f"Reference: {name} {fmt(value)}.") for name, value in part.references.items()]
    blocks.append(Table(("variant", "learning rate", "init", "test (mean ± 95% CI)", "met", "steps to criterion",
                         "parameters", "s / run", "status", "backend"),
                        tuple((r.variant, f"{r.learning_rate:g}", r.init, interval_text(r.test),
                               f"{100 * r.success:.0f}%", fmt(r.steps_to_criterion), str(r.parameters),
                               f"{r.seconds:.1f}", r.statuses, r.backends) for r in part.rows)))
    tuned = [r for r in part.rows if r.tried > 1]
    if tuned:
        blocks.append(Text("Learning rate and init: each variant's best of " + ", ".join(
            sorted({str(r.tried) for r in tuned})) + " configurations by its mean validation metric"
            + (f" over seeds 0–{part.tune_seeds - 1}; its other seeds ran at that configuration only"
               if part.tune_seeds else "") + ". The table and every comparison use that configuration's seeds."))
    meeting = [r.variant for r in part.rows if r.success >= REFERENCE_SOLVES]
    blocks.append(Text(f"Meet the criterion in ≥ {REFERENCE_SOLVES:.0%} of their seeds: "
                       + (", ".join(meeting) if meeting else "no variant") + f" (of {len(part.rows)})."))
    blocks.append(Figure(figures[task_name], f"learning curves of {task_name}"))
    sentences = list(dict.fromkeys(part.verdicts[v].sentence for _, _, members in
                                   comparison_groups(set(part.verdicts)) for v in members))   # "unsolved" once
    if sentences:
        blocks.append(Bullets(tuple(sentences)))
    return blocks


def report_blocks(summary: dict[str, TaskSummary], folder: Path, command: str) -> list[Block]:
    present = {v for part in summary.values() for v in part.runs}
    forests = {key: name for key, title, members in comparison_groups(present)
               if (name := forest(summary, key, title, members, folder)) is not None}
    blocks: list[Block] = [Heading(1, TITLE)]
    if (name := overview(summary, folder)) is not None:
        blocks.append(Figure(name, "overview: share of seeds meeting the criterion, variants by tasks"))
    blocks += answer_blocks(summary, forests)
    if (folder / "playground.html").exists():
        blocks.append(Text("Move z and r by hand and watch h, with this study's trained units: "
                           "[the gate playground](playground.html)."))
    blocks += statistics_blocks(summary)
    if command:
        blocks += [Text("Reproduce with:"), Text(f"`{command}`")]
    for task_name, part in summary.items():
        found = why(task_name, part)
        figures = task_figures(task_name, part, found, folder)
        blocks += task_blocks(task_name, part, figures) + why_blocks(task_name, found, figures)
    return blocks


def write_report(store_path: str | Path, folder: str | Path, command: str = "") -> Path:
    """Read the store (read-only), write the report into ``folder``; return the path of ``index.html``. The
    reproducing command is ``command``, else the one the study stored."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with Store.open(store_path, readonly=True) as store:
        records = read_records(store)
        command = command or store.meta("command") or ""
        spec_text = store.meta("spec")
    primary = primary_families(spec_text)
    summary = summarise(records, primary, json.loads(spec_text).get("tune_seeds") if spec_text else None)
    blocks = report_blocks(summary, folder, command)
    (folder / "report.md").write_text(markdown(blocks) + "\n")
    index = folder / "index.html"
    index.write_text(page("gatelab report", html_body(blocks)))
    return index


__all__ = ["REFERENCE", "TITLE", "write_report"]
