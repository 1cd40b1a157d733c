"""Directed conformance: every op of every engine in every slot position on
edge values, and the spec's quirks, on both model engines and the RTL; each
result checked against the spec's expected values and the model."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from pymodel import isa
from pymodel.coverage import SESSION, Coverage, collect, measure
from pymodel.encoding import EncodingError, to_hardware
from pymodel.isa import Engine
from pymodel.machine import Machine

from .conformance import Builder, Conformance, alu_rotation, model_diffs, rtl_diffs, valu_rotation
from .conformance_flow import flow_ops, full_bundle_with_halt, jump_end_programs, memory_ops
from .conformance_quirks import hw_order_conflict, pause, priority, zero_cost
from .conformance_traps import trap_programs
from .job import ImemLoad, RunMode
from .simbuild import SimBuild
from . import xcheck
from .xcheck import cross_check

PROGRAMS = [
    alu_rotation(),
    valu_rotation(),
    memory_ops(),
    flow_ops(),
    *jump_end_programs(),
    priority(),
    zero_cost(),
    pause(enable_pause=True),
    pause(enable_pause=False),
]
LOCKSTEP = {"conf-alu-rotation", "conf-priority", "conf-flow", "conf-pause-on"}  # every retired bundle compared


@pytest.mark.parametrize("engine", ["reference", "fast"])
@pytest.mark.parametrize("c", PROGRAMS, ids=lambda c: c.name)
def test_model_meets_spec(c: Conformance, engine: str) -> None:
    assert model_diffs(c, engine) == [], c.name
    SESSION.record(c.program, c.mem, enable_pause=c.enable_pause)


@pytest.mark.rtl
@pytest.mark.parametrize("c", PROGRAMS, ids=lambda c: c.name)
def test_rtl_meets_spec(verilator: SimBuild, c: Conformance) -> None:
    mode = RunMode.LOCKSTEP if c.name in LOCKSTEP else RunMode.FAST
    report = cross_check(verilator, c.program, c.mem, name=c.name, enable_pause=c.enable_pause, mode=mode)
    assert report.ok, report.summary()
    assert rtl_diffs(c, report.rtl) == []


def test_out_of_order_conflict_is_refused() -> None:
    """Listed valu, alu, both writing word 600: the model follows the listing
    (alu wins: 44); the hardware order would give valu's 11, so the image is refused."""
    program = hw_order_conflict()
    m = Machine(program, [0])
    m.run_to_end()
    assert m.cores[0].scratch[600] == 44 and m.cores[0].scratch[601] == 11
    with pytest.raises(EncodingError, match=r"scratch word 600 .*reorder.* at bundle 1"):
        to_hardware(program)


def test_suite_covers_every_slot_position_and_quirk() -> None:
    cov = Coverage()
    for c in PROGRAMS + trap_programs():
        cov.merge(collect(c.program, c.mem, enable_pause=c.enable_pause))
    results = {r.name: r for r in measure(cov)}
    for name, r in results.items():
        assert r.holes == [], f"{name}: {r.holes}"
    # every op of the default machine in every slot position of its engine (from the table)
    want = sum(len(list(isa.ops_of(e))) * isa.DEFAULT_PARAMS.slot_limit(e) for e in isa.HW_ENGINES)
    assert results["op x slot position"].total == want


def test_cross_checks_feed_the_session_coverage() -> None:
    """conftest wraps cross_check (and the batch form) so every program they run is observed."""
    from . import batch

    assert cross_check is xcheck.cross_check and getattr(cross_check, "records_coverage", False)
    assert getattr(batch.cross_check_batch, "records_coverage", False)


def test_spec_expectations_catch_a_wrong_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """A model and RTL sharing a misreading (here: >> by 32 or more keeps a >> (b mod 32))
    would agree with each other; the spec expectations still fail."""

    def wrong(x: Any, d: int, a: int, b: int) -> None:
        x.write_scratch(d, x.read_scratch(a) >> (x.read_scratch(b) % 32))

    spec = isa.lookup(Engine.ALU, ">>")
    monkeypatch.setitem(isa._BY_KEY, (Engine.ALU, ">>"), dataclasses.replace(spec, execute=wrong))
    diffs = model_diffs(alu_rotation(), "reference")
    assert diffs and all(d.startswith("scratch[") for d in diffs)


@pytest.mark.rtl
@pytest.mark.icarus
def test_icarus_every_engine(icarus: SimBuild) -> None:
    """A few cycles on Icarus: every slot position busy in one bundle, then halt."""
    tiny = _every_slot_program()
    report = cross_check(icarus, tiny.program, tiny.mem, name=tiny.name, imem_load=ImemLoad.PLUSARG)
    assert report.ok, report.summary()
    assert rtl_diffs(tiny, report.rtl) == []


def _every_slot_program() -> Conformance:
    b = Builder()
    b.consts(1404, [11, 22])
    b.consts(1400, [0, 1])
    b.bundles.append(full_bundle_with_halt(b, b.params))
    return b.done("conf-icarus-every-slot", [0, 0, 0, 0])
