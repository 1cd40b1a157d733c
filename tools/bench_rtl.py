"""Speed of the RTL flow: Verilog generation, simulator builds, simulated cycles/s.

    python -m tools.bench_rtl [--rebuild]

Every figure comes from a real cross-check (so it also proves the run was
right): cycles/s is simulated cycles over the testbench's run phase (clock
running, Python asleep); wall is the whole simulator process (start-up,
loading the image, run, read-back).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from cocotb_tests.job import RunMode
from cocotb_tests.programs import TestProgram, dense_loop_program
from cocotb_tests.simbuild import BUILD, SimBuild, SimulatorUnavailable, build_simulator
from cocotb_tests.xcheck import XCheckReport, cross_check
from kernels.tree_hash import build as build_kernel
from pymodel.benchmark import Problem
from pymodel.isa import DEFAULT_PARAMS
from pymodel.program import Program

Row = dict[str, Any]


def _generation_seconds() -> Row:
    from rtl.generate import write_verilog

    out = Path(tempfile.mkdtemp(prefix="bench-rtl-", dir=BUILD))
    try:
        t0 = time.perf_counter()
        top = write_verilog(DEFAULT_PARAMS, out)
        seconds = time.perf_counter() - t0
        size = sum(p.stat().st_size for p in out.iterdir())
    finally:
        shutil.rmtree(out, ignore_errors=True)
    return {
        "name": "verilog generation",
        "sim": "-",
        "seconds": round(seconds, 2),
        "note": f"{size / 1e6:.1f} MB ({top.name} + SRAM model)",
    }


def _build(sim: str, rebuild: bool) -> tuple[SimBuild, Row]:
    build = build_simulator(sim)
    if rebuild and build.cached:
        shutil.rmtree(build.build_dir)
        build = build_simulator(sim, rtl=build.rtl)
    stamp = build.build_dir / "built.ok"
    seconds = build.seconds if not build.cached else float(stamp.read_text().strip() or 0)
    note = "recorded when built (cached now; --rebuild to time it again)" if build.cached else "built now"
    return build, {"name": f"{sim} build", "sim": sim, "seconds": round(seconds, 1), "note": note}


def _run_row(label: str, report: XCheckReport) -> Row:
    if not report.ok:
        raise RuntimeError(f"benchmark run {label} did not cross-check:\n{report.summary()}")
    run_s = report.rtl.run_seconds
    return {
        "name": label,
        "sim": report.sim,
        "cycles": report.rtl.cycle,
        "seconds": round(run_s, 3),
        "cycles_per_s": round(report.rtl.cycle / run_s) if run_s > 0 else None,
        "wall_s": round(report.rtl_seconds, 2),
        "note": f"load {report.rtl.load_seconds:.2f} s, read-back {report.rtl.readback_seconds:.2f} s",
    }


def _check(build: SimBuild, t: TestProgram, **kw: Any) -> XCheckReport:
    return cross_check(build, t.program, t.mem, name=f"bench-{t.name}", enable_pause=t.enable_pause, **kw)


def _small_loop(iterations: int) -> TestProgram:
    """A few engines per bundle in a counted loop (cheap enough for Icarus)."""
    program = Program.from_tuples(
        [
            {"load": [("const", 0, iterations - 1), ("const", 1, 1)]},
            {"alu": [("-", 0, 0, 1), ("+", 2, 2, 1)], "valu": [("+", 8, 8, 16)], "flow": [("cond_jump_rel", 0, -1)]},
        ]
    )
    return TestProgram(f"loop-{iterations}", program, [0] * 4)


def bench_rtl(rebuild: bool = False, icarus: bool = True) -> list[Row]:
    rows = [_generation_seconds()]
    verilator, row = _build("verilator", rebuild)
    rows.append(row)

    kernel = build_kernel("baseline")
    mem = Problem.generate(seed=123).memory_image()
    t0 = time.perf_counter()
    report = cross_check(verilator, kernel.program, mem, name="bench-baseline")
    row = _run_row("baseline kernel (1 slot/bundle)", report)
    row["note"] += f"; whole cross-check {time.perf_counter() - t0:.1f} s"
    rows.append(row)
    rows.append(_run_row("dense loop (23 slots/bundle)", _check(verilator, dense_loop_program(100_000))))
    vector = build_kernel("vector")
    lock = cross_check(verilator, vector.program, mem, name="bench-vector-lockstep", mode=RunMode.LOCKSTEP)
    rows.append(_run_row("vector kernel, lockstep", lock))

    if icarus:
        try:
            ic, row = _build("icarus", rebuild)
        except SimulatorUnavailable as e:
            rows.append({"name": "icarus", "sim": "icarus", "note": f"skipped: {e}"})
        else:
            rows.append(row)
            rows.append(_run_row("small loop", _check(ic, _small_loop(12))))
    return rows


def format_rows(rows: list[Row]) -> str:
    cols = ("name", "sim", "cycles", "seconds", "cycles_per_s", "wall_s", "note")
    text = [[str(r.get(c, "")) for c in cols] for r in rows]
    widths = [max(len(c), *(len(t[i]) for t in text)) for i, c in enumerate(cols)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(cols, widths))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(t, widths)) for t in text]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.bench_rtl", description=__doc__.splitlines()[0])
    ap.add_argument(
        "--rebuild", action="store_true", help="time fresh simulator builds (Verilator: ~1 min, both cores)"
    )
    ap.add_argument("--no-icarus", action="store_true")
    args = ap.parse_args(argv)
    rows = bench_rtl(rebuild=args.rebuild, icarus=not args.no_icarus)
    print(format_rows(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
