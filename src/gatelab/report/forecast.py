"""The forecast report: a pure function of ``forecasts.csv`` and ``models.json`` in a folder.

Errors are computed from the stored forecasts. The verdict is the simplest model of the ladder inside the 90%
model confidence set (Hansen, Lunde & Nason 2011; ``arch.bootstrap.MCS``) of the per-origin scaled errors; when
that model errs far more than the best one, the report says the data cannot separate them instead of calling the
simpler one enough. Pairwise, each model is compared with the best by Diebold–Mariano on the per-origin loss
differences (HAC up to the overlap of the origins' horizons, HLN-corrected). Gate comparisons (a variant against
gru) pair on origins *and* ask whether the difference exceeds the spread between seeds. Intervals: conformal,
from the errors each model made at earlier origins whose targets were already observed (no look-ahead).
Simplicity: the classical rungs in ladder order, then the recurrent models by their number of parameters.
"""

from __future__ import annotations

import csv
import html
import json
import math
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from ..registry import get_variant
from .markup import page, table
from .stats import PairedTest, diebold_mariano, diebold_mariano_series

REFERENCE = "gru"
# A verdict whose model errs this many times more than the best's says the data could not separate them.
WEAK_EVIDENCE = 1.25
MCS_SIZE = 0.10                       # the confidence set holds the best model with probability 1 − MCS_SIZE
LEVELS = (80, 95)                     # prediction-interval levels (%)
PARAMETER_TOLERANCE = 0.05            # parameter counts within 5% of gru's count as matched


@dataclass(frozen=True)
class ModelScore:
    name: str
    kind: str
    status: str
    message: str
    seconds: float
    parameters: int
    mae: float
    rmse: float
    mase: float
    by_horizon: tuple[float, ...]          # MASE at horizon 1 … H
    against_best: PairedTest | None
    seed_mase: tuple[float, ...] = ()      # a recurrent ensemble: each member's MASE
    coverage: tuple[tuple[int, float, int], ...] = ()   # (level, share of truths inside, forecasts with an interval)
    mcs_p: float = math.nan                # MCS p-value (in the set when ≥ MCS_SIZE)
    chosen: str = ""                       # a recurrent rung: the size and rate chosen on the held-out tail

    @property
    def in_set(self) -> bool:
        return self.mcs_p >= MCS_SIZE


