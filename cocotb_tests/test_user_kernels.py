"""`make sim PROGRAM=... MEM=...` and `make sim TAKEHOME=...` on Verilator: a program file
and the project's take-home-style fixtures, model vs RTL, with the RTL's Perfetto
trace checked against the model's.  Small shapes: a few seconds of simulation."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import tools.sim as sim_tool
from cocotb_tests.simbuild import SimBuild
from kernels.cli import main as kernels_main

pytestmark = pytest.mark.rtl

TAKEHOME = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "takehome"
SHAPE = ["--height", "3", "--rounds", "2", "--batch", "16"]


def _last(out: str) -> str:
    return out.strip().splitlines()[-1]


def test_program_file_on_model_and_rtl(verilator: SimBuild, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    prog, mem = tmp_path / "prog.json", tmp_path / "mem.json"
    argv = ["build", "tree_hash", "--variant", "vector", "--seed", "11", *SHAPE, "--out", str(prog), "--mem-out", str(mem)]
    assert kernels_main(argv) == 0
    capsys.readouterr()
    assert sim_tool.main(["--program", str(prog), "--mem", str(mem)]) == 0
    out = capsys.readouterr().out
    m = re.fullmatch(r"program=prog cycles_model=(\d+) cycles_rtl=(\d+) memory=match", _last(out))
    assert m and m.group(1) == m.group(2), out
    assert "RTL (verilator)" in out and "values vs reference_run  match" in out


def test_takehome_kernel_on_model_and_rtl_with_traces(
    verilator: SimBuild, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--takehome", str(TAKEHOME / "perf_takehome_vector.py"), *SHAPE, "--seeds", "2", "--debug", "--trace",
            "--trace-dir", str(tmp_path)]  # fmt: skip
    assert sim_tool.main(argv) == 0
    out = capsys.readouterr().out
    assert _last(out) == "takehome=perf_takehome_vector correct=8/8 cycles_model=121 cycles_rtl=121 memory=match", out
    assert out.count("cycles_model=121 cycles_rtl=121 memory=match") == 3  # two RTL seeds and the final line
    model = json.loads((tmp_path / "perf_takehome_vector.model.json").read_text())
    rtl = json.loads((tmp_path / "perf_takehome_vector.rtl.json").read_text())
    assert len(rtl["traceEvents"]) == len(model["traceEvents"]) > 121
    assert rtl["traceEvents"] == model["traceEvents"]  # same tracks, ops, pcs and scratch counters
    assert f"({len(rtl['traceEvents'])} events" in out and "same event count" in out


def test_a_wrong_takehome_kernel_is_wrong_on_both_sides_alike(
    verilator: SimBuild, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--takehome", str(TAKEHOME / "perf_takehome_wrong.py"), *SHAPE, "--model-seeds", "2"]
    assert sim_tool.main(argv) == 1
    out = capsys.readouterr().out
    assert "WRONG: item 0" in out
    assert re.fullmatch(r"takehome=perf_takehome_wrong correct=0/2 cycles_model=(\d+) cycles_rtl=\1 memory=match",
                        _last(out)), out  # fmt: skip
