"""Studies end to end: runs → store → report, resume, failures as records, and a real SIGKILL."""

from __future__ import annotations

import html
import html.parser
import shutil
import sqlite3
import subprocess
import sys

import pytest

from gatelab.config import ModelConfig, TaskConfig
from gatelab.report import write_report
from gatelab.store import Store
from gatelab.study import run as run_module
from gatelab.study.driver import run_study
from gatelab.study.record import read_records
from gatelab.study.spec import StudySpec, load_study
from gatelab.train import TrainConfig

TINY = StudySpec("tiny", ("gru", "gru_reset_zero"), (TaskConfig("parity", (("length", 6), ("test_length", 12))),),
                 seeds=3, model=ModelConfig(hidden_size=8),
                 train=TrainConfig(steps=20, batch_size=8, eval_every=10, eval_size=32))


def test_a_study_runs_stores_resumes_and_reports(tmp_path):
    with Store(tmp_path / "runs.sqlite") as store:
        counts = run_study(TINY, store, workers=1)
        assert counts == {"skipped": 0, "ok": 6}
        records = read_records(store)
        assert {(r.variant, r.seed) for r in records} == {(v, s) for v in TINY.variants for s in range(3)}
        assert all(r.backend == "native" and r.metrics.test is not None for r in records)
        assert all(r.task_facts.metric == "accuracy" and r.task_facts.isolates.startswith("Isolates")
                   for r in records)
        assert run_study(TINY, store, workers=1) == {"skipped": 6}, "finished runs are not run again"
    index = write_report(tmp_path / "runs.sqlite", tmp_path / "report", command="gatelab explain …")
    page = index.read_text()
    images = _image_sources(page)
    assert images and all((index.parent / src).exists() for src in images)
    assert "The answer, from this study" in page and "gru_reset_zero (r ≡ 0" in page and "Reproduce with" in page
    from gatelab.report.summary import summarise

    verdict = summarise(records)["parity"].verdicts["gru_reset_zero"]
    assert html.escape(verdict.sentence, quote=False) in page, "the task section states the verdict"
    assert "Why — parity" in page and (index.parent / "flow_parity.png").exists()
    gru = next(r for r in records if r.variant == "gru")
    assert len(gru.diagnostics.sensitivity) == 12                          # one value per step of the test split
    assert set(gru.diagnostics.clamps) == {"none", "r=1", "r=0", "z=1"}, "U_h = 0 is r ≡ 0 under reset=before"
    reset_zero = next(r for r in records if r.variant == "gru_reset_zero").diagnostics
    assert reset_zero.clamps is None and reset_zero.heatmaps is None
    assert reset_zero.smoothing.explained_variance == pytest.approx(1.0, abs=1e-6)   # it is a smoothing
    diagnostics = gru.diagnostics
    assert len(diagnostics.sensitivity_init) == len(diagnostics.spectral_radius) == 12
    assert len(diagnostics.spectral_radius_init) == 12 and len(diagnostics.time_scales) == 8
    assert 0.0 <= diagnostics.smoothing.explained_variance <= 1.0
    assert set(diagnostics.heatmaps) == {"z", "r"} and len(diagnostics.heatmaps["z"]) == 8      # units × steps
    assert len(diagnostics.heatmaps["z"][0]) == 12
    for kind in ("flow", "timescales", "gates"):
        assert f"{kind}_parity.png" in images
    assert "variance explained by exponential smoothing" in page and "exponential smoothing of the input" in page
    assert (tmp_path / "report" / "report.md").exists()


def test_same_seed_same_record(tmp_path):
    run = TINY.runs()[0]
    first = run_module.execute_run(run.to_dict(), "a")
    second = run_module.execute_run(run.to_dict(), "a")
    assert first.metrics == second.metrics and first.curve == second.curve


