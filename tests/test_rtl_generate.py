"""The full-size Verilog: it is generated, and its top level has api.md's ports."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pymodel.isa import DEFAULT_PARAMS
from rtl.generate import TOP_MODULE, verilog_sources, write_verilog

# api.md, "The RTL core's top-level ports", at the default MachineParams:
A, IA, DA, BW, TA = 11, 18, 14, 1472, 10
NS, NM = 84, 16
PORTS = {
    "clk": ("input", 1), "rst": ("input", 1),
    "start": ("input", 1), "resume": ("input", 1), "pause_enable": ("input", 1),
    "prog_len": ("input", IA + 1), "mem_size": ("input", DA + 1),
    "state": ("output", 2), "cycle": ("output", 32), "pc": ("output", 32),
    "trap_cause": ("output", 3), "trap_pc": ("output", 32), "trap_engine": ("output", 3), "trap_slot": ("output", 4),
    "imem_we": ("input", 1), "imem_addr": ("input", IA), "imem_wdata": ("input", BW),
    "dmem_we": ("input", 1), "dmem_addr": ("input", DA), "dmem_wdata": ("input", 32), "dmem_rdata": ("output", 32),
    "scratch_addr": ("input", A), "scratch_rdata": ("output", 32),
    "trace_addr": ("input", TA), "trace_rdata": ("output", 32), "trace_count": ("output", TA + 1),
    "retire_valid": ("output", 1), "retire_pc": ("output", 32), "retire_next_pc": ("output", 32),
    "retire_trap": ("output", 1),
    "retire_swe": ("output", NS), "retire_swaddr": ("output", NS * A), "retire_swdata": ("output", NS * 32),
    "retire_mwe": ("output", NM), "retire_mwaddr": ("output", NM * DA), "retire_mwdata": ("output", NM * 32),
    "retire_trace_valid": ("output", 1), "retire_trace_data": ("output", 32),
}  # fmt: skip


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_verilog(DEFAULT_PARAMS, tmp_path_factory.mktemp("rtl"))


def top_module_text(path: Path) -> str:
    text = path.read_text()
    start = text.index(f"module {TOP_MODULE}(")
    return text[start : text.index("endmodule", start)]


def declared_ports(module: str) -> dict[str, tuple[str, int]]:
    ports = {}
    for direction, msb, name in re.findall(r"^\s*(input|output)\s+(?:\[(\d+):0\]\s+)?(\w+)\s*;", module, re.M):
        ports[name] = (direction, int(msb) + 1 if msb else 1)
    return ports


def test_generates_the_top_and_the_sram_model(generated: Path) -> None:
    top, sram = verilog_sources(generated)
    assert top.name == f"{TOP_MODULE}.v" and top.stat().st_size > 0
    text = sram.read_text()
    assert "module imem_sram" in text and '$value$plusargs("IMEM=%s"' in text and "$readmemh" in text


def test_top_level_has_exactly_the_agreed_ports(generated: Path) -> None:
    assert declared_ports(top_module_text(generated)) == PORTS


def test_instruction_memory_is_the_sram_instance_not_baked_in(generated: Path) -> None:
    text = generated.read_text()
    match = re.search(r"imem_sram\s*#\((.*?)\)\s*\\?[\w.$]+\s*\(", text, re.S)
    assert match, "the core must instantiate imem_sram"
    assert f"reg [{BW - 1}:0]" not in text, "no bundle-wide storage may be generated"
    params = dict(re.findall(r"\.(\w+)\(32'd(\d+)\)", match.group(1)))
    assert params == {"DEPTH": str(DEFAULT_PARAMS.imem_depth), "WIDTH": str(BW), "ADDR_BITS": str(IA)}
