"""``gatelab.GRUCell``: one step of any GRU-family variant, a drop-in for ``torch.nn.GRUCell``."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .._errors import bad_argument, check_positive_int, described
from ..cells import CellLayout, CellOptions, CellParams, gru_plan, gru_step, gru_step_weights
from ..cells.convert import seed_from_torch_gru, torch_gru_from_seed
from ..cells.layout import PARAM_FIELDS
from ._base import not_scriptable, options_repr, swap_in_torch_state
from ._inputs import check_state, initial_state_argument, upcast
from .gru import check_torch_gru


class GRUCell(nn.Module):
    r"""One step h_{t-1} → h_t of a GRU-family variant (equations: :func:`gatelab.cells.gru_gates` and
    :func:`gatelab.cells.gru_step`).

    Same options as :class:`gatelab.GRU`. Parameters are ``weight_ih``, ``weight_hh``, ``bias`` and
    ``bias_hh`` (laid out as in :mod:`gatelab.cells.layout`); :meth:`seed_params` gives seed-named views.

    Inputs: ``input`` (B, I) or (I,), ``h0`` (B, H) or (H,) (zeros when None; also accepted as ``hx=``, torch's
    name). Output: h' of the same shape. :meth:`from_torch` / :meth:`to_torch` convert ``torch.nn.GRUCell``
    exactly (``reset="after"``), and ``load_state_dict`` of a ``torch.nn.GRUCell`` state dict converts or refuses.
    """

    _version = 2                                    # state-dict metadata: torch.nn.GRUCell writes 1

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
        # `bias` is the Parameter (None if bias=False), as in nn.Linear
        self.input_size, self.hidden_size = input_size, hidden_size
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

    def seed_grads(self) -> dict[str, Tensor]:
        """Seed-named views of the parameters' ``.grad`` (after a backward pass)."""
        return self.layout.grad_views(self.cell_params())

    # ---- conversion -----------------------------------------------------------------------------------------
    @classmethod
    def from_torch(cls, module: nn.GRUCell) -> GRUCell:
        """A gatelab ``GRUCell(reset="after")`` computing exactly what the ``torch.nn.GRUCell`` computes."""
        if not isinstance(module, nn.GRUCell):
            raise bad_argument("module", "a torch.nn.GRUCell", described(type(module).__name__), kind=TypeError)
        cell = cls(module.input_size, module.hidden_size, module.bias, reset="after", device=module.weight_ih.device,
                   dtype=module.weight_ih.dtype)
        cell.layout.load_seed_(cell.cell_params(), seed_from_torch_gru(module.weight_ih, module.weight_hh,
                                                                        module.bias_ih, module.bias_hh))
        return cell

    def to_torch(self) -> nn.GRUCell:
        """The equivalent ``torch.nn.GRUCell`` (only ``variant="gru"``, ``reset="after"``, sigmoid and tanh)."""
        check_torch_gru(self.options)
        ref = self.weight_ih
        module = nn.GRUCell(self.input_size, self.hidden_size, self.layout.bias, device=ref.device, dtype=ref.dtype)
        with torch.no_grad():
            for name, value in zip(("weight_ih", "weight_hh", "bias_ih", "bias_hh"),
                                   torch_gru_from_seed(self.seed_params())):
                if value is not None:
                    getattr(module, name).copy_(value)
        return module

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                              error_msgs) -> None:
        """A ``torch.nn.GRUCell`` state dict (``bias_ih``, or metadata version 1) is converted exactly where this
        cell computes what torch's does, and refused otherwise — never loaded under the wrong names."""
        mine = {k[len(prefix):]: v for k, v in state_dict.items() if k.startswith(prefix)}
        if "bias_ih" in mine or (local_metadata.get("version") == 1 and "bias" not in mine):

            def convert(torch_state: dict) -> dict:
                torch_cell = nn.GRUCell(self.input_size, self.hidden_size, self.layout.bias)
                torch_cell.load_state_dict(torch_state, strict=True)
                return GRUCell.from_torch(torch_cell).state_dict()

            swap_in_torch_state(state_dict, prefix, mine, "GRUCell", "GRUCell",
                                lambda: check_torch_gru(self.options), convert)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                                      error_msgs)

    def __prepare_scriptable__(self):
        raise not_scriptable(self)

    def forward(self, input: Tensor, h0: Tensor | None = None, *, hx: Tensor | None = None) -> Tensor:
        hx = initial_state_argument(h0, hx)
        params = self.cell_params()
        device = params.weight_ih.device.type
        if torch.is_autocast_enabled(device):              # as torch.nn.GRUCell: the step in the parameters' dtype
            with torch.autocast(device, enabled=False):
                return self.forward(upcast(input, params.weight_ih.dtype), upcast(hx, params.weight_ih.dtype))
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
            h = check_state("h0", hx, shape, x.dtype, x.device)
            h = h.unsqueeze(0) if unbatched else h
        xw = F.linear(x, params.weight_ih, self.layout.input_bias(params))          # (B, n_x·H)
        h_next = gru_step(xw, h, gru_step_weights(self.layout, params), gru_plan(self.layout))
        return h_next.squeeze(0) if unbatched else h_next

    def extra_repr(self) -> str:
        """The constructor's arguments that differ from their defaults, as ``torch.nn.GRUCell`` prints them."""
        bias = "" if self.layout.bias else ", bias=False"
        return f"{self.input_size}, {self.hidden_size}{bias}" + options_repr(self.options)
