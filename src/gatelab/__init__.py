"""gatelab: what do the update gate z and the reset gate r of a GRU contribute, and is a simpler unit enough?

Public API::

    gatelab.GRU, gatelab.GRUCell, gatelab.LSTM     layers (drop-ins for torch.nn)
    gatelab.variants(), gatelab.describe(name)     the registered variants and their equations
    gatelab.get_variant(name) -> VariantSpec       a variant as data
    gatelab.use_backend(name)                      force a computation backend inside a `with` block
    gatelab.ClassicalForecaster(name, season)      a classical rung of the forecast ladder (statsforecast)
    gatelab.RecurrentForecaster(variant, season)   any variant as a forecaster; both: fit(y) -> self, predict(h)

Heavy optional packages (keras, ray, triton, statsforecast) are imported only by the modules that use them.
"""

from ._version import __version__
from .baselines import ClassicalForecaster, RecurrentForecaster
from .layers import GRU, LSTM, GRUCell
from .ops import use_backend
from .registry import VariantSpec, describe, get_variant, variants

__all__ = ["ClassicalForecaster", "GRU", "GRUCell", "LSTM", "RecurrentForecaster", "VariantSpec", "describe",
           "get_variant", "use_backend", "variants", "__version__"]
