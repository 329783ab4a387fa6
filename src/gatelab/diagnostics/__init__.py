"""Why each gate matters: gradient flow through time, the step Jacobian's spectrum,
gate statistics and time scales, clamp tests, and the distance to exponential smoothing.

Pure functions of a layer (or a trained model) and a batch; they run the layer's first (layer, direction) with
the reference cell step, so they apply to every registered variant (a diagnostic that does not apply says so).
:class:`FlowTracker` runs them during training, as a callback of the training loop.
"""

from .callbacks import FlowTracker
from .clamp import CLAMPS, clamp_tests, clamped
from .flow import StateTrace, loss_gradient_profile, state_sensitivity, trace_states
from .gates import GateStatistics, gate_statistics
from .jacobian import JacobianSpectrum, jacobian_spectrum
from .smoothing import SmoothingFit, smoothing_fit

__all__ = ["CLAMPS", "FlowTracker", "GateStatistics", "JacobianSpectrum", "SmoothingFit", "StateTrace", "clamp_tests",
           "clamped",
           "gate_statistics", "jacobian_spectrum", "loss_gradient_profile", "smoothing_fit", "state_sensitivity",
           "trace_states"]
