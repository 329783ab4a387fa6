"""The report's figures: the overview (variants × tasks), one forest plot per question, and per task its learning
curves and "Why" figures. Each function writes PNGs into the report folder and returns their names."""

from __future__ import annotations

import math
from pathlib import Path

from .summary import REFERENCE, TaskSummary, comparison_groups, number
from .why import Why


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(plt, fig, folder: Path, name: str) -> str:
    fig.savefig(folder / name, dpi=110)
    plt.close(fig)
    return name


def overview(summary: dict[str, TaskSummary], folder: Path) -> str | None:
    """Variants × tasks, colour = share of seeds meeting the criterion; ★ where the verdict against gru is clear
    (survives its correction), · where it is suggestive; a grey cell where gru does not solve the task."""
    plt = _pyplot()
    tasks = list(summary)
    present = {v for part in summary.values() for v in part.runs}
    order = [REFERENCE] * (REFERENCE in present) + [v for _, _, vs in comparison_groups(present) for v in vs]
    if not tasks or not order:
        return None
    fig, ax = plt.subplots(figsize=(max(5.6, 2.2 + 0.75 * len(tasks)), 1.3 + 0.36 * len(order)))
    grid = [[math.nan] * len(tasks) for _ in order]
    for j, task in enumerate(tasks):
        part = summary[task]
        for i, variant in enumerate(order):
            row = next((r for r in part.rows if r.variant == variant), None)
            if row is None:
                continue
            grid[i][j] = row.success
            v = part.verdicts.get(variant)
            mark = ""
            if v is not None and v.kind == "unsolved":
                mark = "n/a"
            elif v is not None and v.grade == "clear" and v.direction:
                mark = "★"
            elif v is not None and v.grade == "suggestive" and v.direction:
                mark = "·"
            ax.text(j, i, f"{100 * row.success:.0f}%{(' ' + mark) if mark else ''}", ha="center", va="center",
                    fontsize=7, color="white" if row.success < 0.55 else "black")
    image = ax.imshow(grid, cmap="viridis", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(len(tasks)), tasks, rotation=40, ha="right", fontsize=8)
    ax.set_yticks(range(len(order)), order, fontsize=8)
    ax.set_title("share of seeds meeting the criterion\n★ differs from gru after correction, · uncorrected only; "
                 "n/a: gru does not solve the task", fontsize=8)
    fig.colorbar(image, ax=ax, fraction=0.03)
    fig.tight_layout()
    return _save(plt, fig, folder, "overview.png")