def test_a_failing_run_is_a_record_and_is_retried(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(run_module, "SequenceModel", broken)
    with Store(tmp_path / "runs.sqlite") as store:
        counts = run_study(TINY, store, workers=1)
        assert counts == {"skipped": 0, "failed": 6}
        assert "RuntimeError: boom" in read_records(store)[0].traceback
        monkeypatch.undo()
        assert run_study(TINY, store, workers=1) == {"skipped": 0, "ok": 6}, "failed runs are retried"


def test_the_process_pool_gives_the_same_records(tmp_path):
    with Store(tmp_path / "runs.sqlite") as store:
        run_study(TINY, store, workers=2)
        pooled = {r["key"]: r["metrics"]["test"] for r in store.records()}
    inline = {r.key: run_module.execute_run(r.to_dict(), "tiny").metrics.test for r in TINY.runs()}
    assert pooled == inline


def test_presets_load_and_the_battery_is_in_standard():
    assert {t.name for t in load_study("standard").tasks} == {
        "adding", "copy_memory", "padded_adding", "parity", "mod3", "s3", "reset_token", "selective_copy",
        "narma10", "mackey_glass", "digits", "charlm"}
    quick = load_study("quick")
    assert quick.seeds == 2 and len(quick.variants) == 11
    with pytest.raises(ValueError, match="study key: expected one of .*got 'seed'"):
        StudySpec.from_dict({"seed": 3, "tasks": [{"name": "adding"}]})
    with pytest.raises(ValueError, match="train.lr: expected one of"):
        StudySpec.from_dict({"train": {"lr": 1.0}, "tasks": [{"name": "adding"}]})


@pytest.mark.parametrize("preset", ["quick", "standard"])
def test_parameter_matching_brings_every_variant_within_5_percent_of_the_gru(preset):
    """min_gru included: its hidden size is no longer capped below the gru's parameter count."""
    from gatelab.study.spec import parameter_count

    spec = load_study(preset)
    for task in spec.tasks:
        runs = [r for r in spec.runs() if r.task == task and r.train.seed == 0]
        counts = {r.model.variant: parameter_count(r.model.variant, r.task, r.model, r.model.hidden_size)
                  for r in runs}
        assert all(abs(c - counts["gru"]) / counts["gru"] <= 0.05 for c in counts.values()), (task.name, counts)


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian's chromium is not installed")
def test_the_report_renders_in_a_browser_without_errors(tmp_path):
    with Store(tmp_path / "runs.sqlite") as store:
        run_study(TINY, store, workers=1)
    index = write_report(tmp_path / "runs.sqlite", tmp_path / "report")
    probe = index.parent / "probe.html"
    page = index.read_text().replace("</body>", "<script>window.addEventListener('load', () => {"
                                     "const bad = [...document.images].filter(i => !i.complete || !i.naturalWidth);"
                                     "const answer = document.getElementById('the-answer');"
                                     "const first = document.querySelector('body > img');"
                                     "const up = answer && first && first.src.endsWith('overview.png') && "
                                     "(first.compareDocumentPosition(answer) & Node.DOCUMENT_POSITION_FOLLOWING);"
                                     "document.title = 'images-ok:' + (bad.length === 0) + ' answer-first:' + "
                                     "Boolean(up);});</script></body>")
    probe.write_text(page)
    result = subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                             "--no-first-run", "--disable-background-networking", "--disable-component-update",
                             "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr",
                             "--virtual-time-budget=3000", "--dump-dom", probe.as_uri()],
                            capture_output=True, text=True, timeout=120)
    assert "<title>images-ok:true answer-first:true</title>" in result.stdout, result.stderr[-2000:]
    console_errors = [line for line in result.stderr.splitlines() if "CONSOLE" in line and "ERROR" in line.upper()]
    assert not console_errors, console_errors


def _image_sources(page: str) -> list[str]:
    sources = []

    class Parser(html.parser.HTMLParser):
        def handle_starttag(self, tag, attrs):
            if tag == "img":
                sources.append(dict(attrs)["src"])

    Parser().feed(page)
    return sources


