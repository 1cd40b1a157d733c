"""The cross-check for many programs in one simulation (the fuzz campaign's unit).

Each program is compared exactly as ``xcheck.cross_check`` compares one
(final state, trap, pauses; every retire record in lockstep), but the
simulator starts once per batch and only the first program follows a reset:
each later one is loaded and started as software would, on the core the
program before left.  Scratch survives `start` on both sides (the model of
program i starts from the scratch the model of program i-1 ended with), so
a batch is exact for any programs; a mismatch that appears only in a batch
is state the RTL failed to clear (tools.fuzz reports it as batch-only).
Read-back takes the memories' arrays directly (a port read per word costs a
simulator step), except for the last program, read through the host ports
so every batch still checks them.
"""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from pymodel.encoding import to_hardware
from pymodel.events import RetireRecord

from .job import BatchJob, ImemLoad, RunMode, SimJob, SimResult, TrapStatus
from .model_side import DEFAULT_MODEL_LIMIT, run_model, write_expected
from .programs import TestProgram
from .report import final_state_diffs
from .simbuild import SimBuild
from .simrun import job_dir, run_batch
from .xcheck import XCheckReport, _check_fits, _job, _model_checks


def _no_result() -> SimResult:
    return SimResult(False, 0, 0, 0, TrapStatus(0, 0, 0, 0), [], [], [], error="no result")


@dataclass
class BatchResult:
    reports: list[XCheckReport]
    seconds: float  # wall time of the one simulator process


def cross_check_batch(
    build: SimBuild,
    tests: Sequence[TestProgram],
    *,
    mode: RunMode = RunMode.FAST,
    max_cycles: int = DEFAULT_MODEL_LIMIT,
    keep: bool = False,
    mutant: int = 0,
) -> BatchResult:
    """Run every program on the model and, in one simulation, on the RTL; one report each.
    ``mutant`` selects a mutant of a netlist-mutation build (tools.netlist_mutate)."""
    params = build.params
    work = job_dir(build, "batch")
    pending: list[tuple[XCheckReport, list[RetireRecord] | None]] = []
    jobs: list[SimJob] = []
    scratch: list[int] | None = None  # what the program before left (None: after reset, all zero)
    for i, t in enumerate(tests):
        hw = to_hardware(t.program, params)
        _check_fits(build, hw, t.mem)
        records: list[RetireRecord] | None = [] if mode is RunMode.LOCKSTEP else None
        run_kw = {"enable_pause": t.enable_pause, "max_cycles": max_cycles, "scratch": scratch}
        model = run_model(hw.program, t.mem, params, "reference" if records is not None else "fast",
                          records=records, **run_kw)  # fmt: skip
        if records is not None:  # the reference engine keeps no visit counts
            model.visits = dict(Counter(r.pc for r in records))
        notes: list[str] = []
        mismatches = _model_checks(t.program, hw, model, t.mem, notes, **run_kw)
        sub = work / str(i)
        sub.mkdir()
        extra: dict[str, object] = {"max_cycles": model.cycle + 64}
        if records is not None:
            write_expected(records, sub / "expected.jsonl")
            extra = {"expected_path": str(sub / "expected.jsonl"), "max_cycles": len(records) + 64}
        jobs.append(_job(build, hw, t.mem, sub, imem_load=ImemLoad.HOST, mode=mode, pause_enable=t.enable_pause,
                         reset=i == 0, mutant=mutant, direct_readback=i < len(tests) - 1, **extra))  # fmt: skip
        if i:
            notes.append(f"ran after {tests[i - 1].name} in one simulation, from the scratch it left")
        report = XCheckReport(t.name, build.sim, mismatches, model, _no_result(), len(hw.words), image=hw, notes=notes)
        pending.append((report, records))
        scratch = model.scratch
    run = run_batch(build, BatchJob(jobs), work)
    for (report, records), rtl in zip(pending, run.results):
        if rtl is None:
            report.mismatches.append("the batch simulation ended before this program's result was written")
            continue
        report.rtl = rtl
        if not rtl.finished:
            report.mismatches.append(f"the RTL did not finish: {rtl.error or 'no reason given'}")
        report.mismatches += final_state_diffs(report.model, rtl)
        if records is not None and rtl.compared_records != len(records) and rtl.divergence is None:
            report.mismatches.append(f"lockstep compared {rtl.compared_records} of {len(records)} retire records")
        if rtl.divergence is not None:
            report.mismatches.append(f"lockstep divergence at cycle {rtl.divergence.get('cycle')}")
    reports = [r for r, _ in pending]
    if not keep and all(r.ok for r in reports):
        shutil.rmtree(work, ignore_errors=True)
    return BatchResult(reports, run.seconds)
