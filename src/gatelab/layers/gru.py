"""``gatelab.GRU``: the seed's GRU and every gate variant, a drop-in for ``torch.nn.GRU``."""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence

from .._errors import bad_argument, described
from ..cells import CellOptions
from ..cells.convert import keras_gru_from_seed, seed_from_keras_gru, seed_from_torch_gru, torch_gru_from_seed
from ._base import RecurrentLayer
from ._inputs import initial_state_argument


class GRU(RecurrentLayer):
    r"""A multi-layer gated recurrent unit in the notation of the seed text (gate order z, r, h)::

        z_t = σ_g(W_z x_t + U_z h_{t-1} + b_z)
        r_t = σ_g(W_r x_t + U_r h_{t-1} + b_r)
        ĥ_t = φ_h(W_h x_t + U_h (r_t ⊙ h_{t-1}) + b_h)             reset="before" (default; Cho et al. 2014)
        ĥ_t = φ_h(W_h x_t + b_h + r_t ⊙ (U_h h_{t-1} + b_hh))      reset="after" (cuDNN / PyTorch / Keras)
        h_t = z_t ⊙ ĥ_t + (1 − z_t) ⊙ h_{t-1}

    z is the share of the *new* candidate. ``torch.nn.GRU`` and Keras use the opposite z (theirs keeps the old
    state); :meth:`from_torch` and :meth:`from_keras` convert exactly. ``variant`` selects a gate ablation from
    ``gatelab.variants()`` (see ``gatelab.describe(name)`` for its equations).

    Args:
        input_size (I), hidden_size (H), num_layers, bias, batch_first, dropout, bidirectional: as in
            ``torch.nn.GRU`` (dropout between stacked layers only; it must be 0 with one layer).
        variant: a registered variant of the GRU family (``"lstm"`` is :class:`gatelab.LSTM`).
        reset: ``"before"`` or ``"after"``, where r acts (see above).
        gate_activation: σ_g, ``"sigmoid"`` or ``"hard_sigmoid"``.
        candidate_activation: φ_h, ``"tanh"``, ``"identity"`` or ``"relu"``; None takes the variant's default.
        backend: ``"auto"`` or a name from ``gatelab.ops.BACKEND_CHOICES``; ``last_backend`` tells which ran.

    Inputs: ``input, h0=None, lengths=None``
        - input: (T, B, I), or (B, T, I) with ``batch_first``, or (T, I) unbatched, or a ``PackedSequence``.
        - h0: (num_layers·D, B, H); zeros when None (D = 2 if bidirectional else 1). Also accepted as ``hx=``,
          torch's name.
        - lengths: optional (B,) ints in [1, T] for a padded batch: each row gets the result it would get alone
          (outputs past its length are 0, h_n is its state at its last real step).

    Outputs: ``output, h_n``
        - output: (T, B, D·H) (batch first if asked), or a ``PackedSequence`` for packed input.
        - h_n: (num_layers·D, B, H), the final state of each layer and direction.
    """

    _torch_class = nn.GRU
    _seed_from_torch = staticmethod(seed_from_torch_gru)

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, *,
                 variant: str = "gru", reset: str = "before", gate_activation: str = "sigmoid",
                 candidate_activation: str | None = None, backend: str = "auto", device=None, dtype=None) -> None:
        options = CellOptions(variant, reset, gate_activation, candidate_activation)
        if options.spec.family != "gru":
            raise bad_argument("variant", "a variant of the GRU family", variant,
                               hint=f"use gatelab.LSTM for {variant!r}")
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         options, backend, device=device, dtype=dtype)

    def forward(self, input: Tensor | PackedSequence, h0: Tensor | None = None,
                lengths: Tensor | list[int] | None = None, *, hx: Tensor | None = None
                ) -> tuple[Tensor | PackedSequence, Tensor]:
        h0 = initial_state_argument(h0, hx)
        output, (h_n,) = self._run(input, None if h0 is None else (h0,), lengths)
        return output, h_n

    @classmethod
    def for_variant(cls, variant: str, input_size: int, hidden_size: int, num_layers: int = 1, *,
                    reset: str = "before", **options) -> GRU:
        return cls(input_size, hidden_size, num_layers, variant=variant, reset=reset, **options)

    # ---- conversion -----------------------------------------------------------------------------------------
    @classmethod
    def from_torch(cls, module: nn.GRU) -> GRU:
        """A gatelab ``GRU(reset="after")`` computing exactly what the ``torch.nn.GRU`` computes."""
        if not isinstance(module, nn.GRU):
            raise bad_argument("module", "a torch.nn.GRU", described(type(module).__name__), kind=TypeError)
        layer = cls(**cls._arguments_of_torch(module), reset="after")
        layer._copy_from_torch(module, seed_from_torch_gru)
        return layer

    def to_torch(self) -> nn.GRU:
        """The equivalent ``torch.nn.GRU``; only the plain ``gru`` with ``reset="after"``, sigmoid and tanh has one."""
        self._check_torch_equivalent()
        return self._copy_to_torch(nn.GRU(**self._torch_arguments()), torch_gru_from_seed)

    def _check_torch_equivalent(self) -> None:
        check_torch_gru(self.options)

    def _is_torch_layout(self, keys: set[str], version: int | None) -> bool:
        # A bias-free torch.nn.GRU has gatelab's key names: its metadata version (1, gatelab writes 2) tells it apart
        # — a bias-free state dict of gatelab ≤ 0.1 reads as torch's too (the lab never wrote one).
        return super()._is_torch_layout(keys, version) or (
            version == 1 and not any(k.startswith("bias_l") for k in keys))

    @classmethod
    def from_keras(cls, keras_layer, *, dtype: torch.dtype = torch.float32) -> GRU:
        """A batch-first gatelab GRU computing what a Keras 3 ``keras.layers.GRU`` computes.

        ``reset_after=True`` (the Keras default) maps to ``reset="after"``, ``False`` to ``"before"``. Keras is
        not imported: the layer is read through ``get_config()`` and ``get_weights()``, which must be built.
        """
        if not (hasattr(keras_layer, "get_config") and hasattr(keras_layer, "get_weights")):
            raise bad_argument("keras_layer", "a built keras.layers.GRU", described(type(keras_layer).__name__),
                               kind=TypeError)
        config = keras_layer.get_config()
        weights = keras_layer.get_weights()
        if not weights:
            raise bad_argument("keras_layer", "a built layer (call it once or build it)",
                               described("a layer without weights"))
        if config.get("go_backwards"):
            raise bad_argument("keras_layer", "go_backwards=False", True)
        reset_after = bool(config.get("reset_after", True))
        kernel = weights[0]
        layer = cls(kernel.shape[0], int(config["units"]), bias=bool(config.get("use_bias", True)),
                    batch_first=True, reset="after" if reset_after else "before",
                    gate_activation=_keras_activation(config.get("recurrent_activation", "sigmoid")),
                    candidate_activation=_keras_activation(config.get("activation", "tanh")), dtype=dtype)
        layer._load_seed(seed_from_keras_gru(weights, reset_after), 0, 0)
        return layer

    def to_keras_weights(self) -> list:
        """The arrays for ``keras.layers.GRU(units, reset_after=…).set_weights`` (single-layer, one direction)."""
        if self.num_layers != 1 or self.bidirectional or self.options.variant != "gru":
            raise bad_argument("self", "a one-layer, one-direction 'gru' (what keras.layers.GRU computes)",
                               described(f"num_layers={self.num_layers}, bidirectional={self.bidirectional}, "
                                         f"variant={self.options.variant!r}"))
        return keras_gru_from_seed(self.seed_params(), reset_after=self.options.reset == "after")


def check_torch_gru(o: CellOptions) -> None:
    """InputError unless the options compute what ``torch.nn.GRU`` / ``GRUCell`` compute."""
    if (o.variant, o.reset, o.gate_activation, o.candidate_activation) != ("gru", "after", "sigmoid", "tanh"):
        raise bad_argument("self", "variant='gru', reset='after', sigmoid gates and a tanh candidate "
                           "(what torch.nn.GRU computes)",
                           described(f"variant={o.variant!r}, reset={o.reset!r}, "
                                     f"{o.gate_activation}/{o.candidate_activation}"))


def _keras_activation(name: object) -> str:
    if isinstance(name, dict):  # a serialized activation object
        name = name.get("config", {}).get("name", name.get("class_name"))
    return str(name)