def test_non_finite_numbers_are_stored_as_standard_json(tmp_path):
    record = {"key": "k", "study": "s", "variant": "gru", "task": "adding", "seed": 0, "status": "diverged",
              "metrics": {"best_valid": float("nan"), "curve": [1, float("inf")]}}
    with Store(tmp_path / "runs.sqlite") as store:
        store.write(record)
        assert store.records()[0]["metrics"] == {"best_valid": None, "curve": [1, None]}
    with sqlite3.connect(tmp_path / "runs.sqlite") as db:
        assert db.execute("SELECT json_extract(record, '$.metrics.best_valid') FROM runs").fetchone() == (None,)


def test_a_learning_rate_grid_compares_each_variant_at_its_best_rate(tmp_path):
    from dataclasses import replace

    from gatelab.report.summary import summarise

    spec = replace(TINY, learning_rates=(1e-4, 3e-2), seeds=2)
    assert len(spec.runs()) == 2 * 2 * 2
    with Store(tmp_path / "runs.sqlite") as store:
        run_study(spec, store, workers=1)
        records = read_records(store)
    rows = {row.variant: row for row in summarise(records)["parity"].rows}
    for variant, row in rows.items():
        means = {}
        for rate in (1e-4, 3e-2):
            valid = [r.metrics.best_valid for r in records if r.variant == variant and r.learning_rate == rate]
            means[rate] = sum(valid) / len(valid)
        assert row.learning_rate == max(means, key=means.get), (variant, means)


def test_the_report_prints_a_tasks_reference_beside_it(tmp_path):
    spec = StudySpec("digits", ("gru",), (TaskConfig("digits"),), seeds=1, model=ModelConfig(hidden_size=8),
                     train=TrainConfig(steps=5, batch_size=16, eval_every=5, eval_size=64))
    with Store(tmp_path / "runs.sqlite") as store:
        run_study(spec, store, workers=1)
    page = write_report(tmp_path / "runs.sqlite", tmp_path / "report").read_text()
    assert "Reference: logistic regression on the flat image 0.9" in page


