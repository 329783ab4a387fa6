"""Run a sequence op over time in chunks, so that no buffer it allocates grows past a size limit.

Why: a fused op keeps per-step slabs (gates, candidates, their gradients) for the whole sequence. On Linux,
glibc serves every allocation of 32 MiB or more with a fresh ``mmap``, and touching fresh pages costs a page
fault each — measured on this project's CPU machine: filling one new 32 MiB tensor takes 12 ms, the same bytes
in 2 MiB tensors 0.7 ms. PyTorch's CPU allocator caches nothing, so the cost recurs every call. Chunks of time
keep each slab small and cache-resident, and cost one more autograd node per chunk; the state flows from one
chunk to the next, so results are those of the unchunked op (tested). Measured for the GRU at B=32, T=256
(docs/benchmarks.md): slabs of at most 1 MiB (and at least 16 steps) were fastest and cut peak memory by half
against unchunked 8 MiB slabs; 256 KiB chunks were slower again (per-chunk overhead).
"""

from __future__ import annotations

import functools

import torch
from torch import Tensor

from ..cells import CellLayout, CellParams, State

MAX_SLAB_BYTES = 1 << 20          # with autograd: every step's slabs are kept for the backward
INFERENCE_SLAB_BYTES = 8 << 20    # without: only the input projection is a slab; fewer, larger chunks
MIN_CHUNK_STEPS = 16


def chunk_steps(layout: CellLayout, batch: int, itemsize: int, max_bytes: int = MAX_SLAB_BYTES) -> int:
    """Steps per chunk so that the widest per-step slab (n blocks · H per row) stays under ``max_bytes``."""
    width = max(len(layout.blocks), 1) * layout.hidden_size
    return max(MIN_CHUNK_STEPS, max_bytes // max(1, batch * width * itemsize))


def time_chunked(op, max_bytes: int = MAX_SLAB_BYTES):
    """Wrap ``op`` (the contract of :func:`gatelab.ops.recurrence`) to run CPU sequences chunk by chunk, each
    with-autograd slab at most ``max_bytes``."""

    @functools.wraps(op)
    def run(x: Tensor, state0: State, layout: CellLayout, params: CellParams,
            mask: Tensor | None = None) -> tuple[Tensor, State]:
        steps = x.shape[0]
        limit = max_bytes if torch.is_grad_enabled() else INFERENCE_SLAB_BYTES
        size = chunk_steps(layout, x.shape[1], x.element_size(), limit)
        if x.device.type != "cpu" or size >= steps:
            return op(x, state0, layout, params, mask)
        outputs, state = [], state0
        for start in range(0, steps, size):
            part = slice(start, start + size)
            output, state = op(x[part], state, layout, params, None if mask is None else mask[part])
            outputs.append(output)
        return torch.cat(outputs), state

    return run
