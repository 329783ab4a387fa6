"""How a cell's parameters are stored (stacked, for speed) and how the seed-named views map onto them.

One (layer, direction) of a layer owns up to four tensors; the blocks inside each are stacked in gatelab's
gate order z, r, h (``i, f, g, o`` for the LSTM, PyTorch's order):

=============  ============  ====================================================================
tensor         shape         rows
=============  ============  ====================================================================
``weight_ih``  (n_x·H, I)    W_b for every block b that reads x
``weight_hh``  (n_h·H, H)    U_b for every block b that reads h (absent when none does)
``bias``       (n·H,)        b_b for every block (absent when ``bias=False``)
``bias_hh``    (H,)          b_hh, only for ``reset="after"`` with a learned r
=============  ============  ====================================================================

:meth:`CellLayout.seed_views` slices them into ``W_z, W_r, W_h, U_z, U_r, U_h, b_z, b_r, b_h`` (+ ``b_hh``):
views, so writing into one writes into the layer. Blocks a variant lacks have no key.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import Tensor

from .._errors import InputError, bad_argument
from .activations import CANDIDATE_ACTIVATIONS, GATE_ACTIVATIONS, Activation
from .interface import Cell, cell_of
from .options import CellOptions

PARAM_FIELDS = ("weight_ih", "weight_hh", "bias", "bias_hh")


class CellParams(NamedTuple):
    """The stacked tensors of one (layer, direction); None where the layout has none."""

    weight_ih: Tensor
    weight_hh: Tensor | None
    bias: Tensor | None
    bias_hh: Tensor | None


@dataclass(frozen=True)
class CellLayout:
    """Static structure of one cell: its options, sizes, blocks and activation functions."""

    options: CellOptions
    input_size: int
    hidden_size: int
    bias: bool

    # ---- blocks ---------------------------------------------------------------------------------------------
    @property
    def cell(self) -> Cell:
        """The cell interface of this layout's family (state arity, zero state, step, gate names, …)."""
        return cell_of(self.options.spec)

    @property
    def blocks(self) -> tuple[str, ...]:
        return self.cell.blocks(self.options.spec)

    def reads_x(self, block: str) -> bool:
        return self.cell.reads_x(self.options.spec, block)

    def reads_h(self, block: str) -> bool:
        return self.cell.reads_h(self.options.spec, block)

    @property
    def ih_blocks(self) -> tuple[str, ...]:
        return tuple(b for b in self.blocks if self.reads_x(b))

    @property
    def hh_blocks(self) -> tuple[str, ...]:
        return tuple(b for b in self.blocks if self.reads_h(b))

    @property
    def has_bias_hh(self) -> bool:
        return self.bias and self.options.has_reset_bias

    # ---- activations ----------------------------------------------------------------------------------------
    @property
    def sigma(self) -> Activation:
        return GATE_ACTIVATIONS[self.options.gate_activation]

    @property
    def phi(self) -> Activation:
        return CANDIDATE_ACTIVATIONS[self.options.candidate_activation]

    # ---- storage --------------------------------------------------------------------------------------------
    def shapes(self) -> dict[str, tuple[int, ...] | None]:
        H, inputs = self.hidden_size, self.input_size
        return {
            "weight_ih": (len(self.ih_blocks) * H, inputs),
            "weight_hh": (len(self.hh_blocks) * H, H) if self.hh_blocks else None,
            "bias": (len(self.blocks) * H,) if self.bias else None,
            "bias_hh": (H,) if self.has_bias_hh else None,
        }

    def init_(self, params: CellParams) -> None:
        """PyTorch's initialisation, U(−1/√H, 1/√H) for every tensor, then the cell's own (the LSTM's forget bias
        starts at 1)."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        with torch.no_grad():
            for tensor in params:
                if tensor is not None:
                    tensor.uniform_(-bound, bound)
        self.cell.init_(self, params)

    def rows(self, tensor: Tensor, blocks: tuple[str, ...], block: str) -> Tensor:
        H = self.hidden_size
        k = blocks.index(block)
        return tensor[k * H:(k + 1) * H]

    def seed_views(self, params: CellParams) -> dict[str, Tensor]:
        """Seed-named views into the stacked tensors (writable: they share storage)."""
        views: dict[str, Tensor] = {}
        for b in self.ih_blocks:
            views[f"W_{b}"] = self.rows(params.weight_ih, self.ih_blocks, b)
        for b in self.hh_blocks:
            views[f"U_{b}"] = self.rows(params.weight_hh, self.hh_blocks, b)
        if params.bias is not None:
            for b in self.blocks:
                views[f"b_{b}"] = self.rows(params.bias, self.blocks, b)
        if params.bias_hh is not None:
            views["b_hh"] = params.bias_hh
        return views

    def grad_views(self, params: CellParams) -> dict[str, Tensor]:
        """Seed-named views of the parameters' ``.grad`` (an InputError before any backward pass)."""
        if any(p is not None and p.grad is None for p in params):
            raise InputError("seed_grads: expected gradients on every parameter, got none yet (call backward)",
                             "self")
        return self.seed_views(CellParams(*(None if p is None else p.grad for p in params)))

    def load_seed_(self, params: CellParams, seed: dict[str, Tensor]) -> None:
        """Copy seed-named tensors into the stacked ones; the names must be exactly this layout's blocks."""
        views = self.seed_views(params)
        if set(seed) != set(views):
            raise bad_argument("weights", f"the blocks {sorted(views)}", sorted(seed))
        with torch.no_grad():
            for name, view in views.items():
                view.copy_(seed[name])

    # ---- what the time loop needs ---------------------------------------------------------------------------
    def input_bias(self, params: CellParams) -> Tensor | None:
        """The bias rows of the blocks that read x: folded into the hoisted input projection."""
        if params.bias is None:
            return None
        H, n_const = self.hidden_size, len(self.blocks) - len(self.ih_blocks)
        return params.bias[n_const * H:]  # blocks not reading x are gates, which come first

    def constant_bias(self, params: CellParams) -> Tensor | None:
        """The bias rows of the blocks that do not read x (gates of ``gru_gates_h`` / ``gru_gates_bias``)."""
        n_const = len(self.blocks) - len(self.ih_blocks)
        if params.bias is None or n_const == 0:
            return None
        return params.bias[:n_const * self.hidden_size]
