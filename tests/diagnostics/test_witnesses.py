"""Every witness meets its task's criterion, at the sizes the presets use and longer: "can represent it" holds —
and for the reference gru, the task's criterion is reachable (the battery issue's item 1)."""

from __future__ import annotations

import pytest
import torch

from gatelab.diagnostics.witnesses import WITNESSES, witness_for
from gatelab.study.spec import load_study
from gatelab.tasks import get_task

# one size per task well past every preset's, where the hand-set weights must still hold
LONGER = {"adding": {"length": 400}, "padded_adding": {"length": 200, "blanks": 400},
          "parity": {"length": 300, "test_length": 600}, "reset_token": {"length": 300, "test_length": 600},
          "mod3": {"length": 300, "test_length": 600}, "s3": {"length": 100, "test_length": 400},
          "copy_memory": {"gap": 300, "symbols": 10}, "selective_copy": {"length": 400, "tokens": 16},
          "digits": {"mode": "permuted"}}
PRESETS = ("quick", "standard", "full")


def preset_sizes(task: str) -> list[dict]:
    return [dict(t.sizes) for preset in PRESETS for t in load_study(preset).tasks if t.name == task]


@pytest.mark.parametrize("key", sorted(WITNESSES), ids=[f"{v}-{t}" for v, t in sorted(WITNESSES)])
def test_the_witness_meets_the_criterion(key):
    witness = WITNESSES[key]
    for sizes in preset_sizes(witness.task) + [LONGER[witness.task]]:
        task = get_task(witness.task, **sizes)
        model = witness.build(task)
        assert model.rnn.options.variant == witness.variant
        x, y = task.batch(256, torch.Generator().manual_seed(7), "test")
        with torch.no_grad():
            value = task.evaluate(model(x), y)
        assert task.solved(value), (key, sizes, value, task.solved_at)


def test_the_reference_has_a_witness_on_every_task_with_a_construction():
    """The criterion of every task the report's primary comparisons use is reachable by gru by construction."""
    for preset in PRESETS:
        for family in load_study(preset).primary:
            for task in family.tasks:
                assert witness_for("gru", task) is not None, (preset, task)
    assert {t for v, t in WITNESSES if v == "gru"} == set(LONGER)


def test_the_automaton_witness_is_the_automaton_state_by_state():
    """Not only accurate on average: the gru's read-out is the S3 state at every step of every sequence."""
    task = get_task("s3", length=8, test_length=64)
    x, y = task.batch(64, torch.Generator().manual_seed(3), "test")
    with torch.no_grad():
        assert torch.equal(WITNESSES["gru", "s3"].build(task)(x).argmax(-1), y)


def test_no_witness_is_claimed_where_none_was_built():
    assert witness_for("gru_reset_zero", "parity") is None
    assert witness_for("gru_no_update", "adding") is None
    assert witness_for("min_gru", "adding").construction.startswith("two saturated units")
