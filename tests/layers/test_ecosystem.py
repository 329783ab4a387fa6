"""gatelab in the PyTorch ecosystem, as a compatibility matrix: each row what a PyTorch user does with a layer,
each column a variant (and, where it matters, a backend). A regression shows as one red cell.

| what a user does | gatelab |
|---|---|
| ``torch.autocast("cpu", bfloat16)`` around the forward | runs; the recurrence in fp32, fp32 out (as torch.nn.GRU) |
| ``torch.func.grad`` / ``vmap`` / ``jacrev`` | runs: ``auto`` takes the ``loop`` backend under a transform |
| ``torch.jit.trace`` | reproduces the layer on new inputs of the traced shape |
| ``torch.jit.script`` | refused, naming trace / compile / export |
| pickle, ``state_dict`` round trip | run |
| a fast backend forced under a transform | refused, naming the backends that compose |
| ``layer.to_onnx(path)`` | onnxruntime reproduces it, every variant, both placements (tests/layers/test_onnx.py) |
(``torch.compile`` runs but takes ~30 s to compile a time loop on this machine, ``torch.export`` likewise traces
the loop: both are left out of the suite for time. ``torch.onnx.export`` of a model containing a gatelab layer
runs through torch.export: tests/layers/test_onnx.py, marked slow.)
"""

from __future__ import annotations

import io
import pickle
import warnings

import pytest
import torch
from support import assert_close

import gatelab
from gatelab.layers import recurrent_layer

ALL = gatelab.variants()
X = torch.randn(3, 7, 4, generator=torch.Generator().manual_seed(0))


def layer(variant: str, dtype=torch.float32, **options):
    torch.manual_seed(0)
    return recurrent_layer(variant, 4, 5, batch_first=True, dtype=dtype, **options)


@pytest.mark.parametrize("variant", ALL)
def test_autocast_runs_the_recurrence_in_fp32(variant):
    m = layer(variant)
    plain = m(X)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        cast = m(X)
        cast_bf16_input = m(X.to(torch.bfloat16))
        reference, _ = torch.nn.GRU(4, 5, batch_first=True)(X)
    assert cast[0].dtype == reference.dtype == torch.float32
    assert_close(cast[0], plain[0], "autocast output", "property")
    assert cast_bf16_input[0].dtype == torch.float32


def test_autocast_grucell():
    cell = gatelab.GRUCell(4, 5)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = cell(X[:, 0])
    assert out.dtype == torch.float32
    assert_close(out, cell(X[:, 0]), "autocast cell", "property")


@pytest.mark.parametrize("variant", ALL)
def test_per_sample_gradients_with_vmap_of_grad(variant):
    """torch.func.vmap(grad(...)) over the batch equals a loop of single-sample gradients."""
    from torch.func import functional_call, grad, vmap

    m = layer(variant, torch.float64)
    params = {k: v.detach() for k, v in m.named_parameters()}
    x = X.double()

    def loss(p, sample):
        out, _ = functional_call(m, p, (sample.unsqueeze(0),))
        return out.pow(2).sum()

    batched = vmap(grad(loss), in_dims=(None, 0))(params, x)
    assert m.last_backend == "loop"
    for i in range(x.shape[0]):
        single = grad(loss)(params, x[i])
        for name in params:
            assert_close(batched[name][i], single[name], f"{variant} {name} sample {i}", "property")


@pytest.mark.parametrize("variant", ["gru", "min_gru", "lstm"])
def test_jacrev_of_the_output_with_respect_to_the_input(variant):
    from torch.func import jacrev

    m = layer(variant, torch.float64)
    x = X[:1].double()
    jac = jacrev(lambda inp: m(inp)[0])(x)                              # (1, T, H, 1, T, I)
    with gatelab.use_backend("loop"):
        eps = 1e-6
        bumped = x.clone()
        bumped[0, 2, 1] += eps
        finite = (m(bumped)[0] - m(x)[0]) / eps
    torch.testing.assert_close(jac[..., 0, 2, 1], finite, atol=1e-5, rtol=1e-4)
    assert torch.all(jac[0, :2, :, 0, 2] == 0), "causal: no output before step 2 depends on x_2"


@pytest.mark.parametrize("backend", ["native", "fused", "linear"])
def test_a_fast_backend_forced_under_a_transform_is_refused_by_name(backend):
    from torch.func import grad

    variant = "min_gru" if backend == "linear" else "gru"
    m = layer(variant, backend=backend)
    with pytest.raises(ValueError, match=r"backend: expected one of \['ref', 'loop'\] \(or 'auto'\) under torch.func"):
        grad(lambda inp: m(inp)[0].sum())(X)


@pytest.mark.parametrize("variant", ALL)
def test_jit_trace_reproduces_the_layer_on_new_inputs(variant):
    m = layer(variant)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        warnings.simplefilter("ignore", DeprecationWarning)                # torch 2.13 deprecates jit.trace
        traced = torch.jit.trace(m, X)
    fresh = torch.randn(X.shape, generator=torch.Generator().manual_seed(9))
    for got, want in zip(traced(fresh), m(fresh)):
        got, want = (got, want) if torch.is_tensor(got) else (got[0], want[0])
        assert_close(got, want, f"{variant} traced", "property")


@pytest.mark.parametrize("module", [lambda: gatelab.GRU(4, 5), lambda: gatelab.LSTM(4, 5),
                                    lambda: gatelab.GRUCell(4, 5)], ids=["GRU", "LSTM", "GRUCell"])
def test_jit_script_is_refused_with_what_works(module):
    with warnings.catch_warnings(), pytest.raises(
            ValueError, match="torch.jit.script: expected a scriptable module.*torch.jit.trace.*torch.compile or "
                              "torch.export"):
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.script(module())


@pytest.mark.parametrize("variant", ALL)
def test_pickle_and_state_dict_round_trips(variant):
    m = layer(variant)
    clone = pickle.loads(pickle.dumps(m))
    assert_close(clone(X)[0], m(X)[0], f"{variant} pickled", "property")
    buffer = io.BytesIO()
    torch.save(m.state_dict(), buffer)
    buffer.seek(0)
    fresh = recurrent_layer(variant, 4, 5, batch_first=True)
    fresh.load_state_dict(torch.load(buffer))
    assert_close(fresh(X)[0], m(X)[0], f"{variant} state_dict", "property")
