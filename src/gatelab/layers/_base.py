"""What every gatelab recurrent layer shares with ``torch.nn.GRU``: stacking, directions, packing, lengths, and a
``load_state_dict`` that never misreads a ``torch.nn`` state dict."""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from .._errors import InputError, bad_argument, check_positive_int
from ..cells import CellLayout, CellOptions, CellParams
from ..cells.layout import PARAM_FIELDS
from ..ops import resolve_backend, sequence_op
from ..ops.dispatch import check_backend
from ._inputs import check_lengths, check_sequence, check_state, length_mask, reverse_in_length, upcast

TORCH_FIELDS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


class RecurrentLayer(nn.Module):
    """Base of :class:`gatelab.GRU` and :class:`gatelab.LSTM`; subclasses say how many state tensors they carry.

    Parameters are registered per layer k and direction as ``weight_ih_l{k}``, ``weight_hh_l{k}``,
    ``bias_l{k}``, ``bias_hh_l{k}`` (suffix ``_reverse`` for the backward direction); see
    :mod:`gatelab.cells.layout` for what their rows hold and :meth:`seed_params` for seed-named views.
    """

    state_names: tuple[str, ...] = ("h0",)
    # State dicts of gatelab layers carry version 2 in their metadata; torch.nn modules (and gatelab ≤ 0.1) write 1.
    _version = 2
    _torch_class: type[nn.RNNBase]                   # the torch.nn module of the same family (set by subclasses)
    _seed_from_torch = None                          # its weight converter, (w_ih, w_hh, b_ih, b_hh) → seed names

    def __init__(self, input_size: int, hidden_size: int, num_layers: int, bias: bool, batch_first: bool,
                 dropout: float, bidirectional: bool, options: CellOptions, backend: str,
                 device=None, dtype=None) -> None:
        super().__init__()
        check_positive_int("input_size", input_size)
        check_positive_int("hidden_size", hidden_size)
        check_positive_int("num_layers", num_layers)
        for name, flag in (("bias", bias), ("batch_first", batch_first), ("bidirectional", bidirectional)):
            if not isinstance(flag, bool):
                raise bad_argument(name, "a bool", flag, kind=TypeError)
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout <= 1:
            raise bad_argument("dropout", "a number in [0, 1]", dropout)
        if dropout > 0 and num_layers == 1:                  # as torch.nn.GRU does: a warning, and no dropout acts
            warnings.warn(f"dropout acts between stacked layers, so a non-zero dropout expects num_layers > 1, got "
                          f"dropout={dropout} and num_layers={num_layers}", UserWarning, stacklevel=3)
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.bidirectional = bias, batch_first, bidirectional
        self.dropout = float(dropout)
        self.options = options
        self.backend = check_backend(backend)
        self.last_backend: str | None = None  # what the latest forward actually ran
        self.num_directions = 2 if bidirectional else 1
        self.layouts = [CellLayout(options, input_size if k == 0 else hidden_size * self.num_directions,
                                   hidden_size, bias) for k in range(num_layers)]
        for k, layout in enumerate(self.layouts):
            for d in range(self.num_directions):
                for field, shape in layout.shapes().items():
                    if shape is not None:
                        self.register_parameter(self._param_name(field, k, d),
                                                nn.Parameter(torch.empty(shape, device=device, dtype=dtype)))
        self.reset_parameters()

    # ---- parameters -----------------------------------------------------------------------------------------
    @staticmethod
    def _param_name(field: str, layer: int, direction: int) -> str:
        return f"{field}_l{layer}{'_reverse' if direction else ''}"

    def reset_parameters(self) -> None:
        for k, layout in enumerate(self.layouts):
            for d in range(self.num_directions):
                layout.init_(self.cell_params(k, d))

    def chrono_init_(self, t_max: int, generator: torch.Generator | None = None) -> bool:
        """Chrono initialisation (Tallec & Ollivier 2018) of every (layer, direction): the gate biases that set
        the units' time scales drawn so that they spread over [1, ``t_max``] (the GRU family's b_z, the LSTM's
        b_f and b_i). Returns False (and changes nothing) for a variant without such a gate."""
        check_positive_int("t_max", t_max)
        generator = generator or torch.Generator().manual_seed(0)
        done = False
        for k, layout in enumerate(self.layouts):
            for d in range(self.num_directions):
                done = layout.cell.chrono_init_(layout, self.cell_params(k, d), t_max, generator) or done
        return done

    def cell_params(self, layer: int = 0, direction: int = 0) -> CellParams:
        """The stacked tensors of one (layer, direction)."""
        if not (isinstance(layer, int) and 0 <= layer < self.num_layers):
            raise bad_argument("layer", f"an int in [0, {self.num_layers - 1}]", layer)
        if not (isinstance(direction, int) and 0 <= direction < self.num_directions):
            raise bad_argument("direction", f"an int in [0, {self.num_directions - 1}]", direction)
        return CellParams(*(getattr(self, self._param_name(f, layer, direction), None) for f in PARAM_FIELDS))

    def seed_params(self, layer: int = 0, direction: int = 0) -> dict[str, Tensor]:
        """Seed-named, writable views (``W_z, U_z, b_z, …``) of one (layer, direction)'s parameters.

        >>> gru = GRU(3, 4)
        >>> with torch.no_grad():
        ...     gru.seed_params()["U_h"].zero_()  # the layer now has U_h = 0
        """
        params = self.cell_params(layer, direction)   # validates layer and direction
        return self.layouts[layer].seed_views(params)

    def seed_grads(self, layer: int = 0, direction: int = 0) -> dict[str, Tensor]:
        """Seed-named views of the parameters' ``.grad`` (after a backward pass)."""
        return self.layouts[layer].grad_views(self.cell_params(layer, direction))

    def _load_seed(self, seed: dict[str, Tensor], layer: int, direction: int) -> None:
        self.layouts[layer].load_seed_(self.cell_params(layer, direction), seed)

    def _copy_from_torch(self, module: nn.RNNBase, to_seed) -> None:
        """Load every (layer, direction) of a ``torch.nn`` recurrent module through a seed converter."""
        for k in range(self.num_layers):
            for d in range(self.num_directions):
                tensors = [getattr(module, f"{name}_l{k}{'_reverse' if d else ''}", None) for name in TORCH_FIELDS]
                self._load_seed(to_seed(*tensors), k, d)

    def _copy_to_torch(self, module: nn.RNNBase, from_seed) -> nn.RNNBase:
        """Write every (layer, direction) into a ``torch.nn`` recurrent module through a seed converter."""
        with torch.no_grad():
            for k in range(self.num_layers):
                for d in range(self.num_directions):
                    for name, value in zip(TORCH_FIELDS, from_seed(self.seed_params(k, d))):
                        if value is not None:
                            getattr(module, f"{name}_l{k}{'_reverse' if d else ''}").copy_(value)
        return module

    def _torch_arguments(self) -> dict:
        """Constructor arguments of the ``torch.nn`` module with this layer's structure, device and dtype."""
        ref = self.cell_params(0, 0).weight_ih
        return dict(input_size=self.input_size, hidden_size=self.hidden_size, num_layers=self.num_layers,
                    bias=self.bias, batch_first=self.batch_first, dropout=self.dropout,
                    bidirectional=self.bidirectional, device=ref.device, dtype=ref.dtype)

    @staticmethod
    def _arguments_of_torch(module: nn.RNNBase) -> dict:
        ref = module.weight_ih_l0
        return dict(input_size=module.input_size, hidden_size=module.hidden_size, num_layers=module.num_layers,
                    bias=module.bias, batch_first=module.batch_first, dropout=module.dropout,
                    bidirectional=module.bidirectional, device=ref.device, dtype=ref.dtype)

    # ---- state dicts ----------------------------------------------------------------------------------------
    def _check_torch_equivalent(self) -> None:
        """Raise an InputError unless this layer computes what its ``torch.nn`` counterpart computes."""

    def _is_torch_layout(self, keys: set[str], version: int | None) -> bool:
        """Whether a state dict (keys relative to this module) was written by a ``torch.nn`` module: torch names
        the input bias ``bias_ih_l{k}``, gatelab ``bias_l{k}``."""
        return any(k.startswith("bias_ih_l") for k in keys)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                              error_msgs) -> None:
        """Load a gatelab state dict as usual; convert a ``torch.nn`` one exactly where this layer computes what
        the torch module computes, and refuse it otherwise — in both strict modes, since loading torch's tensors
        under gatelab's names would silently give another model (rows in another order, z flipped)."""
        mine = {k[len(prefix):]: v for k, v in state_dict.items() if k.startswith(prefix) and "." not in
                k[len(prefix):]}
        if self._is_torch_layout(set(mine), local_metadata.get("version")):

            def convert(torch_state: dict) -> dict:
                module = self._torch_class(**self._torch_arguments())
                module.load_state_dict(torch_state, strict=True)
                converted = copy.deepcopy(self)
                converted._copy_from_torch(module, type(self)._seed_from_torch)
                return converted.state_dict()

            swap_in_torch_state(state_dict, prefix, mine, type(self).__name__, self._torch_class.__name__,
                                self._check_torch_equivalent, convert)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                                      error_msgs)

    def to_onnx(self, path, lengths: bool = False, opset: int = 17):
        """Write this layer as an ONNX model (inputs ``input``, ``h0`` [, ``c0``] [, ``lengths``]; outputs
        ``output``, ``h_n`` [, ``c_n``]) that onnxruntime runs with this layer's outputs, in either reset
        convention and for every variant; see :mod:`gatelab.layers.onnx_export`."""
        from .onnx_export import export_onnx

        return export_onnx(self, path, lengths=lengths, opset=opset)

    def flatten_parameters(self) -> None:
        """No-op, for drop-in compatibility with ``torch.nn.GRU`` (there is no cuDNN weight buffer)."""

    def extra_repr(self) -> str:
        """The constructor's arguments that differ from their defaults, as ``torch.nn.GRU`` prints them."""
        text = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        for name, default in (("bias", True), ("batch_first", False), ("dropout", 0.0), ("bidirectional", False)):
            if getattr(self, name) != default:
                text += f", {name}={getattr(self, name)}"
        return text + options_repr(self.options)

    # ---- forward --------------------------------------------------------------------------------------------
    def __prepare_scriptable__(self):
        raise not_scriptable(self)

    def _run(self, input: Tensor | PackedSequence, state: tuple[Tensor, ...] | None,
             lengths: object) -> tuple[Tensor | PackedSequence, tuple[Tensor, ...]]:
        first = self.cell_params(0, 0).weight_ih
        device = first.device.type
        if torch.is_autocast_enabled(device):
            # As torch's RNNs under autocast: the recurrence runs in the parameters' precision (fp32 state and
            # accumulations) and returns it; a lower-precision input is cast up.
            with torch.autocast(device, enabled=False):
                return self._run(upcast(input, first.dtype), upcast(state, first.dtype), lengths)
        packed = input if isinstance(input, PackedSequence) else None
        if packed is not None:
            if lengths is not None:
                raise bad_argument("lengths", "None when input is a PackedSequence (it carries its lengths)",
                                   lengths)
            padded, lengths_t = pad_packed_sequence(packed)
            x, _ = check_sequence(padded, self.input_size, first.dtype, first.device, False)
            unbatched = False
        else:
            x, unbatched = check_sequence(input, self.input_size, first.dtype, first.device, self.batch_first)
            lengths_t = None if lengths is None else check_lengths(lengths, x.shape[1], x.shape[0])
        steps, batch = x.shape[0], x.shape[1]                                # x is (T, B, I) from here on
        mask = None if lengths_t is None else length_mask(lengths_t, steps, x.device)

        layer_states = self._initial_state(state, batch, unbatched, x)      # each (L·D, B, H)
        backend = resolve_backend(self.backend, self.layouts[0], x.device, x.dtype)
        op = sequence_op(backend)
        self.last_backend = backend

        finals: list[tuple[Tensor, ...]] = []
        for k, layout in enumerate(self.layouts):
            outputs = []
            for d in range(self.num_directions):
                i = k * self.num_directions + d
                state0 = tuple(s[i] for s in layer_states)
                xd = reverse_in_length(x, lengths_t) if d else x
                out, final = op(xd, state0, layout, self.cell_params(k, d), mask)
                outputs.append(reverse_in_length(out, lengths_t) if d else out)
                finals.append(final)
            x = outputs[0] if len(outputs) == 1 else torch.cat(outputs, dim=-1)   # (T, B, D·H)
            if self.dropout and self.training and k < self.num_layers - 1:
                x = F.dropout(x, self.dropout, training=True)

        final_state = tuple(torch.stack(parts, 0) for parts in zip(*finals))      # each (L·D, B, H)
        if packed is not None:
            return self._repack(x, lengths_t, packed), final_state
        if unbatched:
            return x.squeeze(1), tuple(s.squeeze(1) for s in final_state)
        return (x.transpose(0, 1) if self.batch_first else x), final_state

    def _initial_state(self, state: tuple[Tensor, ...] | None, batch: int, unbatched: bool,
                       x: Tensor) -> tuple[Tensor, ...]:
        rows = self.num_layers * self.num_directions
        if state is None:
            zeros = x.new_zeros(rows, batch, self.hidden_size)
            return tuple(zeros for _ in self.state_names)
        shape = (rows, self.hidden_size) if unbatched else (rows, batch, self.hidden_size)
        checked = tuple(check_state(name, s, shape, x.dtype, x.device) for name, s in zip(self.state_names, state))
        return tuple(s.unsqueeze(1) for s in checked) if unbatched else checked

    @staticmethod
    def _repack(output: Tensor, lengths: Tensor, like: PackedSequence) -> PackedSequence:
        """Pack (T, B, ·) output the way ``like`` was packed (same batch_sizes and index permutations)."""
        if like.sorted_indices is not None:
            order = like.sorted_indices
            output, lengths = output.index_select(1, order.to(output.device)), lengths[order.cpu()]
        data = pack_padded_sequence(output, lengths, enforce_sorted=True).data
        return PackedSequence(data, like.batch_sizes, like.sorted_indices, like.unsorted_indices)


