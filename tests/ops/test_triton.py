"""The Triton backend against the reference twin — on the CPU through Triton's interpreter, on CUDA when present.

Without a GPU, tests/conftest.py sets ``TRITON_INTERPRET=1`` before anything imports Triton, so the same kernels
the GPU compiles run here in NumPy: slow, exact enough for parity at small sizes.
"""

from __future__ import annotations

import pytest
import torch
from support import GRU_VARIANTS, assert_close

import gatelab
from gatelab.ops import recurrence_ref

triton = pytest.importorskip("triton")
from gatelab.ops.dispatch import BACKENDS, resolve_backend  # noqa: E402
from gatelab.ops.triton import interpreting, triton_gru_recurrence  # noqa: E402

pytestmark = pytest.mark.triton
H_DEPENDENT = [v for v in GRU_VARIANTS if not gatelab.get_variant(v).h_independent]
# the CPU runs the kernels only under Triton's interpreter (set by conftest.py where there is no GPU); on a GPU
# machine the kernels are compiled for CUDA and the CPU cases would only test the refusal (first GPU run)
DEVICES = (["cpu"] if interpreting() else []) + (["cuda"] if torch.cuda.is_available() else [])
DEVICE = "cuda" if torch.cuda.is_available() else "cpu"


@pytest.fixture(autouse=True)
def ieee_products(monkeypatch):
    """Parity is checked in IEEE float32. The kernels follow ``torch.backends.cudnn.allow_tf32`` as torch.nn.GRU
    does, and that flag is True by default: on a GPU (first run, an H200) every float32 parity test then missed
    the 1e-5 tolerance by TF32's rounding (max abs error 6–8e-4) while the reference's products stayed IEEE."""
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)   # (torch's matmul keeps IEEE by default)


def case(variant: str, reset: str, steps: int, batch: int, hidden: int, masked: bool, bias: bool = True,
         device: str = "cpu", dtype: torch.dtype = torch.float32):
    torch.manual_seed(0)
    layer = gatelab.GRU(4, hidden, bias=bias, variant=variant, reset=reset, device=device, dtype=dtype)
    x = torch.randn(steps, batch, 4, device=device, dtype=dtype, requires_grad=True)
    h0 = torch.randn(batch, hidden, device=device, dtype=dtype, requires_grad=True)
    mask = None
    if masked:
        lengths = torch.randint(1, steps + 1, (batch,))
        lengths[0] = steps
        mask = (torch.arange(steps)[:, None] < lengths[None]).to(device)
    return layer, x, h0, mask


def run(op, layer, x, h0, mask):
    out, (h_n,) = op(x, (h0,), layer.layouts[0], layer.cell_params(0, 0), mask)
    g = torch.Generator().manual_seed(1)
    upstream = torch.randn(out.shape, generator=g).to(out)
    last = torch.randn(h_n.shape, generator=g).to(h_n)
    loss = (out.float() * upstream.float()).sum() + (h_n.float() * last.float()).sum()
    leaves = [x, h0, *layer.parameters()]
    return out, h_n, torch.autograd.grad(loss, leaves), ["x", "h0", *(n for n, _ in layer.named_parameters())]


def check_parity(layer, x, h0, mask):
    fast_out, fast_h, fast_grads, names = run(triton_gru_recurrence, layer, x, h0, mask)
    ref_out, ref_h, ref_grads, _ = run(recurrence_ref, layer, x, h0, mask)
    assert_close(fast_out, ref_out, "output", "ops")
    assert_close(fast_h, ref_h, "final state", "ops")
    for name, a, b in zip(names, fast_grads, ref_grads, strict=True):
        assert_close(a, b, f"grad {name}", "ops")


@pytest.mark.parametrize("masked", [False, True], ids=["dense", "lengths"])
@pytest.mark.parametrize("reset", ["after", "before"])
@pytest.mark.parametrize("variant", H_DEPENDENT)
@pytest.mark.parametrize("device", DEVICES)
def test_every_h_dependent_variant_matches_the_reference(variant, reset, masked, device):
    """Outputs, final state and every gradient; H = 10 is padded inside the 16-wide tiles."""
    check_parity(*case(variant, reset, steps=5, batch=3, hidden=10, masked=masked, device=device))


