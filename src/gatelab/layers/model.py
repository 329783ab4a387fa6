"""A recurrent layer with a linear read-out: the model the lab trains."""

from __future__ import annotations

from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence

from .._errors import bad_argument, described, unknown_name
from ..registry import get_variant
from ._base import RecurrentLayer
from .gru import GRU
from .lstm import LSTM

LAYERS: dict[str, type[RecurrentLayer]] = {"gru": GRU, "lstm": LSTM}     # the layer of each cell family


def recurrent_layer(variant: str, input_size: int, hidden_size: int, num_layers: int = 1, *,
                    reset: str = "before", **options) -> RecurrentLayer:
    """The layer that runs ``variant``: :class:`GRU` for the GRU family, :class:`LSTM` for the LSTM (which has
    no reset placement: ``reset`` is ignored there). ``options``: the layers' other keyword arguments."""
    return LAYERS[get_variant(variant).family].for_variant(variant, input_size, hidden_size, num_layers,
                                                           reset=reset, **options)


class SequenceModel(nn.Module):
    """``variant`` layer (batch first) → linear read-out of the last state (``readout="last"``, (B, O)) or of
    every step (``"all"``, (B, T, O)). ``reset`` is ignored by the LSTM."""

    def __init__(self, variant: str, input_size: int, hidden_size: int, output_size: int, *,
                 num_layers: int = 1, readout: str = "last", reset: str = "before") -> None:
        super().__init__()
        if readout not in ("last", "all"):
            raise unknown_name("readout", readout, ("last", "all"))
        self.rnn = recurrent_layer(variant, input_size, hidden_size, num_layers, reset=reset, batch_first=True)
        self.readout = readout
        self.head = nn.Linear(hidden_size, output_size)

    def forward(self, x: Tensor | PackedSequence) -> Tensor:
        """``x``: (B, T, I), or a PackedSequence of sequences of different lengths (read-out ``"last"``: each
        sequence's state at its own last step)."""
        if isinstance(x, PackedSequence):
            if self.readout != "last":
                raise bad_argument("x", "a (B, T, I) tensor for read-out 'all'", described("a PackedSequence"))
            _, final = self.rnn(x)
            h_n = final[0] if isinstance(final, tuple) else final              # the LSTM's (h_n, c_n)
            return self.head(h_n[-1])                                          # (B, O)
        output, _ = self.rnn(x)                                               # (B, T, H)
        return self.head(output[:, -1] if self.readout == "last" else output)
