"""The "Why" part of each task: what the stored diagnostics show, and the sentences that may cite them.

The sentences obey the answer's rules: "its gradient vanishes" only for a variant that fails the task (its
verdict says so) and whose trained reach at the task's lag is far below gru's — the reach averaged over seeds on a
log scale (geometric mean), with its value at initialisation beside it; "its candidate needs the past" (the
exponential-smoothing fit) is cross-checked against the trained r ≡ 0 variant on the same task.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..registry import get_variant, variants
from ..study.record import RunRecord
from .markup import Block, Figure, Heading, Table, Text
from .stats import Interval, interval
from .summary import REFERENCE, TaskSummary, fmt, interval_text, number

SMOOTH_ENOUGH = 0.9           # an exponential smoothing "explains" a unit at this share of its states' variance
VANISHED = 1e-3               # "its gradient vanishes": reach below this fraction of gru's



@dataclass
class Why:
    profiles: dict[str, list[float]]
    profiles_init: dict[str, list[float]]
    reach: dict[str, tuple[float, float, int]]            # geometric-mean reach (trained, at init), seeds
    spectral_radius: dict[str, tuple[float, float]]
    time_scales: dict[str, list[float]]
    time_scale_units: dict[str, list[float]]
    smoothing: dict[str, Interval]
    clamps: dict[str, Interval]
    heatmaps: dict[str, list]
    sentences: list[str]



def past_blind_variant() -> str | None:
    """The registered variant of the reset question whose candidate cannot read the past (r ≡ 0): the trained
    cross-check of the smoothing fit. Found in the registry, not named here."""
    return next((v for v in variants() if get_variant(v).question == "reset"
                 and not get_variant(v).candidate_reads_h), None)


def _median(values: list[float]) -> float:
    values = sorted(v for v in values if math.isfinite(v))
    return values[len(values) // 2] if values else math.nan


def _mean_profile(runs: list[RunRecord], key: str) -> list[float] | None:
    curves = [c for r in runs if r.status == "ok" and (c := getattr(r.diagnostics, key))]
    if not curves:
        return None
    return [sum(number(c[i]) for c in curves) / len(curves) for i in range(min(map(len, curves)))]


def _geometric_reach(runs: list[RunRecord], key: str) -> float:
    """exp(mean log(p_0 / p_T)) over seeds: the signal kept from the first step relative to the last."""
    logs = []
    for r in runs:
        profile = getattr(r.diagnostics, key) if r.status == "ok" else None
        if profile and number(profile[-1]) > 0 and number(profile[0]) > 0:
            logs.append(math.log(number(profile[0]) / number(profile[-1])))
    return math.exp(sum(logs) / len(logs)) if logs else math.nan


def why(task_name: str, part: TaskSummary) -> Why:
    """The diagnostics of one task across seeds, per variant, and the sentences that cite them."""
    profiles, profiles_init, reach, radius, scales, units, smoothing = {}, {}, {}, {}, {}, {}, {}
    for variant, rs in part.runs.items():
        ok = [r for r in rs if r.status == "ok"]
        diagnostics = [r.diagnostics for r in ok]
        if (profile := _mean_profile(ok, "sensitivity")) is not None:
            profiles[variant] = profile
            reach[variant] = (_geometric_reach(ok, "sensitivity"), _geometric_reach(ok, "sensitivity_init"),
                              len(ok))
        if (profile := _mean_profile(ok, "sensitivity_init")) is not None:
            profiles_init[variant] = profile
        radius[variant] = (_median([_median([number(v) for v in d.spectral_radius_init or []])
                                    for d in diagnostics]),
                           _median([number(d.spectral_radius_median) for d in diagnostics]))
        quartiles = [d.time_scale_quartiles for d in diagnostics if d.time_scale_quartiles]
        if quartiles:
            scales[variant] = [_median([q[i] for q in quartiles]) for i in range(3)]
            units[variant] = [number(v) for d in diagnostics for v in d.time_scales or []]
        fits = [d.smoothing for d in diagnostics if d.smoothing]
        if fits:
            smoothing[variant] = interval([number(f.explained_variance) for f in fits])
    reference_runs = [r for r in part.runs.get(REFERENCE, []) if r.status == "ok"]
    clamp_runs = [c for r in reference_runs if (c := r.diagnostics.clamps)]
    clamps = {}
    if clamp_runs:                          # U_h = 0 is r ≡ 0 under reset="before": older stores hold it twice
        keys = [k for k in clamp_runs[0] if not (k == "U_h=0" and part.reset == "before")]
        clamps = {k: interval([number(c[k]) for c in clamp_runs if k in c]) for k in keys}
    heatmaps = next((h for r in reference_runs if (h := r.diagnostics.heatmaps)), {})
    found = Why(profiles, profiles_init, reach, radius, scales, units, smoothing, clamps, heatmaps, [])
    found.sentences = _sentences(task_name, part, found)
    return found


def _sentences(task_name: str, part: TaskSummary, found: Why) -> list[str]:
    sentences = []
    if REFERENCE in found.reach and REFERENCE in found.profiles:
        lag = len(found.profiles[REFERENCE]) - 1
        reference, _, _ = found.reach[REFERENCE]
        for variant, (kept, at_init, seeds) in sorted(found.reach.items()):
            v = part.verdicts.get(variant)
            if variant == REFERENCE or v is None or v.kind != "fails":
                continue
            if reference > 0 and kept < VANISHED * reference:
                sentences.append(f"Why, on {task_name}: {variant} fails this task and keeps {kept:.1e} of a signal "
                                 f"from {lag} steps back relative to the last step ({at_init:.1e} at "
                                 f"initialisation), against {reference:.2g} for gru — its gradient vanishes "
                                 f"(trained models, geometric mean over {seeds} seeds).")
    if found.clamps and "none" in found.clamps:
        parts = [f"{k}: {fmt(v.mean)}" for k, v in found.clamps.items() if k != "none"]
        sentences.append(f"Why, on {task_name}: the trained gru's {part.facts.metric} on 64 test sequences is "
                         f"{fmt(found.clamps['none'].mean)}; clamped without retraining — " + ", ".join(parts) + ".")
    fit = found.smoothing.get(REFERENCE)
    if fit is not None and fit.n:
        low, high = (fit.low, fit.high) if fit.n > 1 else (fit.mean, fit.mean)
        head = (f"Why, on {task_name}: an exponential smoothing of the input with gru's own z explains "
                f"{interval_text(fit)} of its states' variance")
        name = past_blind_variant()
        r_zero = part.verdicts.get(name) if name else None
        r_zero_worse = r_zero is not None and r_zero.direction > 0 and r_zero.grade != "none"
        r_zero_equal = r_zero is not None and r_zero.kind in ("both_solve", "no_difference")
        if high < SMOOTH_ENOUGH:
            tail = "the trained gru does not behave like exponential smoothing: its candidate uses the past"
            if r_zero_worse:
                tail += f", and {name} (r ≡ 0), whose candidate cannot, is worse here — the task needs it"
            elif r_zero_equal:
                tail += (f"; but {name} (r ≡ 0), whose candidate cannot, is not detectably worse here — the "
                         "trained gru uses the past although the task does not need it")
        elif low >= SMOOTH_ENOUGH:
            tail = "the trained gru behaves like exponential smoothing with changing weights"
            if r_zero_worse:
                tail += (f"; yet {name} (r ≡ 0) is worse here — the two measures disagree, so no conclusion "
                         "about the candidate's need for the past")
        else:
            tail = "the data cannot tell whether the trained gru is an exponential smoothing"
        sentences.append(f"{head} — {tail}.")
    return sentences




def why_blocks(task_name: str, found: Why, plots: dict[str, str]) -> list[Block]:
    """The "Why" section of one task: gradient flow, gru's clamp tests and gate heatmaps, the step Jacobian's
    spectral radius, time scales and the distance to exponential smoothing."""
    blocks: list[Block] = [Heading(3, f"Why — {task_name}")]

    def figure(kind: str, alt: str) -> None:
        if (name := plots.get(f"{kind}:{task_name}")) is not None:
            blocks.append(Figure(name, f"{alt} of {task_name}"))

    figure("flow", "gradient flow")
    if found.reach:
        blocks.append(Table(("variant", "reach from the first step (trained, geometric mean)", "(at init)"),
                            tuple((v, f"{a:.2e}", f"{b:.2e}") for v, (a, b, _) in
                                  sorted(found.reach.items(), key=lambda kv: (kv[0] != REFERENCE, kv[0])))))
    if found.clamps:
        blocks.append(Table(("gru clamped (no retraining)", *found.clamps),
                            (("test metric", *(interval_text(v) for v in found.clamps.values())),)))
    figure("gates", "gru's gates on one test sequence")
    variants = sorted(set(found.spectral_radius) | set(found.time_scales) | set(found.smoothing),
                      key=lambda v: (v != REFERENCE, v))
    rows = []
    for v in variants:
        start, trained = found.spectral_radius.get(v, (math.nan, math.nan))
        q = found.time_scales.get(v)
        rows.append((v, fmt(start), fmt(trained), " / ".join(fmt(x) for x in q) if q else "no such gate",
                     interval_text(found.smoothing[v]) if v in found.smoothing else "does not apply"))
    if rows:
        blocks.append(Table(("variant", "spectral radius of the step Jacobian (median, init)", "(trained)",
                             "time scale τ: quartiles over units (steps)",
                             "variance explained by exponential smoothing"), tuple(rows)))
    figure("timescales", "time scales of the units")
    if found.sentences:
        blocks.append(Text(" ".join(found.sentences)))
    return blocks
