"""Session-wide test settings.

Triton reads ``TRITON_INTERPRET`` when it is first imported (and when a kernel is decorated); another test module
may import it first (torch does, for its compiler), so the CPU interpreter is switched on here, before any
collection, whenever no CUDA device could compile the kernels for real.
"""

import os

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")
