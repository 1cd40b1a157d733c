"""The fast engine's compiled code, ahead of time when possible.

``fast_kernel`` holds three numba functions: ``scan`` (program file -> arrays),
``decode`` (arrays -> rows) and ``run_cycles`` (the inner loop).  Importing
numba and initialising its JIT costs about a second per process, more than a
whole run of most programs, so ``kernels()`` first looks for an extension
module compiled ahead of time from the same source (numba's ``pycc``): it
needs only numpy at run time.  The module is built once, on first use, into
``build/native/`` (``VLIWSIM_NATIVE_DIR`` overrides), keyed by a hash of the
source files, the numba/numpy/llvmlite installs, Python and the host CPU, under a file
lock (several processes may start at once).  If it cannot be built (no C
compiler, numba without pycc), or ``VLIWSIM_NATIVE=0``, the same functions
run through numba's JIT (with its own on-disk cache); the process that tried
prints why and leaves ``<module>.failed`` so later ones go straight to the JIT.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import os
import platform
import sys
import tempfile
import warnings
from pathlib import Path
from types import SimpleNamespace
from typing import Any

HERE = Path(__file__).resolve().parent
SOURCES = ("fast_kernel.py", "fast_decode.py")
FUNCTIONS = ("scan", "decode", "run_cycles")

# Exact argument types (an AOT function does not dispatch on types: callers pass these dtypes).
SIGNATURES = {
    "scan": "i8(u1[:], u1[:], i8[:], i8, i8[:], i8[:], i8[:], i8[:, :], i8[:], i1[:], i2[:], i8[:, :], i2[:], i8[:], u1[:], i8[:])",
    "decode": (
        "i8(i2[:], i8[:, :], i8[:], u1[:], u1[:], i8[:], i8[:], i8[:, :], i8[:], i8[:], i8[:], i8[:], u1[:], "
        "i8, i8, b1, i8, i4[:], i8[:, :], i8[:], i8[:], i8[:], u1[:], i8[:], i8[:])"
    ),
    "run_cycles": (
        "i8(i4[:], i8[:, :], i8[:], u1[:], u1[:], i8[:, :], i8[:], i8[:, :], i8[:], i8[:], i8[:], i8[:], i8[:], "
        "i8[:], i8, i8, b1, i8[:], i8[:], i8[:], i8[:], i8[:], i8[:])"
    ),
}

_KERNELS: SimpleNamespace | None = None


def native_dir() -> Path:
    env = os.environ.get("VLIWSIM_NATIVE_DIR")
    return Path(env) if env else HERE.parent / "build" / "native"


def _package_stamp(name: str) -> str:
    """Which installed copy of a package (without importing it): its version file's path, size and mtime."""
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        raise ImportError(f"{name} is not installed")
    folder = Path(spec.origin).parent
    stamp = [str(folder)]
    for f in (folder / "_version.py", folder / "version.py", Path(spec.origin)):
        if f.exists():
            st = f.stat()
            stamp.append(f"{f.name}:{st.st_size}:{st.st_mtime_ns}")
    return ";".join(stamp)


def _cpu() -> str:
    """The CPU's feature flags: the module is compiled for this host's CPU."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return hashlib.sha256(line.encode()).hexdigest()[:16]
    except OSError:
        pass
    return platform.processor() or platform.machine()


def build_key() -> str:
    """What the compiled module depends on (cheap: no numba import, no package metadata scan)."""
    from .flat import DEBUG, NOT_MINE, OK
    from .isa import RunState, TrapCause  # the only values fast_kernel takes from isa.py and flat.py

    h = hashlib.sha256()
    for name in SOURCES:
        h.update((HERE / name).read_bytes())
    codes = [(c.name, int(c)) for c in (*RunState, *TrapCause)] + [DEBUG, NOT_MINE, OK]
    stamps = (_package_stamp("numba"), _package_stamp("numpy"), _package_stamp("llvmlite"))
    h.update(repr((stamps, sys.version, platform.machine(), _cpu(), SIGNATURES, codes)).encode())
    return h.hexdigest()[:16]


def _module_name(key: str) -> str:
    return f"vliwsim_fast_{key}"


def _find_built(directory: Path, name: str) -> Path | None:
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = directory / f"{name}{suffix}"
        if path.exists():
            return path
    return None


def _load(path: Path, name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build(directory: Path, key: str) -> Path:
    """Compile fast_kernel's functions into ``directory`` (under a lock); the module's path."""
    import fcntl

    name = _module_name(key)
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / "build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be building the same module
        done = _find_built(directory, name)
        if done is not None:
            return done
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pycc is "pending deprecation" in numba; it still works
            from numba.pycc import CC

            from . import fast_kernel

            cc = CC(name)
            tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=directory))
            cc.output_dir = str(tmp)
            cc.verbose = False
            cc.target_cpu = "host"  # built where it runs (the key includes the CPU's flags)
            for fn in FUNCTIONS:
                cc.export(fn, SIGNATURES[fn])(getattr(fast_kernel, fn).py_func)
            cc.compile()
        built = _find_built(tmp, name)
        if built is None:
            raise RuntimeError(f"numba pycc left no module in {tmp}")
        target = directory / built.name
        os.replace(built, target)  # atomic: a reader sees no module or a whole one
        for leftover in tmp.iterdir():
            leftover.unlink()
        tmp.rmdir()
        for stale in directory.glob("vliwsim_fast_*"):  # modules of older sources
            if stale != target:
                stale.unlink(missing_ok=True)
        return target


def _jit() -> SimpleNamespace:
    from . import fast_kernel

    return SimpleNamespace(kind="jit", **{fn: getattr(fast_kernel, fn) for fn in FUNCTIONS})


def _note(text: str) -> None:
    print(f"note: fast engine: {text}; using numba's JIT", file=sys.stderr)


def kernels() -> SimpleNamespace:
    """``scan``, ``decode`` and ``run_cycles``, compiled (``kind``: "aot" or "jit")."""
    global _KERNELS
    if _KERNELS is not None:
        return _KERNELS
    if os.environ.get("VLIWSIM_NATIVE", "1") == "0":
        _KERNELS = _jit()
        return _KERNELS
    directory = native_dir()
    failed: Path | None = None
    try:
        key = build_key()
        name = _module_name(key)
        failed = directory / f"{name}.failed"  # a build that failed is not retried by every process
        if failed.exists():
            _KERNELS = _jit()
            return _KERNELS
        path = _find_built(directory, name)
        if path is None:
            path = build(directory, key)
        module = _load(path, name)
        _KERNELS = SimpleNamespace(kind="aot", path=path, **{fn: getattr(module, fn) for fn in FUNCTIONS})
    except Exception as e:  # noqa: BLE001 - any failure: the JIT runs the same source
        reason = f"{type(e).__name__}: {e}"
        _note(f"no ahead-of-time module ({reason}; not retried until the sources change: {failed})")
        try:
            if failed is not None:
                failed.parent.mkdir(parents=True, exist_ok=True)
                failed.write_text(reason + "\n")
        except OSError:
            pass
        _KERNELS = _jit()
    return _KERNELS
