"""The forecast report: a pure function of ``forecasts.csv`` and ``models.json`` in a folder.

Errors are computed from the stored forecasts; the verdict is the simplest model of the ladder whose scaled
absolute error is not worse than the best model's beyond the noise (paired over series, origins and horizons:
a Diebold–Mariano test with its 95% CI). Simplicity: the classical rungs in ladder order, then the recurrent
models by their number of parameters.
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
from .stats import PairedTest, diebold_mariano

REFERENCE = "gru"
# A verdict whose model errs this many times more than the best's says that the test could not separate them.
WEAK_EVIDENCE = 1.5


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


def read_rows(folder: Path) -> list[dict]:
    with (folder / "forecasts.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    for r in rows:
        for key in ("y", "y_hat", "scale"):
            r[key] = float(r[key])
        r["origin"], r["horizon"] = int(r["origin"]), int(r["horizon"])
    return rows


def _blocks(rows: list[dict]) -> dict[tuple[str, int], list[float]]:
    """Scaled absolute errors by (series, origin), ordered by horizon."""
    out: dict[tuple[str, int], list[tuple[int, float]]] = defaultdict(list)
    for r in rows:
        out[(r["unique_id"], r["origin"])].append((r["horizon"], abs(r["y"] - r["y_hat"]) / r["scale"]))
    return {k: [e for _, e in sorted(v)] for k, v in out.items()}


def compare(rows_a: list[dict], rows_b: list[dict]) -> PairedTest:
    """Paired test of model a's scaled absolute errors against model b's, on the forecasts both made."""
    a, b = _blocks(rows_a), _blocks(rows_b)
    return diebold_mariano([[x - y for x, y in zip(a[k], b[k], strict=True)] for k in sorted(a) if k in b])


def simplicity(score: ModelScore, order: list[str]) -> tuple:
    return (score.kind != "classical", order.index(score.name) if score.kind == "classical" else score.parameters,
            order.index(score.name))


def summarise_forecasts(rows: list[dict], models: list[dict]) -> dict:
    """Scores per model, the verdict and the gate sentences, from the stored rows and model outcomes."""
    by_model: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_model[r["model"]].append(r)
    order = [m["name"] for m in models]
    ok = [m["name"] for m in models if m["status"] == "ok" and by_model.get(m["name"])]

    def mase(rs: list[dict]) -> float:
        return sum(abs(r["y"] - r["y_hat"]) / r["scale"] for r in rs) / len(rs) if rs else math.nan

    best = min(ok, key=lambda n: mase(by_model[n])) if ok else None
    scores = []
    for m in models:
        rs = by_model.get(m["name"], [])
        horizons = sorted({r["horizon"] for r in rs})
        scores.append(ModelScore(
            m["name"], m["kind"], m["status"], m["message"], m["seconds"], m["parameters"],
            sum(abs(r["y"] - r["y_hat"]) for r in rs) / len(rs) if rs else math.nan,
            math.sqrt(sum((r["y"] - r["y_hat"]) ** 2 for r in rs) / len(rs)) if rs else math.nan,
            mase(rs), tuple(mase([r for r in rs if r["horizon"] == h]) for h in horizons),
            compare(rs, by_model[best]) if rs and best and m["name"] != best and m["status"] == "ok" else None))
    ladder = sorted((s for s in scores if s.name in ok), key=lambda s: simplicity(s, order))
    chosen = next((s for s in ladder if s.name == best or not s.against_best.worse), None)
    sentences = [_verdict(chosen, next(s for s in scores if s.name == best), ladder)] if chosen else [
        "No model produced forecasts; there is no verdict."]
    gates = {}
    if REFERENCE in ok:
        for s in scores:
            if s.name in ok and s.name != REFERENCE and s.kind == "recurrent" and get_variant(s.name).family == "gru":
                gates[s.name] = compare(by_model[s.name], by_model[REFERENCE])
        sentences += [_gate_sentence(name, test) for name, test in gates.items()]
    failed = [s for s in scores if s.status != "ok"]
    sentences += [f"{s.name} could not be fitted: {s.message}" for s in failed]
    return {"scores": scores, "best": best, "chosen": chosen.name if chosen else None, "gates": gates,
            "sentences": sentences}


def _f(x: float) -> str:
    return "—" if not math.isfinite(x) else f"{x:.3g}"


def _verdict(chosen: ModelScore, best: ModelScore, ladder: list[ModelScore]) -> str:
    if chosen.name == best.name:
        simpler = [s for s in ladder[:ladder.index(chosen)]]
        closest = min(simpler, key=lambda s: s.against_best.mean, default=None)
        tail = (f"; every simpler model is worse beyond the noise (the closest, {closest.name}: MASE "
                f"{_f(closest.mase)}, difference {closest.against_best.mean:+.3g}, 95% CI "
                f"[{closest.against_best.low:+.3g}, {closest.against_best.high:+.3g}], p = "
                f"{closest.against_best.p_value:.2g})" if closest else "; it is also the simplest of the ladder")
        return f"Verdict: {best.name} is needed — it has the lowest error (MASE {_f(best.mase)}){tail}."
    t = chosen.against_best
    sentence = (f"Verdict: {chosen.name} is enough — the simplest model whose error is not worse than the best's "
                f"beyond the noise. {chosen.name}: MASE {_f(chosen.mase)} against {_f(best.mase)} for the best, "
                f"{best.name}; difference {t.mean:+.3g} (95% CI [{t.low:+.3g}, {t.high:+.3g}]) over {t.n} paired "
                f"forecasts, Diebold–Mariano p = {t.p_value:.2g}.")
    if best.mase > 0 and chosen.mase > WEAK_EVIDENCE * best.mase:
        sentence += (f" The evidence is weak: its error is {chosen.mase / best.mase:.1f}× the best's, a gap these "
                     f"{t.n} forecasts cannot confirm; more origins (--origins) could tell them apart.")
    return sentence


def _gate_sentence(name: str, t: PairedTest) -> str:
    removes = get_variant(name).summary.split(":")[0]
    if t.worse:
        what = "worse than gru beyond the noise: this data needed what it removes"
    elif t.better:
        what = "better than gru beyond the noise: this data did not need what it removes"
    else:
        what = "not distinguishable from gru: this data did not show a need for what it removes"
    return (f"Gates: {name} ({removes}) — MASE difference {t.mean:+.3g} (95% CI [{t.low:+.3g}, {t.high:+.3g}], "
            f"p = {t.p_value:.2g}) — {what}.")


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
    summary = summarise_forecasts(rows, meta["models"])
    plots = _plots(rows, summary, folder) if rows else []
    data, spec = meta["data"], meta["spec"]
    title = f"Which model is enough for {data['name']}?"
    facts = (f"{len(data['series'])} series ({', '.join(data['series'][:5])}{' …' if len(data['series']) > 5 else ''}),"
             f" horizon {spec['horizon']}, {spec['origins']} rolling origins {spec['stride']} steps apart, season "
             f"length {data['season_length']}. Errors are over every series, origin and horizon; MASE is scaled by "
             "the in-sample error of the seasonal naive forecast at each origin.")
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
    header = ["model", "kind", "MASE", "MAE", "RMSE", "Δ MASE vs best [95% CI]", "p", "seconds", "parameters",
              "status"]
    cells = []
    for s in sorted(summary["scores"], key=lambda s: (s.status != "ok", s.mase if math.isfinite(s.mase) else 1e300)):
        t = s.against_best
        cells.append([s.name + (" ← verdict" if s.name == summary["chosen"] else "")
                      + (" (best)" if s.name == summary["best"] else ""), s.kind, _f(s.mase), _f(s.mae), _f(s.rmse),
                      f"{t.mean:+.3g} [{t.low:+.3g}, {t.high:+.3g}]" if t else "—", f"{t.p_value:.2g}" if t else "—",
                      f"{s.seconds:.2f}", str(s.parameters or "—"), s.status if s.status == "ok" else s.message])
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
