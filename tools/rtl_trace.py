"""Perfetto traces of one program on both sides: the model's run and the RTL's retire port.

    pair = write_trace_pair(build, program, mem, out_dir, "prog", symbols)

The model's trace comes from the reference interpreter's retire records
(``pymodel.tracing``).  The RTL's comes from a lockstep run of the hardware
image (``tools/tb_record.py``: the cross-check's driver, every retire-port
sample kept), its hardware pcs mapped back to the program's own, and is
drawn by the same ``pymodel.tracing.chrome_trace``: same processes, tracks
and counters, so the two files open to the same picture.  The retire port
does not carry the trap's wording, so a trapping bundle's ``trap`` argument
there is built from the trap status port.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from cocotb_tests.job import ImemLoad, RunMode, SimJob, SimResult
from cocotb_tests.model_side import DEFAULT_MODEL_LIMIT, run_model, write_expected
from cocotb_tests.retire import Divergence, RetireView, read_views
from cocotb_tests.simbuild import SimBuild, log_tail
from cocotb_tests.simrun import SimRunError, job_dir, simulate
from pymodel.encoding import HardwareImage, to_hardware
from pymodel.events import RetireRecord, Trap, Write
from pymodel.isa import HW_ENGINES, Engine, RunState, TrapCause
from pymodel.machine import Machine
from pymodel.program import Program
from pymodel.tracing import chrome_trace, write_chrome_trace

from .tb_record import RECORD_PLUSARG

TB_MODULE = "tools.tb_record"
HOST_LOAD_MAX_BUNDLES = 64  # as the cross-check: small images through the host port


@dataclass
class TracePair:
    model_path: Path
    rtl_path: Path
    model_events: int
    rtl_events: int
    rtl_result: SimResult
    divergence: Divergence | None

    @property
    def ok(self) -> bool:
        return self.divergence is None and not self.rtl_result.error and self.model_events == self.rtl_events

    def summary(self) -> str:
        size = self.rtl_path.stat().st_size
        same = "same event count" if self.model_events == self.rtl_events else "EVENT COUNTS DIFFER"
        return (
            f"perfetto traces: {self.model_path} ({self.model_events} events), {self.rtl_path} "
            f"({self.rtl_events} events, {size} bytes): {same}; open both in https://ui.perfetto.dev"
        )


def model_records(program: Program, mem: list[int], params: object, max_cycles: int) -> list[RetireRecord]:
    records: list[RetireRecord] = []
    Machine(program, mem, params, enable_debug=False).run_to_end(max_cycles, records.append)  # type: ignore[arg-type]
    return records


def rtl_views(build: SimBuild, hw: HardwareImage, mem: list[int], name: str,
              max_cycles: int = DEFAULT_MODEL_LIMIT) -> tuple[SimResult, list[RetireView]]:  # fmt: skip
    """Every retire-port sample of a lockstep run of ``hw`` (the run also compares with the model)."""
    expected_records: list[RetireRecord] = []
    run_model(hw.program, mem, build.params, "reference", max_cycles=max_cycles, records=expected_records)
    work = job_dir(build, f"{name}-record")
    expected = work / "expected.jsonl"
    write_expected(expected_records, expected)
    hex_path = work / "imem.hex"
    hw.write_hex(hex_path)
    params = build.params
    job = SimJob(
        prog_len=len(hw.words),
        imem_hex=str(hex_path),
        mem=list(mem),
        result_path=str(work / "result.json"),
        imem_load=ImemLoad.HOST if len(hw.words) <= HOST_LOAD_MAX_BUNDLES else ImemLoad.PLUSARG,
        mode=RunMode.LOCKSTEP,
        expected_path=str(expected),
        max_cycles=len(expected_records) + 64,
        params={f: getattr(params, f) for f in params.__dataclass_fields__},
    )
    job_path = work / "job.json"
    job.write(job_path)
    records_path = work / "rtl_retire.jsonl"
    plusargs = [f"+XCHECK_JOB={job_path}", f"+{RECORD_PLUSARG}={records_path}"]
    if job.imem_load is ImemLoad.PLUSARG:
        plusargs.append(f"+IMEM={hex_path}")
    _, log, _ = simulate(build, plusargs, work, [Path(job.result_path)], test_module=TB_MODULE)
    if not Path(job.result_path).exists() or not records_path.exists():
        raise SimRunError(f"{build.sim} recording run wrote no result; see {log}:\n{log_tail(log)}")
    result = SimResult.read(Path(job.result_path))
    views = list(read_views(str(records_path)))
    if not result.error:
        shutil.rmtree(work, ignore_errors=True)
    return result, views


def records_of_views(program: Program, views: list[RetireView], result: SimResult,
                     enable_pause: bool = True) -> list[RetireRecord]:  # fmt: skip
    """RTL retire samples as the model's RetireRecords, in the program's own pcs."""
    kept = [p for p, b in enumerate(program) if b.costs_cycle]  # hardware pc -> program pc

    def model_pc(hw_pc: int) -> int:
        return kept[hw_pc] if 0 <= hw_pc < len(kept) else len(program)

    out = []
    for v in views:
        pc = model_pc(v.pc)
        ops = {s.op for s in program[pc].slots(Engine.FLOW)} if pc < len(program) else set()
        trap = None
        if v.trap:
            t = result.trap
            engine = HW_ENGINES[t.engine] if 0 <= t.engine < len(HW_ENGINES) else None
            cause = TrapCause(t.cause) if t.cause in TrapCause._value2member_map_ else TrapCause.NONE
            trap = Trap(cause, v.cycle, pc, engine, t.slot, "reported by the RTL's trap port")
        out.append(
            RetireRecord(
                cycle=v.cycle,
                core=0,
                pc=pc,
                next_pc=model_pc(v.next_pc),
                scratch_writes=tuple(Write(w.addr, w.value) for w in v.scratch),
                mem_writes=tuple(Write(w.addr, w.value) for w in v.mem),
                trace=v.trace,
                halted=not v.trap and "halt" in ops,
                paused=not v.trap and enable_pause and "pause" in ops,
                trap=trap,
            )
        )
    return out


def write_trace_pair(
    build: SimBuild,
    program: Program,
    mem: list[int],
    out_dir: Path,
    name: str,
    symbols: dict[str, tuple[int, int]] | None = None,
    max_cycles: int = DEFAULT_MODEL_LIMIT,
) -> TracePair:
    out_dir.mkdir(parents=True, exist_ok=True)
    params = build.params
    model_path, rtl_path = out_dir / f"{name}.model.json", out_dir / f"{name}.rtl.json"
    m_records = model_records(program, mem, params, max_cycles)
    write_chrome_trace(model_path, program, m_records, symbols, params)
    hw = to_hardware(program, params)
    result, views = rtl_views(build, hw, mem, name, max_cycles)
    r_records = records_of_views(program, views, result)
    write_chrome_trace(rtl_path, program, r_records, symbols, params)
    n_model = len(chrome_trace(program, m_records, symbols, params)["traceEvents"])
    n_rtl = len(chrome_trace(program, r_records, symbols, params)["traceEvents"])
    divergence = Divergence.from_json(result.divergence) if result.divergence else None
    if result.state == int(RunState.RUNNING) and not result.error:
        result.error = "the RTL was still running"
    return TracePair(model_path, rtl_path, n_model, n_rtl, result, divergence)
