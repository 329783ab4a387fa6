"""The gate nonlinearity σ_g and the candidate nonlinearity φ_h: one table, by name.

Each :class:`Activation` carries everything a backend needs, so no code recognises an activation by function
identity: the function (written with ops that have first *and* second derivatives, so gradgradcheck works),
its in-place form (the fused loops), its derivative expressed through its *output* (hand-written backwards keep
only outputs), and its id in the Triton kernels. ``hard_sigmoid`` is Keras 3's and PyTorch's:
clip(a/6 + 1/2, 0, 1). Both gate activations satisfy σ(−a) = 1 − σ(a), which is what lets the converters flip
PyTorch's and Keras's update convention exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from .._errors import unknown_name


def hard_sigmoid(a: Tensor) -> Tensor:
    return torch.clamp(a / 6.0 + 0.5, 0.0, 1.0)


def identity(a: Tensor) -> Tensor:
    return a


@dataclass(frozen=True)
class Activation:
    """One nonlinearity. Calling it applies ``fn``.

    Attributes:
        name: its name in configs, plans and kernels.
        fn: y = f(a), differentiable twice.
        inplace: overwrites its argument with f(a) (``identity`` leaves it as it is).
        grad_from_output: f'(a) computed from y = f(a); None when f' ≡ 1.
        kernel_id: its ``SIGMA`` / ``PHI`` constant in the Triton kernels.
    """

    name: str
    fn: Callable[[Tensor], Tensor]
    inplace: Callable[[Tensor], object]
    grad_from_output: Callable[[Tensor], Tensor] | None
    kernel_id: int

    def __call__(self, a: Tensor) -> Tensor:
        return self.fn(a)


GATE_ACTIVATIONS: dict[str, Activation] = {a.name: a for a in (
    Activation("sigmoid", torch.sigmoid, torch.sigmoid_, lambda g: g - g * g, 0),
    Activation("hard_sigmoid", hard_sigmoid, lambda a: a.div_(6.0).add_(0.5).clamp_(0.0, 1.0),
               lambda g: ((g > 0) & (g < 1)).to(g.dtype) / 6.0, 1),
)}
CANDIDATE_ACTIVATIONS: dict[str, Activation] = {a.name: a for a in (
    Activation("tanh", torch.tanh, torch.tanh_, lambda c: 1.0 - c * c, 0),
    Activation("relu", torch.relu, torch.relu_, lambda c: (c > 0).to(c.dtype), 1),
    Activation("identity", identity, identity, None, 2),
)}

# Names other libraries use for the same functions (Keras: "linear").
ALIASES = {"linear": "identity", "hardsigmoid": "hard_sigmoid"}


def resolve(argument: str, name: object, table: dict[str, Activation]) -> str:
    """The canonical name of an activation, or an InputError naming `argument` and the choices."""
    canonical = ALIASES.get(name, name) if isinstance(name, str) else name
    if canonical not in table:
        raise unknown_name(argument, name, table)
    return canonical
