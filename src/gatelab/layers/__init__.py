"""``nn.Module`` front ends: drop-ins for ``torch.nn.GRU``, ``torch.nn.GRUCell`` and ``torch.nn.LSTM``."""

from .cell import GRUCell
from .gru import GRU
from .lstm import LSTM
from .model import SequenceModel

__all__ = ["GRU", "GRUCell", "LSTM", "SequenceModel"]
