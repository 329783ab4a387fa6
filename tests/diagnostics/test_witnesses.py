"""Every witness meets its task's criterion, at the sizes the presets use and longer: "can represent it" holds."""

from __future__ import annotations

import pytest
import torch

from gatelab.diagnostics.witnesses import WITNESSES, witness_for
from gatelab.study.spec import load_study
from gatelab.tasks import get_task


def preset_sizes(task: str) -> list[dict]:
    sizes = [dict(t.sizes) for preset in ("quick", "standard", "full") for t in load_study(preset).tasks
             if t.name == task]
    return sizes or [{}]


@pytest.mark.parametrize("key", sorted(WITNESSES), ids=[f"{v}-{t}" for v, t in sorted(WITNESSES)])
def test_the_witness_meets_the_criterion(key):
    witness = WITNESSES[key]
    for sizes in preset_sizes(witness.task) + [{"length": 300, **({"test_length": 600} if "parity" in key[1]
                                                                   or "reset" in key[1] else {})}]:
        task = get_task(witness.task, **sizes)
        model = witness.build(task.input_size, task.output_size)
        assert model.rnn.options.variant == witness.variant
        x, y = task.batch(512, torch.Generator().manual_seed(7), "test")
        with torch.no_grad():
            value = task.evaluate(model(x), y)
        assert task.solved(value), (key, sizes, value, task.solved_at)


def test_no_witness_is_claimed_where_none_was_built():
    assert witness_for("gru_reset_zero", "parity") is None
    assert witness_for("min_gru", "adding").construction.startswith("two saturated units")
