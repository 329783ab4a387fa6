"""The compiled CPU loop (backend "native"): parity at odd sizes and on every product path, determinism, the
build cache, and the fallback when no compiler is there. The all-variant parity grid is in test_recurrence.py."""

from __future__ import annotations

import ctypes
import json
import os
import subprocess
import sys
import textwrap

import pytest
import torch
from support import GRU_VARIANTS, assert_close
from test_recurrence import make, run_with_grads

import gatelab
from gatelab.ops import recurrence_ref, resolve_backend
from gatelab.ops.native import available, native_gru_recurrence
from gatelab.ops.native.build import _torch_blas, library

pytestmark = pytest.mark.skipif(not available(), reason="no C++ compiler on this machine")
H_DEPENDENT = [v for v in GRU_VARIANTS if not gatelab.get_variant(v).h_independent]


def check(variant, reset, batch, steps, hidden, dtype, masked, bias=True):
    layout, params, x, state0, mask = make(variant, reset, batch, steps, hidden, dtype, masked, bias)
    fast = run_with_grads(native_gru_recurrence, layout, params, x, state0, mask)
    ref = run_with_grads(recurrence_ref, layout, params, x, state0, mask)
    assert_close(fast[0], ref[0], "output", "ops")
    for a, b in zip(fast[1], ref[1], strict=True):
        assert_close(a, b, "final state", "ops")
    for i, (a, b) in enumerate(zip(fast[2], ref[2], strict=True)):
        assert_close(a, b, f"gradient {i}", "ops")


@pytest.mark.parametrize("masked", [False, True], ids=["dense", "lengths"])
@pytest.mark.parametrize("hidden,steps", [(1, 9), (130, 5), (50, 1)], ids=["H1", "H130-packed", "T1"])
@pytest.mark.parametrize("reset", ["after", "before"])
@pytest.mark.parametrize("variant", H_DEPENDENT)
def test_odd_sizes_match_the_reference(variant, reset, hidden, steps, masked):
    # H = 130 is above the packing threshold: MKL's packed products run there, plain sgemm below it
    check(variant, reset, 3, steps, hidden, torch.float32, masked)


@pytest.fixture
def without_blas():
    lib = library()
    lib.gl_set_blas(*(ctypes.c_void_p(None) for _ in range(5)))
    yield
    lib.gl_set_blas(*(ctypes.c_void_p(a or None) for a in _torch_blas()))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("reset", ["after", "before"])
@pytest.mark.parametrize("variant", ["gru", "mgu", "gru_no_update", "gru_gates_h"])
def test_the_plain_loop_products_without_a_blas_match_the_reference(variant, reset, dtype, without_blas):
    check(variant, reset, 4, 6, 9, dtype, masked=True)


def test_torch_links_a_blas_here_so_the_fast_products_are_what_runs():
    sgemm, dgemm, *packed = _torch_blas()
    assert sgemm and dgemm


def test_reruns_are_bit_identical():
    results = []
    for _ in range(2):
        layout, params, x, state0, mask = make("gru", "before", 8, 40, 140, torch.float32, True)
        results.append(run_with_grads(native_gru_recurrence, layout, params, x, state0, mask))
    (out_a, final_a, grads_a), (out_b, final_b, grads_b) = results
    assert torch.equal(out_a, out_b) and all(torch.equal(a, b) for a, b in zip(final_a, final_b, strict=True))
    assert all(torch.equal(a, b) for a, b in zip(grads_a, grads_b, strict=True))


def test_auto_prefers_it_on_the_cpu_for_float32_and_float64_only():
    layout = gatelab.GRU(2, 4).layouts[0]
    cpu = torch.device("cpu")
    assert resolve_backend("auto", layout, cpu, torch.float32) == "native"
    assert resolve_backend("auto", layout, cpu, torch.float64) == "native"
    assert resolve_backend("auto", layout, cpu, torch.bfloat16) == "fused"
    assert resolve_backend("auto", gatelab.GRU(2, 4, variant="min_gru").layouts[0], cpu) == "linear"
    with pytest.raises(ValueError, match=r"dtype: expected float32 or float64 for backend 'native', got 'bfloat16'"):
        resolve_backend("native", layout, cpu, torch.bfloat16)
    with pytest.raises(ValueError, match=r"backend: expected backend 'native' on the CPU, got 'cuda'"):
        resolve_backend("native", layout, torch.device("cuda"))


