"""`make fuzz`: a constrained-random campaign, golden model vs RTL.

    python -m tools.fuzz --n 2000 [--seed S] [--lockstep] [--batch B] [--config NAME]

Program i is ``cocotb_tests.randprog.generate(S + i)`` (reproducible from its
seed).  Programs run in batches, many per simulator start-up; FAST compares
the final state (a mismatch reruns in lockstep to name the first diverging
bundle), ``--lockstep`` compares every retired bundle.  A failing program is
shrunk and saved to tests/regressions/<seed>.json.  Every program after the
first of a batch starts on the core the one before left (no reset): a
program that mismatches there but matches alone is a "batch-only mismatch"
(state `start` failed to clear), saved with the program before it as
tests/regressions/<seed before>-<seed>.json.  Every mismatch counts.
Progress goes to stderr, the summary to stdout; exit status 1 on any mismatch.
"""

from __future__ import annotations

import argparse
import dataclasses
import multiprocessing
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
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
from pymodel.configs import UnknownConfig, get_config
from pymodel.isa import DEFAULT_PARAMS, HW_ENGINES, MachineParams, ops_of
from pymodel.program import ProgramError
from tools.fuzz_shrink import Shrinker, real_failure

FUZZ_MAX_CYCLES = 1 << 20  # generated programs finish in a few thousand cycles; this only bounds a bug


def hw_ops(params: MachineParams) -> frozenset[tuple[str, str]]:
    """The (engine, op) pairs of the machine ``params`` (base ops + its extensions)."""
    return frozenset((e.value, op.name) for e in HW_ENGINES for op in ops_of(e, params))


