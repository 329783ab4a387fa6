"""The study → store → report contract: typed records with a schema version, a report that needs nothing but the
store (not the task classes, not a writable folder), comparison groups from the registry, one driver per folder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from gatelab.cli import main
from gatelab.config import ModelConfig, TaskConfig
from gatelab.registry import VariantSpec, register, unregister
from gatelab.report import write_report
from gatelab.store import Store
from gatelab.study.driver import run_study
from gatelab.study.lock import StudyLock, StudyLocked
from gatelab.study.record import SCHEMA_VERSION, RunRecord, read_records
from gatelab.study.spec import StudySpec
from gatelab.tasks import ParityTask, register_task, unregister_task
from gatelab.train import TrainConfig


@dataclass(frozen=True)
class ProbeParityTask(ParityTask):
    """Isolates nothing new: parity under another name, registered by this test only."""

    name = "probe_parity"


PROBE = VariantSpec("probe_no_reset", "a throwaway variant: r ≡ 1, registered by a test", "—", reset="one",
                    question="reset")


@pytest.fixture(scope="module")
def probe_study(tmp_path_factory) -> Path:
    """A finished two-seed study of gru and a throwaway variant on a throwaway task, both unregistered after."""
    folder = tmp_path_factory.mktemp("contract")
    register(PROBE)
    register_task(ProbeParityTask)
    try:
        spec = StudySpec("contract", ("gru", PROBE.name), (TaskConfig("probe_parity", (("length", 4),
                                                                                      ("test_length", 8))),),
                         seeds=2, model=ModelConfig(hidden_size=6), match_params=False,
                         train=TrainConfig(steps=10, batch_size=8, eval_every=5, eval_size=16))
        with Store(folder / "runs.sqlite") as store:
            assert run_study(spec, store, workers=1) == {"skipped": 0, "ok": 4}
        page = write_report(folder / "runs.sqlite", folder / "report").read_text()
        assert f"{PROBE.name} (a throwaway variant)" in page, "a registered variant enrols in the answer"
        assert "Removing r" in page and page.index("Removing r") < page.index(f"{PROBE.name} (a throwaway")
    finally:
        unregister(PROBE.name)
        unregister_task(ProbeParityTask.name)
    return folder


def test_records_are_typed_and_round_trip(probe_study):
    with Store.open(probe_study / "runs.sqlite", readonly=True) as store:
        records = read_records(store)
        raw = store.records()
    assert all(isinstance(r, RunRecord) and r.schema == SCHEMA_VERSION for r in records)
    assert all(RunRecord.from_dict(r.to_dict()) == r for r in records)
    facts = records[0].task_facts
    assert (facts.name, facts.metric, facts.higher_is_better, facts.solved_at) == ("probe_parity", "accuracy",
                                                                                   True, 0.99)
    assert facts.isolates == "Isolates nothing new: parity under another name, registered by this test only."
    assert set(raw[0]) == {f for f in RunRecord.__dataclass_fields__}, "the stored shape is the record's fields"


def test_a_store_whose_task_and_variant_are_gone_still_reports(probe_study, tmp_path):
    page = write_report(probe_study / "runs.sqlite", tmp_path / "report").read_text()
    assert "probe_parity" in page and "Isolates nothing new" in page
    assert f"{PROBE.name} (not registered)" in page and "Variants no longer registered" in page


def test_an_old_schema_record_is_migrated_and_a_newer_one_refused(probe_study):
    with Store.open(probe_study / "runs.sqlite", readonly=True) as store:
        current = store.records()[0]
    old = {k: v for k, v in current.items() if k not in ("schema", "task_facts")}
    facts = current["task_facts"]
    old["metrics"] = {**current["metrics"], **{k: facts[k] for k in ("metric", "higher_is_better", "trivial",
                                                                     "solved_at")}}
    migrated = RunRecord.from_dict(old)
    assert migrated.task_facts == replace(RunRecord.from_dict(current).task_facts, isolates="",  # unregistered
                                          solved_at_valid=None)
    assert migrated.metrics == RunRecord.from_dict(current).metrics
    with pytest.raises(ValueError, match=f"schema ≤ {SCHEMA_VERSION}, got schema {SCHEMA_VERSION + 1}.*upgrade"):
        RunRecord.from_dict({**current, "schema": SCHEMA_VERSION + 1})


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_read_only_copy_of_a_study_reports_and_shows_its_status(probe_study, tmp_path, capsys):
    copy = tmp_path / "copy"
    copy.mkdir()
    (copy / "runs.sqlite").write_bytes((probe_study / "runs.sqlite").read_bytes())
    before = _snapshot(copy)
    for path in (copy / "runs.sqlite", copy):
        path.chmod(0o555 if path.is_dir() else 0o444)
    try:
        assert main(["report", str(copy), "--out", str(tmp_path / "out")]) == 0
        assert main(["status", str(copy)]) == 0
        assert "4 runs planned" in capsys.readouterr().out
        with Store.open(copy / "runs.sqlite", readonly=True) as store, pytest.raises(OSError, match="read-only"):
            store.set_meta("x", "y")
    finally:
        copy.chmod(0o755)
    assert _snapshot(copy) == before, "reading a store creates and changes nothing beside it"
    assert (tmp_path / "out" / "index.html").exists()


STUDY_FILE = """
name = "locked"
variants = ["gru"]
seeds = 1
[model]
hidden_size = 4
[train]
steps = 5
batch_size = 4
eval_every = 5
eval_size = 8
[[tasks]]
name = "adding"
length = 4
"""


def test_a_second_driver_on_a_live_folder_is_refused(tmp_path, capsys):
    study = tmp_path / "study.toml"
    study.write_text(STUDY_FILE)
    out = tmp_path / "out"
    with StudyLock(out / "runs.sqlite"):
        assert main(["explain", "--study", str(study), "--out", str(out), "--workers", "1"]) == 2
        err = capsys.readouterr().err
        assert "--out: expected a study folder no other gatelab driver is running on" in err
        assert f"held by process {os.getpid()}" in err and "Traceback" not in err
        with pytest.raises(StudyLocked):
            StudyLock(out / "runs.sqlite").__enter__()
    assert main(["explain", "--study", str(study), "--out", str(out), "--workers", "1"]) == 0


def test_a_killed_drivers_lock_does_not_block(tmp_path):
    store = tmp_path / "runs.sqlite"
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from gatelab.study.lock import StudyLock\n"
                               f"with StudyLock({str(store)!r}):\n    print('held', flush=True); time.sleep(60)"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(StudyLocked):
            StudyLock(store).__enter__()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
    with StudyLock(store):                                   # the OS released it with the process
        pass
