"""No fault loses or duplicates a finished run: driver SIGKILLs at random points, dead workers, Ctrl+C, a full disk,
concurrent writers — with real processes and real kills, at small sizes."""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gatelab.store import Store, StoreWriteError
from gatelab.study.driver import SpecChanged, run_study
from gatelab.study.executor import WorkerLost

STUDY = """
name = "faults"
variants = ["gru", "rnn"]
seeds = 5
[model]
hidden_size = 8
[train]
steps = 150
batch_size = 16
eval_every = 30
eval_size = 64
[[tasks]]
name = "adding"
length = 15
"""
RUNS = 10


def record(key: str, status: str = "ok", value: float = 1.0) -> dict:
    return {"key": key, "study": "s", "variant": "gru", "task": "adding", "seed": 0, "status": status,
            "metrics": {"test": value}}


def finished_runs(database: Path) -> dict[str, tuple[float, str]]:
    with sqlite3.connect(database, timeout=30) as db:
        rows = db.execute("SELECT key, written, record FROM runs WHERE status IN ('ok', 'diverged')").fetchall()
    return {key: (written, json.loads(text)["metrics"].get("test")) for key, written, text in rows}


def explain(study: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "gatelab.cli", "explain", "--study", str(study), "--out", str(out), *extra]


@pytest.fixture(scope="module")
def study_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("study") / "faults.toml"
    path.write_text(STUDY)
    return path


