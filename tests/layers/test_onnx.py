"""ONNX export: onnxruntime runs the exported model with the layer's outputs (≤ 1e-5, fp32) for every variant ×
reset placement × {uni, bi} × {1, 2 layers} × {dense, lengths}; the plain gru becomes ONNX's GRU operator with
linear_before_reset set by the placement, the LSTM ONNX's LSTM, every other variant a Scan of its step."""

from __future__ import annotations

import pytest
import torch

import gatelab
from gatelab.layers import recurrent_layer

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

CASES = [(v, r) for v in gatelab.variants() for r in (("before", "after") if gatelab.get_variant(v).reset_learned
                                                       else ("before",))]


@pytest.mark.parametrize("lengths", [False, True], ids=["dense", "lengths"])
@pytest.mark.parametrize("layers", [1, 2], ids=["L1", "L2"])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("variant, reset", CASES, ids=[f"{v}-{r}" for v, r in CASES])
def test_onnxruntime_reproduces_the_layer(tmp_path, variant, reset, bidirectional, layers, lengths):
    torch.manual_seed(0)
    layer = recurrent_layer(variant, 3, 5, layers, reset=reset, bidirectional=bidirectional, batch_first=True)
    path = layer.to_onnx(tmp_path / "layer.onnx", lengths=lengths)
    rows = layers * (2 if bidirectional else 1)
    x, h0, c0 = torch.randn(4, 9, 3), torch.randn(rows, 4, 5), torch.randn(rows, 4, 5)
    sizes = torch.tensor([9, 3, 6, 1])
    feeds = {"input": x.numpy(), "h0": h0.numpy()}
    state = h0
    if variant == "lstm":
        feeds["c0"], state = c0.numpy(), (h0, c0)
    if lengths:
        feeds["lengths"] = sizes.numpy()
    got = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, feeds)
    with torch.no_grad():
        out, final = layer(x, state, lengths=sizes if lengths else None)
    finals = final if isinstance(final, tuple) else (final,)
    torch.testing.assert_close(torch.from_numpy(got[0]), out, atol=1e-5, rtol=1e-5)
    for onnx_state, state_n in zip(got[1:], finals, strict=True):
        torch.testing.assert_close(torch.from_numpy(onnx_state), state_n, atol=1e-5, rtol=1e-5)
    ops = {node.op_type for node in onnx.load(str(path)).graph.node}
    expected = {"gru": "GRU", "lstm": "LSTM"}.get(variant, "Scan")
    assert expected in ops, (variant, sorted(ops))
    if variant == "gru":
        (gru,) = [n for n in onnx.load(str(path)).graph.node if n.op_type == "GRU"][:1]
        before = {a.name: a.i for a in gru.attribute}.get("linear_before_reset", 0)
        assert before == (1 if reset == "after" else 0)


def test_other_activations_export_as_a_scan(tmp_path):
    layer = gatelab.GRU(3, 4, gate_activation="hard_sigmoid", candidate_activation="relu", reset="after")
    path = layer.to_onnx(tmp_path / "hard.onnx")
    x, h0 = torch.randn(6, 2, 3), torch.zeros(1, 2, 4)
    got = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(
        None, {"input": x.numpy(), "h0": h0.numpy()})
    torch.testing.assert_close(torch.from_numpy(got[0]), layer(x, h0)[0].detach(), atol=1e-5, rtol=1e-5)
    assert "Scan" in {n.op_type for n in onnx.load(str(path)).graph.node}


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["gru", "min_gru", "lstm"])
def test_torch_onnx_export_of_a_model_containing_a_layer(tmp_path, variant):
    """torch's own exporter (torch.export, then ONNX) on a model with a gatelab layer inside: onnxruntime gives
    its outputs for the exported shapes (~10 s an export here: three variants, one per backend family)."""
    pytest.importorskip("onnxscript")
    import warnings

    class Model(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = recurrent_layer(variant, 3, 5, batch_first=True)
            self.head = torch.nn.Linear(5, 2)

        def forward(self, x):
            return self.head(self.rnn(x)[0])

    torch.manual_seed(0)
    model, x = Model().eval(), torch.randn(2, 6, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (x,), str(tmp_path / "model.onnx"), dynamo=True, verbose=False)
    session = ort.InferenceSession(str(tmp_path / "model.onnx"), providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]
    with torch.no_grad():
        torch.testing.assert_close(torch.from_numpy(got), model(x), atol=1e-5, rtol=1e-5)