@dataclass
class Stats:
    programs: int = 0
    cycles: int = 0
    bundles: int = 0  # hardware bundles executed (costing a cycle), summed over runs
    mismatches: list[int] = field(default_factory=list)  # seeds
    batch_only: list[tuple[int | None, int]] = field(default_factory=list)  # (seed run just before, seed)
    saved: list[Path] = field(default_factory=list)  # regression cases written
    ops: set[tuple[str, str]] = field(default_factory=set)
    endings: Counter = field(default_factory=Counter)
    pauses: int = 0
    sim_seconds: float = 0.0  # wall time of the simulator processes, summed
    rtl_sampled: int = 0  # programs whose executed bundles came from the RTL's retire port (lockstep)

    def merge(self, other: Stats) -> None:
        self.programs += other.programs
        self.cycles += other.cycles
        self.bundles += other.bundles
        self.mismatches += other.mismatches
        self.batch_only += other.batch_only
        self.saved += other.saved
        self.ops |= other.ops
        self.endings.update(other.endings)
        self.pauses += other.pauses
        self.sim_seconds += other.sim_seconds
        self.rtl_sampled += other.rtl_sampled

    def add(self, report: XCheckReport) -> None:
        self.programs += 1
        model = report.model
        self.cycles += model.cycle
        self.pauses += len(model.pauses)
        self.endings[model.trap.cause.name if model.trap else model.state.name] += 1
        hw = report.image
        # Which bundles ran: the RTL's retire port when it was sampled (lockstep), else the model's visits.
        rtl_side = bool(report.rtl.retired)
        self.rtl_sampled += rtl_side
        for pc, count in (report.rtl.retired if rtl_side else model.visits or {}).items():
            if hw is not None and pc < len(hw.program):
                self.bundles += count
                self.ops.update((e.value, s.op) for e, _i, s in hw.program.bundles[pc])

    def summary(self, seconds: float, mode: RunMode, params: MachineParams = DEFAULT_PARAMS) -> str:
        machine_ops = hw_ops(params)
        endings = ", ".join(f"{k} {v}" for k, v in sorted(self.endings.items()))
        missing = sorted(f"{e}:{o}" for e, o in machine_ops - self.ops)
        lines = [
            f"fuzz summary ({mode.value})",
            f"  programs    {self.programs}",
            f"  cycles      {self.cycles}",
            f"  bundles     {self.bundles} executed",
            f"  ops covered {len(self.ops & machine_ops)}/{len(machine_ops)} engine/op pairs "
            f"(measured on {'the RTL retire port' if self.rtl_sampled == self.programs else 'the model visit counts'})"
            + (f" (missing: {', '.join(missing)})" if missing else ""),
            f"  endings     {endings}; {self.pauses} pauses resumed",
            f"  mismatches  {len(self.mismatches)}" + (f" (seeds {self.mismatches[:20]})" if self.mismatches else ""),
            f"  batch-only  {len(self.batch_only)}"
            + (f" (seed pairs before/after {self.batch_only[:10]})" if self.batch_only else "")
            + " (mismatched in a batch, matched alone: state the RTL did not clear on start)",
            f"  wall time   {seconds:.1f} s ({self.programs / max(seconds, 1e-9):.1f} programs/s, "
            f"{self.cycles / max(seconds, 1e-9):.0f} RTL cycles/s; simulator processes {self.sim_seconds:.1f} s)",
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


def save_failure(
    build: SimBuild, seed: int, test: TestProgram, mode: RunMode, folder: Path, budget: int, mutant: int = 0
) -> Path:
    """Shrink a confirmed failure and save it as a regression case."""
    shrinker = Shrinker(build, mode, FUZZ_MAX_CYCLES, budget=budget, mutant=mutant)
    small = shrinker.shrink(test)
    report = shrinker.check(small)
    note = f"cocotb_tests.randprog.generate({seed}); shrunk from {len(test.program)} to {len(small.program)} bundles"
    case = RegressionCase(seed, small, report.summary(), note)
    return case.write(folder)


def save_batch_only(
    build: SimBuild, seeds: list[int], tests: list[TestProgram], mode: RunMode, folder: Path, mutant: int = 0
) -> tuple[Path, bool]:
    """Save the failing program with what ran before it: the pair if the pair alone
    reproduces the mismatch, else the whole batch prefix.  (path, reproduced)."""
    for start in (max(0, len(tests) - 2), 0):
        seq = tests[start:]
        reports = cross_check_batch(build, seq, mode=mode, max_cycles=FUZZ_MAX_CYCLES, mutant=mutant).reports
        if not reports[-1].ok or start == 0:
            break
    note = (f"cocotb_tests.randprog.generate(s) for s in {seeds[start:]}, run in this order in one simulation "
            "(each after `start` only); the last mismatched in its batch and matched alone")  # fmt: skip
    case = RegressionCase(seeds[-1], tests[-1], reports[-1].summary(), note, tests[start:-1], seeds[start:-1])
    return case.write(folder), not reports[-1].ok


def run_batch(
    build: SimBuild, seeds: list[int], mode: RunMode, folder: Path, shrink_budget: int, mutant: int = 0
) -> Stats:
    """One batch of programs in one simulation; every mismatch confirmed, reported and saved."""
    stats = Stats()
    seeds = list(seeds)
    gen_config = dataclasses.replace(FUZZ_CONFIG, params=build.params)  # the machine's ops (extensions too)
    tests = []
    for s in list(seeds):
        t = generate(s, gen_config).to_test_program(f"fuzz-{s}", build.params)
        try:
            to_hardware(t.program, build.params)
        except ProgramError as e:  # the generator made something the image cannot hold: its bug
            stats.programs += 1
            stats.mismatches.append(s)
            print(f"\nGENERATOR ERROR seed {s}: {e}", file=sys.stderr)
            seeds.remove(s)
            continue
        tests.append(t)
    result = cross_check_batch(build, tests, mode=mode, max_cycles=FUZZ_MAX_CYCLES, mutant=mutant)
    stats.sim_seconds += result.seconds
    shrinker = Shrinker(build, mode, FUZZ_MAX_CYCLES, mutant=mutant)
    for i, (s, t, report) in enumerate(zip(seeds, tests, result.reports)):
        if report.ok:
            stats.add(report)
            continue
        alone = shrinker.check(t)  # a fresh simulation, which also names the diverging bundle
        stats.add(alone)
        stats.mismatches.append(s)
        if alone.ok:  # never dropped: state leaked from the program before (or from the batch)
            prev = seeds[i - 1] if i else None
            stats.batch_only.append((prev, s))
            print(f"\nBATCH-ONLY MISMATCH seed {s} (run after seed {prev} in one simulation; "
                  f"matches alone):\n{report.summary()}", file=sys.stderr)  # fmt: skip
            path, again = save_batch_only(build, seeds[: i + 1], tests[: i + 1], mode, folder, mutant)
            stats.saved.append(path)
            print(f"saved the sequence: {path}" + ("" if again else " (it did not reproduce on a rerun)"),
                  file=sys.stderr)  # fmt: skip
            continue
        print(f"\nMISMATCH seed {s}:\n{alone.summary()}", file=sys.stderr)
        if real_failure(alone):
            path = save_failure(build, s, t, mode, folder, shrink_budget, mutant)
            stats.saved.append(path)
            print(f"saved shrunk case: {path}", file=sys.stderr)
    return stats


def run_campaign(
    n: int,
    seed: int = 0,
    *,
    mode: RunMode = RunMode.FAST,
    batch: int = 50,
    folder: Path = REGRESSIONS,
    shrink_budget: int = 400,
    build: SimBuild | None = None,
    mutant: int = 0,
    jobs: int = 1,
) -> Stats:
    """``jobs`` batches run at once, each in its own process (model and simulator);
    ``mutant`` runs a netlist-mutation build's mutant (tests plant bugs this way)."""
    build = build or build_simulator("verilator")
    stats = Stats()
    progress = Progress(n)
    batches = [list(range(b, min(b + batch, seed + n))) for b in range(seed, seed + n, batch)]
    args = (mode, folder, shrink_budget, mutant)
    if jobs <= 1:
        for seeds in batches:
            stats.merge(run_batch(build, seeds, *args))
            progress.update(stats.programs, stats)
        return stats
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
        for part in pool.map(run_batch, [build] * len(batches), batches, *([a] * len(batches) for a in args)):
            stats.merge(part)  # in seed order: pool.map keeps it
            progress.update(stats.programs, stats)
    return stats


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.fuzz", description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200, help="programs to run (default 200)")
    ap.add_argument("--seed", type=int, default=0, help="first seed (default 0); program i uses seed S+i")
    ap.add_argument("--lockstep", action="store_true", help="compare every retired bundle, not only the final state")
    ap.add_argument("--batch", type=int, default=100, help="programs per simulator start-up (default 100)")
    ap.add_argument("--out", type=Path, default=REGRESSIONS, help="where shrunk failures are saved")
    ap.add_argument("--jobs", type=int, default=2, help="batches run at once, one process each (default 2)")
    ap.add_argument("--config", default="default", help="machine config (pymodel.configs; default: the spec's)")
    args = ap.parse_args(argv)
    if args.n < 1 or args.batch < 1 or args.jobs < 1:
        ap.error("--n, --batch and --jobs must be at least 1")
    try:
        params = get_config(args.config).params
    except UnknownConfig as e:
        ap.error(str(e))
    mode = RunMode.LOCKSTEP if args.lockstep else RunMode.FAST
    t0 = time.perf_counter()
    build = build_simulator("verilator", params)
    stats = run_campaign(args.n, args.seed, mode=mode, batch=args.batch, folder=args.out, jobs=args.jobs, build=build)
    print(stats.summary(time.perf_counter() - t0, mode, params))
    return 1 if stats.mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
