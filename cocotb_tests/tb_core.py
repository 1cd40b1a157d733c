"""cocotb testbench: one job, or a batch of jobs, per simulator run (named tb_* so pytest does not collect it).

The job file comes from the plusarg +XCHECK_JOB=<path> (or a batch from
+XCHECK_BATCH=<path>); each result goes to its job's result_path.  The testbench only drives and records: the host
compares with the model (lockstep compares here, against records the host
wrote, so the host may use any model, even a deliberately broken one).
"""

from __future__ import annotations

import time
from pathlib import Path

import cocotb

from pymodel.isa import RunState

from .core_driver import CoreDriver
from .job import BATCH_PLUSARG, JOB_PLUSARG, BatchJob, RunMode, SimJob, SimResult
from .retire import read_views



@cocotb.test()
async def xcheck_run_job(dut) -> None:
    batch_path = cocotb.plusargs.get(BATCH_PLUSARG)
    if isinstance(batch_path, str):
        for job in BatchJob.read(Path(batch_path)).jobs:
            await run_one(dut, job)
        return
    job_path = cocotb.plusargs.get(JOB_PLUSARG)
    assert isinstance(job_path, str), f"+{JOB_PLUSARG}=<job.json> or +{BATCH_PLUSARG}=<batch.json> is required"
    await run_one(dut, SimJob.read(Path(job_path)))


async def run_one(dut, job: SimJob) -> None:
    driver = CoreDriver(dut, job)

    t0 = time.perf_counter()
    await driver.reset_and_load()
    t1 = time.perf_counter()
    divergence = None
    compared = 0
    if job.mode is RunMode.LOCKSTEP:
        assert job.expected_path, "lockstep needs expected_path"
        error, compared, found = await driver.run_lockstep(read_views(job.expected_path))
        if found is not None:
            divergence = found.to_json()
            error = error or f"lockstep divergence at cycle {found.cycle}, pc {found.pc}"
    else:
        error = await driver.run_fast()
    t2 = time.perf_counter()
    state, cycle, pc, trap, mem, scratch, trace = await driver.read_back()
    t3 = time.perf_counter()

    final = RunState(state)
    paused_on_purpose = final is RunState.PAUSED and not job.resume_on_pause
    finished = not error and (final in (RunState.HALTED, RunState.TRAPPED) or paused_on_purpose)
    if not error and not finished:
        error = f"the core stopped in state {final.name}"
    SimResult(
        finished=finished,
        state=state,
        cycle=cycle,
        pc=pc,
        trap=trap,
        mem=mem,
        scratch=scratch,
        trace=trace,
        pauses=driver.pauses,
        error=error,
        compared_records=compared,
        retired=driver.retired,
        divergence=divergence,
        load_seconds=t1 - t0,
        run_seconds=t2 - t1,
        readback_seconds=t3 - t2,
    ).write(Path(job.result_path))