@pytest.fixture(scope="module")
def uninterrupted(study_file, tmp_path_factory) -> dict[str, float]:
    out = tmp_path_factory.mktemp("reference")
    result = subprocess.run(explain(study_file, out, "--workers", "2"), capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    return {key: test for key, (_, test) in finished_runs(out / "runs.sqlite").items()}


def wait_for(database: Path, finished: int, process: subprocess.Popen, timeout: float = 300) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline and process.poll() is None:
        if database.exists():
            try:
                if len(finished_runs(database)) >= finished:
                    return
            except sqlite3.OperationalError:
                pass
        time.sleep(0.02)


KILLS = [("local", seed) for seed in range(3)] + [("ray", seed) for seed in range(1)]


@pytest.mark.slow
@pytest.mark.parametrize("executor, seed", KILLS, ids=[f"{e}-{s}" for e, s in KILLS])
def test_driver_sigkill_at_a_random_point_loses_and_repeats_nothing(study_file, uninterrupted, tmp_path, executor,
                                                                     seed):
    chance = random.Random(seed)
    out = tmp_path / "out"
    database = out / "runs.sqlite"
    command = explain(study_file, out, *(["--workers", "2"] if executor == "local" else ["--executor", "ray"]))
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    wait_for(database, chance.randint(0, RUNS - 4), process)
    time.sleep(chance.uniform(0, 0.3))
    os.killpg(process.pid, signal.SIGKILL)                        # the driver and everything it started
    process.wait()
    before = finished_runs(database) if database.exists() else {}
    assert len(before) < RUNS, "the kill must land mid-study"
    with Store(database) as store:
        in_flight = sum(a["ended"] is None for a in store.attempts())
    resumed = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    after = finished_runs(database)
    assert len(after) == RUNS
    assert all(after[key] == value for key, value in before.items()), "finished runs kept, never re-executed"
    assert {key: test for key, (_, test) in after.items()} == uninterrupted, "same metrics as without the kill"
    with Store(database) as store:
        attempts = store.attempts()
        assert store.integrity() == "ok"
    assert sum(a["ended"] is None for a in attempts) == 0, "nothing is left running"
    assert len(attempts) - RUNS <= in_flight, "only the runs in flight at the kill ran again"
    with sqlite3.connect(database) as db:
        assert db.execute("SELECT COUNT(*), COUNT(DISTINCT key) FROM runs").fetchone() == (RUNS, RUNS)


@pytest.mark.slow
def test_a_killed_worker_is_detected_and_its_run_retried(study_file, uninterrupted, tmp_path):
    out = tmp_path / "out"
    process = subprocess.Popen(explain(study_file, out, "--workers", "2"), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    wait_for(out / "runs.sqlite", 2, process)
    children = subprocess.run(["pgrep", "-P", str(process.pid)], capture_output=True, text=True).stdout.split()
    workers = [pid for pid in children if "spawn_main" in Path(f"/proc/{pid}/cmdline").read_text()]
    assert workers, children
    os.kill(int(workers[0]), signal.SIGKILL)
    printed, err = process.communicate(timeout=600)
    assert process.returncode == 0, err
    assert "worker lost" in printed
    with Store(out / "runs.sqlite") as store:
        attempts = store.attempts()
        assert store.integrity() == "ok"
    assert any(a["outcome"].startswith("lost: worker process died") for a in attempts)
    assert all(a["ended"] is not None for a in attempts)
    assert {k: t for k, (_, t) in finished_runs(out / "runs.sqlite").items()} == uninterrupted


class LosingExecutor:
    """Every run's worker dies."""

    capacity = 2

    def submit(self, config, study):
        return config["train"]["seed"], config["model"]["variant"]

    def wait(self, handles):
        return [(h, WorkerLost("killed by the OOM killer")) for h in handles]

    def cancel(self, handles):
        pass

    def close(self):
        pass


def test_a_run_whose_worker_always_dies_is_failed_with_the_cause_after_its_retries(tmp_path):
    import tomllib

    from gatelab.study.spec import StudySpec

    spec = StudySpec.from_dict(tomllib.loads(STUDY))
    with Store(tmp_path / "runs.sqlite") as store:
        counts = run_study(spec, store, executor=LosingExecutor(), max_retries=2)
        assert counts == {"skipped": 0, "failed": RUNS}
        records = store.records()
        attempts = store.attempts()
    assert all("worker lost 3 time(s); last: killed by the OOM killer" in r["traceback"] for r in records)
    assert len(attempts) == 3 * RUNS and all(a["outcome"] == "lost: killed by the OOM killer" for a in attempts)


@pytest.mark.slow
def test_ctrl_c_cancels_in_flight_runs_keeps_finished_ones_and_says_how_to_resume(study_file, uninterrupted,
                                                                                   tmp_path):
    out = tmp_path / "out"
    command = explain(study_file, out, "--workers", "2")
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wait_for(out / "runs.sqlite", 2, process)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert "Resume with:" in err and "explain --study" in err and "Traceback" not in err
    before = finished_runs(out / "runs.sqlite")
    with Store(out / "runs.sqlite") as store:
        assert store.integrity() == "ok"
        assert all(a["ended"] is not None for a in store.attempts()), "cancelled runs are recorded as such"
    resumed = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    after = finished_runs(out / "runs.sqlite")
    assert all(after[k] == v for k, v in before.items()) and len(after) == RUNS
    assert f"explain --study {study_file}" in (out / "report" / "report.md").read_text(), "the command is stored"
    status = subprocess.run([sys.executable, "-m", "gatelab.cli", "status", str(out)], capture_output=True,
                            text=True, timeout=120)
    assert status.returncode == 0 and "10 runs planned" in status.stdout
    assert "cancelled" in status.stdout


def test_resuming_with_a_changed_spec_is_refused_unless_allowed(tmp_path):
    import tomllib

    from gatelab.study.spec import StudySpec

    data = tomllib.loads(STUDY)
    data["seeds"], data["train"]["steps"] = 1, 10
    first = StudySpec.from_dict(data)
    data["seeds"], data["train"]["steps"] = 2, 10
    more = StudySpec.from_dict(data)
    data["train"]["steps"] = 20
    other = StudySpec.from_dict(data)
    with Store(tmp_path / "runs.sqlite") as store:
        run_study(first, store, workers=1)
        with pytest.raises(SpecChanged, match=r"seeds: 1 → 2.*--allow-changed"):
            run_study(more, store, workers=1)
        assert run_study(more, store, workers=1, allow_changed=True) == {"skipped": 2, "ok": 2}
        with pytest.raises(SpecChanged, match=r"train.steps: 10 → 20"):
            run_study(other, store, workers=1)


def test_the_cli_refuses_a_changed_spec_with_exit_2(study_file, tmp_path):
    changed = tmp_path / "changed.toml"
    changed.write_text(STUDY.replace("seeds = 5", "seeds = 1").replace("steps = 150", "steps = 5"))
    out = tmp_path / "out"
    first = subprocess.run(explain(changed, out, "--workers", "1"), capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    changed.write_text(STUDY.replace("seeds = 5", "seeds = 1").replace("steps = 150", "steps = 6"))
    second = subprocess.run(explain(changed, out, "--workers", "1"), capture_output=True, text=True, timeout=300)
    assert second.returncode == 2 and "train.steps: 5 → 6" in second.stderr and "Traceback" not in second.stderr


def test_writing_a_finished_run_twice_changes_nothing(tmp_path):
    with Store(tmp_path / "runs.sqlite") as store:
        store.write(record("a", value=1.0))
        first = store._db.execute("SELECT written, record FROM runs").fetchall()
        store.write(record("a", value=2.0))
        assert store._db.execute("SELECT written, record FROM runs").fetchall() == first
        store.write(record("b", status="failed"))
        store.write(record("b", status="ok", value=3.0))                  # a failed run is replaced
        assert store.statuses() == {"a": "ok", "b": "ok"}


def _append(path: str, worker: int, count: int) -> None:
    with Store(path) as store:
        for i in range(count):
            store.write(record(f"w{worker}-{i}"))


@pytest.mark.slow
def test_four_processes_append_ten_thousand_records_without_loss_or_lock_errors(tmp_path):
    path = str(tmp_path / "runs.sqlite")
    Store(path).close()
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_append, args=(path, w, 2500)) for w in range(4)]
    for p in processes:
        p.start()
    for p in processes:
        p.join(timeout=600)
    assert [p.exitcode for p in processes] == [0, 0, 0, 0], "a writer failed (e.g. 'database is locked')"
    with Store(path) as store:
        assert len(store.statuses()) == 10_000 and store.integrity() == "ok"


def test_a_full_disk_is_a_clear_error_and_the_store_stays_consistent(tmp_path):
    with Store(tmp_path / "runs.sqlite") as store:
        store.write(record("kept"))
        (pages,) = store._db.execute("PRAGMA page_count").fetchone()
        store._db.execute(f"PRAGMA max_page_count = {pages + 1}")        # SQLite's own "disk full"
        big = {**record("big"), "curve": [[i, 0.5, 0.5] for i in range(20_000)]}
        with pytest.raises(StoreWriteError, match="cannot write the store .*full"):
            store.write(big)
        assert store.integrity() == "ok" and store.statuses() == {"kept": "ok"}


def test_a_read_only_folder_is_a_clear_error_and_exit_code_1(study_file, tmp_path):
    import shutil

    out = tmp_path / "out"
    out.mkdir(mode=0o555)
    command = explain(study_file, out, "--workers", "1")
    if os.geteuid() == 0:                                    # root writes anywhere: drop that capability first
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv to drop CAP_DAC_OVERRIDE")
        drop = "-dac_override,-dac_read_search"
        command = ["setpriv", f"--bounding-set={drop}", f"--inh-caps={drop}", *command]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1, result.stderr
    assert "cannot open the store for writing" in result.stderr and "Traceback" not in result.stderr


def test_ray_missing_gives_an_install_hint(monkeypatch, capsys, study_file, tmp_path):
    from gatelab.cli import main

    monkeypatch.setitem(sys.modules, "ray", None)
    assert main(["explain", "--study", str(study_file), "--out", str(tmp_path), "--executor", "ray"]) == 2
    assert "pip install 'gatelab[ray]'" in capsys.readouterr().err
