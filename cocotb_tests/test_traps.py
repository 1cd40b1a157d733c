"""Traps on both sides: every cause in the places the spec names (division by
zero in alu and valu, scratch and memory out of range incl. a vector's last
lane, a relative jump before bundle 0, a full trace buffer).  Model and RTL
must agree on cause, pc, engine, slot and cycle and on the whole state at the
trap, and both must match the spec: nothing of the trapping bundle commits."""

from __future__ import annotations

import pytest

from pymodel.coverage import SESSION
from pymodel.isa import RunState, TrapCause

from .conformance import Conformance, model_diffs, rtl_diffs
from .conformance_traps import trap_case, trap_programs
from .job import ImemLoad
from .simbuild import SimBuild
from .xcheck import cross_check

TRAPS = trap_programs()


def test_every_cause_is_exercised() -> None:
    causes = {c.expect.trap.cause for c in TRAPS if c.expect.trap}
    assert causes == {
        TrapCause.DIV_ZERO,
        TrapCause.SCRATCH_RANGE,
        TrapCause.MEM_RANGE,
        TrapCause.JUMP_NEGATIVE,
        TrapCause.TRACE_FULL,
    }


@pytest.mark.parametrize("engine", ["reference", "fast"])
@pytest.mark.parametrize("c", TRAPS, ids=lambda c: c.name)
def test_model_traps_as_spec(c: Conformance, engine: str) -> None:
    assert model_diffs(c, engine) == []
    SESSION.record(c.program, c.mem)


@pytest.mark.rtl
@pytest.mark.parametrize("c", TRAPS, ids=lambda c: c.name)
def test_rtl_traps_as_model_and_spec(verilator: SimBuild, c: Conformance) -> None:
    report = cross_check(verilator, c.program, c.mem, name=c.name)
    assert report.ok, report.summary()  # cause, pc, engine, slot, cycle, scratch, memory, trace
    assert RunState(report.rtl.state) is RunState.TRAPPED
    assert rtl_diffs(c, report.rtl) == []


def test_jump_past_the_end_is_not_a_trap() -> None:
    from .conformance_flow import jump_end_programs

    for c in jump_end_programs():
        assert c.expect.state is RunState.HALTED and c.expect.trap is None
        assert model_diffs(c) == []


@pytest.mark.rtl
@pytest.mark.icarus
def test_icarus_valu_trap(icarus: SimBuild) -> None:
    """One short trap on Icarus (it runs this core at a few cycles per second)."""
    from pymodel.isa import Engine

    from .conformance_traps import DZ3, DZ7

    c = trap_case("icarus-valu-mod-zero", Engine.VALU, 5, ("%", 800, DZ7, DZ3), TrapCause.DIV_ZERO)
    report = cross_check(icarus, c.program, c.mem, name=c.name, imem_load=ImemLoad.PLUSARG)
    assert report.ok, report.summary()
    assert rtl_diffs(c, report.rtl) == []
