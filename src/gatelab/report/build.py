"""The report: a pure function of the store. Writes ``index.html``, ``report.md`` and PNG plots into a folder.

Every sentence is computed from the stored numbers: paired differences against ``gru`` over the same seeds
with 95% t-intervals; where an interval includes zero, the sentence says the data cannot tell. The report reads
typed run records (:mod:`gatelab.study.record`) and nothing else: a task's facts travel in its records, so a
store whose task is no longer registered still reports, and the comparison groups are the registry's questions.
"""

from __future__ import annotations

import html
import math
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from ..registry import QUESTIONS, REFERENCE_VARIANT, get_variant, variants
from ..store import Store
from ..study.record import RunRecord, read_records
from ..tasks import TaskFacts
from .markup import page, table
from .stats import Interval, interval, paired

REFERENCE = REFERENCE_VARIANT


def comparison_groups(present: set[str]) -> list[tuple[str, tuple[str, ...]]]:
    """The report's comparison groups, from the registry: per question, the variants that ask it, in
    declaration order, limited to ``present``; a stored variant that is no longer registered is compared last."""
    groups = [(title, tuple(v for v in variants() if get_variant(v).question == key and v in present))
              for key, title in QUESTIONS.items()]
    unregistered = tuple(sorted(v for v in present if v != REFERENCE and v not in variants()))
    if unregistered:
        groups.append(("Variants no longer registered", unregistered))
    return [(title, members) for title, members in groups if members]


def _summary_of(variant: str) -> str:
    return get_variant(variant).summary.split(":")[0] if variant in variants() else "not registered"
# An exponential smoothing "explains" a unit when it explains at least this share of its states' variance.
SMOOTH_ENOUGH = 0.9


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


def _number(value: object) -> float:
    """A stored metric (null where it was not finite) as a float."""
    return math.nan if value is None else float(value)


def _fmt(x: float) -> str:
    return "—" if not math.isfinite(x) else f"{x:.4g}"


def _interval_text(i: Interval) -> str:
    if i.n == 0:
        return "—"
    if i.n == 1:
        return f"{_fmt(i.mean)} (1 seed)"
    return f"{_fmt(i.mean)} ± {_fmt((i.high - i.low) / 2)}"


def task_facts(task_name: str, records: list[RunRecord]) -> TaskFacts:
    """The facts of a task as its records carry them (a placeholder when no run got as far as building it)."""
    found = next((r.task_facts for r in records if r.task_facts is not None), None)
    return found or TaskFacts(task_name, "regression", "—", False, math.nan, math.nan, "No run reached training.")


