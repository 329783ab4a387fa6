"""Every fast backend against the reference twin: outputs, final state and every gradient."""

from __future__ import annotations

import pytest
import torch
from support import GRU_VARIANTS, assert_close, case_id

from gatelab.cells import CellLayout, CellOptions, CellParams
from gatelab.ops import chunked, recurrence_ref
from gatelab.ops.dispatch import BACKENDS

SHAPES = [(2, 1, 7), (2, 63, 50), (3, 17, 16)]   # T = 1, long T with H not a multiple of 16, a plain one
CASES = [pytest.param(b, t, h, dt, id=case_id(b, t, h, dt))
         for (b, t, h) in SHAPES for dt in (torch.float64, torch.float32)]


def make(variant: str, reset: str, batch: int, steps: int, hidden: int, dtype: torch.dtype, masked: bool,
         bias: bool = True):
    torch.manual_seed(0)
    layout = CellLayout(CellOptions(variant, reset), 5, hidden, bias)
    params = CellParams(**{f: None if s is None else torch.empty(s, dtype=dtype)
                           for f, s in layout.shapes().items()})
    layout.init_(params)   # the layers' init: random weights of this size are otherwise chaotic over 63 steps
    params = CellParams(*(None if p is None else p.requires_grad_() for p in params))
    x = torch.randn(steps, batch, 5, dtype=dtype, requires_grad=True)
    n_state = 2 if variant == "lstm" else 1
    state0 = tuple(torch.randn(batch, hidden, dtype=dtype, requires_grad=True) for _ in range(n_state))
    mask = None
    if masked:
        lengths = torch.randint(1, steps + 1, (batch,))
        lengths[0] = steps                                       # the longest row is full
        mask = torch.arange(steps)[:, None] < lengths[None]
    return layout, params, x, state0, mask


def run_with_grads(op, layout, params, x, state0, mask, upstream_seed=1):
    out, final = op(x, state0, layout, params, mask)
    g = torch.Generator().manual_seed(upstream_seed)   # random upstream gradients for output AND final state
    loss = (out * torch.randn(out.shape, generator=g, dtype=out.dtype)).sum()
    for s in final:
        loss = loss + (s * torch.randn(s.shape, generator=g, dtype=s.dtype)).sum()
    leaves = [x, *state0, *(p for p in params if p is not None)]
    grads = torch.autograd.grad(loss, leaves)
    return out, final, grads


VARIANT_RESETS = [(v, "before") for v in GRU_VARIANTS + ["lstm"]] + [(v, "after") for v in
                                                                     ("gru", "mgu", "gru_no_update", "gru_gates_h")]
FAST = [pytest.param(v, r, b, id=f"{v}-{r}-{b}") for v, r in VARIANT_RESETS for b, backend in BACKENDS.items()
        if b != "ref" and not backend.gpu_only and backend.applies(CellLayout(CellOptions(v, r), 5, 4, True))]


@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("masked", [False, True], ids=["dense", "lengths"])
@pytest.mark.parametrize("batch,steps,hidden,dtype", CASES)
@pytest.mark.parametrize("variant,reset,backend", FAST)
def test_backend_matches_reference(variant, reset, backend, batch, steps, hidden, dtype, masked, bias):
    layout, params, x, state0, mask = make(variant, reset, batch, steps, hidden, dtype, masked, bias)
    fast = run_with_grads(BACKENDS[backend].op, layout, params, x, state0, mask)
    ref = run_with_grads(recurrence_ref, layout, params, x, state0, mask)
    assert_close(fast[0], ref[0], "output", "ops")
    for i, (a, b) in enumerate(zip(fast[1], ref[1])):
        assert_close(a, b, f"final state {i}", "ops")
    names = ["x", *[f"state0[{i}]" for i in range(len(state0))],
             *[f for f, p in zip(CellParams._fields, params) if p is not None]]
    for name, a, b in zip(names, fast[2], ref[2]):
        assert_close(a, b, f"grad {name}", "ops")


@pytest.mark.parametrize("masked", [False, True], ids=["dense", "lengths"])
@pytest.mark.parametrize("variant,reset,backend", FAST)
def test_inference_matches_reference(variant, reset, backend, masked):
    """Without autograd the fused ops take their scratch-buffer path: same outputs and final state."""
    layout, params, x, state0, mask = make(variant, reset, 3, 17, 16, torch.float64, masked)
    with torch.no_grad():
        out, final = BACKENDS[backend].op(x, state0, layout, params, mask)
        out_ref, final_ref = recurrence_ref(x, state0, layout, params, mask)
    assert_close(out, out_ref, "output", "ops")
    for a, b in zip(final, final_ref):
        assert_close(a, b, "final state", "ops")


