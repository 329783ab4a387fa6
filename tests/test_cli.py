from __future__ import annotations

import subprocess
import sys

import pytest

from gatelab.cli import main
from gatelab.study.demo import DemoConfig, run_demo, summarise
from gatelab.tasks import AddingTask
from gatelab.train import TrainConfig


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gatelab.cli", *args], capture_output=True, text=True, timeout=120)


def test_list_shows_every_variant(capsys):
    import gatelab

    assert main(["list"]) == 0
    printed = capsys.readouterr().out
    for name in gatelab.variants() + gatelab.tasks.tasks():
        assert name in printed


@pytest.mark.parametrize("args", [["demo", "--seeds", "0"], ["nonsense"], ["demo", "--seeds", "x"], [],
                                  ["explain", "--preset", "nope"], ["explain", "--tasks", "parityy"],
                                  ["report", "/nonexistent/study"], ["bench", "--sizes", "3x3"],
                                  ["bench", "--variants", "gruu"]])
def test_bad_arguments_exit_2_without_traceback(args):
    result = run_cli(*args)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "error" in result.stderr


def test_import_gatelab_is_light():
    code = ("import sys, gatelab; heavy = {'keras', 'ray', 'triton', 'statsforecast', 'statsmodels', 'pandas', "
            "'scipy', 'matplotlib'} "
            "& set(sys.modules); print(sorted(heavy))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_demo_measures_and_reports():
    config = DemoConfig(length=8, hidden_size=8, seeds=(0,),
                        train=TrainConfig(steps=20, batch_size=16, eval_every=10, eval_size=64))
    seen = []
    runs = run_demo(config, on_progress=lambda label, step, total: seen.append((label, step, total)))
    assert [r.variant for r in runs] == ["gru", "gru_no_update"]
    assert all(r.backend == "native" for r in runs)   # recorded from the layer, the auto rule's choice
    assert len(seen) == 2 * 20 and seen[-1] == ("gru_no_update seed 0", 20, 20)
    lines = summarise(runs, AddingTask(8))
    for run in runs:
        assert f"{run.test_mse:.4f}" in "\n".join(lines)
    assert "multiplied the median test MSE by" in lines[-1]


def test_training_is_bit_identical_for_a_seed():
    config = DemoConfig(length=6, hidden_size=4, seeds=(3,), variants=("gru",),
                        train=TrainConfig(steps=10, batch_size=8, eval_every=5, eval_size=32))
    a, b = run_demo(config), run_demo(config)
    assert a[0].test_mse == b[0].test_mse and a[0].gradient_ratio == b[0].gradient_ratio
