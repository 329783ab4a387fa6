"""The benchmark harness: who it times, and that every mode measures what it says."""

from __future__ import annotations

import torch

from gatelab.bench import TORCH_LSTM, TRAINING_STEP, BenchSize, Contender, _make, _runner, compare, contenders
from gatelab.ops.native import available


def test_contenders_include_the_compiled_loop_and_torchs_lstm_only_where_they_apply():
    chosen = contenders(["gru", "lstm", "min_gru"], None, naive=False)
    labels = [c.label for c in chosen]
    assert labels[:2] == ["torch.nn.GRU", TORCH_LSTM]
    assert ("gru [native]" in labels) == available()
    assert "lstm [torch_lstm]" in labels and "lstm [native]" not in labels and "min_gru [native]" not in labels
    assert "gru [native]" not in [c.label for c in contenders(["gru"], None, naive=False, device="cuda")]


def test_a_training_step_updates_the_weights_and_every_row_has_its_ratio():
    size = BenchSize(4, 6, 3, 5)
    module = _make(Contender("gru", "fused"), size, torch.float32)
    before = [p.detach().clone() for p in module.parameters()]
    _runner(Contender("gru", "fused"), module, torch.randn(4, 6, 3), TRAINING_STEP)()
    assert all(not torch.equal(a, p) for a, p in zip(before, module.parameters(), strict=True))
    rows = compare([Contender(None, "aten"), Contender("gru", "fused"), Contender("lstm", "aten")], [size],
                   rounds=2, backward=TRAINING_STEP)
    assert [r.mode for r in rows] == [TRAINING_STEP] * 3
    assert rows[0].ratio == 1.0 and all(r.median_ms > 0 and r.ratio > 0 for r in rows)