def read_rows(folder: Path) -> list[dict]:
    with (folder / "forecasts.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    for r in rows:
        for key in ("y", "y_hat", "scale"):
            r[key] = float(r[key])
        r["origin"], r["horizon"] = int(r["origin"]), int(r["horizon"])
        seeds = r.get("y_hat_seeds") or ""
        r["y_hat_seeds"] = tuple(float(v) for v in seeds.split(";")) if seeds else ()
    return rows


def _error(r: dict) -> float:
    return abs(r["y"] - r["y_hat"]) / r["scale"]


def origin_losses(rows: list[dict]) -> dict[int, float]:
    """The mean scaled absolute error at each origin (over series and horizons)."""
    by_origin: dict[int, list[float]] = defaultdict(list)
    for r in rows:
        by_origin[r["origin"]].append(_error(r))
    return {k: sum(v) / len(v) for k, v in sorted(by_origin.items())}


def overlap_lags(rows: list[dict], stride: int) -> int:
    """How many following origins share target periods with an origin: ⌈H / step⌉ − 1."""
    horizon = max((r["horizon"] for r in rows), default=1)
    return max(0, math.ceil(horizon / max(stride, 1)) - 1)


def compare(rows_a: list[dict], rows_b: list[dict], stride: int | None = None) -> PairedTest:
    """Diebold–Mariano of model a's scaled absolute errors against model b's, paired on the origins both made.
    With ``stride`` (the origins' step), per-origin differences with HAC over the overlapping origins; without,
    every (series, origin) block of horizons independent (origins a horizon or more apart)."""
    if stride is None:
        a, b = _blocks(rows_a), _blocks(rows_b)
        return diebold_mariano([[x - y for x, y in zip(a[k], b[k], strict=True)] for k in sorted(a) if k in b])
    a, b = origin_losses(rows_a), origin_losses(rows_b)
    return diebold_mariano_series([a[k] - b[k] for k in a if k in b], overlap_lags(rows_a, stride))


def _blocks(rows: list[dict]) -> dict[tuple[str, int], list[float]]:
    out: dict[tuple[str, int], list[tuple[int, float]]] = defaultdict(list)
    for r in rows:
        out[(r["unique_id"], r["origin"])].append((r["horizon"], _error(r)))
    return {k: [e for _, e in sorted(v)] for k, v in out.items()}


def confidence_set(by_model: dict[str, list[dict]], names: list[str], stride: int) -> dict[str, float]:
    """MCS p-value of each model (Hansen, Lunde & Nason 2011, ``arch``'s range statistic, 1000 moving-block
    bootstrap samples with blocks as long as the origins' overlap, fixed seed) on the per-origin losses."""
    if len(names) < 2:
        return {n: 1.0 for n in names}
    import numpy as np
    import pandas as pd
    from arch.bootstrap import MCS

    losses = pd.DataFrame({n: origin_losses(by_model[n]) for n in names}).dropna()
    if len(losses) < 3:
        return {n: 1.0 for n in names}
    # models with the very same losses (naive and an SES whose α is 1, say) are one model to the test: keep one
    # column of each, give its p-value to all (the bootstrap's variance of their difference would be 0)
    first_of: dict[str, str] = {}
    for name in names:
        first_of[name] = next((kept for kept in dict.fromkeys(first_of.values())
                               if np.array_equal(losses[kept].to_numpy(), losses[name].to_numpy())), name)
    unique = list(dict.fromkeys(first_of.values()))
    if len(unique) < 2:
        return {n: 1.0 for n in names}
    block = overlap_lags(by_model[names[0]], stride) + 1
    mcs = MCS(losses[unique], size=MCS_SIZE, reps=1000, block_size=max(1, min(block, len(losses) // 2)),
              method="R", seed=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        mcs.compute()
    p = mcs.pvalues["Pvalue"]
    return {n: float(p[first_of[n]]) for n in names}


def conformal_coverage(rows: list[dict], stride: int) -> tuple[tuple[int, float, int], ...]:
    """Split-conformal intervals from the model's own earlier errors: the forecast at origin k, horizon h gets
    ŷ ± q · scale, q the ⌈(n + 1)·level⌉-th smallest of the n scaled errors at horizon h of every series at
    origins j ≤ k − ⌈h / step⌉ (their targets observed by k's cutoff). Returns, per level, the share of truths
    inside and how many forecasts had enough earlier errors for an interval."""
    by_horizon: dict[int, list[tuple[int, float]]] = defaultdict(list)
    for r in rows:
        by_horizon[r["horizon"]].append((r["origin"], _error(r)))
    out = []
    for level in LEVELS:
        inside = total = 0
        for r in rows:
            last = r["origin"] - math.ceil(r["horizon"] / max(stride, 1))
            scores = sorted(e for j, e in by_horizon[r["horizon"]] if j <= last)
            rank = math.ceil((len(scores) + 1) * level / 100)
            if rank > len(scores):
                continue
            total += 1
            inside += _error(r) <= scores[rank - 1]
        out.append((level, inside / total if total else math.nan, total))
    return tuple(out)


def seed_mase(rows: list[dict]) -> tuple[float, ...]:
    """Each ensemble member's own MASE over the model's forecasts (empty for a single model)."""
    members = len(rows[0].get("y_hat_seeds", ())) if rows else 0
    return tuple(sum(abs(r["y"] - r["y_hat_seeds"][m]) / r["scale"] for r in rows) / len(rows)
                 for m in range(members))


def simplicity(score: ModelScore, order: list[str]) -> tuple:
    return (score.kind != "classical", order.index(score.name) if score.kind == "classical" else score.parameters,
            order.index(score.name))


def summarise_forecasts(rows: list[dict], models: list[dict], stride: int | None = None) -> dict:
    """Scores per model, the confidence set, the verdict (pooled, and per series when there are several) and
    the gate sentences, from the stored rows and model outcomes. ``stride``: the origins' step (None: origins
    at least a horizon apart, the pre-0.3 layout)."""
    by_model: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_model[r["model"]].append(r)
    order = [m["name"] for m in models]
    ok = [m["name"] for m in models if m["status"] == "ok" and by_model.get(m["name"])]
    step = stride or max((r["horizon"] for r in rows), default=1)

    def mase(rs: list[dict]) -> float:
        return sum(_error(r) for r in rs) / len(rs) if rs else math.nan

    best = min(ok, key=lambda n: mase(by_model[n])) if ok else None
    mcs = confidence_set(by_model, ok, step) if ok else {}
    scores = []
    for m in models:
        rs = by_model.get(m["name"], [])
        horizons = sorted({r["horizon"] for r in rs})
        scores.append(ModelScore(
            m["name"], m["kind"], m["status"], m["message"], m["seconds"], m["parameters"],
            sum(abs(r["y"] - r["y_hat"]) for r in rs) / len(rs) if rs else math.nan,
            math.sqrt(sum((r["y"] - r["y_hat"]) ** 2 for r in rs) / len(rs)) if rs else math.nan,
            mase(rs), tuple(mase([r for r in rs if r["horizon"] == h]) for h in horizons),
            compare(rs, by_model[best], stride) if rs and best and m["name"] != best and m["status"] == "ok"
            else None,
            seed_mase(rs), conformal_coverage(rs, step) if rs else (), mcs.get(m["name"], math.nan),
            _choice(m.get("chosen") or {})))
    ladder = sorted((s for s in scores if s.name in ok), key=lambda s: simplicity(s, order))
    chosen = next((s for s in ladder if s.in_set or s.name == best), None)
    best_score = next((s for s in scores if s.name == best), None)
    sentences = [_verdict(chosen, best_score, ladder)] if chosen else [
        "No model produced forecasts; there is no verdict."]
    series = sorted({r["unique_id"] for r in rows})
    per_series = {}
    if len(series) > 1 and ok:
        for sid in series:
            mine = {n: [r for r in by_model[n] if r["unique_id"] == sid] for n in ok}
            p = confidence_set(mine, ok, step)
            lowest = min(ok, key=lambda n: mase(mine[n]))
            simplest = next(s.name for s in ladder if p[s.name] >= MCS_SIZE or s.name == lowest)
            per_series[sid] = (simplest, lowest, [n for n in ok if p[n] >= MCS_SIZE])
            sentences.append(f"Series {sid}: {simplest} is the simplest model in its 90% confidence set "
                             f"({', '.join(per_series[sid][2])}); lowest error: {lowest}.")
    gates = {}
    if REFERENCE in ok:
        for s in scores:
            if s.name in ok and s.name != REFERENCE and s.kind == "recurrent" and get_variant(s.name).family == "gru":
                reference = next(x for x in scores if x.name == REFERENCE)
                gates[s.name] = (compare(by_model[s.name], by_model[REFERENCE], stride),
                                 _seed_test(s.seed_mase, reference.seed_mase),
                                 _unmatched(s.parameters, reference.parameters))
        sentences += [_gate_sentence(name, *test) for name, test in gates.items()]
    failed = [s for s in scores if s.status != "ok"]
    sentences += [f"{s.name} {'could not be fitted' if s.status == 'failed' else 'was skipped'}: {s.message}"
                  for s in failed]
    return {"scores": scores, "best": best, "chosen": chosen.name if chosen else None, "gates": gates,
            "sentences": sentences, "confidence_set": [n for n in ok if mcs.get(n, 0) >= MCS_SIZE],
            "per_series": per_series}


def _seed_test(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """Welch's t-test p-value of two ensembles' per-seed MASEs (NaN with fewer than 2 seeds each)."""
    if len(a) < 2 or len(b) < 2:
        return math.nan
    from scipy import stats

    return float(stats.ttest_ind(a, b, equal_var=False).pvalue)


def _f(x: float) -> str:
    return "—" if not math.isfinite(x) else f"{x:.3g}"


def _verdict(chosen: ModelScore, best: ModelScore, ladder: list[ModelScore]) -> str:
    in_set = [s.name for s in ladder if s.in_set]
    set_text = f"the 90% model confidence set holds {', '.join(in_set)}"
    if chosen.name == best.name:
        simpler = ladder[:ladder.index(chosen)]
        closest = min(simpler, key=lambda s: s.against_best.mean, default=None)
        tail = (f"; every simpler model is outside the set (the closest, {closest.name}: MASE {_f(closest.mase)}, "
                f"difference {closest.against_best.mean:+.3g}, 95% CI [{closest.against_best.low:+.3g}, "
                f"{closest.against_best.high:+.3g}], DM p = {closest.against_best.p_value:.2g}, MCS p = "
                f"{closest.mcs_p:.2g})" if closest else "; it is also the simplest of the ladder")
        return f"Verdict: {best.name} is needed — it has the lowest error (MASE {_f(best.mase)}){tail}."
    t = chosen.against_best
    if best.mase > 0 and chosen.mase > WEAK_EVIDENCE * best.mase:
        return (f"Verdict: the data cannot separate {chosen.name} from {best.name} — {set_text}. {chosen.name}, the "
                f"simplest in it, errs {chosen.mase / best.mase:.1f}× as much (MASE {_f(chosen.mase)} against "
                f"{_f(best.mase)}), a gap these {t.n} origins cannot confirm (DM p = {t.p_value:.2g}); more "
                f"origins or more data could tell them apart.")
    return (f"Verdict: {chosen.name} is enough — the simplest model in the 90% model confidence set "
            f"({', '.join(in_set)}). {chosen.name}: MASE {_f(chosen.mase)} against {_f(best.mase)} for the "
            f"best, {best.name}; difference {t.mean:+.3g} (95% CI [{t.low:+.3g}, {t.high:+.3g}]) over {t.n} "
            f"origins, Diebold–Mariano p = {t.p_value:.2g}.")


def _choice(chosen: dict) -> str:
    return f"size {chosen['hidden_size']}, rate {chosen['learning_rate']:g}" if chosen else ""


def _unmatched(parameters: int, reference: int) -> str:
    """A note when a variant's parameter count is not within ``PARAMETER_TOLERANCE`` of gru's (their sizes
    were chosen on the tail separately), else ''."""
    if not parameters or not reference or abs(parameters - reference) <= PARAMETER_TOLERANCE * reference:
        return ""
    return f"{parameters} parameters against gru's {reference}: not matched within 5%"


def _gate_sentence(name: str, t: PairedTest, seed_p: float, unmatched: str = "") -> str:
    removes = get_variant(name).summary.split(":")[0]
    beyond_seeds = not math.isfinite(seed_p) or seed_p < 0.05
    seeds = "" if not math.isfinite(seed_p) else f"; seeds: Welch p = {seed_p:.2g}"
    if t.worse and beyond_seeds:
        what = "worse than gru beyond the noise of origins and seeds: this data needed what it removes"
    elif t.better and beyond_seeds:
        what = "better than gru beyond the noise of origins and seeds: this data did not need what it removes"
    elif t.worse or t.better:
        what = ("different from gru over the origins, but not beyond the spread between seeds: not a property "
                "of the gate on this data")
    else:
        what = "not distinguishable from gru: this data did not show a need for what it removes"
    return (f"Gates: {name} ({removes}) — MASE difference {t.mean:+.3g} (95% CI [{t.low:+.3g}, {t.high:+.3g}], "
            f"p = {t.p_value:.2g}{seeds}) — {what}" + (f" ({unmatched})." if unmatched else "."))


def _plots(rows: list[dict], summary: dict, folder: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    files = []
    series = rows[0]["unique_id"]
    last = max(r["origin"] for r in rows)
    truth = {r["ds"]: r["y"] for r in rows if r["unique_id"] == series}
    fig, axes = plt.subplots(2, 1, figsize=(7.5, 6), sharex=True, layout="constrained")
    for ax, kind in zip(axes, ("classical", "recurrent"), strict=True):
        stamps = sorted(truth)
        ax.plot(range(len(stamps)), [truth[s] for s in stamps], color="black", linewidth=2, label="truth")
        where = {s: i for i, s in enumerate(stamps)}
        for score in summary["scores"]:
            if score.kind != kind:
                continue
            mine = sorted((r for r in rows if r["model"] == score.name and r["unique_id"] == series
                           and r["origin"] == last), key=lambda r: r["horizon"])
            if mine:
                ax.plot([where[r["ds"]] for r in mine], [r["y_hat"] for r in mine], label=score.name,
                        linewidth=2.2 if score.name == summary["chosen"] else 1.0)
        ax.set_title(f"{series}: {kind} forecasts from the last origin", fontsize=9)
        ax.legend(fontsize=7, ncol=3)
        ticks = list(range(0, len(stamps), max(1, len(stamps) // 6)))
        ax.set_xticks(ticks, [stamps[i] for i in ticks], fontsize=7)
    fig.savefig(folder / "forecasts.png", dpi=110)
    plt.close(fig)
    files.append("forecasts.png")
    fig, ax = plt.subplots(figsize=(7.5, 3.8))
    for score in summary["scores"]:
        if score.by_horizon:
            ax.plot(range(1, len(score.by_horizon) + 1), score.by_horizon, marker="." if score.kind == "classical"
                    else None, linestyle="-" if score.kind == "classical" else "--", label=score.name,
                    linewidth=2.2 if score.name == summary["chosen"] else 1.0)
    ax.set_xlabel("horizon (steps ahead)")
    ax.set_ylabel("MASE")
    ax.set_title("error by horizon (solid: classical, dashed: recurrent)", fontsize=9)
    ax.legend(fontsize=7, ncol=3)
    fig.tight_layout()
    fig.savefig(folder / "error_by_horizon.png", dpi=110)
    plt.close(fig)
    files.append("error_by_horizon.png")
    return files


def write_forecast_report(folder: str | Path) -> Path:
    """Read ``forecasts.csv`` and ``models.json`` in ``folder``; write ``index.html``, ``report.md`` and plots."""
    folder = Path(folder)
    meta = json.loads((folder / "models.json").read_text())
    rows = read_rows(folder)
    summary = summarise_forecasts(rows, meta["models"], meta["spec"].get("stride"))
    plots = _plots(rows, summary, folder) if rows else []
    data, spec = meta["data"], meta["spec"]
    title = f"Which model is enough for {data['name']}?"
    refits = (f" Recurrent models: ensembles of {spec['seeds']} seeds, refitted every {spec['refit_every']} origins "
              "(between refits they forecast from the newer data with the same weights)."
              if spec.get("seeds") else "")
    facts = (f"{len(data['series'])} series ({', '.join(data['series'][:5])}{' …' if len(data['series']) > 5 else ''}),"
             f" horizon {spec['horizon']}, {spec['origins']} rolling origins {spec['stride']} steps apart, season "
             f"length {data['season_length']}. Errors are over every series, origin and horizon; MASE is scaled by "
             f"the in-sample error of the seasonal naive forecast at each origin.{refits}")
    md = [f"# {title}", "", *[f"**{s}**\n" if s.startswith("Verdict") else f"- {s}" for s in summary["sentences"]],
          "", facts, "", *[f"- {n}" for n in data["notes"]], ""]
    body = [f"<h1>{html.escape(title)}</h1>"]
    body += [f"<p class='verdict'>{html.escape(s)}</p>" for s in summary["sentences"] if s.startswith("Verdict")]
    body.append("<ul>" + "".join(f"<li>{html.escape(s)}</li>" for s in summary["sentences"]
                                 if not s.startswith("Verdict")) + "</ul>")
    body.append(f"<p>{html.escape(facts)}</p><ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in data["notes"])
                + "</ul>")
    if meta.get("command"):
        md += ["Reproduce with:", "", f"    {meta['command']}", ""]
        body.append(f"<p>Reproduce with: <code>{html.escape(meta['command'])}</code></p>")
    header = ["model", "kind", "MASE", "seed MASE range", "MAE", "RMSE", "Δ MASE vs best [95% CI]", "DM p",
              "MCS p", "coverage 80% / 95%", "seconds", "parameters", "size, rate (tail)", "status"]
    reference = next((s.parameters for s in summary["scores"] if s.name == REFERENCE), 0)
    cells = []
    for s in sorted(summary["scores"], key=lambda s: (s.status != "ok", s.mase if math.isfinite(s.mase) else 1e300)):
        t = s.against_best
        coverage = " / ".join(f"{_f(share)} (n={n})" for _, share, n in s.coverage) or "—"
        cells.append([s.name + (" ← verdict" if s.name == summary["chosen"] else "")
                      + (" (best)" if s.name == summary["best"] else ""), s.kind, _f(s.mase),
                      f"{_f(min(s.seed_mase))}–{_f(max(s.seed_mase))}" if s.seed_mase else "—", _f(s.mae), _f(s.rmse),
                      f"{t.mean:+.3g} [{t.low:+.3g}, {t.high:+.3g}]" if t else "—", f"{t.p_value:.2g}" if t else "—",
                      _f(s.mcs_p) + (" ∈ set" if s.in_set else ""), coverage,
                      f"{s.seconds:.2f}", str(s.parameters or "—") + (" ≠ gru" if _unmatched(s.parameters, reference)
                                                                       and s.kind == "recurrent" else ""),
                      s.chosen or "—", s.status if s.status == "ok" else s.message])
    table_md, table_html = table(header, cells)
    md += table_md
    body.append(table_html)
    for name in plots:
        md += [f"![{name}]({name})", ""]
        body.append(f'<img src="{name}" alt="{name}">')
    (folder / "report.md").write_text("\n".join(md) + "\n")
    index = folder / "index.html"
    index.write_text(page(title, body))
    return index
