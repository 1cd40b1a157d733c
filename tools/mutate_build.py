"""Verilator builds of mutated netlists (tools.netlist_mutate), cached under build/mutants/.

Kept apart from the cross-check's cache (build/sim/, which prunes to its newest
few builds) so a mutation build never evicts the build the test suite uses.
The build is cached by a digest of the Verilog text and the build arguments,
so a rerun with unchanged sources rebuilds nothing.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from pathlib import Path

from cocotb_tests.simbuild import (
    BUILD,
    REPO,
    RTL_MODEL_INPUTS,
    TIMESCALE,
    TOP,
    RtlSources,
    SimBuild,
    SimBuildError,
    build_lock,
    check_simulator,
    TB_MEMORIES,
    TB_SIGNALS,
    log_tail,
    toolchain_env,
)
from pymodel.isa import MachineParams

MUTANT_BUILD = BUILD / "mutants"
SIM = "verilator"
BASELINE = "baseline"  # folder name of the unmutated core
# -O1: the mutant netlist's C++ is a dozen 700 kB files; at -O2 one of them compiles for tens of
# minutes on a shared 2-core machine, at -O0 the core runs ~200 cycles/s (an eval costs milliseconds).
MAKEFLAGS = "CFG_CXXFLAGS_PCH_I=-include OPT_FAST=-O1 OPT_SLOW=-O0 OPT_GLOBAL=-O1"
BUILD_ARGS = (
    "--no-public-flat-rw",
    "--output-split-cfuncs",
    "500",
    "-Wno-fatal",
    "-Wno-lint",
    "-Wno-style",
    "-Wno-UNOPTFLAT",  # a mutation may close a combinational loop
)


def _folder(mutant: str | None) -> str:
    return mutant or BASELINE


def rtl_inputs_digest(params: MachineParams, mutant: str | None) -> str:
    """What the generated Verilog depends on: rtl/ sources, the ISA table, params, amaranth, the mutant."""
    import amaranth

    h = hashlib.sha256(f"{params!r}\n{mutant!r}\n{amaranth.__version__}".encode())
    rtl_files = [p for p in (REPO / "rtl").rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    for path in sorted(rtl_files) + [REPO / p for p in RTL_MODEL_INPUTS]:
        h.update(path.relative_to(REPO).as_posix().encode())
        h.update(path.read_bytes() if path.exists() else b"")
    return h.hexdigest()[:16]


def _stale(folder: Path, prefix: str, keep: Path) -> None:
    """Drop older cache entries of the same mutant (one per mutant is enough)."""
    if folder.is_dir():
        for old in folder.iterdir():
            if old.is_dir() and old.name.startswith(prefix) and old != keep:
                shutil.rmtree(old, ignore_errors=True)


def _verilator_config(extra: tuple[str, ...] = ()) -> str:
    names = (*TB_SIGNALS, *TB_MEMORIES, *extra)  # memories: batches read them back directly
    lines = ["`verilator_config"] + [f'public_flat_rw -module "{TOP}" -var "{name}"' for name in names]
    return "\n".join(lines) + "\n"


def build(params: MachineParams, mutant: str | None, rtl: RtlSources, *, ctrl: str | None = None) -> SimBuild:
    """Compile ``rtl`` with Verilator (one build at a time on this machine), or reuse the cached build.
    ``ctrl``: the mutant-select input of a netlist-mutation build (made public to the testbench)."""
    import cocotb

    check_simulator(SIM)
    config = _verilator_config((ctrl,) if ctrl else ())
    key = hashlib.sha256(
        "\n".join([rtl.digest, repr(BUILD_ARGS), MAKEFLAGS, config, cocotb.__version__]).encode()
    ).hexdigest()[:16]
    root = MUTANT_BUILD / "sim"
    build_dir = root / f"{_folder(mutant)}-{key}"
    stamp = build_dir / "built.ok"
    if stamp.exists():
        return SimBuild(SIM, build_dir, False, rtl, params, 0.0, True)
    with build_lock(), toolchain_env(SIM):
        os.environ["MAKEFLAGS"] = MAKEFLAGS  # toolchain_env restores the environment afterwards
        from cocotb_tools.runner import get_runner

        shutil.rmtree(build_dir, ignore_errors=True)
        build_dir.mkdir(parents=True)
        vlt = build_dir / "xcheck.vlt"
        vlt.write_text(config)
        log = build_dir / "build.log"
        t0 = time.perf_counter()
        try:
            get_runner(SIM).build(
                sources=[*rtl.files, vlt],
                hdl_toplevel=TOP,
                build_args=list(BUILD_ARGS),
                build_dir=build_dir,
                timescale=TIMESCALE,
                always=True,
                log_file=log,
            )
        except (RuntimeError, SystemExit) as e:
            where = f"verilator build of mutant {mutant!r}" if mutant else "verilator build of the real core"
            raise SimBuildError(f"{where} failed ({e}); see {log}:\n{log_tail(log)}") from None
        seconds = time.perf_counter() - t0
        for pch in build_dir.glob("*.gch"):  # 140 MB of precompiled headers, useless once built
            pch.unlink()
        stamp.write_text(f"{seconds:.1f}\n")
    _stale(root, f"{_folder(mutant)}-", build_dir)
    return SimBuild(SIM, build_dir, False, rtl, params, seconds, False)