def forest(summary: dict[str, TaskSummary], key: str, title: str, members: tuple[str, ...],
           folder: Path) -> str | None:
    """Paired test-metric differences against gru, in units of the task's gap between its trivial level and its
    criterion (so tasks share one axis; > 0 is worse than gru), with 95% bootstrap intervals, for the tasks gru
    solves. Filled markers: the verdict survives its correction."""
    plt = _pyplot()
    points = []
    for task, part in summary.items():
        gap = abs(part.facts.trivial - part.facts.solved_at)
        sign = -1.0 if part.facts.higher_is_better else 1.0
        scale = gap if math.isfinite(gap) and gap > 0 else 1.0
        for variant in members:
            c, v = part.comparisons.get(variant), part.verdicts.get(variant)
            if c is None or not c.reference_solves or c.metric.n == 0:
                continue
            low, high = (c.metric.low, c.metric.high) if math.isfinite(c.metric.low) else (c.metric.mean,) * 2
            values = sorted((sign * low / scale, sign * high / scale))
            points.append((f"{variant} · {task}", sign * c.metric.mean / scale, values, v.grade == "clear"))
    if not points:
        return None
    fig, ax = plt.subplots(figsize=(6.4, 1.2 + 0.3 * len(points)))
    for i, (_, mean, (low, high), clear) in enumerate(points):
        ax.plot([low, high], [i, i], color="C0", linewidth=1.4)
        ax.plot([mean], [i], "o", color="C0", markerfacecolor="C0" if clear else "white")
    ax.axvline(0, color="grey", linewidth=0.8)
    ax.set_yticks(range(len(points)), [p[0] for p in points], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("test-metric difference against gru, in units of (trivial − criterion); > 0: worse", fontsize=8)
    ax.set_title(f"{title}: paired differences against gru\n95% bootstrap intervals; filled: survives its "
                 "correction", fontsize=8)
    fig.tight_layout()
    return _save(plt, fig, folder, f"forest_{key}.png")


def task_figures(task_name: str, part: TaskSummary, found: Why, folder: Path) -> dict[str, str]:
    """The learning curves of one task (key ``task_name``) and its "Why" figures (keys ``kind:task_name``)."""
    plt = _pyplot()
    files = {}
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    for variant, curves in sorted(part.curves.items()):
        if not curves:
            continue
        steps = [point[0] for point in curves[0]]
        mean = [sum(number(c[i][2]) for c in curves if len(c) > i) / sum(len(c) > i for c in curves)
                for i in range(len(steps))]
        ax.plot(steps, mean, label=variant, linewidth=2.2 if variant == REFERENCE else 1.2)
    if math.isfinite(part.facts.trivial):
        ax.axhline(part.facts.trivial, color="grey", linestyle=":", linewidth=1, label="trivial")
    ax.set_xlabel("training step")
    ax.set_ylabel(f"validation {part.facts.metric}")
    ax.set_title(task_name)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    files[task_name] = _save(plt, fig, folder, f"curves_{task_name}.png")

    if found.profiles:
        fig, ax = plt.subplots(figsize=(6.4, 3.8))
        for n, (variant, profile) in enumerate(sorted(found.profiles.items())):
            colour = f"C{n % 10}"
            ax.semilogy(list(range(len(profile) - 1, -1, -1)), [max(v, 1e-30) for v in profile], color=colour,
                        label=variant, linewidth=2.2 if variant == REFERENCE else 1.2)
            if variant in found.profiles_init:
                start = found.profiles_init[variant]
                ax.semilogy(list(range(len(start) - 1, -1, -1)), [max(v, 1e-30) for v in start], color=colour,
                            linestyle=":", linewidth=0.9)
        ax.set_xlabel("steps back from the last state")
        ax.set_ylabel("‖uᵀ ∂h_T/∂h_t‖")
        ax.set_title(f"{task_name}: how far back the last state reaches (dotted: at initialisation)", fontsize=9)
        ax.legend(fontsize=7, ncol=2)
        fig.tight_layout()
        files[f"flow:{task_name}"] = _save(plt, fig, folder, f"flow_{task_name}.png")
    if found.time_scale_units:
        fig, ax = plt.subplots(figsize=(6.4, 3.4))
        pooled = [v for values in found.time_scale_units.values() for v in values if math.isfinite(v) and v > 0]
        top = max(pooled, default=2.0)
        bins = [1.0 * (max(top, 2.0) ** (k / 24)) for k in range(25)]
        for variant, values in sorted(found.time_scale_units.items()):
            values = [v for v in values if math.isfinite(v)]                 # variants differ in width: shares
            ax.hist(values, bins=bins, weights=[1 / len(values)] * len(values), histtype="step", label=variant,
                    linewidth=2.2 if variant == REFERENCE else 1.2)
        ax.set_xscale("log")
        ax.set_xlabel("time scale τ of a unit (steps; 1/mean z, LSTM: 1/mean(1−f))")
        ax.set_ylabel("share of units (all seeds)")
        ax.legend(fontsize=7, ncol=2)
        fig.tight_layout()
        files[f"timescales:{task_name}"] = _save(plt, fig, folder, f"timescales_{task_name}.png")
    if found.heatmaps:
        fig, axes = plt.subplots(1, len(found.heatmaps), figsize=(6.4, 3.2), squeeze=False, layout="constrained")
        for ax, (name, values) in zip(axes[0], sorted(found.heatmaps.items()), strict=True):
            image = ax.imshow(values, aspect="auto", vmin=0, vmax=1, cmap="viridis", interpolation="nearest")
            ax.set_title(f"gru's {name}", fontsize=9)
            ax.set_xlabel("time step")
            ax.set_ylabel("unit")
        fig.colorbar(image, ax=axes[0].tolist())
        files[f"gates:{task_name}"] = _save(plt, fig, folder, f"gates_{task_name}.png")
    return files

