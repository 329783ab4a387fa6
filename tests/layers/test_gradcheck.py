"""torch.autograd.gradcheck and gradgradcheck in float64 for every variant."""

from __future__ import annotations

import pytest
import torch
from torch.autograd import gradcheck, gradgradcheck

import gatelab
from gatelab.ops.dispatch import BACKENDS


def layer_function(layer, with_h0: bool):
    names = [n for n, _ in layer.named_parameters()]

    def f(x, *rest):
        state = rest[0] if with_h0 else None
        params = dict(zip(names, rest[1:] if with_h0 else rest))
        out, final = torch.func.functional_call(layer, params, (x, state))
        finals = final if isinstance(final, tuple) else (final,)
        return (out, *finals)

    return f


def applicable_backends(variant: str) -> list[str]:
    layout = (gatelab.LSTM(1, 1) if variant == "lstm" else gatelab.GRU(1, 1, variant=variant)).layouts[0]
    return [name for name, b in BACKENDS.items() if b.applies(layout) and not b.gpu_only]   # triton: its own tests


CASES = [pytest.param(v, b, id=f"{v}-{b}") for v in gatelab.variants() for b in applicable_backends(v)]


@pytest.mark.parametrize("with_h0", [True, False], ids=["h0", "no_h0"])
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("variant,backend", CASES)
def test_gradcheck_and_gradgradcheck(variant, backend, bias, with_h0):
    """First derivatives for every backend; second derivatives for the backends that declare them."""
    torch.manual_seed(0)
    if variant == "lstm":
        layer = gatelab.LSTM(2, 3, bias=bias, dtype=torch.float64)
    else:
        layer = gatelab.GRU(2, 3, bias=bias, variant=variant, dtype=torch.float64)
    x = torch.randn(4, 2, 2, dtype=torch.float64, requires_grad=True)
    inputs = [x]
    if with_h0:
        h0 = torch.randn(1, 2, 3, dtype=torch.float64, requires_grad=True)
        if variant == "lstm":
            h0 = (h0, torch.randn(1, 2, 3, dtype=torch.float64, requires_grad=True))
            f = layer_function(layer, True)
            inputs += [h0[0], h0[1]]
            g = lambda x, h, c, *p: f(x, (h, c), *p)  # noqa: E731
        else:
            inputs.append(h0)
            g = layer_function(layer, True)
    else:
        g = layer_function(layer, False)
    inputs += [p.detach().clone().requires_grad_() for p in layer.parameters()]
    with gatelab.use_backend(backend):
        assert gradcheck(g, tuple(inputs), eps=1e-6, atol=1e-7)
        if BACKENDS[backend].double_backward:
            assert gradgradcheck(g, tuple(inputs), eps=1e-6, atol=1e-6)


@pytest.mark.parametrize("backend", [n for n, b in BACKENDS.items() if not b.double_backward and not b.gpu_only])
def test_backends_without_second_derivatives_refuse_them_loudly(backend):
    variant = next(v for v in gatelab.variants() if backend in applicable_backends(v))
    if variant == "lstm":
        layer = gatelab.LSTM(2, 3, dtype=torch.float64, backend=backend)
    else:
        layer = gatelab.GRU(2, 3, dtype=torch.float64, backend=backend, variant=variant)
    x = torch.randn(4, 2, 2, dtype=torch.float64, requires_grad=True)
    with pytest.raises(RuntimeError, match=f"backend .*'{backend}'.* computes first derivatives only"):
        torch.autograd.grad(layer(x)[0].sum(), x, create_graph=True)
