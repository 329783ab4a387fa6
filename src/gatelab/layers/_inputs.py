"""Checks and reshaping of what a layer's ``forward`` receives; every error names the argument."""

from __future__ import annotations

import torch
from torch import Tensor

from .._errors import bad_argument, described


def check_sequence(input: object, input_size: int, dtype: torch.dtype, device: torch.device,
                   batch_first: bool) -> tuple[Tensor, bool]:
    """Return (x as contiguous (T, B, I), whether the input was unbatched). Accepts (T, I) / (T, B, I) /
    (B, T, I). Time-major inside: each step of the recurrence reads one contiguous (B, ·) slab."""
    if not isinstance(input, Tensor):
        raise bad_argument("input", "a Tensor or a PackedSequence", described(type(input).__name__), kind=TypeError)
    if input.dim() not in (2, 3):
        raise bad_argument("input", "a 3-D tensor (batched) or a 2-D one (unbatched)",
                           described(f"a {input.dim()}-D tensor of shape {tuple(input.shape)}"))
    _check_tensor_kind("input", input, dtype, device)
    if input.shape[-1] != input_size:
        raise bad_argument("input", f"last dimension of size input_size={input_size}",
                           described(f"shape {tuple(input.shape)}"))
    unbatched = input.dim() == 2
    x = input.unsqueeze(1) if unbatched else (input.transpose(0, 1) if batch_first else input)
    x = x.contiguous()  # one memory layout in, so results do not depend on the caller's strides (bit for bit)
    if x.shape[0] == 0:
        raise bad_argument("input", "at least one time step", described(f"shape {tuple(input.shape)}"))
    return x, unbatched


def _check_tensor_kind(argument: str, t: Tensor, dtype: torch.dtype, device: torch.device) -> None:
    if t.dtype != dtype:
        raise bad_argument(argument, f"dtype {dtype} (the layer's parameters; use .to(dtype))", t.dtype,
                           kind=TypeError)
    if t.device != device:
        raise bad_argument(argument, f"a tensor on {device} (the layer's parameters)", described(str(t.device)))


def check_lengths(lengths: object, batch: int, steps: int) -> Tensor:
    """Return lengths as a CPU int64 tensor of shape (B,), each in [1, T]."""
    if isinstance(lengths, (list, tuple)):
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in lengths):
            raise bad_argument("lengths", "integers", lengths, kind=TypeError)
        lengths = torch.tensor(lengths, dtype=torch.int64)
    if not isinstance(lengths, Tensor):
        raise bad_argument("lengths", "a 1-D integer tensor or a list of ints", described(type(lengths).__name__),
                           kind=TypeError)
    if lengths.is_floating_point() or lengths.is_complex() or lengths.dtype == torch.bool:
        nan = " containing NaN" if lengths.is_floating_point() and bool(torch.isnan(lengths).any()) else ""
        raise bad_argument("lengths", "an integer tensor", described(f"dtype {lengths.dtype}{nan}"), kind=TypeError)
    if lengths.shape != (batch,):
        raise bad_argument("lengths", f"shape ({batch},), one length per row of the batch",
                           tuple(lengths.shape))
    lengths = lengths.to("cpu", torch.int64)
    if batch and (int(lengths.min()) < 1 or int(lengths.max()) > steps):
        raise bad_argument("lengths", f"values in [1, T={steps}]", lengths.tolist())
    return lengths


def check_state(argument: str, state: object, shape: tuple[int, ...], dtype: torch.dtype,
                device: torch.device) -> Tensor:
    if not isinstance(state, Tensor):
        raise bad_argument(argument, f"a Tensor of shape {shape}", described(type(state).__name__), kind=TypeError)
    if tuple(state.shape) != shape:
        raise bad_argument(argument, f"shape {shape} = (num_layers·num_directions, batch, hidden_size)",
                           tuple(state.shape))
    _check_tensor_kind(argument, state, dtype, device)
    return state


def length_mask(lengths: Tensor, steps: int, device: torch.device) -> Tensor:
    """(T, B) bool, True at the real steps of each row."""
    return torch.arange(steps, device=device).unsqueeze(1) < lengths.to(device).unsqueeze(0)


def reverse_in_length(x: Tensor, lengths: Tensor | None) -> Tensor:
    """Reverse each sequence of (T, B, ·) in time within its own length (padding stays put). An involution."""
    if lengths is None:
        return x.flip(0)
    steps = x.shape[0]
    t = torch.arange(steps, device=x.device).unsqueeze(1)                  # (T, 1)
    n = lengths.to(x.device).unsqueeze(0)                                  # (1, B)
    index = torch.where(t < n, n - 1 - t, t)                               # (T, B)
    return x.gather(0, index.unsqueeze(-1).expand_as(x))


def initial_state_argument(h0: object, hx: object) -> object:
    """The initial state given as ``h0`` (gatelab's name) or ``hx`` (torch's), never both."""
    if hx is None:
        return h0
    if h0 is not None:
        raise bad_argument("hx", "None when h0 is given (hx is torch's name for h0)", described("a state"))
    return hx


def upcast(value: object, dtype: torch.dtype) -> object:
    """A floating tensor in ``dtype`` (what autocast handed in, back in the parameters' precision); anything else
    (None, a PackedSequence, a tuple of states) as it is."""
    if torch.is_tensor(value) and value.is_floating_point():
        return value.to(dtype)
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        return tuple(upcast(v, dtype) for v in value)
    return value
