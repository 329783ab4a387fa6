"""Build the compiled loop on first use, cache it, load it with ctypes.

The library is plain C++17 with no Python or torch headers, so it compiles in about a second with the system
compiler (``$CXX``, else ``c++``/``g++``/``clang++``) and does not depend on the Python version. It is built
with ``-O3 -march=native`` and cached under ``$GATELAB_CACHE_DIR`` (default ``~/.cache/gatelab``) in a folder
keyed by the source, the flags, the compiler's version and this CPU's feature flags, so that a cache shared
between machines never loads code built for another CPU. Concurrent first uses (study workers) each compile to a
private file and rename it into place: the last rename wins, every reader sees a whole library.

Where no library can be had (no compiler, a failed build), :func:`library` returns None and warns once; the
dispatcher then keeps the Python-level ``fused`` loop.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
import warnings
from functools import cache
from importlib import resources
from pathlib import Path

import torch

SOURCE = "gru_loop.cpp"
FLAGS = ("-O3", "-march=native", "-std=c++17", "-shared", "-fPIC", "-fno-math-errno")
ABI_VERSION = 3


class NativeBuildWarning(UserWarning):
    """The compiled CPU loop could not be built or loaded; the Python-level fused loop runs instead."""


def cache_dir() -> Path:
    root = os.environ.get("GATELAB_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache"), "gatelab")
    return Path(root)


def compiler() -> str | None:
    for name in (os.environ.get("CXX"), "c++", "g++", "clang++"):
        if name and (path := shutil.which(name)):
            return path
    return None


def _cpu_flags() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "Features")):
                return line
    except OSError:
        pass
    return platform.processor()


def _library_path(cxx: str, source: bytes) -> Path:
    version = subprocess.run([cxx, "--version"], capture_output=True, text=True, timeout=30).stdout
    key = hashlib.sha256(b"\0".join([source, " ".join(FLAGS).encode(), version.encode(),
                                     platform.machine().encode(), _cpu_flags().encode()])).hexdigest()[:16]
    return cache_dir() / f"native-{key}" / "libgatelab_gru.so"


def build(cxx: str, target: Path) -> Path:
    """Compile the loop into ``target`` (atomically); raise ``RuntimeError`` with the compiler's output."""
    source = resources.files(__package__).joinpath(SOURCE)
    target.parent.mkdir(parents=True, exist_ok=True)
    with resources.as_file(source) as src, tempfile.NamedTemporaryFile(
            dir=target.parent, prefix=".build-", suffix=".so", delete=False) as tmp:
        done = subprocess.run([cxx, *FLAGS, str(src), "-o", tmp.name], capture_output=True, text=True,
                              timeout=600)
        if done.returncode != 0:
            os.unlink(tmp.name)
            raise RuntimeError(f"{cxx} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
        os.replace(tmp.name, target)
    return target


BLAS_SYMBOLS = ("sgemm_", "dgemm_", "sgemm_pack_get_size_", "sgemm_pack_", "sgemm_compute_")


def _torch_blas() -> tuple[int, ...]:
    """Addresses of the BLAS routines torch's CPU library links (MKL in the x86 wheels: ``sgemm_``, ``dgemm_``
    and MKL's packed ``sgemm_pack_*``/``sgemm_compute_``), 0 for each one missing."""
    lib_dir = Path(torch.__file__).parent / "lib"
    for name in ("libtorch_cpu.so", "libtorch_cpu.dylib"):
        if (lib_dir / name).exists():
            handle = ctypes.CDLL(str(lib_dir / name))   # already loaded by torch: the same handle
            addresses = []
            for symbol in BLAS_SYMBOLS:
                try:
                    addresses.append(ctypes.cast(getattr(handle, symbol), ctypes.c_void_p).value or 0)
                except AttributeError:
                    addresses.append(0)
            if not all(addresses[2:]):                     # the packed API only as a whole
                addresses[2:] = [0, 0, 0]
            return tuple(addresses)
    return (0,) * len(BLAS_SYMBOLS)


@cache
def library() -> ctypes.CDLL | None:
    """The loaded library (built now if this machine has none cached), or None with one warning."""
    if os.environ.get("GATELAB_NATIVE", "1") == "0":
        return None
    cxx = compiler()
    if cxx is None:
        warnings.warn("gatelab: no C++ compiler found ($CXX, c++, g++, clang++), so the compiled CPU loop "
                      "(backend 'native') is not available; backend 'auto' runs the slower 'fused' loop. "
                      "Install g++ (or set CXX) to enable it.", NativeBuildWarning, stacklevel=3)
        return None
    source = resources.files(__package__).joinpath(SOURCE).read_bytes()
    try:
        path = _library_path(cxx, source)
        if not path.exists():
            build(cxx, path)
        lib = ctypes.CDLL(str(path))
        if lib.gl_abi_version() != ABI_VERSION:
            raise RuntimeError(f"{path}: ABI {lib.gl_abi_version()}, expected {ABI_VERSION}")
    except (OSError, RuntimeError, subprocess.SubprocessError) as error:
        warnings.warn(f"gatelab: the compiled CPU loop (backend 'native') could not be built or loaded, so "
                      f"backend 'auto' runs the slower 'fused' loop: {error}", NativeBuildWarning, stacklevel=3)
        return None
    lib.gl_set_blas(*(ctypes.c_void_p(address or None) for address in _torch_blas()))
    return lib
