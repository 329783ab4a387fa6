"""One assert_close and one tolerance table for the whole suite (keyed by what is compared and the dtype)."""

from __future__ import annotations

import math

import torch
from torch import Tensor

import gatelab

# (comparison, dtype) → (absolute, relative) tolerance.
TOLERANCES: dict[tuple[str, torch.dtype], tuple[float, float]] = {
    ("equations", torch.float64): (1e-12, 1e-12),   # layer vs hand-written seed equations
    ("ops", torch.float64): (1e-12, 1e-12),         # fast op vs its _ref twin
    ("ops", torch.float32): (1e-5, 1e-5),
    ("torch", torch.float64): (1e-10, 1e-10),       # vs torch.nn.GRU / LSTM
    ("torch", torch.float32): (1e-5, 1e-5),
    ("keras", torch.float32): (1e-5, 1e-5),         # vs Keras 3 GRU
    ("property", torch.float64): (1e-12, 1e-12),    # two ways to compute the same thing in gatelab
    ("property", torch.float32): (1e-6, 1e-6),
}

GRU_VARIANTS = gatelab.variants("gru")


def assert_close(actual: Tensor, expected: Tensor, what: str, comparison: str) -> None:
    """Assert |actual − expected| ≤ atol + rtol·|expected| elementwise; the message gives the max-abs error, the
    relative RMS error and whether NaNs were present."""
    actual, expected = torch.as_tensor(actual), torch.as_tensor(expected)
    assert actual.shape == expected.shape, f"{what}: shape {tuple(actual.shape)} != {tuple(expected.shape)}"
    atol, rtol = TOLERANCES[(comparison, expected.dtype)]
    a, e = actual.detach().to(torch.float64).cpu(), expected.detach().to(torch.float64).cpu()
    nans = bool(torch.isnan(a).any() or torch.isnan(e).any())
    if a.numel() == 0:
        return
    diff = (a - e).abs()
    ok = bool((diff <= atol + rtol * e.abs()).all()) and not nans
    if not ok:
        max_abs = float(diff.max()) if not nans else math.nan
        rel_rms = float(((a - e).pow(2).mean().sqrt() / e.pow(2).mean().sqrt().clamp_min(1e-300)))
        raise AssertionError(f"{what} ({comparison}, {expected.dtype}): max abs err {max_abs:.3e} "
                             f"(atol {atol:g}, rtol {rtol:g}), relative RMS err {rel_rms:.3e}, NaNs: {nans}")


def case_id(batch: int, steps: int, hidden: int, dtype: torch.dtype) -> str:
    return f"B{batch}-T{steps}-H{hidden}-{'fp64' if dtype == torch.float64 else 'fp32'}"
