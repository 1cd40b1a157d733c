"""RTL vs golden model, bit for bit: kernels, per-engine directed programs,
traps, pauses, random programs, Icarus, and the lockstep divergence report."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from kernels.tree_hash import build as build_kernel
from pymodel import isa
from pymodel.benchmark import Problem, reference_run, values_region
from pymodel.encoding import to_hardware
from pymodel.isa import Engine, RunState
from pymodel.program import Program

from .job import ImemLoad, RunMode
from .programs import EDGE_VALUES, TestProgram, alu_program, directed_programs, pause_program, trap_programs
from .batch import cross_check_batch
from .randprog import generate, model_ending, random_program
from .simbuild import SimBuild
from .xcheck import XCheckReport, cross_check

pytestmark = pytest.mark.rtl
BASELINE_CYCLES = 147734


def check(build: SimBuild, t: TestProgram, **kw: Any) -> XCheckReport:
    report = cross_check(build, t.program, t.mem, name=t.name, enable_pause=t.enable_pause, **kw)
    assert report.ok, report.summary()
    assert report.rtl.finished and report.model.finished
    return report


def test_baseline_kernel(verilator: SimBuild) -> None:
    kernel = build_kernel("baseline")
    mem = Problem.generate(seed=123).memory_image()
    report = cross_check(verilator, kernel.program, mem, name="baseline")
    assert report.ok, report.summary()
    assert report.model.cycle == report.rtl.cycle == BASELINE_CYCLES
    shape = kernel.shape
    assert values_region(report.rtl.mem, shape) == values_region(reference_run(mem), shape)


def test_vector_kernel(verilator: SimBuild) -> None:
    kernel = build_kernel("vector")
    mem = Problem.generate(seed=7).memory_image()
    report = cross_check(verilator, kernel.program, mem, name="vector")
    assert report.ok, report.summary()
    assert values_region(report.rtl.mem, kernel.shape) == values_region(reference_run(mem), kernel.shape)


@pytest.fixture(scope="module")
def optimized_kernel() -> Any:
    return build_kernel("optimized")


@pytest.mark.parametrize("seed", [123, 5, 2026])
def test_optimized_kernel(verilator: SimBuild, optimized_kernel: Any, seed: int) -> None:
    kernel = optimized_kernel
    assert kernel.variant == "optimized"  # not the vector fallback
    mem = Problem.generate(kernel.shape, seed=seed).memory_image()
    report = cross_check(verilator, kernel.program, mem, name=f"optimized-{seed}")
    assert report.ok, report.summary()
    assert report.model.cycle == report.rtl.cycle < 1000
    assert values_region(report.rtl.mem, kernel.shape) == values_region(reference_run(mem), kernel.shape)


@pytest.mark.parametrize("t", directed_programs(), ids=lambda t: t.name)
def test_directed_engine_lockstep(verilator: SimBuild, t: TestProgram) -> None:
    report = check(verilator, t, mode=RunMode.LOCKSTEP)
    assert report.rtl.compared_records == report.model.cycle > 0


@pytest.mark.parametrize("t", trap_programs(), ids=lambda t: t.name)
def test_trap(verilator: SimBuild, t: TestProgram) -> None:
    report = check(verilator, t)
    assert report.model.state is RunState.TRAPPED and report.rtl.trap.cause == int(report.model.trap.cause)


def test_trap_follows_hardware_engine_order(verilator: SimBuild) -> None:
    t = next(t for t in trap_programs() if t.name == "trap-order-noncanonical")
    report = check(verilator, t)
    assert report.rtl.trap.cause == int(isa.TrapCause.DIV_ZERO)  # alu runs before load in hardware order
    assert any("traps first in load (MEM_RANGE)" in n for n in report.notes), report.notes


@pytest.mark.parametrize("enable_pause", [True, False], ids=["enabled", "disabled"])
def test_pause_resume(verilator: SimBuild, enable_pause: bool) -> None:
    t = pause_program(enable_pause=enable_pause)
    report = check(verilator, t)
    assert len(report.rtl.pauses) == (3 if enable_pause else 0)
    check(verilator, t, mode=RunMode.LOCKSTEP)


@pytest.mark.parametrize("seed", range(4))
def test_random_program(verilator: SimBuild, seed: int) -> None:
    check(verilator, random_program(seed), mode=RunMode.LOCKSTEP if seed == 0 else RunMode.FAST)


FUZZ_ENDINGS = ("HALTED", "DIV_ZERO", "SCRATCH_RANGE", "MEM_RANGE", "JUMP_NEGATIVE", "TRACE_FULL")


def test_random_programs_every_ending_lockstep(verilator: SimBuild) -> None:
    """The first fuzz seed of each ending (each trap cause, and pauses), in one lockstep batch."""
    chosen: dict[str, int] = {}
    for seed in range(400):
        kind, pauses = model_ending(seed)
        for key in (kind, "PAUSED" if pauses else ""):
            if key and key not in chosen:
                chosen[key] = seed
        if all(k in chosen for k in FUZZ_ENDINGS + ("PAUSED",)):
            break
    assert set(chosen) >= set(FUZZ_ENDINGS + ("PAUSED",)), chosen
    tests = [generate(s).to_test_program(f"fuzz-{s}-{k}") for k, s in chosen.items()]
    result = cross_check_batch(verilator, tests, mode=RunMode.LOCKSTEP)
    for report in result.reports:
        assert report.ok, report.summary()
        assert report.rtl.compared_records == report.model.cycle + (report.model.trap is not None) > 0
    assert {r.model.trap.cause.name for r in result.reports if r.model.trap} == set(FUZZ_ENDINGS[1:])


def test_imem_loaded_both_ways(verilator: SimBuild) -> None:
    t = directed_programs()[-1]  # flow: jumps exercise many rows
    for load in ImemLoad:
        check(verilator, t, imem_load=load)


def test_icarus_tiny_program(icarus: SimBuild) -> None:
    t = TestProgram(
        "icarus-tiny",
        Program.from_tuples(
            [
                {"load": [("const", 0, 3), ("const", 1, 0xFFFFFFFF)], "flow": [("trace_write", 1)]},
                {"alu": [("*", 2, 1, 1)], "valu": [("vbroadcast", 8, 1)], "load": [("load", 3, 0)]},
                {"store": [("store", 0, 2)], "flow": [("halt",)]},
            ]
        ),
        [5, 6, 7, 8],
    )
    check(icarus, t, imem_load=ImemLoad.PLUSARG)  # Icarus runs this core at about 1 cycle/s: no host-load cycles


def test_empty_program_compares_nothing_and_fails(verilator: SimBuild) -> None:
    report = cross_check(verilator, Program.from_tuples([{}]), [0], name="empty")
    assert not report.ok and any("compared nothing" in m for m in report.mismatches)


def test_unfinished_run_fails(verilator: SimBuild) -> None:
    forever = Program.from_tuples([{"flow": [("jump", 0)]}])
    report = cross_check(verilator, forever, [0], name="forever", max_cycles=300)
    assert not report.ok
    assert any("model did not finish" in m for m in report.mismatches)
    assert any("RTL did not finish" in m for m in report.mismatches)


FLIP = 0x100


@pytest.fixture
def broken_xor(monkeypatch: pytest.MonkeyPatch) -> None:
    """The reference model with ALU `^` deliberately wrong (the RTL is right)."""

    def wrong(x: Any, d: int, a: int, b: int) -> None:
        x.write_scratch(d, x.read_scratch(a) ^ x.read_scratch(b) ^ FLIP)

    spec = isa.lookup(Engine.ALU, "^")
    monkeypatch.setitem(isa._BY_KEY, (Engine.ALU, "^"), dataclasses.replace(spec, execute=wrong))


def test_lockstep_names_first_divergence(verilator: SimBuild, broken_xor: None) -> None:
    t = alu_program()
    hw = to_hardware(t.program)
    pc, slot, (d, a, b) = next(
        (pc, i, s.args) for pc, bundle in enumerate(hw.program) for e, i, s in bundle if e is Engine.ALU and s.op == "^"
    )
    report = cross_check(verilator, t.program, t.mem, name="broken-xor", model_engine="reference")
    assert not report.ok
    assert any(m.startswith(f"scratch[{d}]") for m in report.mismatches), report.summary()
    div = report.divergence  # found by the automatic lockstep rerun
    assert div is not None, report.summary()
    assert (div.pc, div.cycle) == (pc, pc)  # straight-line program: one cycle per bundle
    first = div.diffs[0]
    right = EDGE_VALUES[a] ^ EDGE_VALUES[b]
    assert (first.what, first.addr, first.expected, first.actual) == ("scratch", d, right ^ FLIP, right)
    assert first.port == f"alu{slot} lane 0"
    assert f"alu slot {slot} (^ {d} {a} {b})" in report.divergence_text
    assert "bundles before it" in report.divergence_text
