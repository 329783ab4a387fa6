"""``gatelab.GRUCell``: one step of any GRU-family variant, a drop-in for ``torch.nn.GRUCell``."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .._errors import bad_argument, described, check_positive_int
from ..cells import CellLayout, CellOptions, CellParams, gru_plan, gru_step, gru_step_weights
from ..cells.layout import PARAM_FIELDS
from ._inputs import check_state


class GRUCell(nn.Module):
    r"""One step h_{t-1} → h_t of a GRU-family variant (equations: :func:`gatelab.cells.gru_gates` and :func:`gatelab.cells.gru_step`).

    Same options as :class:`gatelab.GRU`. Parameters are ``weight_ih``, ``weight_hh``, ``bias`` and
    ``bias_hh`` (laid out as in :mod:`gatelab.cells.layout`); :meth:`seed_params` gives seed-named views.

    Inputs: ``input`` (B, I) or (I,), ``hx`` (B, H) or (H,) (zeros when None). Output: h' of the same shape.
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, *, variant: str = "gru",
                 reset: str = "before", gate_activation: str = "sigmoid", candidate_activation: str | None = None,
                 device=None, dtype=None) -> None:
        super().__init__()
        check_positive_int("input_size", input_size)
        check_positive_int("hidden_size", hidden_size)
        if not isinstance(bias, bool):
            raise bad_argument("bias", "a bool", bias, kind=TypeError)
        options = CellOptions(variant, reset, gate_activation, candidate_activation)
        if options.spec.family != "gru":
            raise bad_argument("variant", "a variant of the GRU family", variant,
                               hint="GRUCell has no LSTM form; use gatelab.LSTM or torch.nn.LSTMCell")
        self.input_size, self.hidden_size = input_size, hidden_size   # `bias` is the Parameter (None if bias=False), as in nn.Linear
        self.options = options
        self.layout = CellLayout(options, input_size, hidden_size, bias)
        for field, shape in self.layout.shapes().items():
            self.register_parameter(field, None if shape is None else
                                    nn.Parameter(torch.empty(shape, device=device, dtype=dtype)))
        self.reset_parameters()

    def cell_params(self) -> CellParams:
        return CellParams(*(getattr(self, f, None) for f in PARAM_FIELDS))

    def reset_parameters(self) -> None:
        self.layout.init_(self.cell_params())

    def seed_params(self) -> dict[str, Tensor]:
        """Seed-named, writable views (``W_z, U_z, b_z, …``) of the parameters."""
        return self.layout.seed_views(self.cell_params())

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        params = self.cell_params()
        if not isinstance(input, Tensor) or input.dim() not in (1, 2) or input.shape[-1] != self.input_size:
            got = tuple(input.shape) if isinstance(input, Tensor) else described(type(input).__name__)
            raise bad_argument("input", f"a tensor of shape (B, {self.input_size}) or ({self.input_size},)", got)
        if input.dtype != params.weight_ih.dtype:
            raise bad_argument("input", f"dtype {params.weight_ih.dtype} (the cell's parameters)", input.dtype,
                               kind=TypeError)
        unbatched = input.dim() == 1
        x = input.unsqueeze(0) if unbatched else input
        if hx is None:
            h = x.new_zeros(x.shape[0], self.hidden_size)
        else:
            shape = (self.hidden_size,) if unbatched else (x.shape[0], self.hidden_size)
            h = check_state("hx", hx, shape, x.dtype, x.device)
            h = h.unsqueeze(0) if unbatched else h
        xw = F.linear(x, params.weight_ih, self.layout.input_bias(params))          # (B, n_x·H)
        h_next = gru_step(xw, h, gru_step_weights(self.layout, params), gru_plan(self.layout))
        return h_next.squeeze(0) if unbatched else h_next

    def extra_repr(self) -> str:
        o = self.options
        return (f"{self.input_size}, {self.hidden_size}, bias={self.layout.bias}, variant={o.variant!r}, "
                f"reset={o.reset!r}, gate_activation={o.gate_activation!r}, "
                f"candidate_activation={o.candidate_activation!r}")
