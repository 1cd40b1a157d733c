"""`make fuzz`: a constrained-random campaign, golden model vs RTL.

    python -m tools.fuzz --n 2000 [--seed S] [--lockstep] [--batch B]

Program i is ``cocotb_tests.randprog.generate(S + i)`` (reproducible from its
seed).  Programs run in batches, many per simulator start-up; FAST compares
the final state (a mismatch reruns in lockstep to name the first diverging
bundle), ``--lockstep`` compares every retired bundle.  A failing program is
shrunk and saved to tests/regressions/<seed>.json.  Progress goes to stderr,
the summary to stdout; exit status 1 on any mismatch.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from cocotb_tests.batch import cross_check_batch
from cocotb_tests.job import RunMode
from cocotb_tests.programs import TestProgram
from cocotb_tests.randprog import FUZZ_CONFIG, generate
from cocotb_tests.regression_case import REGRESSIONS, RegressionCase
from cocotb_tests.simbuild import SimBuild, build_simulator
from cocotb_tests.xcheck import XCheckReport
from pymodel.encoding import to_hardware
from pymodel.isa import HW_ENGINES, OPS
from pymodel.program import ProgramError
from tools.fuzz_shrink import Shrinker, real_failure

FUZZ_MAX_CYCLES = 1 << 20  # generated programs finish in a few thousand cycles; this only bounds a bug
HW_OPS = frozenset((op.engine.value, op.name) for op in OPS if op.engine in HW_ENGINES)


@dataclass
class Stats:
    programs: int = 0
    cycles: int = 0
    bundles: int = 0  # hardware bundles executed (costing a cycle), summed over runs
    mismatches: list[int] = field(default_factory=list)  # seeds
    ops: set[tuple[str, str]] = field(default_factory=set)
    endings: Counter = field(default_factory=Counter)
    pauses: int = 0

    def add(self, report: XCheckReport) -> None:
        self.programs += 1
        model = report.model
        self.cycles += model.cycle
        self.pauses += len(model.pauses)
        self.endings[model.trap.cause.name if model.trap else model.state.name] += 1
        hw = report.image
        for pc, count in (model.visits or {}).items():
            if hw is not None and pc < len(hw.program):
                self.bundles += count
                self.ops.update((e.value, s.op) for e, _i, s in hw.program.bundles[pc])

    def summary(self, seconds: float, mode: RunMode) -> str:
        endings = ", ".join(f"{k} {v}" for k, v in sorted(self.endings.items()))
        missing = sorted(f"{e}:{o}" for e, o in HW_OPS - self.ops)
        lines = [
            f"fuzz summary ({mode.value})",
            f"  programs    {self.programs}",
            f"  cycles      {self.cycles}",
            f"  bundles     {self.bundles} executed",
            f"  ops covered {len(self.ops & HW_OPS)}/{len(HW_OPS)} engine/op pairs"
            + (f" (missing: {', '.join(missing)})" if missing else ""),
            f"  endings     {endings}; {self.pauses} pauses resumed",
            f"  mismatches  {len(self.mismatches)}" + (f" (seeds {self.mismatches[:20]})" if self.mismatches else ""),
            f"  wall time   {seconds:.1f} s ({self.programs / max(seconds, 1e-9):.1f} programs/s)",
        ]
        return "\n".join(lines)


class Progress:
    """A plain-text bar on stderr: redrawn in place on a terminal, a line per tenth otherwise."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.t0 = time.perf_counter()
        self.tty = sys.stderr.isatty()
        self.last_tenth = -1

    def update(self, done: int, stats: Stats) -> None:
        elapsed = time.perf_counter() - self.t0
        rate = done / elapsed if elapsed else 0.0
        eta = (self.total - done) / rate if rate else 0.0
        filled = 30 * done // max(self.total, 1)
        line = (f"[{'#' * filled}{'.' * (30 - filled)}] {done}/{self.total} programs, {stats.cycles} cycles, "
                f"{len(stats.mismatches)} mismatches, {rate:.1f}/s, ETA {eta:.0f} s")  # fmt: skip
        if self.tty:
            print("\r" + line, end="" if done < self.total else "\n", file=sys.stderr, flush=True)
        elif 10 * done // max(self.total, 1) != self.last_tenth or done == self.total:
            self.last_tenth = 10 * done // max(self.total, 1)
            print(line, file=sys.stderr, flush=True)


def save_failure(build: SimBuild, seed: int, test: TestProgram, mode: RunMode, folder: Path, budget: int) -> Path:
    """Shrink a confirmed failure and save it as a regression case."""
    shrinker = Shrinker(build, mode, FUZZ_MAX_CYCLES, budget=budget)
    small = shrinker.shrink(test)
    report = shrinker.check(small)
    note = f"cocotb_tests.randprog.generate({seed}); shrunk from {len(test.program)} to {len(small.program)} bundles"
    case = RegressionCase(seed, small, report.summary(), note)
    return case.write(folder)


def run_campaign(
    n: int,
    seed: int = 0,
    *,
    mode: RunMode = RunMode.FAST,
    batch: int = 50,
    folder: Path = REGRESSIONS,
    shrink_budget: int = 400,
    build: SimBuild | None = None,
) -> Stats:
    build = build or build_simulator("verilator")
    stats = Stats()
    progress = Progress(n)
    for start in range(seed, seed + n, batch):
        seeds = list(range(start, min(start + batch, seed + n)))
        tests = []
        for s in list(seeds):
            t = generate(s, FUZZ_CONFIG).to_test_program(f"fuzz-{s}", build.params)
            try:
                to_hardware(t.program, build.params)
            except ProgramError as e:  # the generator made something the image cannot hold: its bug
                stats.programs += 1
                stats.mismatches.append(s)
                print(f"\nGENERATOR ERROR seed {s}: {e}", file=sys.stderr)
                seeds.remove(s)
                continue
            tests.append(t)
        result = cross_check_batch(build, tests, mode=mode, max_cycles=FUZZ_MAX_CYCLES)
        for s, t, report in zip(seeds, tests, result.reports):
            if not report.ok:  # confirm on a fresh simulation, which also names the diverging bundle
                report = Shrinker(build, mode, FUZZ_MAX_CYCLES).check(t)
            stats.add(report)
            if not report.ok:
                stats.mismatches.append(s)
                print(f"\nMISMATCH seed {s}:\n{report.summary()}", file=sys.stderr)
                if real_failure(report):
                    path = save_failure(build, s, t, mode, folder, shrink_budget)
                    print(f"saved shrunk case: {path}", file=sys.stderr)
        progress.update(stats.programs, stats)
    return stats


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.fuzz", description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200, help="programs to run (default 200)")
    ap.add_argument("--seed", type=int, default=0, help="first seed (default 0); program i uses seed S+i")
    ap.add_argument("--lockstep", action="store_true", help="compare every retired bundle, not only the final state")
    ap.add_argument("--batch", type=int, default=50, help="programs per simulator start-up (default 50)")
    ap.add_argument("--out", type=Path, default=REGRESSIONS, help="where shrunk failures are saved")
    args = ap.parse_args(argv)
    if args.n < 1 or args.batch < 1:
        ap.error("--n and --batch must be at least 1")
    mode = RunMode.LOCKSTEP if args.lockstep else RunMode.FAST
    t0 = time.perf_counter()
    stats = run_campaign(args.n, args.seed, mode=mode, batch=args.batch, folder=args.out)
    print(stats.summary(time.perf_counter() - t0, mode))
    return 1 if stats.mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
