"""The cell interface: what every part of gatelab asks of a cell family, answered in one place per family.

Layers, ops, diagnostics and the bench never branch on a variant's family; they ask its :class:`Cell`:
how many state tensors it carries, its zero state, its blocks and which of them read x and h, its step, its step
with the gate values, and the time scale its gates imply. :func:`cell_of` is the one lookup by family.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

import torch
from torch import Tensor

from .gru import gru_gates, gru_mix, gru_plan, gru_step, gru_step_weights
from .lstm import lstm_gates, lstm_step

if TYPE_CHECKING:
    from ..registry import VariantSpec
    from .layout import CellLayout, CellParams

State = tuple[Tensor, ...]
Step = Callable[[Tensor, State], State]
GatedStep = Callable[[Tensor, State], tuple[State, dict[str, Tensor]]]


class Cell(Protocol):
    """One family of cells. ``state_names``: the state tensors, in order (``h`` first)."""

    state_names: tuple[str, ...]

    def zero_state(self, hidden_size: int, like: Tensor) -> State: ...

    def blocks(self, spec: VariantSpec) -> tuple[str, ...]: ...

    def reads_x(self, spec: VariantSpec, block: str) -> bool: ...

    def reads_h(self, spec: VariantSpec, block: str) -> bool: ...

    def gate_names(self, spec: VariantSpec) -> tuple[str, ...]: ...

    def init_(self, layout: CellLayout, params: CellParams) -> None: ...

    def chrono_init_(self, layout: CellLayout, params: CellParams, t_max: int, generator: torch.Generator) -> bool:
        ...

    def bind_step(self, layout: CellLayout, params: CellParams) -> Step: ...

    def bind_gated_step(self, layout: CellLayout, params: CellParams) -> GatedStep: ...

    def time_scale(self, gates: dict[str, Tensor]) -> Tensor | None: ...


class _Common:
    state_names: tuple[str, ...] = ("h",)

    def zero_state(self, hidden_size: int, like: Tensor) -> State:
        """Zeros of shape (B, H) for every state tensor, ``like``'s batch, dtype and device (``like``: (B, ·))."""
        return tuple(like.new_zeros(like.shape[0], hidden_size) for _ in self.state_names)

    def init_(self, layout: CellLayout, params: CellParams) -> None:
        """Extra initialisation after the uniform one (none by default)."""

    def chrono_init_(self, layout: CellLayout, params: CellParams, t_max: int, generator: torch.Generator) -> bool:
        """Chrono initialisation (Tallec & Ollivier 2018) of the gate that sets the units' time scales; returns
        whether the cell has such a gate. The default: none."""
        return False


def _chrono_scales(hidden: int, t_max: int, generator: torch.Generator, like: Tensor) -> Tensor:
    """Time scales τ ~ U[1, T_max − 1] per unit (Tallec & Ollivier 2018, eq. 16)."""
    low, high = 1.0, max(float(t_max) - 1.0, 1.0 + 1e-6)
    u = torch.rand(hidden, generator=generator, dtype=torch.float64)
    return (low + (high - low) * u).to(dtype=like.dtype, device=like.device)


