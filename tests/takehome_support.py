"""Shared by the take-home / program-file tests: the fixture folders and a model-only
stand-in for the RTL (the real RTL runs in cocotb_tests/test_user_kernels.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import tools.sim as sim_tool
from cocotb_tests.job import SimResult, TrapStatus
from cocotb_tests.model_side import run_model
from cocotb_tests.simbuild import RtlSources, SimBuild
from cocotb_tests.xcheck import XCheckReport
from pymodel.encoding import to_hardware

FIXTURES = Path(__file__).parent / "fixtures"
TAKEHOME = FIXTURES / "takehome"
BAD = FIXTURES / "takehome_bad"
SMALL = ["--height", "3", "--rounds", "2", "--batch", "16"]


def fake_build(sim: str, params: Any, waves: bool = False) -> SimBuild:
    return SimBuild(sim, Path("/nonexistent"), waves, RtlSources((), "0", 0.0), params, 0.0, True)


def model_as_rtl(build: SimBuild, program: Any, mem: list[int], **kw: Any) -> XCheckReport:
    """The model on both sides: what the tools print around a passing cross-check."""
    hw = to_hardware(program, build.params)
    model = run_model(hw.program, mem, build.params, "fast", max_cycles=kw.get("max_cycles", 1 << 24))
    status = model.trap_status()
    rtl = SimResult(True, int(model.state), model.cycle, model.pc, TrapStatus(status.cause, status.pc, status.engine,
                    status.slot), list(model.mem), list(model.scratch), list(model.trace))  # fmt: skip
    return XCheckReport(kw.get("name", "p"), build.sim, [], model, rtl, len(hw.words), image=hw)


@pytest.fixture
def no_rtl(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sim_tool, "build_simulator", fake_build)
    monkeypatch.setattr(sim_tool, "cross_check", model_as_rtl)