def test_diagnose_rebuilds_a_stored_run_exactly_and_writes_its_plots(tmp_path, capsys):
    with Store(tmp_path / "runs.sqlite") as store:
        run_study(TINY, store, workers=1)
        key = next(r["key"] for r in store.records() if r["variant"] == "gru")
    result = subprocess.run([sys.executable, "-m", "gatelab.cli", "diagnose", str(tmp_path), key[:10]],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "reproduced: yes" in result.stdout and "clamped without retraining" in result.stdout
    for name in ("flow.png", "spectrum.png", "gate_z.png", "gate_r.png", "time_scales.png"):
        assert (tmp_path / "diagnose" / key / name).exists()
    checkpoint = tmp_path / "gru.pt"
    from gatelab.cli import main

    assert main(["diagnose", str(tmp_path), key[:10], "--save-checkpoint", str(checkpoint)]) == 0
    capsys.readouterr()
    assert main(["diagnose", str(checkpoint)]) == 0
    printed = capsys.readouterr().out
    stored = next(r for r in Store(tmp_path / "runs.sqlite").records() if r["key"] == key)["metrics"]["test"]
    assert f"test accuracy: {stored:.6g}" in printed, "the checkpoint holds the trained model"
    assert (tmp_path / "gru-diagnose" / "flow.png").exists()
    assert main(["diagnose", str(checkpoint), "--task", "mod3"]) == 2
    assert "--task: expected a task with the checkpoint's input and output sizes" in capsys.readouterr().err
    assert main(["diagnose", str(tmp_path / "runs.sqlite")]) == 2
    assert "CHECKPOINT: expected a gatelab checkpoint file" in capsys.readouterr().err
    missing = subprocess.run([sys.executable, "-m", "gatelab.cli", "diagnose", str(tmp_path), "zzzz"],
                             capture_output=True, text=True, timeout=120)
    assert missing.returncode == 2 and "KEY: expected the prefix of exactly one run key" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_primary_comparisons_get_more_seeds_where_declared():
    from gatelab.study.spec import PrimaryFamily

    spec = StudySpec("more", ("gru", "gru_no_update", "rnn"), (TaskConfig("parity"), TaskConfig("adding")), seeds=2,
                     primary=(PrimaryFamily("z", ("gru_no_update",), ("adding",)),), primary_seeds=5,
                     match_params=False)
    counts = {}
    for run in spec.runs():
        counts[(run.task.name, run.model.variant)] = counts.get((run.task.name, run.model.variant), 0) + 1
    assert counts == {("parity", "gru"): 2, ("parity", "gru_no_update"): 2, ("parity", "rnn"): 2,
                      ("adding", "gru"): 5, ("adding", "gru_no_update"): 5, ("adding", "rnn"): 2}
    assert StudySpec.from_dict(spec.to_dict()) == spec, "the study-file format keeps it"
    with pytest.raises(ValueError, match="primary_seeds: expected a positive int"):
        StudySpec("bad", ("gru",), (TaskConfig("parity"),), primary_seeds=0)


def test_a_task_table_can_carry_its_own_step_budget():
    data = {"name": "budgets", "variants": ["gru", "rnn"], "seeds": 1, "match_params": False,
            "train": {"steps": 300},
            "tasks": [{"name": "adding", "length": 20, "budget": 1200}, {"name": "parity", "length": 8}]}
    spec = StudySpec.from_dict(data)
    assert {(r.task.name, r.train.steps) for r in spec.runs()} == {("adding", 1200), ("parity", 300)}
    assert dict(spec.runs()[0].task.sizes) == {"length": 20}, "the budget is no task size"
    assert StudySpec.from_dict(spec.to_dict()) == spec, "the study-file format keeps it"
    assert spec.restricted(tasks=["parity"]).budgets == ()
    with pytest.raises(ValueError, match=r"tasks.adding.budget: expected a positive int \(training steps\), got 0"):
        StudySpec.from_dict({**data, "tasks": [{"name": "adding", "budget": 0}]})


def test_tuning_seeds_choose_each_variants_rate_and_init_and_the_other_seeds_run_only_there(tmp_path):
    """rates × inits on seeds 0–1 of every (task, variant); seeds 2–3 run once each, at the configuration with the
    best mean validation metric over seeds 0–1 — the same one the report then shows and compares. rnn has no gate
    that chrono initialisation sets: it runs at the default init only. Ties (every configuration at accuracy 1)
    go to the fewest steps to the criterion, then the smaller rate, default init first."""
    from gatelab.report.summary import summarise
    from gatelab.study.spec import chosen_configuration, configuration_of

    data = {"name": "tuned", "variants": ["gru", "rnn"], "seeds": 4, "tune_seeds": 2, "match_params": False,
            "learning_rates": [1e-3, 3e-2], "model": {"hidden_size": 8},
            "train": {"steps": 30, "batch_size": 8, "eval_every": 10, "eval_size": 32},
            "tasks": [{"name": "parity", "length": 6, "test_length": 12, "inits": ["default", "chrono"]}]}
    spec = StudySpec.from_dict(data)
    assert StudySpec.from_dict(spec.to_dict()) == spec and spec.to_dict()["tasks"][0]["inits"] == ["default", "chrono"]
    before = spec.runs()
    assert {(r.model.variant, r.train.seed) for r in before} == {(v, s) for v in ("gru", "rnn") for s in (0, 1)}
    assert sum(r.model.variant == "gru" for r in before) == 2 * 2 * 2 and {r.model.init for r in before
                                                                          if r.model.variant == "rnn"} == {"default"}
    assert spec.run_count() == (8 + 2) + (4 + 2)
    events = []
    with Store(tmp_path / "runs.sqlite") as store:
        run_study(spec, store, workers=1, on_event=lambda kind, info: events.append((kind, info)))
        records = read_records(store)
    assert events[0] == ("plan", {"total": 16, "todo": 16}) and len(records) == 16
    for variant in ("gru", "rnn"):
        mine = [r for r in records if r.variant == variant]
        chosen = chosen_configuration(mine, 2)
        tuning = {}
        for r in mine:
            if r.seed < 2:
                tuning.setdefault(configuration_of(r), []).append(r.metrics.best_valid)
        assert sum(tuning[chosen]) == max(sum(v) for v in tuning.values())    # parity: higher is better
        assert {configuration_of(r) for r in mine if r.seed >= 2} == {chosen}
        row = next(r for r in summarise(records, tune_seeds=2)["parity"].rows if r.variant == variant)
        assert (row.learning_rate, row.init) == chosen and row.tried == len(tuning)
    with Store(tmp_path / "runs.sqlite") as store:                              # resumed: nothing left to run
        assert run_study(spec, store, workers=1) == {"skipped": 16}
    with pytest.raises(ValueError, match=r"tasks.parity.inits: unknown name 'chrno'|did you mean 'chrono'"):
        StudySpec.from_dict({**data, "tasks": [{"name": "parity", "inits": ["chrno"]}]})


def test_configurations_rank_by_success_then_steps_then_metric_then_the_smaller_rate_default_init_first():
    from gatelab.study.record import RunMetrics, RunRecord
    from gatelab.study.spec import chosen_configuration
    from gatelab.tasks import TaskFacts

    facts = TaskFacts("parity", "classification", "accuracy", True, 0.5, 0.99, "")

    def record(rate, init, valid, steps, seed=0, status="ok"):
        return RunRecord(key=f"{rate}{init}{seed}", study="t", task="parity", variant="gru", seed=seed,
                         config={"model": {"init": init}, "train": {"learning_rate": rate, "steps": 500}},
                         status=status, metrics=RunMetrics(best_valid=valid, steps_to_criterion=steps),
                         task_facts=facts)

    assert chosen_configuration([record(0.01, "default", 1.0, 300), record(0.002, "chrono", 1.0, 200)]) == (
        0.002, "chrono")                                                        # fewer steps
    assert chosen_configuration([record(0.01, "default", 1.0, 200), record(0.002, "chrono", 1.0, 200),
                                 record(0.002, "default", 1.0, 200)]) == (0.002, "default")
    assert chosen_configuration([record(0.01, "default", 0.9, None), record(0.002, "default", None, None,
                                                                            status="diverged")]) == (0.01, "default")
    assert chosen_configuration([record(0.01, "default", 0.6, None), record(0.002, "default", 1.0, 100, seed=1)],
                                tune_seeds=1) == (0.01, "default"), "seed 1 is no tuning seed"
    # runs stop at the criterion, so a met criterion outranks a higher metric, and steps outrank the metric
    assert chosen_configuration([record(0.01, "default", 0.991, 300), record(0.02, "default", 0.985, None)]) == (
        0.01, "default")
    assert chosen_configuration([record(0.01, "default", 0.9999, 300), record(0.02, "default", 0.991, 100)]) == (
        0.02, "default")
    assert chosen_configuration([record(0.01, "default", 0.995, 100, seed=0), record(0.01, "default", 0.98, None,
                                                                                       seed=1),
                                 record(0.02, "default", 0.991, 400, seed=0), record(0.02, "default", 0.992, 450,
                                                                                       seed=1)]) == (
        0.02, "default"), "two seeds of two met against one of two: the share decides before the steps"
    assert chosen_configuration([record(0.01, "default", 0.7, None), record(0.02, "default", 0.8, None)]) == (
        0.02, "default"), "none met: the better metric"


def test_a_length_sweep_holds_one_task_under_labels_through_runs_store_and_report(tmp_path):
    """Each entry of a sweep is a task of its own in the study (runs, budgets, inits, comparisons, report
    sections) under its label; the records keep the task's real name in their facts, so witnesses are found."""
    data = {"name": "sweep", "variants": ["gru", "gru_no_update"], "seeds": 2, "match_params": False,
            "model": {"hidden_size": 8}, "train": {"steps": 20, "batch_size": 8, "eval_every": 10, "eval_size": 32},
            "tasks": [{"name": "adding", "label": "adding_T8", "length": 8, "budget": 30},
                      {"name": "adding", "label": "adding_T16", "length": 16, "inits": ["default", "chrono"]}],
            "primary": [{"name": "z", "variants": ["gru_no_update"], "tasks": ["adding_T16"]}]}
    spec = StudySpec.from_dict(data)
    assert StudySpec.from_dict(spec.to_dict()) == spec, "the study-file format keeps the labels"
    assert {(r.task.key, dict(r.task.sizes)["length"], r.train.steps) for r in spec.runs()} == {
        ("adding_T8", 8, 30), ("adding_T16", 16, 20)}
    rate = spec.train.learning_rate
    assert spec.configurations("adding_T16", "gru") == [(rate, "default"), (rate, "chrono")]
    assert spec.configurations("adding_T8", "gru") == [(rate, "default")]
    assert spec.restricted(tasks=["adding_T16"]).tasks == (spec.tasks[1],)
    with pytest.raises(ValueError, match="tasks: expected each task once, or a label"):
        StudySpec.from_dict({**data, "tasks": [{"name": "adding", "length": 8}, {"name": "adding", "length": 16}]})
    with pytest.raises(ValueError, match=r"tasks.adding.label: expected letters, digits"):
        StudySpec.from_dict({**data, "tasks": [{"name": "adding", "label": "T = 8"}]})
    with Store(tmp_path / "runs.sqlite") as store:
        run_study(spec, store, workers=1)
        records = read_records(store)
    assert {r.task for r in records} == {"adding_T8", "adding_T16"}
    assert {r.task_facts.name for r in records} == {"adding"}
    assert len(records) == spec.run_count() == 2 * 2 + 2 * 3          # gru tries two inits on adding_T16
    from gatelab.report.summary import summarise

    summary = summarise(records, spec.primary)
    assert set(summary) == {"adding_T8", "adding_T16"}
    assert summary["adding_T16"].comparisons["gru_no_update"].primary_family == "z"
    assert summary["adding_T8"].comparisons["gru_no_update"].primary_family is None
    page = write_report(tmp_path / "runs.sqlite", tmp_path / "report").read_text()
    assert 'id="adding_t8"' in page and 'id="adding_t16"' in page and ">adding_T16<" in page


def test_a_task_table_can_set_the_grus_hidden_size_and_the_others_match_it():
    data = {"name": "sizes", "variants": ["gru", "rnn"], "seeds": 1, "model": {"hidden_size": 8},
            "tasks": [{"name": "charlm", "length": 16, "hidden_size": 64}, {"name": "parity", "length": 8}]}
    spec = StudySpec.from_dict(data)
    hidden = {(r.task.name, r.model.variant): r.model.hidden_size for r in spec.runs()}
    assert hidden[("charlm", "gru")] == 64 and hidden[("parity", "gru")] == 8
    from gatelab.study.spec import parameter_count

    charlm = spec.tasks[0]
    gru = parameter_count("gru", charlm, spec.model, 64)
    assert abs(parameter_count("rnn", charlm, spec.model, hidden[("charlm", "rnn")]) - gru) <= 0.05 * gru
    assert StudySpec.from_dict(spec.to_dict()) == spec
    assert dict(spec.runs()[0].task.sizes) == {"length": 16}, "the hidden size is no task size"
    with pytest.raises(ValueError, match=r"tasks.parity.hidden_size: expected a positive int"):
        StudySpec.from_dict({**data, "tasks": [{"name": "parity", "hidden_size": 0}]})
