"""``nn.Module`` front ends: drop-ins for ``torch.nn.GRU``, ``torch.nn.GRUCell`` and ``torch.nn.LSTM``."""

from .cell import GRUCell
from .gru import GRU
from .lstm import LSTM
from .model import LAYERS, SequenceModel, recurrent_layer

__all__ = ["GRU", "GRUCell", "LAYERS", "LSTM", "SequenceModel", "recurrent_layer"]