def test_a_layer_trains_with_it_like_with_the_reference():
    torch.manual_seed(0)
    layer = gatelab.GRU(3, 12, backend="native")
    x = torch.randn(20, 6, 3)
    out, h = layer(x)
    (out.square().mean() + h.square().mean()).backward()
    assert layer.last_backend == "native"
    grads = [p.grad.clone() for p in layer.parameters()]
    layer.zero_grad()
    with gatelab.use_backend("ref"):
        out_ref, h_ref = layer(x)
        (out_ref.square().mean() + h_ref.square().mean()).backward()
    for g, p in zip(grads, layer.parameters(), strict=True):
        assert_close(g, p.grad, "weight gradient", "ops")


SCRIPT = textwrap.dedent("""
    import json, warnings, torch, gatelab
    from gatelab.ops import resolve_backend
    from gatelab.ops.native import available
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = resolve_backend("auto", gatelab.GRU(2, 4).layouts[0], torch.device("cpu"))
        second = resolve_backend("auto", gatelab.GRU(2, 4, variant="mgu").layouts[0], torch.device("cpu"))
        try:
            resolve_backend("native", gatelab.GRU(2, 4).layouts[0], torch.device("cpu"))
            forced = "ran"
        except RuntimeError as error:
            forced = str(error)
    print(json.dumps({"available": available(), "backends": [first, second], "forced": forced,
                      "warnings": [str(w.message) for w in caught if "compiled CPU loop" in str(w.message)]}))
""")


def run_isolated(cache, path_dirs, cxx=None):
    env = {k: v for k, v in os.environ.items() if k not in ("CXX", "GATELAB_NATIVE")}
    env.update(GATELAB_CACHE_DIR=str(cache), PATH=os.pathsep.join(path_dirs))
    if cxx:
        env["CXX"] = cxx
    done = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_without_a_compiler_auto_falls_back_to_fused_with_one_warning(tmp_path):
    result = run_isolated(tmp_path / "cache", [str(tmp_path / "empty")], cxx="no-such-compiler")
    assert result["available"] is False and result["backends"] == ["fused", "fused"]
    assert len(result["warnings"]) == 1 and "no C++ compiler" in result["warnings"][0]
    assert "backend: expected a built compiled loop for backend 'native'" in result["forced"]
    assert not (tmp_path / "cache").exists()


def test_a_failed_build_falls_back_with_the_compilers_message(tmp_path):
    fake = tmp_path / "bin" / "c++"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\n[ \"$1\" = --version ] && { echo fake 1.0; exit 0; }\necho 'fatal: broken' >&2\n"
                    "exit 1\n")
    fake.chmod(0o755)
    result = run_isolated(tmp_path / "cache", [str(fake.parent), "/usr/bin", "/bin"], cxx=str(fake))
    assert result["backends"] == ["fused", "fused"]
    assert len(result["warnings"]) == 1 and "fatal: broken" in result["warnings"][0]


def test_built_once_then_loaded_from_the_cache_even_without_a_compiler(tmp_path):
    cache = tmp_path / "cache"
    built = run_isolated(cache, os.environ["PATH"].split(os.pathsep))
    assert built["available"] and built["backends"] == ["native", "native"] and not built["warnings"]
    libraries = list(cache.glob("native-*/libgatelab_gru.so"))
    assert len(libraries) == 1
    stamp = libraries[0].stat().st_mtime_ns
    # the cache key includes the compiler's version, so the same compiler must answer: keep it, hide nothing else
    again = run_isolated(cache, os.environ["PATH"].split(os.pathsep))
    assert again["available"] and libraries[0].stat().st_mtime_ns == stamp
    assert not list(cache.glob("native-*/.build-*"))


@pytest.mark.parametrize("variant", ["gru", "mgu"])
def test_the_reset_before_weight_gradient_accumulated_over_several_blocks_matches(variant):
    # ∂L/∂U_h is accumulated per block of 2048 // B steps: B = 64 gives blocks of 32, so T = 70 spans three
    check(variant, "before", 64, 70, 5, torch.float64, masked=True)


def test_subnormals_are_flushed_inside_the_loop_only():
    layout, params, x, state0, mask = make("gru_no_carry", "before", 4, 30, 6, torch.float32, False)
    run_with_grads(native_gru_recurrence, layout, params, x, state0, mask)
    tiny = torch.tensor([1e-39], dtype=torch.float32)                 # a subnormal float32
    assert (tiny * 1.0).item() != 0.0 and (tiny + 0.0).item() != 0.0, "the thread's FTZ/DAZ flags were restored"