@pytest.mark.parametrize("variant", ["gru", "mgu", "gru_gates_bias"])
@pytest.mark.parametrize("device", DEVICES)
def test_awkward_shapes_several_tiles_programs_and_no_bias(variant, device):
    """H = 70: the tiled kernels (two unit tiles, two k-slices); B = 20: two programs of 16 rows, the second part
    empty; T = 1 and no bias (H = 16: the persistent kernels, as for H = 10 above)."""
    from gatelab.ops.triton import persistent

    assert persistent(10) and persistent(16) and persistent(64) and not persistent(70)
    check_parity(*case(variant, "before", steps=3, batch=20, hidden=70, masked=True, device=device))
    check_parity(*case(variant, "after", steps=1, batch=2, hidden=16, masked=False, bias=False, device=device))


def test_the_layer_runs_it_when_asked_and_inference_matches():
    torch.manual_seed(0)
    layer = gatelab.GRU(3, 12, num_layers=2, bidirectional=True, batch_first=True, backend="triton", device=DEVICE)
    x = torch.randn(4, 6, 3, device=DEVICE)
    with torch.no_grad():
        out, h_n = layer(x, lengths=[6, 4, 2, 1])
        assert layer.last_backend == "triton"
        with gatelab.use_backend("ref"):
            ref_out, ref_h = layer(x, lengths=[6, 4, 2, 1])
    assert_close(out, ref_out, "output", "ops")
    assert_close(h_n, ref_h, "h_n", "ops")


def test_what_it_does_not_do_is_a_clear_error():
    layer = gatelab.GRU(2, 4, backend="triton", dtype=torch.float64, device=DEVICE)
    with pytest.raises(ValueError, match="dtype: expected float32.*for backend 'triton', got 'float64'"):
        layer(torch.randn(3, 2, 2, dtype=torch.float64, device=DEVICE))
    with pytest.raises(ValueError, match="backend: expected a backend that applies to variant 'min_gru'"):
        gatelab.GRU(2, 4, variant="min_gru", backend="triton", device=DEVICE)(torch.randn(3, 2, 2, device=DEVICE))
    layer = gatelab.GRU(2, 4, backend="triton", device=DEVICE)
    out, _ = layer(torch.randn(3, 2, 2, requires_grad=True, device=DEVICE))
    with pytest.raises(RuntimeError, match="first derivatives only"):
        torch.autograd.grad(out.sum(), list(layer.parameters()), create_graph=True)


def test_auto_picks_triton_only_on_cuda_and_a_missing_triton_gives_a_hint(monkeypatch):
    layout = gatelab.GRU(2, 4).layouts[0]
    assert resolve_backend("auto", layout, torch.device("cpu")) == "native"
    assert BACKENDS["triton"].gpu_only
    monkeypatch.setitem(__import__("sys").modules, "triton", None)
    with pytest.raises(RuntimeError, match="pip install triton"):
        resolve_backend("triton", layout, torch.device("cpu"))


def test_float32_products_follow_cudnns_tf32_flag_as_torch_nn_gru_does(monkeypatch):
    from gatelab.ops import triton as triton_ops
    monkeypatch.setattr(triton_ops, "interpreting", lambda: False)
    assert triton_ops._precision(torch.float32) == "ieee"            # the fixture turned TF32 off
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", True)
    assert triton_ops._precision(torch.float32) == "tf32"
    assert triton_ops._precision(torch.bfloat16) == "ieee"           # the products' inputs are bf16 already
    monkeypatch.setattr(triton_ops, "interpreting", lambda: True)     # the interpreter has no TF32
    assert triton_ops._precision(torch.float32) == "ieee"


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_tf32_when_allowed_stays_within_tf32_rounding(monkeypatch):
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", True)
    layer, x, h0, mask = case("gru", "after", steps=64, batch=16, hidden=128, masked=False, device="cuda")
    fast_out, _, _, _ = run(triton_gru_recurrence, layer, x, h0, mask)
    ref_out, _, _, _ = run(recurrence_ref, layer, x, h0, mask)
    relative_rms = ((fast_out - ref_out).pow(2).mean() / ref_out.pow(2).mean()).sqrt()
    assert 0 < relative_rms < 5e-3


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("variant", H_DEPENDENT)
def test_bfloat16_on_the_gpu_stays_close_to_float32(variant):
    layer, x, h0, mask = case(variant, "after", steps=16, batch=32, hidden=64, masked=False, device="cuda")
    ref_out, _, _, _ = run(recurrence_ref, layer, x, h0, mask)
    half = layer.to(torch.bfloat16)
    out, _, _, _ = run(triton_gru_recurrence, half, x.detach().bfloat16().requires_grad_(),
                       h0.detach().bfloat16().requires_grad_(), mask)
    assert (out.float() - ref_out).abs().max() < 5e-2
