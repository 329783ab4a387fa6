"""Build the playground page: the template, its script and style inlined, and its data (variants, start weights,
and with a study the replays of trained units) as JSON."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from ..registry import get_variant

# The variant switches on the page: (registry name, label). Each applies to the same weights.
SWITCHES = (("gru", "gru"), ("gru_no_reset", "r ≡ 1"), ("gru_reset_zero", "r ≡ 0"), ("gru_no_update", "z ≡ 1"),
            ("gru_no_carry", "h = z ⊙ ĥ"), ("min_gru", "min_gru"), ("mgu", "mgu"), ("rnn", "rnn"))
REPLAY_TASKS = ("parity", "reset_token", "adding")
MAX_BYTES = 1_000_000

# A 4-unit start (the page uses its first n units): gates that open on a large input, a slow and a fast unit.
START = {
    "W_z": [[2.0], [-1.0], [0.5], [3.0]], "U_z": [[0.0, 0.5, 0.0, 0.0], [0.3, 0.0, 0.0, 0.0],
                                               [0.0, 0.0, 0.0, 0.0], [0.0, 0.0, -0.5, 0.0]],
    "b_z": [-1.5, 0.0, -2.5, -1.0],
    "W_r": [[-1.0], [2.0], [0.0], [1.0]], "U_r": [[0.5, 0.0, 0.0, 0.0], [0.0, -0.5, 0.0, 0.0],
                                               [0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]],
    "b_r": [1.0, 0.0, 2.0, 0.0],
    "W_h": [[1.5], [1.0], [-1.0], [2.0]], "U_h": [[0.8, -0.6, 0.0, 0.0], [0.5, 1.2, 0.0, 0.0],
                                               [0.0, 0.0, 0.9, 0.0], [0.0, 0.0, 0.0, -1.5]],
    "b_h": [0.0, -0.2, 0.3, 0.0], "b_hh": [0.0, 0.0, 0.0, 0.0],
}


def variant_table() -> dict[str, dict]:
    """What the page's cell needs of each switch's variant, from the registry."""
    out = {}
    for name, _ in SWITCHES:
        spec = get_variant(name)
        out[name] = {"update": spec.update, "reset": spec.reset, "carry": spec.carry,
                     "gate_inputs": sorted(spec.gate_inputs), "candidate": spec.candidate_activation}
    return out


def page_data(replays: list[dict] | None = None) -> dict:
    return {"variants": variant_table(), "switches": [list(s) for s in SWITCHES], "start": START,
            "replays": replays or []}


def render(data: dict) -> str:
    static = resources.files("gatelab.playground").joinpath("static")
    text = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")   # never closes the script element
    return (static.joinpath("template.html").read_text()
            .replace("/*CSS*/", static.joinpath("playground.css").read_text())
            .replace("/*DATA*/", text)
            .replace("/*JS*/", static.joinpath("playground.js").read_text()))


def study_replays(folder: str | Path) -> list[dict]:
    """Trained ``gru`` units of a study, one per task in :data:`REPLAY_TASKS`: the first finished seed, retrained
    from its stored config (training is deterministic on the CPU), with one test sequence of its task."""

    from ..commands import study_store
    from ..config import RunConfig
    from ..store import Store
    from ..study.record import read_records
    from ..study.run import build_run, test_batch
    from ..train import train

    with Store.open(study_store(str(folder)), readonly=True) as store:
        records = read_records(store)
    replays = []
    for task_name in REPLAY_TASKS:
        chosen = sorted((r for r in records if r.variant == "gru" and r.status == "ok" and r.task_facts is not None
                         and r.task_facts.name == task_name),
                        key=lambda r: r.seed)
        if not chosen:
            continue
        record = chosen[0]
        config = RunConfig.from_dict(record.config)
        model, task = build_run(config)
        train(model, task, config.train)
        x, _ = test_batch(config, task)
        weights = {k: v.detach().double().tolist() for k, v in model.rnn.seed_params().items()}
        weights.setdefault("b_hh", [0.0] * config.model.hidden_size)
        sequence = x[0, :48].double().tolist()
        metric = "—" if record.metrics.test is None else f"{record.metrics.test:.3g}"
        replays.append({"label": f"gru on {task_name} (seed {record.seed}, test {task.metric} {metric})",
                        "variant": "gru", "reset": config.model.reset, "weights": weights, "inputs": sequence,
                        "note": f"A gru trained in the study on {task_name} ({config.model.hidden_size} units; the "
                                f"first {min(4, config.model.hidden_size)} are drawn), on one test sequence. "
                                f"{task.facts().isolates}"})
    return replays


def build_playground(out: str | Path, study: str | Path | None = None) -> Path:
    """Write the playground page to ``out`` (a file); with ``study``, with replays of its trained gru units."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    html = render(page_data(study_replays(study) if study is not None else None))
    if len(html.encode()) > MAX_BYTES:
        raise RuntimeError(f"playground: the page is {len(html.encode())} bytes, over its {MAX_BYTES} budget")
    out.write_text(html)
    return out
