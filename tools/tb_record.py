"""cocotb testbench for ``tools.rtl_trace``: a lockstep run that also keeps every retired bundle.

Runs inside the simulator process.  Same driver and comparison as the
cross-check's lockstep mode (``cocotb_tests.tb_core``); the only addition is
that each retire-port sample is written to +XCHECK_RECORD=<file.jsonl>, one
``RetireView`` per line, for the RTL's Perfetto trace.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import cocotb

from cocotb_tests.core_driver import CoreDriver
from cocotb_tests.job import JOB_PLUSARG, SimJob, SimResult
from cocotb_tests.retire import RetireView, read_views

RECORD_PLUSARG = "XCHECK_RECORD"


class RecordingDriver(CoreDriver):
    def __init__(self, dut: Any, job: SimJob) -> None:
        super().__init__(dut, job)
        self.recorded: list[RetireView] = []

    def read_retire(self) -> RetireView:
        view = super().read_retire()
        self.recorded.append(view)
        return view



@cocotb.test()
async def record_retire_port(dut) -> None:
    job = SimJob.read(Path(str(cocotb.plusargs[JOB_PLUSARG])))
    out = Path(str(cocotb.plusargs[RECORD_PLUSARG]))
    assert job.expected_path, "the recording run is a lockstep run: expected_path is required"
    driver = RecordingDriver(dut, job)
    t0 = time.perf_counter()
    await driver.reset_and_load()
    t1 = time.perf_counter()
    error, compared, found = await driver.run_lockstep(read_views(job.expected_path))
    if found is not None:
        error = error or f"lockstep divergence at cycle {found.cycle}, pc {found.pc}"
    t2 = time.perf_counter()
    state, cycle, pc, trap, mem, scratch, trace = await driver.read_back()
    with open(out, "w") as f:
        for view in driver.recorded:
            f.write(json.dumps(view.to_json(), separators=(",", ":")) + "\n")
    SimResult(
        finished=not error,
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
        divergence=found.to_json() if found is not None else None,
        load_seconds=t1 - t0,
        run_seconds=t2 - t1,
        readback_seconds=time.perf_counter() - t2,
    ).write(Path(job.result_path))