def summarise(records: list[RunRecord]) -> dict[str, dict]:
    """Per task: its rows, the paired comparisons against gru, and the generated sentences."""
    by_task: dict[str, dict[str, list[RunRecord]]] = defaultdict(lambda: defaultdict(list))
    for r in records:
        by_task[r.task][r.variant].append(r)
    out = {}
    for task_name, per_variant in by_task.items():
        task = task_facts(task_name, [r for rs in per_variant.values() for r in rs])
        per_variant = {v: _best_rate(rs, task.higher_is_better) for v, rs in per_variant.items()}
        metric, better_high = task.metric, task.higher_is_better
        tests = {v: {r.seed: _number(r.metrics.test) for r in rs if r.status == "ok"}
                 for v, rs in per_variant.items()}
        rows = []
        for variant, rs in sorted(per_variant.items(), key=lambda kv: (kv[0] != REFERENCE, kv[0])):
            ok = [r for r in rs if r.status == "ok"]
            steps = [r.metrics.steps_to_criterion for r in ok if r.metrics.steps_to_criterion]
            rows.append(Row(variant, rs[0].learning_rate, interval(list(tests[variant].values())),
                            sum(r.metrics.solved for r in ok) / len(rs),
                            sorted(steps)[len(steps) // 2] if steps else math.nan,
                            max((r.metrics.parameters for r in rs), default=0),
                            sum(r.seconds for r in rs) / len(rs),
                            ", ".join(sorted({r.status for r in rs})),
                            ", ".join(sorted({str(r.backend) for r in rs}))))
        sentences, comparisons = [], {}
        if REFERENCE in tests:
            reference = interval(list(tests[REFERENCE].values()))
            for _, members in comparison_groups(set(tests)):
                for variant in members:
                    if variant not in tests:
                        continue
                    diff = paired(tests[variant], tests[REFERENCE])
                    comparisons[variant] = diff
                    sentences.append(_sentence(task_name, metric, better_high, variant, reference,
                                               interval(list(tests[variant].values())), diff))
        references = next((r.metrics.references for rs in per_variant.values() for r in rs
                           if r.metrics.references), {})
        why = _why(task_name, per_variant, task.metric, comparisons, better_high)
        sentences += why["sentences"]
        out[task_name] = {"task": task, "rows": rows, "references": references, "why": why,
                          "comparisons": comparisons, "sentences": sentences,
                          "curves": {v: [r.curve for r in rs if r.curve] for v, rs in per_variant.items()}}
    return out


def _mean_profile(runs: list[RunRecord], key: str) -> list[float] | None:
    """The mean over seeds of a per-step diagnostic (None when no run stored it)."""
    curves = [getattr(r.diagnostics, key) for r in runs if r.status == "ok"]
    curves = [c for c in curves if c]
    if not curves:
        return None
    return [sum(_number(c[i]) for c in curves) / len(curves) for i in range(min(map(len, curves)))]


def _median(values: list[float]) -> float:
    values = sorted(v for v in values if math.isfinite(v))
    return values[len(values) // 2] if values else math.nan


def _why(task_name: str, per_variant: dict[str, list[RunRecord]], metric: str, comparisons: dict[str, Interval],
         better_high: bool) -> dict:
    """Diagnostics across seeds, per variant: the gradient-flow profiles at initialisation and trained, the median
    spectral radius of the step Jacobian, the units' time scales, the exponential-smoothing distance; gru's
    clamp tests and the gate heatmaps of its first seed; and the sentences that cite them."""
    profiles, profiles_init, radius, scales, units, smoothing = {}, {}, {}, {}, {}, {}
    for variant, rs in per_variant.items():
        ok = [r for r in rs if r.status == "ok"]
        diagnostics = [r.diagnostics for r in ok]
        if (profile := _mean_profile(ok, "sensitivity")) is not None:
            profiles[variant] = profile
        if (profile := _mean_profile(ok, "sensitivity_init")) is not None:
            profiles_init[variant] = profile
        radius[variant] = (_median([_median([_number(v) for v in d.spectral_radius_init or []])
                                    for d in diagnostics]),
                           _median([_number(d.spectral_radius_median) for d in diagnostics]))
        quartiles = [d.time_scale_quartiles for d in diagnostics if d.time_scale_quartiles]
        if quartiles:
            scales[variant] = [_median([q[i] for q in quartiles]) for i in range(3)]
            units[variant] = [_number(v) for d in diagnostics for v in d.time_scales or []]
        fits = [d.smoothing for d in diagnostics if d.smoothing]
        if fits:
            smoothing[variant] = interval([_number(f.explained_variance) for f in fits])
    reference_runs = [r for r in per_variant.get(REFERENCE, []) if r.status == "ok"]
    clamp_runs = [c for r in reference_runs if (c := r.diagnostics.clamps)]
    clamps = {k: interval([_number(c[k]) for c in clamp_runs]) for k in clamp_runs[0]} if clamp_runs else {}
    heatmaps = next((h for r in reference_runs if (h := r.diagnostics.heatmaps)), {})

    sentences = []
    if REFERENCE in profiles:
        lag = len(profiles[REFERENCE]) - 1

        def reach(profile: list[float]) -> float:            # the signal kept from `lag` steps back, relative
            return profile[0] / profile[-1] if profile[-1] > 0 else math.nan

        reference = reach(profiles[REFERENCE])
        for variant, profile in sorted(profiles.items()):
            kept = reach(profile)
            if variant == REFERENCE or not (reference > 0 and kept < 1e-3 * reference):
                continue
            diff = comparisons.get(variant)
            fails = diff is not None and diff.excludes_zero and ((diff.mean < 0) if better_high else (diff.mean > 0))
            sentences.append(f"Why, on {task_name}: {variant} {'fails this task and ' if fails else ''}keeps "
                             f"{kept:.1e} of a signal "
                             f"from {lag} steps back relative to the last step, against {reference:.2g} for gru "
                             f"— its gradient vanishes (trained models, mean of {len(per_variant[variant])} seeds).")
    if clamps:
        base = clamps["none"].mean
        parts = [f"{k}: {_fmt(v.mean)}" for k, v in clamps.items() if k != "none"]
        sentences.append(f"Why, on {task_name}: the trained gru's {metric} on 64 test sequences is {_fmt(base)}; "
                         "clamped without retraining — " + ", ".join(parts) + ".")
    if REFERENCE in smoothing and smoothing[REFERENCE].n:
        fit = smoothing[REFERENCE]
        low = fit.low if fit.n > 1 else fit.mean
        high = fit.high if fit.n > 1 else fit.mean
        verdict = ("the trained gru behaves like exponential smoothing with changing weights" if low >= SMOOTH_ENOUGH
                   else "the trained gru does not behave like exponential smoothing: its candidate needs the past"
                   if high < SMOOTH_ENOUGH
                   else "the data cannot tell whether the trained gru is an exponential smoothing")
        sentences.append(f"Why, on {task_name}: an exponential smoothing of the input with gru's own z explains "
                         f"{_interval_text(fit)} of its states' variance — {verdict}.")
    return {"profiles": profiles, "profiles_init": profiles_init, "spectral_radius": radius, "time_scales": scales,
            "time_scale_units": units, "smoothing": smoothing, "clamps": clamps, "heatmaps": heatmaps,
            "sentences": sentences}


def _best_rate(records: list[RunRecord], higher_is_better: bool) -> list[RunRecord]:
    """The records of the learning rate with the best mean validation metric (all, when there is one rate)."""
    by_rate: dict[float, list[RunRecord]] = defaultdict(list)
    for r in records:
        by_rate[r.learning_rate].append(r)
    if len(by_rate) == 1:
        return records

    def score(rs: list[RunRecord]) -> float:
        values = [_number(r.metrics.best_valid) for r in rs if r.status == "ok"]
        values = [v for v in values if math.isfinite(v)]
        if not values:
            return -math.inf
        mean = sum(values) / len(values)
        return mean if higher_is_better else -mean

    return max(by_rate.values(), key=score)


def _sentence(task: str, metric: str, better_high: bool, variant: str, reference: Interval, value: Interval,
              diff: Interval) -> str:
    what = _summary_of(variant)
    head = (f"On {task}, {variant} ({what}) against gru: test {metric} {_fmt(reference.mean)} → "
            f"{_fmt(value.mean)}")
    if diff.n < 2:
        return head + f" — too few paired seeds ({diff.n}) for an interval; the data cannot tell."
    span = f"difference {diff.mean:+.3g}, 95% CI [{diff.low:+.3g}, {diff.high:+.3g}], {diff.n} seeds"
    if not diff.excludes_zero:
        return head + f" ({span}) — the interval includes 0: the data cannot tell."
    worse = (diff.mean < 0) if better_high else (diff.mean > 0)
    return head + f" ({span}) — {'worse' if worse else 'better'} than gru, beyond the noise of the seeds."


def _plots(summary: dict[str, dict], folder: Path) -> dict[str, str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    files = {}
    for task_name, part in summary.items():
        fig, ax = plt.subplots(figsize=(6.4, 3.6))
        for variant, curves in sorted(part["curves"].items()):
            if not curves:
                continue
            steps = [point[0] for point in curves[0]]
            mean = [sum(_number(c[i][2]) for c in curves if len(c) > i) / sum(len(c) > i for c in curves)
                    for i in range(len(steps))]
            ax.plot(steps, mean, label=variant, linewidth=2.2 if variant == REFERENCE else 1.2)
        task = part["task"]
        ax.axhline(task.trivial, color="grey", linestyle=":", linewidth=1, label="trivial")
        ax.set_xlabel("training step")
        ax.set_ylabel(f"validation {task.metric}")
        ax.set_title(task_name)
        ax.legend(fontsize=7, ncol=2)
        fig.tight_layout()
        name = f"curves_{task_name}.png"
        fig.savefig(folder / name, dpi=110)
        plt.close(fig)
        files[task_name] = name
        files.update(_why_plots(task_name, part["why"], folder, plt))
    return files


def _why_plots(task_name: str, why: dict, folder: Path, plt) -> dict[str, str]:
    """The "Why" figures of one task: gradient flow per variant (dashed: at initialisation), the units' time
    scales per variant, and gru's gate heatmaps on one test sequence."""
    files = {}

    def save(fig, kind: str) -> None:
        fig.tight_layout()
        fig.savefig(folder / f"{kind}_{task_name}.png", dpi=110)
        plt.close(fig)
        files[f"{kind}:{task_name}"] = f"{kind}_{task_name}.png"

    if why["profiles"]:
        fig, ax = plt.subplots(figsize=(6.4, 3.8))
        for n, (variant, profile) in enumerate(sorted(why["profiles"].items())):
            colour = f"C{n % 10}"
            lags = list(range(len(profile) - 1, -1, -1))
            ax.semilogy(lags, [max(v, 1e-30) for v in profile], color=colour, label=variant,
                        linewidth=2.2 if variant == REFERENCE else 1.2)
            if variant in why["profiles_init"]:
                start = why["profiles_init"][variant]
                ax.semilogy(list(range(len(start) - 1, -1, -1)), [max(v, 1e-30) for v in start], color=colour,
                            linestyle=":", linewidth=0.9)
        ax.set_xlabel("steps back from the last state")
        ax.set_ylabel("‖uᵀ ∂h_T/∂h_t‖")
        ax.set_title(f"{task_name}: how far back the last state reaches (dotted: at initialisation)", fontsize=9)
        ax.legend(fontsize=7, ncol=2)
        save(fig, "flow")
    if why["time_scale_units"]:
        fig, ax = plt.subplots(figsize=(6.4, 3.4))
        pooled = [v for values in why["time_scale_units"].values() for v in values if math.isfinite(v) and v > 0]
        top = max(pooled, default=2.0)
        bins = [1.0 * (max(top, 2.0) ** (k / 24)) for k in range(25)]
        for variant, values in sorted(why["time_scale_units"].items()):
            values = [v for v in values if math.isfinite(v)]                 # variants differ in width: shares
            ax.hist(values, bins=bins, weights=[1 / len(values)] * len(values), histtype="step", label=variant,
                    linewidth=2.2 if variant == REFERENCE else 1.2)
        ax.set_xscale("log")
        ax.set_xlabel("time scale τ of a unit (steps; 1/mean z, LSTM: 1/mean(1−f))")
        ax.set_ylabel("share of units (all seeds)")
        ax.legend(fontsize=7, ncol=2)
        save(fig, "timescales")
    if why["heatmaps"]:
        fig, axes = plt.subplots(1, len(why["heatmaps"]), figsize=(6.4, 3.2), squeeze=False, layout="constrained")
        for ax, (name, values) in zip(axes[0], sorted(why["heatmaps"].items()), strict=True):
            image = ax.imshow(values, aspect="auto", vmin=0, vmax=1, cmap="viridis", interpolation="nearest")
            ax.set_title(f"gru's {name}", fontsize=9)
            ax.set_xlabel("time step")
            ax.set_ylabel("unit")
        fig.colorbar(image, ax=axes[0].tolist())
        fig.savefig(folder / f"gates_{task_name}.png", dpi=110)
        plt.close(fig)
        files[f"gates:{task_name}"] = f"gates_{task_name}.png"
    return files


def _why_section(task_name: str, why: dict, plots: dict[str, str]) -> tuple[list[str], list[str]]:
    """Markdown and HTML of the "Why" part of a task: gradient flow, gru's clamp tests and gate heatmaps, the
    step Jacobian's spectral radius, time scales and the distance to exponential smoothing."""
    md, body = [f"### Why — {task_name}", ""], [f"<h3>Why — {html.escape(task_name)}</h3>"]

    def figure(kind: str, alt: str) -> None:
        if (name := plots.get(f"{kind}:{task_name}")) is not None:
            md.extend([f"![{alt}]({name})", ""])
            body.append(f'<img src="{name}" alt="{html.escape(alt)} of {html.escape(task_name)}">')

    def add_table(header: list[str], rows: list[list[str]]) -> None:
        table_md, table_html = table(header, rows)
        md.extend(table_md)
        body.append(table_html)

    figure("flow", "gradient flow")
    if why["clamps"]:
        add_table(["gru clamped (no retraining)", *why["clamps"]],
              [["test metric", *(_interval_text(v) for v in why["clamps"].values())]])
    figure("gates", "gru's gates on one test sequence")
    variants = sorted(set(why["spectral_radius"]) | set(why["time_scales"]) | set(why["smoothing"]),
                      key=lambda v: (v != REFERENCE, v))
    rows = []
    for v in variants:
        start, trained = why["spectral_radius"].get(v, (math.nan, math.nan))
        q = why["time_scales"].get(v)
        rows.append([v, _fmt(start), _fmt(trained), " / ".join(_fmt(x) for x in q) if q else "no such gate",
                     _interval_text(why["smoothing"][v]) if v in why["smoothing"] else "does not apply"])
    if rows:
        add_table(["variant", "spectral radius of ∂h_t/∂h_t−1 (median, init)", "(trained)",
               "time scale τ: quartiles over units (steps)", "variance explained by exponential smoothing"], rows)
    figure("timescales", "time scales of the units")
    return md, body


def write_report(store_path: str | Path, folder: str | Path, command: str = "") -> Path:
    """Read the store, write the report into ``folder``; return the path of ``index.html``. The reproducing
    command is ``command``, else the one the study stored."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with Store.open(store_path, readonly=True) as store:
        records = read_records(store)
        command = command or store.meta("command") or ""
    summary = summarise(records)
    plots = _plots(summary, folder)
    md, body = ["# What the update gate and the reset gate did in this study", ""], []
    headline = [s for part in summary.values() for s in part["sentences"] if "beyond the noise" in s]
    undecided = sum("cannot tell" in s for part in summary.values() for s in part["sentences"])
    md += [f"- {s}" for s in headline] or ["- No comparison with gru was beyond the noise of the seeds."]
    md += ["", f"{undecided} other comparisons could not be told apart from gru with these seeds.", ""]
    if command:
        md += ["Reproduce with:", "", f"    {command}", ""]
    body.append("<h1>What the update gate and the reset gate did in this study</h1><ul>")
    body += [f"<li>{html.escape(s)}</li>" for s in headline] or ["<li>No comparison with gru was beyond the noise "
                                                                 "of the seeds.</li>"]
    body.append(f"</ul><p>{undecided} other comparisons could not be told apart from gru with these seeds.</p>")
    if command:
        body.append(f"<p>Reproduce with: <code>{html.escape(command)}</code></p>")
    header = ["variant", "learning rate", "test (mean ± 95% CI)", "solved", "steps to criterion", "parameters",
              "s / run", "status", "backend"]
    for task_name, part in summary.items():
        task = part["task"]
        direction = "higher" if task.higher_is_better else "lower"
        md += [f"## {task_name}", "", f"*{task.isolates}* Metric: {task.metric} ({direction} is better); "
               f"trivial level {_fmt(task.trivial)}; solved {'≥' if task.higher_is_better else '<'} "
               f"{_fmt(task.solved_at)}.", "",
               *[f"Reference: {name} {_fmt(value)}." for name, value in part["references"].items()], "",
               "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        body += [f"<h2>{html.escape(task_name)}</h2>", f"<p><em>{html.escape(task.isolates)}</em> Metric: "
                 f"{task.metric}; trivial level {_fmt(task.trivial)}; solved at {_fmt(task.solved_at)}.</p>",
                 *[f"<p>Reference: {html.escape(name)} {_fmt(value)}.</p>"
                   for name, value in part["references"].items()],
                 "<table><tr>" + "".join(f"<th>{h}</th>" for h in header) + "</tr>"]
        for row in part["rows"]:
            cells = [row.variant, f"{row.learning_rate:g}", _interval_text(row.test), f"{100 * row.success:.0f}%",
                     _fmt(row.steps_to_criterion),
                     str(row.parameters), f"{row.seconds:.1f}", row.statuses, row.backends]
            md.append("| " + " | ".join(cells) + " |")
            body.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
        body.append("</table>")
        md += ["", f"![learning curves]({plots[task_name]})", ""] + [f"- {s}" for s in part["sentences"]] + [""]
        body.append(f'<img src="{plots[task_name]}" alt="learning curves of {html.escape(task_name)}">')
        body.append("<ul>" + "".join(f"<li>{html.escape(s)}</li>" for s in part["sentences"]) + "</ul>")
        why_md, why_html = _why_section(task_name, part["why"], plots)
        md += why_md
        body += why_html
    (folder / "report.md").write_text("\n".join(md) + "\n")
    index = folder / "index.html"
    index.write_text(page("gatelab report", body))
    return index
