"""The kill suite: the cross-check's own programs, run against one mutant of
the netlist-mutation build, in two simulations (lockstep programs, then
free-running ones), stopping at the first simulation that kills it.

Taken from cocotb_tests (the suite whose teeth are being proved): the
per-engine directed programs (lockstep), one program per trap cause, pause
with pausing enabled and disabled, seeded random programs, and the tree-hash
kernels at a tiny shape (whose final values must also match the benchmark's
reference semantics).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from cocotb_tests.batch import cross_check_batch
from cocotb_tests.job import RunMode
from cocotb_tests.programs import TestProgram, directed_programs, pause_program, trap_programs
from cocotb_tests.randprog import random_program
from cocotb_tests.simbuild import SimBuild
from cocotb_tests.xcheck import XCheckReport, cross_check
from kernels.tree_hash import build as build_kernel
from pymodel.benchmark import Problem, Shape, reference_run, values_region
from pymodel.isa import MachineParams

RANDOM_SEEDS = range(4)
KERNEL_SHAPE = Shape(height=3, rounds=2, batch=16)  # a few dozen to a thousand cycles


@dataclass(frozen=True)
class KillTest:
    """One cross-check: a program and how to run it; ``extra`` checks more than RTL == model."""

    name: str
    program: TestProgram
    mode: RunMode = RunMode.FAST
    extra: Callable[[XCheckReport], str | None] | None = None  # returns why it failed, or None


@dataclass(frozen=True)
class TestOutcome:
    __test__ = False  # not a pytest class
    test: str
    passed: bool
    detail: str  # the first mismatch or divergence; "" when it passed
    seconds: float
    crashed: bool = False  # the run raised instead of comparing (the mutant, or the machinery?)


def _kernel_test(variant: str, params: MachineParams) -> KillTest:
    kernel = build_kernel(variant, KERNEL_SHAPE, params)
    mem = Problem.generate(KERNEL_SHAPE, seed=5).memory_image()
    want = values_region(reference_run(mem), KERNEL_SHAPE)

    def values_right(report: XCheckReport) -> str | None:
        got = values_region(report.rtl.mem, KERNEL_SHAPE)
        bad = [i for i, (w, g) in enumerate(zip(want, got)) if w != g]
        return None if not bad else f"values[{bad[0]}]: expected {want[bad[0]]}, actual {got[bad[0]]} (reference run)"

    name = f"tree_hash-{variant}"
    return KillTest(name, TestProgram(name, kernel.program, mem), extra=values_right)


def kill_suite(params: MachineParams) -> list[KillTest]:
    tests = [KillTest(t.name, t, RunMode.LOCKSTEP) for t in directed_programs(params)]
    tests += [KillTest(t.name, t) for t in trap_programs(params)]
    tests += [KillTest(t.name, t) for t in (pause_program(params, True), pause_program(params, False))]
    tests += [KillTest(f"random-{s}", random_program(s, params=params)) for s in RANDOM_SEEDS]
    tests += [_kernel_test(v, params) for v in ("vector", "baseline")]
    return tests


def first_difference(report: XCheckReport) -> str:
    """One line: the first diverging bundle when lockstep found it, else the first final-state mismatch."""
    div = report.divergence
    if div is not None and div.diffs:
        return f"cycle {div.cycle} pc {div.pc}: {div.diffs[0]}"
    return report.mismatches[0] if report.mismatches else "?"


def run_test(build: SimBuild, test: KillTest) -> TestOutcome:
    t0 = time.perf_counter()
    p = test.program
    try:
        report = cross_check(build, p.program, p.mem, name=p.name, enable_pause=p.enable_pause, mode=test.mode)
    except Exception as e:  # a mutant may also crash or hang the run: that fails the test too
        detail = f"run failed: {type(e).__name__}: {str(e).splitlines()[0]}"
        return TestOutcome(test.name, False, detail, _since(t0), crashed=True)
    if not report.ok:
        return TestOutcome(test.name, False, first_difference(report), _since(t0))
    why = test.extra(report) if test.extra else None
    return TestOutcome(test.name, why is None, why or "", _since(t0))


def _since(t0: float) -> float:
    return time.perf_counter() - t0


def run_suite(build: SimBuild, tests: list[KillTest], *, stop_at_first: bool = True) -> list[TestOutcome]:
    """Outcomes in order; with ``stop_at_first`` the last one is the first failure."""
    out = []
    for test in tests:
        outcome = run_test(build, test)
        out.append(outcome)
        if stop_at_first and not outcome.passed:
            break
    return out


def run_batches(build: SimBuild, tests: list[KillTest], mutant: int = 0) -> TestOutcome | None:
    """The suite on ``mutant`` in one simulation per run mode (later programs start on the
    core the one before left); the first failing test's outcome, or None when all pass."""
    slow = ("trap-trace-full", "tree_hash-baseline")  # thousands of cycles each: last, in their own simulation
    groups = [[t for t in tests if t.mode is RunMode.LOCKSTEP],
              [t for t in tests if t.mode is RunMode.FAST and t.name not in slow],
              [t for t in tests if t.mode is RunMode.FAST and t.name in slow]]  # fmt: skip
    for group in groups:
        mode = group[0].mode if group else RunMode.FAST
        if not group:
            continue
        t0 = time.perf_counter()
        try:
            reports = cross_check_batch(build, [t.program for t in group], mode=mode, mutant=mutant).reports
        except Exception as e:  # the simulation itself failed (e.g. X on a port): the mutant broke it
            return TestOutcome(group[0].name, False, f"run failed: {type(e).__name__}: {str(e).splitlines()[0]}",
                               _since(t0), crashed=True)  # fmt: skip
        for test, report in zip(group, reports):
            if not report.ok:
                return TestOutcome(test.name, False, first_difference(report), _since(t0))
            why = test.extra(report) if test.extra else None
            if why:
                return TestOutcome(test.name, False, why, _since(t0))
    return None
