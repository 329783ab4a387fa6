"""``gatelab.LSTM``: the lab's other gated unit, a drop-in for ``torch.nn.LSTM`` (without ``proj_size``)."""

from __future__ import annotations

from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence

from .._errors import bad_argument, described
from ..cells import CellOptions
from ..cells.convert import seed_from_torch_lstm, torch_lstm_from_seed
from ._base import RecurrentLayer
from ._inputs import initial_state_argument


class LSTM(RecurrentLayer):
    r"""A multi-layer LSTM (gate order i, f, g, o as in PyTorch; forget bias initialised to 1)::

        i_t = σ_g(W_i x_t + U_i h_{t-1} + b_i)      f_t = σ_g(W_f x_t + U_f h_{t-1} + b_f)
        g_t = φ_h(W_g x_t + U_g h_{t-1} + b_g)      o_t = σ_g(W_o x_t + U_o h_{t-1} + b_o)
        c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t             h_t = o_t ⊙ φ_h(c_t)

    Arguments, inputs and outputs are those of :class:`gatelab.GRU`, except that the state is a pair
    ``(h0, c0)`` in and ``(h_n, c_n)`` out, as in ``torch.nn.LSTM``.
    """

    state_names = ("h0", "c0")
    _torch_class = nn.LSTM
    _seed_from_torch = staticmethod(seed_from_torch_lstm)

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, proj_size: int = 0,
                 *, gate_activation: str = "sigmoid", candidate_activation: str | None = None,
                 backend: str = "auto", device=None, dtype=None) -> None:
        if proj_size != 0:
            raise bad_argument("proj_size", "0 (gatelab.LSTM has no projection; use torch.nn.LSTM for one)",
                               proj_size)
        options = CellOptions("lstm", "before", gate_activation, candidate_activation)
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         options, backend, device=device, dtype=dtype)

    def forward(self, input: Tensor | PackedSequence, h0: tuple[Tensor, Tensor] | None = None,
                lengths: Tensor | list[int] | None = None, *, hx: tuple[Tensor, Tensor] | None = None
                ) -> tuple[Tensor | PackedSequence, tuple[Tensor, Tensor]]:
        """``h0``: the pair ``(h0, c0)`` (also accepted as ``hx=``, torch's name), each (num_layers·D, B, H)."""
        state = initial_state_argument(h0, hx)
        if state is not None and not (isinstance(state, (tuple, list)) and len(state) == 2):
            raise bad_argument("h0", "a pair (h0, c0)", described(type(state).__name__), kind=TypeError)
        output, (h_n, c_n) = self._run(input, None if state is None else tuple(state), lengths)
        return output, (h_n, c_n)

    @classmethod
    def for_variant(cls, variant: str, input_size: int, hidden_size: int, num_layers: int = 1, *,
                    reset: str = "before", **options) -> LSTM:
        """The LSTM of :func:`gatelab.layers.recurrent_layer` (it has no reset placement: ``reset`` is ignored)."""
        if variant != "lstm":
            raise bad_argument("variant", "'lstm' for gatelab.LSTM", variant)
        return cls(input_size, hidden_size, num_layers, **options)

    @classmethod
    def from_torch(cls, module: nn.LSTM) -> LSTM:
        """A gatelab LSTM computing exactly what the ``torch.nn.LSTM`` computes (``proj_size=0`` only)."""
        if not isinstance(module, nn.LSTM):
            raise bad_argument("module", "a torch.nn.LSTM", described(type(module).__name__), kind=TypeError)
        if module.proj_size:
            raise bad_argument("module", "an LSTM with proj_size=0", module.proj_size)
        layer = cls(**cls._arguments_of_torch(module))
        layer._copy_from_torch(module, seed_from_torch_lstm)
        return layer

    def to_torch(self) -> nn.LSTM:
        o = self.options
        if (o.gate_activation, o.candidate_activation) != ("sigmoid", "tanh"):
            raise bad_argument("self", "sigmoid gates and tanh (what torch.nn.LSTM computes)",
                               described(f"{o.gate_activation}/{o.candidate_activation}"))
        return self._copy_to_torch(nn.LSTM(**self._torch_arguments()), torch_lstm_from_seed)
