#!/usr/bin/env bash
# The prepared GPU check of the Triton backend: on a CUDA machine, from the repository root, in under 8 minutes.
#   1. the Triton parity tests on CUDA (the same tests CI runs on the CPU through TRITON_INTERPRET=1),
#   2. benchmarks/bench_gpu.py: parity at full size, then one table of times against torch.nn.GRU (cuDNN) and
#      the plain-torch loop, and the scan's achieved bandwidth; written to $OUT/gpu_table.md when OUT is set.
# Needs python with torch (CUDA build) and triton (PyTorch's CUDA wheels bring it); gatelab runs from src/.
set -uo pipefail
export PYTHONUNBUFFERED=1
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
PY=${PYTHON:-python3}
OUT=${OUT:-.}
mkdir -p "$OUT"
if ! $PY -c "import torch, triton; assert torch.cuda.is_available()"; then
    echo "gpu.sh: expected torch with CUDA and triton on a GPU machine" >&2
    exit 2
fi
nvidia-smi --query-gpu=name,memory.total,clocks.max.memory --format=csv | tee "$OUT/gpu_device.txt"
if $PY -c "import pytest" 2>/dev/null; then
    TRITON_INTERPRET=0 timeout 100 $PY -m pytest -q -p no:cacheprovider tests/ops/test_triton.py -k "cuda or gpu" \
        2>&1 | tee "$OUT/gpu_tests.log"
else
    echo "gpu.sh: pytest missing; bench_gpu.py's own parity step still runs" | tee "$OUT/gpu_tests.log"
fi
timeout 330 $PY benchmarks/bench_gpu.py --out "$OUT" --budget 270
