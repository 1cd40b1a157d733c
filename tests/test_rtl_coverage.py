"""tools.rtl_coverage's own parts: Verilator's coverage.dat read without verilator_coverage,
and Verilog lines mapped back to rtl/*.py lines through Yosys's src attributes."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from tools.rtl_coverage import Point, RetireCoverage, parse_dat, report, src_map


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


def test_src_map_and_report(tmp_path: Path) -> None:
    v = tmp_path / "vliw_core.v"
    v.write_text("\n".join([
        "module vliw_core(clk);",                             # 1
        '  (* src = "/r/rtl/core.py:210" *)',                 # 2
        "  always @(posedge clk) begin",                      # 3
        "    if (a) x <= 1;",                                 # 4
        '  (* src = "/v/amaranth/hdl/x.py:5|/r/rtl/trace.py:49" *)',  # 5
        "  always @* y = b;",                                 # 6
        "endmodule",                                          # 7
    ]))  # fmt: skip
    srcs = src_map(v)
    assert srcs[3] == srcs[4] == "core.py:210" and srcs[6] == "trace.py:49" and srcs[7] == ""
    pts = Counter({Point("v_line/m", "vliw_core.v", 3, "block", "h"): 4, Point("v_line/m", "vliw_core.v", 6, "block", "h"): 0})
    text, pct = report(pts, srcs, RetireCoverage(), 1.0, "test")
    assert pct == 50.0 and "| core | 1 | 1 | 100.0% |" in text and "rtl/trace.py:49" in text
