"""A variant's declared capabilities are true of its maths."""

from __future__ import annotations

import pytest
import torch

import gatelab
from gatelab.cells import CellLayout, CellOptions, CellParams, gru_gates, gru_plan, gru_step_weights


def gates_at(variant: str, reset: str, h: torch.Tensor, x_seed: int = 0):
    torch.manual_seed(3)
    layout = CellLayout(CellOptions(variant, reset), 4, 6, True)
    params = CellParams(**{f: None if s is None else torch.randn(s, dtype=torch.float64)
                           for f, s in layout.shapes().items()})
    x = torch.randn(5, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(x_seed))
    xw = torch.nn.functional.linear(x, params.weight_ih, layout.input_bias(params))
    return gru_gates(xw, h, gru_step_weights(layout, params), gru_plan(layout))


@pytest.mark.parametrize("reset", ["before", "after"])
@pytest.mark.parametrize("variant", gatelab.variants("gru"))
def test_h_independence_is_what_the_registry_declares(variant, reset):
    h1 = torch.randn(5, 6, dtype=torch.float64)
    h2 = h1 + torch.randn(5, 6, dtype=torch.float64)          # perturb h_{t-1}
    a, b = gates_at(variant, reset, h1), gates_at(variant, reset, h2)
    changed = any(not torch.equal(u, v) for u, v in zip(a, b) if u is not None)
    assert changed == (not gatelab.get_variant(variant).h_independent), (variant, "gates/candidate changed"
                                                                          if changed else "nothing changed")


@pytest.mark.parametrize("variant", [v for v in gatelab.variants("gru") if gatelab.get_variant(v).h_independent])
def test_h_independent_step_is_affine_in_h(variant):
    """h_t = a_t ⊙ h_{t-1} + b_t: the step of a combination of states is the combination of the steps."""
    layer = gatelab.GRUCell(4, 6, variant=variant, dtype=torch.float64)
    x = torch.randn(5, 4, dtype=torch.float64)
    h1, h2 = torch.randn(5, 6, dtype=torch.float64), torch.randn(5, 6, dtype=torch.float64)
    for alpha in (0.3, 2.0, -1.5):
        mixed = layer(x, alpha * h1 + (1 - alpha) * h2)
        assert torch.allclose(mixed, alpha * layer(x, h1) + (1 - alpha) * layer(x, h2), atol=1e-12)


@pytest.mark.parametrize("variant", [v for v in gatelab.variants("gru") if not gatelab.get_variant(v).h_independent])
def test_h_dependent_step_is_not_affine_in_h(variant):
    torch.manual_seed(0)
    layer = gatelab.GRUCell(4, 6, variant=variant, dtype=torch.float64)
    with torch.no_grad():
        for v in layer.seed_params().values():
            v.normal_(0, 1.0)
    x = torch.randn(5, 4, dtype=torch.float64)
    h1, h2 = torch.randn(5, 6, dtype=torch.float64), torch.randn(5, 6, dtype=torch.float64)
    mixed = layer(x, 0.5 * h1 + 0.5 * h2)
    assert not torch.allclose(mixed, 0.5 * layer(x, h1) + 0.5 * layer(x, h2), atol=1e-6)