def options_repr(o: CellOptions) -> str:
    """``, variant=…, reset=…, …`` for the cell options that differ from their defaults (empty when none do)."""
    text = ""
    if o.variant not in ("gru", "lstm"):
        text += f", variant={o.variant!r}"
    if o.spec.reset_learned and o.reset != "before":
        text += f", reset={o.reset!r}"
    if o.gate_activation != "sigmoid":
        text += f", gate_activation={o.gate_activation!r}"
    if o.candidate_activation != o.spec.candidate_activation:
        text += f", candidate_activation={o.candidate_activation!r}"
    return text


def not_scriptable(module: nn.Module) -> InputError:
    """``torch.jit.script`` is refused with the ways that work: its compiler cannot read gatelab's Python-level
    dispatch (backends chosen per call, keyword-only options, NamedTuple plans)."""
    return InputError(f"torch.jit.script: expected a scriptable module, got gatelab.{type(module).__name__}, which "
                      "dispatches among backends in Python; use torch.jit.trace (it records the 'loop' backend), "
                      "torch.compile or torch.export instead", "torch.jit.script")


def swap_in_torch_state(state_dict: dict, prefix: str, mine: dict, owner: str, torch_name: str,
                        check: Callable[[], None], convert: Callable[[dict], dict]) -> None:
    """Replace a ``torch.nn`` state dict's entries under ``prefix`` (``mine``, relative names) by their exact
    gatelab conversion ``convert(mine)``; refuse it, naming ``from_torch``, when ``check`` says the module cannot
    compute what the torch one does — loading torch's tensors under gatelab's names would silently give another
    model (rows in another order, z flipped)."""
    try:
        check()
    except InputError as error:
        raise InputError(f"state_dict: expected a gatelab {owner} state dict, got a torch.nn.{torch_name} one (keys "
                         f"{', '.join(sorted(mine)[:4])}, …) that it cannot compute ({error}); convert exactly with "
                         f"gatelab.{owner}.from_torch(module) (reset='after')", "state_dict") from None
    converted = convert(mine)
    for key in mine:
        del state_dict[prefix + key]
    state_dict.update({prefix + k: v for k, v in converted.items()})
