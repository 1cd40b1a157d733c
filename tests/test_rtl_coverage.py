"""tools.rtl_coverage's own parts: Verilator's coverage.dat read without verilator_coverage,
Verilog nets mapped back to rtl/*.py line points through Yosys's src attributes, the line
verdicts (toggled both ways), the field-bit reasons and the tool's directed programs."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from pymodel.isa import DEFAULT_PARAMS, RunState
from pymodel.machine import run_program
from tools.rtl_coverage import (
    Point,
    RetireCoverage,
    field_reach,
    field_walk,
    line_outputs,
    line_verdicts,
    load_points,
    netlist_lines,
    parse_dat,
    report,
    save_points,
    src_map,
    toggles_by_signal,
)


def _c(**kv: str) -> str:
    return "C '" + "".join(f"\x01{k}\x02{v}" for k, v in kv.items()) + "'"


def test_parse_dat_sums_points(tmp_path: Path) -> None:
    dat = tmp_path / "coverage.dat"
    line = _c(t="line", page="v_line/vliw_core", f="/b/vliw_core.v", l="12", n="0", o="block", h="TOP.vliw_core")
    tog = _c(t="toggle", page="v_toggle/vliw_core", f="/b/vliw_core.v", l="5", o="dec_alu0.slot.op[1]:0->1",
             h="TOP.vliw_core")
    dat.write_text(f"# SystemC::Coverage-3\n{line} 3\n{line} 2\n{tog} 0\n")
    got = parse_dat(dat)
    assert got[Point("v_line/vliw_core", "vliw_core.v", 12, "block", "TOP.vliw_core")] == 5
    assert got[Point("v_toggle/vliw_core", "vliw_core.v", 5, "dec_alu0.slot.op[1]:0->1", "TOP.vliw_core")] == 0


# A miniature of Yosys's write_verilog output (the shapes tools.rtl_coverage reads).
VERILOG = [
    "module vliw_core(clk, a, q);",                                                          # 1
    '  (* src = "/r/rtl/core.py:40" *)',                                                     # 2
    "  reg [1:0] state;",                                                                    # 3
    '  (* src = "/r/rtl/alu.py:58" *)',                                                      # 4
    "  wire [31:0] \\alu0.a ;",                                                              # 5
    '  (* src = "/r/rtl/alu.py:58" *)',                                                      # 6
    "  wire [31:0] \\alu1.a ;",                                                              # 7
    "  wire \\$flatten\\alu0.$3 ;",                                                          # 8
    "  wire \\$flatten\\alu1.$3 ;",                                                          # 9
    "  wire [7:0] \\$5 ;",                                                                   # 10
    '  (* src = "/r/rtl/dmem.py:41" *)',                                                     # 11
    "  reg [31:0] \\dmem.mem  [15:0];",                                                      # 12
    "  wire [31:0] \\dmem.rd ;",                                                             # 13
    '  assign \\$flatten\\alu0.$3  = \\alu0.a  < (* src = "/r/rtl/alu.py:44" *) 32\'d5;',  # 14
    '  assign \\$flatten\\alu1.$3  = \\alu1.a  < (* src = "/r/rtl/alu.py:44" *) 32\'d5;',  # 15
    '  assign \\$5  = (* src = "/r/rtl/trap.py:9" *) 8\'h00;',                              # 16
    "  assign \\dmem.rd  = \\dmem.mem [a];",                                                 # 17
    '  (* src = "/r/rtl/core.py:42" *)',                                                     # 18
    "  always @(posedge clk)",                                                               # 19
    "    state <= \\$5 [1:0];",                                                              # 20
    "  always @* begin",                                                                     # 21
    "    state = 2'h1;",                                                                     # 22
    "  end",                                                                                 # 23
    "  wire [7:0] \\$6 ;",                                                                  # 24
    "  wire \\$7 ;",                                                                        # 25
    '  assign \\$6  = a + (* src = "/r/rtl/lsu.py:7" *) 8\'h01;',                           # 26
    '  assign \\$7  = \\$6  == (* src = "/r/rtl/lsu.py:7" *) 8\'h03;',                     # 27
    "endmodule",                                                                             # 28
]  # fmt: skip


def _tog(line: int, name: str, bit: int | None, up: int, down: int) -> Counter:
    b = f"[{bit}]" if bit is not None else ""
    return Counter({Point("v_toggle/vliw_core", "vliw_core.v", line, f"{name}{b}:0->1", "vliw_core"): up,
                    Point("v_toggle/vliw_core", "vliw_core.v", line, f"{name}{b}:1->0", "vliw_core"): down})


def _pts(*parts: Counter) -> Counter:
    out: Counter = Counter()
    for p in parts:
        out.update(p)  # keeps zero counts (Counter's + would drop them)
    return out


def test_netlist_lines_maps_declarations_cells_flops_and_memories(tmp_path: Path) -> None:
    v = tmp_path / "vliw_core.v"
    v.write_text("\n".join(VERILOG))
    nl = netlist_lines(v)
    assert nl.nets["core.py:40"] == {"state"} and nl.nets["core.py:42"] == {"state"}  # declared; a flop's register
    assert nl.nets["alu.py:58"] == {"alu0.a", "alu1.a"}
    assert nl.nets["alu.py:44"] == {"$flatten\\alu0.$3", "$flatten\\alu1.$3"}  # inline cell src -> the assign's lhs
    assert nl.nets["dmem.py:41"] == {"dmem.mem"} and nl.loads["dmem.mem"] == {"dmem.rd"}
    assert nl.literal_only["trap.py:9"] and not nl.literal_only["alu.py:44"]
    assert nl.declared_at[5] == "alu0.a" and nl.declared_at[8] == "$flatten\\alu0.$3"


def test_line_verdicts_need_both_toggles_and_use_proxies(tmp_path: Path) -> None:
    v = tmp_path / "vliw_core.v"
    v.write_text("\n".join(VERILOG))
    nl = netlist_lines(v)
    pts = _pts(_tog(3, "state", 0, 1, 1), _tog(5, "alu0__02ea", 7, 3, 2), _tog(7, "alu1__02ea", 7, 0, 0),
               _tog(8, "__024flatten__05calu0__02e__0243", None, 1, 0),  # one way only: not covered
               _tog(9, "__024flatten__05calu1__02e__0243", None, 0, 0), _tog(10, "__0245", 0, 0, 0),
               _tog(13, "dmem__02erd", 4, 2, 2))
    tog = toggles_by_signal(pts, nl.declared_at)
    assert tog["alu0.a"][7] == [3, 2] and tog["$flatten\\alu0.$3"][0] == [1, 0]
    # the toggle point's own text, when its declaration line is unknown: Verilator's escapes decoded
    assert toggles_by_signal(_tog(999, "dec_alu0__02eslot__02eop", 3, 1, 1), {})["dec_alu0.slot.op"][3] == [1, 1]
    got = line_verdicts(nl, tog)
    assert got["core.py:40"].covered and got["core.py:40"].all_instances
    assert got["alu.py:58"].covered and not got["alu.py:58"].all_instances and got["alu.py:58"].instances == 2
    assert not got["alu.py:44"].covered and got["alu.py:44"].measured
    assert not got["trap.py:9"].covered and got["trap.py:9"].constant
    assert got["dmem.py:41"].covered  # the memory (no toggle points) judged by its read port
    # lsu.py:7 computes $7 = ($6 = a + 1) == 3: only its output $7 counts, not the intermediate adder
    assert line_outputs(nl, "lsu.py:7") == {"$7"}
    tog = toggles_by_signal(_pts(pts, _tog(24, "__0246", 0, 5, 5), _tog(25, "__0247", None, 0, 0)), nl.declared_at)
    assert not line_verdicts(nl, tog)["lsu.py:7"].covered
    tog = toggles_by_signal(_pts(pts, _tog(24, "__0246", 0, 5, 5), _tog(25, "__0247", None, 1, 1)), nl.declared_at)
    assert line_verdicts(nl, tog)["lsu.py:7"].covered


def test_src_map_and_report(tmp_path: Path) -> None:
    v = tmp_path / "vliw_core.v"
    v.write_text("\n".join(VERILOG))
    srcs = src_map(v)
    assert srcs[16] == "trap.py:9" and srcs[22] == "core.py:40"  # in a process: the driven signal's line
    nl = netlist_lines(v)
    pts = _pts(_tog(3, "state", 0, 1, 1), _tog(5, "alu0__02ea", 7, 3, 2), _tog(7, "alu1__02ea", 7, 0, 0),
               _tog(8, "__024flatten__05calu0__02e__0243", None, 1, 0), _tog(10, "__0245", 0, 0, 0),
               _tog(13, "dmem__02erd", 4, 2, 2),
               Counter({Point("v_line/vliw_core", "vliw_core.v", 19, "block", "h"): 4}))
    text, pct, gaps = report(pts, nl, srcs, RetireCoverage(), 1.0, "test")
    # 7 line points: core 40, 42; alu 58 (covered), 44 (one way only); dmem 41 (proxy); trap 9 (constant);
    # lsu 7 (no toggle points at all)
    assert pct == 100.0 * 4 / 7 and "rtl/lsu.py:7 " in text and "(no net of it has toggle points)" in text
    assert "| core | 2 | 2 | 100.0% | 2 | 1/1 |" in text and "| alu | 2 | 1 | 50.0% | 0 |" in text
    assert "rtl/trap.py:9 " in text and "constant-tied" in text
    assert "rtl/alu.py:44 " in text and "NOT EXPLAINED" in text  # no reason known: flagged, not hidden
    assert "rtl/alu.py:58 " in text and ": 1 of 2: alu1" in text  # covered in alu0 only
    assert gaps == ["rtl/alu.py:44: uncovered, NOT EXPLAINED", "rtl/lsu.py:7: uncovered, NOT EXPLAINED"]


def test_points_file_round_trip(tmp_path: Path) -> None:
    pts = _tog(3, "state", 0, 1, 1)
    rc = RetireCoverage({("alu", "+")}, Counter(DIV_ZERO=2), Counter(HALTED=3), 5, 99)
    save_points(tmp_path / "p.json", pts, rc, "some programs", 12.5)
    got, rc2, what, secs = load_points(tmp_path / "p.json")
    assert got == pts and rc2 == rc and what == "some programs" and secs == 12.5


def test_field_reach_reasons() -> None:
    r = field_reach(DEFAULT_PARAMS)
    assert set(r[("alu", "op")]) == {4, 5}  # opcodes 1..13
    assert set(r[("load", "op")]) == {3, 4, 5} and set(r[("store", "op")]) == {2, 3, 4, 5}
    assert set(r[("alu", "illegal")]) == {0}
    assert set(r[("alu", "src3")]) == set(range(11)) and set(r[("store", "dst")]) == set(range(11))
    assert not r[("valu", "src3")] and not r[("flow", "imm")] and not r[("alu", "dst")]
    assert set(r[("alu", "imm")]) == set(range(11, 32))  # past SRC2, which the imm region starts with
    assert set(r[("valu", "imm")]) == set(range(22, 32))  # past SRC3 (multiply_add)


def test_field_walk_runs_clean_on_the_model() -> None:
    fw = field_walk(DEFAULT_PARAMS)
    m = run_program(fw.program, fw.mem, DEFAULT_PARAMS)
    assert m.state is RunState.HALTED and m.trap is None
    # every scratch operand field of every slot position of alu/valu/load/store: each bit set, then clear
    from pymodel.isa import lookup

    seen: dict[tuple[str, int, str], list[int]] = {}
    for bundle in fw.program.bundles:
        for engine, slots in bundle.groups:
            for i, slot in enumerate(slots):
                for o, v in zip(lookup(engine, slot.op).operands, slot.args):
                    seen.setdefault((engine.value, i, o.field.value), []).append(v)
    want = {("alu", "dst"), ("alu", "src1"), ("alu", "src2"), ("valu", "dst"), ("valu", "src1"), ("valu", "src2"),
            ("valu", "src3"), ("load", "dst"), ("load", "src1"), ("store", "src1"), ("store", "src2")}  # fmt: skip
    for (engine, i, f), values in seen.items():
        if (engine, f) not in want:
            continue
        for b in range(DEFAULT_PARAMS.addr_bits):
            on = [k for k, v in enumerate(values) if v >> b & 1]
            assert on and any(not values[k] >> b & 1 for k in range(on[0] + 1, len(values))), (engine, i, f, b)
    assert {(e, f) for e, _i, f in seen} >= want


def _line_of(unit: str, text: str) -> str:
    lines = (Path(__file__).parent.parent / "rtl" / f"{unit}.py").read_text().splitlines()
    return f"{unit}.py:{next(i for i, s in enumerate(lines, start=1) if text in s)}"


def test_line_points_of_the_real_netlist() -> None:
    """The core's Verilog with src attributes (Yosys only, ~11 s, cached under build/coverage-rtl):
    its line points land on real rtl lines, a lane's adder in every ALU/VALU lane instance, the pc
    flop on the pc register, and every rtl unit that makes logic has points."""
    from tools.rtl_coverage import instance_of, verilog_with_src

    nl = netlist_lines(verilog_with_src(DEFAULT_PARAMS).files[0])
    root = Path(__file__).parent.parent / "rtl"
    for loc in nl.nets:
        unit, ln = loc.split(".py:")
        assert 0 < int(ln) <= len((root / f"{unit}.py").read_text().splitlines()), loc
    add = nl.nets[_line_of("alu", '"+": (a + b)')]
    insts = {instance_of(n) for n in add}
    want = {f"alu{i}" for i in range(DEFAULT_PARAMS.alu_slots)} | {f"valu{i}" for i in range(DEFAULT_PARAMS.valu_slots)}
    assert insts == want
    assert "pc" in nl.nets[_line_of("core", '"pc": Out(')]
    units = {loc.split(".py:")[0] for loc in nl.nets}
    assert units >= {"alu", "core", "decode", "dmem", "flow", "imem", "lsu", "priority", "regfile", "trace", "trap",
                     "valu"}  # fmt: skip


def test_field_bits_grouped_by_reason_and_reachable_ones_flagged() -> None:
    from tools.rtl_coverage import _field_section

    tog: dict = {}
    for s in range(DEFAULT_PARAMS.alu_slots):
        tog[f"dec_alu{s}.slot.op"] = {b: [1, 1] if b < 4 else [0, 0] for b in range(6)}
        tog[f"dec_alu{s}.slot.dst"] = {b: [0, 0] if (b == 9 and s == 3) else [2, 2] for b in range(11)}
    lines, reachable = _field_section(tog, DEFAULT_PARAMS)
    text = "\n".join(lines)
    assert "- alu op[4-5] (every slot): constant 0 by construction: no alu opcode has these bits" in text
    assert "| alu | dst | 132 | 131 (99.2%) | 1 |" in text
    assert reachable == ["alu dst[9] (slots 3)"]  # the encoder can set it: a gap, not a reason
