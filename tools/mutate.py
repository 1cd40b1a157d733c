"""Mutation check: build deliberately wrong cores and show the cross-check kills each.

    python -m tools.mutate [--only NAME ...] [--list] [--no-overlap]

First the kill suite (tools.mutate_suite) must pass on the real core --
otherwise a "kill" would mean nothing.  Then, one mutant at a time
(rtl/mutants.py), the core is generated with that bug, built with Verilator
(cached under build/mutants/, so a rerun with unchanged sources only reruns
the programs) and the suite runs until its first failing test.  Prints
``mutant | description | killed by | detail`` and ``N/N mutants killed``;
exits 1 if any mutant survives (or its result is inconclusive), 2 if the
real core fails the suite.

Builds run one at a time; the next mutant's Verilog is generated in one
worker process meanwhile (a build mostly compiles one big file, leaving a core
idle), unless ``--no-overlap``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import time
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass

from cocotb_tests.simbuild import RtlSources, SimBuild, SimBuildError, SimulatorUnavailable
from pymodel.isa import DEFAULT_PARAMS, MachineParams
from rtl.mutants import MUTANTS, Mutant, get_mutant

from .mutate_build import build, generate
from .mutate_suite import KillTest, TestOutcome, kill_suite, run_suite, run_test

SURVIVED = "SURVIVED"
INCONCLUSIVE = "ERROR"  # the machinery failed, not the mutant
DETAIL_WIDTH = 140

Design = str | None  # a mutant name, or None for the real core


@dataclass(frozen=True)
class MutantResult:
    mutant: Mutant
    killed_by: str  # the first failing test, SURVIVED or INCONCLUSIVE
    detail: str
    tests_run: int

    @property
    def killed(self) -> bool:
        return self.killed_by not in (SURVIVED, INCONCLUSIVE)


def _log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _verilog(params: MachineParams, designs: list[Design], overlap: bool) -> Iterator[RtlSources | SimBuildError]:
    """Each design's Verilog in order; with ``overlap`` the next is generated while the caller builds."""
    if not overlap:
        for d in designs:
            try:
                yield generate(params, d)
            except SimBuildError as e:
                yield e
        return
    pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
    try:
        pending: Future[RtlSources] = pool.submit(generate, params, designs[0])
        for i in range(len(designs)):
            current = pending
            if i + 1 < len(designs):
                pending = pool.submit(generate, params, designs[i + 1])  # runs once `current` is done
            try:
                yield current.result()
            except SimBuildError as e:
                yield e
    finally:  # also when the caller stops early
        pool.shutdown(wait=True, cancel_futures=True)


def _build(params: MachineParams, design: Design, rtl: RtlSources) -> tuple[SimBuild, str]:
    sim = build(params, design, rtl)
    gen = f"generated {rtl.seconds:.0f} s" if rtl.seconds else "Verilog cached"
    return sim, f"{gen}, {f'built {sim.seconds:.0f} s' if not sim.cached else 'build cached'}"


def try_mutant(
    params: MachineParams, mutant: Mutant, rtl: RtlSources, tests: list[KillTest], real_core: SimBuild
) -> MutantResult:
    t0 = time.perf_counter()
    try:
        sim, how = _build(params, mutant.name, rtl)
    except SimBuildError as e:
        return MutantResult(mutant, INCONCLUSIVE, str(e).splitlines()[0], 0)
    outcomes = run_suite(sim, tests)
    last = outcomes[-1]
    if last.passed:
        result = MutantResult(mutant, SURVIVED, "every test passed", len(outcomes))
    elif last.crashed and not _passes_on(real_core, tests, last):
        # the run failed to start or finish on the real core too: says nothing about the mutant
        result = MutantResult(mutant, INCONCLUSIVE, f"{last.test} also fails on the real core now: {last.detail}", 0)
    else:
        result = MutantResult(mutant, last.test, last.detail, len(outcomes))
    _log(f"{mutant.name}: {how}; {result.killed_by} after {result.tests_run} test(s), {time.perf_counter() - t0:.0f} s")
    return result


def _passes_on(real_core: SimBuild, tests: list[KillTest], outcome: TestOutcome) -> bool:
    test = next(t for t in tests if t.name == outcome.test)
    return run_test(real_core, test).passed


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def format_table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(r: list[str]) -> str:
        return " | ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip()

    return "\n".join([line(header), "-+-".join("-" * w for w in widths), *map(line, rows)])


def report(results: list[MutantResult]) -> str:
    rows = [[r.mutant.name, r.mutant.description, r.killed_by, _clip(r.detail, DETAIL_WIDTH)] for r in results]
    table = format_table(rows, ["mutant", "description", "killed by", "detail (first divergence)"])
    killed = sum(r.killed for r in results)
    return f"{table}\n\n{killed}/{len(results)} mutants killed"


def list_mutants() -> str:
    return format_table([[m.name, m.area, m.description] for m in MUTANTS], ["mutant", "area", "description"])


def campaign(params: MachineParams, mutants: list[Mutant], *, overlap: bool = True) -> int:
    t0 = time.perf_counter()
    tests = kill_suite(params)
    verilog = _verilog(params, [None, *(m.name for m in mutants)], overlap)
    try:
        rtl = next(verilog)
        if isinstance(rtl, SimBuildError):
            raise rtl
        real_core, how = _build(params, None, rtl)
    except (SimulatorUnavailable, SimBuildError) as e:
        print(f"error: the real core could not be built: {e}", file=sys.stderr)
        return 2
    _log(f"real core: {how}; running the {len(tests)}-test kill suite")
    baseline = run_suite(real_core, tests)
    if not baseline[-1].passed:
        bad = baseline[-1]
        print(f"error: the kill suite fails on the real core ({bad.test}: {bad.detail}); kills would mean nothing")
        return 2
    _log(f"real core passes all {len(tests)} tests ({sum(o.seconds for o in baseline):.0f} s)")
    results = []
    for mutant, rtl in zip(mutants, verilog):
        if isinstance(rtl, SimBuildError):
            results.append(MutantResult(mutant, INCONCLUSIVE, str(rtl).splitlines()[0], 0))
        else:
            results.append(try_mutant(params, mutant, rtl, tests, real_core))
    print(report(results))
    print(f"wall time {time.perf_counter() - t0:.0f} s; kill suite of {len(tests)} tests passes on the real core")
    return 0 if all(r.killed for r in results) else 1


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.mutate", description=__doc__.splitlines()[0])
    ap.add_argument("--only", metavar="NAME", action="append", help="run only this mutant (repeatable)")
    ap.add_argument("--list", action="store_true", help="list the mutant catalogue and exit")
    ap.add_argument("--no-overlap", action="store_true", help="do not generate the next mutant during a build")
    args = ap.parse_args(argv)
    if args.list:
        print(list_mutants())
        return 0
    try:
        mutants = [get_mutant(n) for n in args.only] if args.only else list(MUTANTS)
    except ValueError as e:
        ap.error(str(e))
    return campaign(DEFAULT_PARAMS, mutants, overlap=not args.no_overlap)


if __name__ == "__main__":
    raise SystemExit(main())
