"""The gate nonlinearity σ_g and the candidate nonlinearity φ_h, by name.

Each is written with ops that have first *and* second derivatives, so gradgradcheck works for all of them.
``hard_sigmoid`` is Keras 3's and PyTorch's: clip(a/6 + 1/2, 0, 1). Both gate activations satisfy
σ(−a) = 1 − σ(a), which is what lets the converters flip PyTorch's and Keras's update convention exactly.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from .._errors import unknown_name

Activation = Callable[[Tensor], Tensor]


def hard_sigmoid(a: Tensor) -> Tensor:
    return torch.clamp(a / 6.0 + 0.5, 0.0, 1.0)


def identity(a: Tensor) -> Tensor:
    return a


GATE_ACTIVATIONS: dict[str, Activation] = {"sigmoid": torch.sigmoid, "hard_sigmoid": hard_sigmoid}
CANDIDATE_ACTIVATIONS: dict[str, Activation] = {"tanh": torch.tanh, "identity": identity, "relu": torch.relu}

# Names other libraries use for the same functions (Keras: "linear").
ALIASES = {"linear": "identity", "hardsigmoid": "hard_sigmoid"}


def resolve(argument: str, name: object, table: dict[str, Activation]) -> str:
    """The canonical name of an activation, or a ValueError naming `argument` and the choices."""
    canonical = ALIASES.get(name, name) if isinstance(name, str) else name
    if canonical not in table:
        raise unknown_name(argument, name, table)
    return canonical
