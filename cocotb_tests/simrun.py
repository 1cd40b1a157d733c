"""Run one job (or a batch of jobs) on a built simulator: write the job file,
start the simulator with the cocotb testbench, read the result file(s) back."""

from __future__ import annotations

import itertools
import os
import time
from dataclasses import dataclass
from pathlib import Path

from cocotb_tools.runner import Icarus, get_runner

from .job import BATCH_PLUSARG, JOB_PLUSARG, BatchJob, ImemLoad, SimJob, SimResult
from .simbuild import TIMESCALE, TOP, SimBuild, log_tail, toolchain_env, waves_format

TB_MODULE = "cocotb_tests.tb_core"
_counter = itertools.count()


class SimRunError(RuntimeError):
    """The simulator or the testbench failed; the message has the log's tail."""


@dataclass(frozen=True)
class SimRun:
    result: SimResult
    seconds: float  # wall time of the simulator process (start-up, load, run, read-back)
    log: Path
    waves: Path | None


class IcarusVcd(Icarus):
    """Icarus with our own VCD dump module (cocotb's dump module writes FST)."""

    def _test_command(self):  # type: ignore[no-untyped-def]
        cmds = super()._test_command()
        return [["-vcd" if a in ("-none", "-fst") else a for a in cmd] for cmd in cmds]


def job_dir(build: SimBuild, name: str) -> Path:
    """A fresh folder for one run's files, under the build folder."""
    path = build.build_dir / "runs" / f"{os.getpid()}-{next(_counter)}-{name}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def run_job(build: SimBuild, job: SimJob, work: Path) -> SimRun:
    """Run ``job`` (its files already in ``work``); raises SimRunError when no result came back."""
    job_path = work / "job.json"
    job.write(job_path)
    result_path = Path(job.result_path)
    result_path.unlink(missing_ok=True)
    plusargs = [f"+{JOB_PLUSARG}={job_path}"]
    if job.imem_load is ImemLoad.PLUSARG:
        plusargs.append(f"+IMEM={job.imem_hex}")
    seconds, log, waves = simulate(build, plusargs, work, [result_path])
    if not result_path.exists():
        raise SimRunError(f"{build.sim} run wrote no result ({result_path}); see {log}:\n{log_tail(log)}")
    return SimRun(SimResult.read(result_path), seconds, log, waves)


@dataclass(frozen=True)
class BatchRun:
    results: list[SimResult | None]  # None: the simulation ended before this job wrote its result
    seconds: float
    log: Path


def run_batch(build: SimBuild, batch: BatchJob, work: Path) -> BatchRun:
    """Run every job of ``batch`` in one simulation; a job without a result is None
    (raises SimRunError only when no job at all came back)."""
    batch_path = work / "batch.json"
    batch.write(batch_path)
    paths = [Path(j.result_path) for j in batch.jobs]
    for path in paths:
        path.unlink(missing_ok=True)
    seconds, log, _ = simulate(build, [f"+{BATCH_PLUSARG}={batch_path}"], work, paths)
    results = [SimResult.read(p) if p.exists() else None for p in paths]
    if batch.jobs and all(r is None for r in results):
        raise SimRunError(f"{build.sim} batch run wrote no result; see {log}:\n{log_tail(log)}")
    return BatchRun(results, seconds, log)


def simulate(
    build: SimBuild, plusargs: list[str], work: Path, results: list[Path], test_module: str = TB_MODULE
) -> tuple[float, Path, Path | None]:
    """Start the simulator on a testbench (the cross-check's unless ``test_module``);
    (seconds, log, waves).  A failed run raises SimRunError unless some result file was written."""
    plusargs = list(plusargs)
    test_args: list[str] = []
    waves: Path | None = None
    if build.waves:
        if build.sim == "verilator":
            waves = work / f"waves.{waves_format('verilator')}"
            test_args = ["--trace-file", str(waves)]
        else:
            waves = work / "waves.vcd"
            plusargs.append(f"+XCHECK_VCD={waves}")
    runner = IcarusVcd() if build.sim == "icarus" and build.waves else get_runner(build.sim)
    log = work / "sim.log"
    t0 = time.perf_counter()
    with toolchain_env(build.sim):
        try:
            runner.test(
                test_module=test_module,
                hdl_toplevel=TOP,
                hdl_toplevel_lang="verilog",
                build_dir=build.build_dir,
                test_dir=work,
                plusargs=plusargs,
                test_args=test_args,
                extra_env={"COCOTB_LOG_LEVEL": "WARNING"},
                waves=build.waves,
                timescale=TIMESCALE,
                results_xml=str(work / "results.xml"),
                log_file=log,
            )
        except (RuntimeError, SystemExit) as e:
            if not any(p.exists() for p in results):
                raise SimRunError(f"{build.sim} run failed ({e!r}); see {log}:\n{log_tail(log)}") from None
    return time.perf_counter() - t0, log, waves
