"""`make sim`'s contract (tools.sim): the last line and the exit status, with the
simulator replaced by a stand-in (the real run is in cocotb_tests)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import tools.sim as sim_tool
from cocotb_tests.job import SimResult, TrapStatus
from cocotb_tests.model_side import ModelOutcome
from cocotb_tests.simbuild import RtlSources, SimBuild, SimulatorUnavailable
from cocotb_tests.xcheck import XCheckReport
from pymodel.benchmark import BENCHMARK_SHAPE, reference_run
from pymodel.isa import RunState


def _fake_build(sim: str, params: Any, waves: bool = False) -> SimBuild:
    return SimBuild(sim, Path("/nonexistent"), waves, RtlSources((), "0", 0.0), params, 0.0, True)


def _fake_cross_check(rtl_mem_edit: int | None):
    def fake(build: SimBuild, program: Any, mem: list[int], **kw: Any) -> XCheckReport:
        final = reference_run(mem)
        rtl_mem = list(final)
        mismatches = []
        if rtl_mem_edit is not None:
            rtl_mem[rtl_mem_edit] ^= 1
            mismatches.append(f"memory[{rtl_mem_edit}]: expected {final[rtl_mem_edit]}, actual {rtl_mem[rtl_mem_edit]}")
        model = ModelOutcome(RunState.HALTED, 1234, 9, None, final, [0], [], [], 0.1, "fast")
        rtl = SimResult(True, int(RunState.HALTED), 1234, 9, TrapStatus(0, 0, 0, 0), rtl_mem, [0], [])
        return XCheckReport("k", build.sim, mismatches, model, rtl, len(program))

    return fake


@pytest.mark.parametrize("edit", [None, 2400], ids=["match", "mismatch"])
def test_last_line_and_exit_status(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], edit: int | None
) -> None:
    monkeypatch.setattr(sim_tool, "build_simulator", _fake_build)
    monkeypatch.setattr(sim_tool, "cross_check", _fake_cross_check(edit))
    status = sim_tool.main(["--kernel", "vector", "--seed", "5"])
    out = capsys.readouterr().out
    last = out.strip().splitlines()[-1]
    verdict = "match" if edit is None else "MISMATCH"
    assert last == f"kernel=tree_hash/vector seed=5 cycles_model=1234 cycles_rtl=1234 memory={verdict}"
    assert status == (0 if edit is None else 1)
    if edit is not None:  # the edit is in the values region, which tools.sim also checks against reference_run
        assert BENCHMARK_SHAPE.values_p <= edit < BENCHMARK_SHAPE.values_p + BENCHMARK_SHAPE.batch
        assert "values vs reference_run  MISMATCH" in out


def test_missing_simulator_is_one_clear_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def missing(*a: Any, **kw: Any) -> SimBuild:
        raise SimulatorUnavailable("icarus is not installed: install the Debian package `iverilog`")

    monkeypatch.setattr(sim_tool, "build_simulator", missing)
    monkeypatch.setattr(sim_tool, "_model_cycles", lambda *a: 10)
    assert sim_tool.main(["--sim", "icarus"]) == 2
    assert "iverilog" in capsys.readouterr().err


def test_unknown_kernel(capsys: pytest.CaptureFixture[str]) -> None:
    assert sim_tool.main(["--kernel", "nope"]) == 2
    assert "unknown kernel 'nope'" in capsys.readouterr().err