class GRUFamilyCell(_Common):
    """Every variant of the gated-unit family (``rnn`` included): state ``(h,)``, blocks z, r (those it has), h."""

    def blocks(self, spec: VariantSpec) -> tuple[str, ...]:
        return spec.gates + ("h",)

    def reads_x(self, spec: VariantSpec, block: str) -> bool:
        return block == "h" or "x" in spec.gate_inputs

    def reads_h(self, spec: VariantSpec, block: str) -> bool:
        return spec.candidate_reads_h if block == "h" else "h" in spec.gate_inputs

    def chrono_init_(self, layout: CellLayout, params: CellParams, t_max: int, generator: torch.Generator) -> bool:
        """b_z = −log τ with τ ~ U[1, T_max − 1]: in the seed's convention z is the share of the new candidate,
        so σ(b_z) ≈ 1/τ keeps a unit's past for about τ steps (Tallec & Ollivier's GRU gate is 1 − z)."""
        if "z" not in layout.options.spec.gates or params.bias is None:
            return False
        with torch.no_grad():
            b_z = layout.rows(params.bias, layout.blocks, "z")
            b_z.copy_(-torch.log(_chrono_scales(layout.hidden_size, t_max, generator, b_z)))
        return True

    def gate_names(self, spec: VariantSpec) -> tuple[str, ...]:
        """The gate values a step reports: its learned gates, and r for the MGU (its one gate, serving as both)."""
        return spec.gates + (("r",) if spec.reset == "update" else ())

    def bind_step(self, layout: CellLayout, params: CellParams) -> Step:
        weights, plan = gru_step_weights(layout, params), gru_plan(layout)
        return lambda xw, state: (gru_step(xw, state[0], weights, plan),)

    def bind_gated_step(self, layout: CellLayout, params: CellParams) -> GatedStep:
        weights, plan = gru_step_weights(layout, params), gru_plan(layout)

        def step(xw: Tensor, state: State) -> tuple[State, dict[str, Tensor]]:
            z, r, candidate = gru_gates(xw, state[0], weights, plan)
            gates = {name: value for name, value in (("z", z), ("r", r)) if value is not None}
            return (gru_mix(state[0], z, candidate, plan),), gates

        return step

    def time_scale(self, gates: dict[str, Tensor]) -> Tensor | None:
        """τ_i = 1 / mean_t z_i: z is the share of the new candidate, so a small z keeps the past long."""
        return 1.0 / gates["z"].mean(dim=(0, 1)) if "z" in gates else None


class LSTMCell(_Common):
    """The standard LSTM: state ``(h, c)``, blocks i, f, g, o (PyTorch's order), every block reads x and h."""

    state_names = ("h", "c")

    def blocks(self, spec: VariantSpec) -> tuple[str, ...]:
        return ("i", "f", "g", "o")

    def reads_x(self, spec: VariantSpec, block: str) -> bool:
        return True

    def reads_h(self, spec: VariantSpec, block: str) -> bool:
        return True

    def gate_names(self, spec: VariantSpec) -> tuple[str, ...]:
        return ("i", "f", "o")

    def init_(self, layout: CellLayout, params: CellParams) -> None:
        """The forget gate's bias starts at 1 (Gers et al. 2000; Jozefowicz et al. 2015)."""
        if params.bias is not None:
            with torch.no_grad():
                layout.rows(params.bias, layout.blocks, "f").fill_(1.0)

    def chrono_init_(self, layout: CellLayout, params: CellParams, t_max: int, generator: torch.Generator) -> bool:
        """b_f = log τ and b_i = −b_f with τ ~ U[1, T_max − 1] (Tallec & Ollivier 2018)."""
        if params.bias is None:
            return False
        with torch.no_grad():
            b_f = layout.rows(params.bias, layout.blocks, "f")
            b_f.copy_(torch.log(_chrono_scales(layout.hidden_size, t_max, generator, b_f)))
            layout.rows(params.bias, layout.blocks, "i").copy_(-b_f)
        return True

    def bind_step(self, layout: CellLayout, params: CellParams) -> Step:
        u, sigma, phi = params.weight_hh, layout.sigma, layout.phi
        return lambda xw, state: lstm_step(xw, state[0], state[1], u, sigma, phi)

    def bind_gated_step(self, layout: CellLayout, params: CellParams) -> GatedStep:
        u, sigma, phi = params.weight_hh, layout.sigma, layout.phi

        def step(xw: Tensor, state: State) -> tuple[State, dict[str, Tensor]]:
            i, f, g, o = lstm_gates(xw, state[0], u, sigma, phi)
            c = f * state[1] + i * g
            return (o * phi(c), c), {"i": i, "f": f, "o": o}

        return step

    def time_scale(self, gates: dict[str, Tensor]) -> Tensor | None:
        """τ_i = 1 / mean_t (1 − f_i): 1 − f is the share of the cell state it forgets."""
        return 1.0 / (1.0 - gates["f"]).mean(dim=(0, 1))


CELLS: dict[str, Cell] = {"gru": GRUFamilyCell(), "lstm": LSTMCell()}


def cell_of(spec: VariantSpec) -> Cell:
    """The cell interface of a variant's family — the one place that looks a family up."""
    return CELLS[spec.family]
