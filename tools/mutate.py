"""Mutation check: build deliberately wrong cores and show the cross-check kills each.

    python -m tools.mutate [--only NAME ...] [--list]

First the kill suite (tools.mutate_suite) must pass on the real core --
otherwise a "kill" would mean nothing.  Then, one mutant at a time
(rtl/mutants.py), the core is generated with that bug, built with Verilator
(cached under build/mutants/, so a rerun with unchanged sources only reruns
the programs) and the suite runs until its first failing test.  Prints
``mutant | description | killed by | detail`` and ``N/N mutants killed``;
exits 1 if any mutant survives (or could not be built), 2 if the real core fails.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass

from cocotb_tests.simbuild import SimBuild, SimBuildError, SimulatorUnavailable
from pymodel.isa import DEFAULT_PARAMS, MachineParams
from rtl.mutants import MUTANTS, Mutant, get_mutant

from .mutate_build import build, generate
from .mutate_suite import KillTest, TestOutcome, kill_suite, run_suite

SURVIVED = "SURVIVED"
DETAIL_WIDTH = 110


@dataclass(frozen=True)
class MutantResult:
    mutant: Mutant
    killed_by: str  # the first failing test, SURVIVED, or "build error"
    detail: str
    tests_run: int
    build_seconds: float  # generation + build (0 when both were cached)
    run_seconds: float

    @property
    def killed(self) -> bool:
        return self.killed_by not in (SURVIVED, "build error")


def _log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _prepare(params: MachineParams, mutant: str | None) -> tuple[SimBuild, float, str]:
    t0 = time.perf_counter()
    rtl = generate(params, mutant)
    sim = build(params, mutant, rtl)
    how = "cached" if sim.cached and not rtl.seconds else f"generated {rtl.seconds:.0f} s, built {sim.seconds:.0f} s"
    return sim, time.perf_counter() - t0, how


def check_baseline(params: MachineParams, tests: list[KillTest]) -> list[TestOutcome]:
    sim, seconds, how = _prepare(params, None)
    _log(f"real core: {how}; running {len(tests)} tests")
    return run_suite(sim, tests)


def try_mutant(params: MachineParams, mutant: Mutant, tests: list[KillTest]) -> MutantResult:
    try:
        sim, build_s, how = _prepare(params, mutant.name)
    except SimBuildError as e:
        return MutantResult(mutant, "build error", str(e).splitlines()[0], 0, 0.0, 0.0)
    t0 = time.perf_counter()
    outcomes = run_suite(sim, tests)
    run_s = time.perf_counter() - t0
    last = outcomes[-1]
    killed_by, detail = (last.test, last.detail) if not last.passed else (SURVIVED, "every test passed")
    _log(f"{mutant.name}: {how}; {killed_by} after {len(outcomes)} test(s), {run_s:.1f} s")
    return MutantResult(mutant, killed_by, detail, len(outcomes), build_s, run_s)


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def format_table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    line = lambda r: " | ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip()  # noqa: E731
    return "\n".join([line(header), "-+-".join("-" * w for w in widths), *map(line, rows)])


def report(results: list[MutantResult]) -> str:
    rows = [[r.mutant.name, r.mutant.description, r.killed_by, _clip(r.detail, DETAIL_WIDTH)] for r in results]
    table = format_table(rows, ["mutant", "description", "killed by", "detail (first divergence)"])
    killed = sum(r.killed for r in results)
    return f"{table}\n\n{killed}/{len(results)} mutants killed"


def list_mutants() -> str:
    rows = [[m.name, m.area, m.description] for m in MUTANTS]
    return format_table(rows, ["mutant", "area", "description"])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.mutate", description=__doc__.splitlines()[0])
    ap.add_argument("--only", metavar="NAME", action="append", help="run only this mutant (repeatable)")
    ap.add_argument("--list", action="store_true", help="list the mutant catalogue and exit")
    args = ap.parse_args(argv)
    if args.list:
        print(list_mutants())
        return 0
    try:
        mutants = [get_mutant(n) for n in args.only] if args.only else list(MUTANTS)
    except ValueError as e:
        ap.error(str(e))
    params = DEFAULT_PARAMS
    t0 = time.perf_counter()
    tests = kill_suite(params)
    try:
        baseline = check_baseline(params, tests)
    except (SimulatorUnavailable, SimBuildError) as e:
        print(f"error: the real core could not be built: {e}", file=sys.stderr)
        return 2
    if not baseline[-1].passed:
        bad = baseline[-1]
        print(f"error: the kill suite fails on the real core ({bad.test}: {bad.detail}); kills would mean nothing")
        return 2
    _log(f"real core passes all {len(tests)} tests ({sum(o.seconds for o in baseline):.1f} s)")
    results = [try_mutant(params, m, tests) for m in mutants]
    print(report(results))
    print(f"wall time {time.perf_counter() - t0:.0f} s ({len(tests)} tests in the kill suite)")
    return 0 if all(r.killed for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