@pytest.mark.parametrize("masked", [False, True], ids=["dense", "lengths"])
@pytest.mark.parametrize("variant,reset,backend", [p for p in FAST if p.values[2] in ("fused", "fused_lstm", "linear")])
def test_time_chunks_give_the_unchunked_result(variant, reset, backend, masked, monkeypatch):
    """Chunking time (to keep buffers small) must not change outputs, final state or gradients."""
    layout, params, x, state0, mask = make(variant, reset, 3, 23, 8, torch.float64, masked)
    whole = run_with_grads(BACKENDS[backend].op, layout, params, x, state0, mask)
    monkeypatch.setattr(chunked, "MAX_SLAB_BYTES", 3 * 4 * 8 * 8 * 5)     # a handful of steps per chunk
    monkeypatch.setattr(chunked, "INFERENCE_SLAB_BYTES", 3 * 4 * 8 * 8 * 5)
    monkeypatch.setattr(chunked, "MIN_CHUNK_STEPS", 1)
    assert chunked.chunk_steps(layout, 3, 8, chunked.MAX_SLAB_BYTES) < 23
    parts = run_with_grads(BACKENDS[backend].op, layout, params, x, state0, mask)
    for i, (a, b) in enumerate(zip([parts[0], *parts[1], *parts[2]], [whole[0], *whole[1], *whole[2]])):
        assert_close(a, b, f"result {i}", "ops")
    with torch.no_grad():
        out, final = BACKENDS[backend].op(x, state0, layout, params, mask)
    assert_close(out, whole[0], "output without autograd", "ops")
    for a, b in zip(final, whole[1]):
        assert_close(a, b, "final state without autograd", "ops")


@pytest.mark.parametrize("variant,reset,backend", FAST)
def test_gradients_reach_a_trainable_tensor_whatever_else_is_frozen(variant, reset, backend):
    """Only the recurrent (or, failing that, the last) parameter trains; input and state are constants."""
    layout, params, x, state0, _ = make(variant, reset, 2, 5, 4, torch.float64, False)
    trainable = params.weight_hh if params.weight_hh is not None else params.bias
    frozen = CellParams(*(None if p is None else p.detach().requires_grad_(p is trainable) for p in params))
    x, state0 = x.detach(), tuple(s.detach() for s in state0)
    out, _ = BACKENDS[backend].op(x, state0, layout, frozen, None)
    ref, _ = recurrence_ref(x, state0, layout, frozen, None)
    leaf = next(p for p in frozen if p is not None and p.requires_grad)
    (grad,) = torch.autograd.grad(out.sum(), leaf)
    (grad_ref,) = torch.autograd.grad(ref.sum(), leaf)
    assert_close(grad, grad_ref, "grad of the one trainable tensor", "ops")


@pytest.mark.parametrize("variant,reset", VARIANT_RESETS, ids=[f"{v}-{r}" for v, r in VARIANT_RESETS])
def test_the_step_trace_is_the_reference_loop_with_its_gates(variant, reset):
    """recurrence_trace (the loop diagnostics and the naive bench use) gives recurrence_ref's states, and gate
    values recomputed here from the seed-named weights."""
    from gatelab.ops import recurrence_trace

    layout, params, x, state0, _ = make(variant, reset, 2, 9, 6, torch.float64, False)
    out, final = recurrence_ref(x, state0, layout, params)
    trace = recurrence_trace(x, state0, layout, params, gates=True)
    assert_close(trace.hidden, out, "trace states", "property")
    for got, want in zip(trace.states[-1], final, strict=True):
        assert_close(got, want, "trace final state", "property")
    assert set(trace.gates) == set(layout.cell.gate_names(layout.options.spec))
    seed = layout.seed_views(params)
    previous = [state0[0]] + [s[0] for s in trace.states[:-1]]
    sigma = layout.sigma
    for name in trace.gates:
        if variant == "lstm" or variant == "mgu" and name == "r":
            continue                                            # the LSTM's and MGU's shared gate: checked below
        block = name
        pre = seed[f"b_{block}"].expand(2, -1).clone()
        if f"W_{block}" in seed:
            pre = pre + x @ seed[f"W_{block}"].T
        expected = []
        for t in range(9):
            a = pre[t] if pre.dim() == 3 else pre
            if f"U_{block}" in seed:
                a = a + previous[t] @ seed[f"U_{block}"].T
            expected.append(sigma(a))
        assert_close(trace.gates[name], torch.stack(expected), f"gate {name}", "property")
    if variant == "mgu":
        assert torch.equal(trace.gates["r"], trace.gates["z"]), "one gate serves as z and r"
    if variant == "lstm":
        i, f, o = (trace.gates[k] for k in ("i", "f", "o"))
        c = state0[1]
        for t in range(9):                                     # c_t = f ⊙ c + i ⊙ g and h_t = o ⊙ tanh(c_t)
            h_prev = previous[t]
            g = torch.tanh(x[t] @ seed["W_g"].T + h_prev @ seed["U_g"].T + seed["b_g"])
            c = f[t] * c + i[t] * g
            assert_close(trace.states[t][0], o[t] * torch.tanh(c), f"lstm h_{t}", "property")
