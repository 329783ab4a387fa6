"""The linear-recurrence solvers (loop and parallel scan) against the plain autograd loop."""

from __future__ import annotations

import pytest
import torch
from support import assert_close, case_id

from gatelab.ops.linear_scan import SOLVERS, linear_recurrence, linear_recurrence_ref


def problem(steps: int, batch: int, hidden: int, dtype: torch.dtype, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    a = torch.rand(steps, batch, hidden, generator=g, dtype=torch.float64).mul(0.2).add(0.8)  # long memory
    b = torch.randn(steps, batch, hidden, generator=g, dtype=torch.float64)
    h0 = torch.randn(batch, hidden, generator=g, dtype=torch.float64)
    up = torch.randn(steps, batch, hidden, generator=g, dtype=torch.float64)
    return [t.to(dtype).requires_grad_() for t in (a, b, h0)], up.to(dtype)


def solve(fn, leaves, upstream):
    h = fn(*leaves)
    grads = torch.autograd.grad((h * upstream).sum(), leaves)
    return h, grads


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("steps,batch,hidden,dtype", [
    pytest.param(t, b, h, d, id=case_id(b, t, h, d))
    for (t, b, h) in [(1, 2, 3), (63, 2, 50), (1000, 3, 7)] for d in (torch.float64, torch.float32)])
def test_solver_matches_reference(solver, steps, batch, hidden, dtype):
    leaves, upstream = problem(steps, batch, hidden, dtype)
    h, grads = solve(lambda a, b, h0: linear_recurrence(a, b, h0, solver), leaves, upstream)
    h_ref, grads_ref = solve(linear_recurrence_ref, leaves, upstream)
    assert_close(h, h_ref, "h", "ops")
    for name, g, g_ref in zip(("a", "b", "h0"), grads, grads_ref):
        assert_close(g, g_ref, f"grad {name}", "ops")


@pytest.mark.parametrize("solver", SOLVERS)
def test_long_sequences_stay_accurate_in_float32(solver):
    """T = 4096: float32 against a float64 reference, relative error ≤ 1e-5 in outputs and all gradients."""
    leaves64, up64 = problem(4096, 2, 16, torch.float64, seed=1)
    leaves32 = [t.detach().float().requires_grad_() for t in leaves64]
    h64, g64 = solve(linear_recurrence_ref, leaves64, up64)
    h32, g32 = solve(lambda a, b, h0: linear_recurrence(a, b, h0, solver), leaves32, up64.float())
    for name, got, want in zip(("h", "grad a", "grad b", "grad h0"), (h32, *g32), (h64, *g64)):
        rel = float((got.detach().double() - want.detach()).norm() / want.detach().norm())
        assert rel <= 1e-5, f"{name}: relative error {rel:.2e} > 1e-5"


def test_unknown_solver_is_named():
    leaves, _ = problem(3, 1, 2, torch.float64)
    with pytest.raises(ValueError, match="solver: expected one of \\['loop', 'scan'\\], got 'fft'"):
        linear_recurrence(*leaves, solver="fft")
