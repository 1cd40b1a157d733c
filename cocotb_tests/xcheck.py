"""The cross-check: one program on the RTL and on the golden model, compared
bit for bit (cycles, final state, trap, memory, scratch, trace, pauses).

The RTL runs the hardware image (pymodel.encoding.to_hardware); the model
runs both the image's program (same pcs as the RTL) and the original program
(to_hardware must not change behaviour).  On any final-state mismatch the
check reruns in lockstep to name the first diverging bundle.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pymodel.encoding import HardwareImage, to_hardware
from pymodel.events import RetireRecord
from pymodel.isa import RunState
from pymodel.program import Program

from .job import ImemLoad, RunMode, SimJob, SimResult
from .model_side import DEFAULT_MODEL_LIMIT, ModelEngine, ModelOutcome, run_model, write_expected
from .report import describe_divergence, final_state_diffs
from .retire import Divergence
from .simbuild import SimBuild
from .simrun import SimRun, job_dir, run_job

HOST_LOAD_MAX_BUNDLES = 64  # smaller images go through the host port (it gets tested); bigger via $readmemh


class XCheckSetupError(ValueError):
    """The program or image does not fit the built RTL."""


@dataclass
class XCheckReport:
    name: str
    sim: str
    mismatches: list[str]  # empty = pass
    model: ModelOutcome
    rtl: SimResult
    hw_bundles: int
    divergence: Divergence | None = None
    divergence_text: str = ""
    rtl_seconds: float = 0.0  # wall time of the simulator process(es)
    lockstep_seconds: float = 0.0
    image: HardwareImage | None = None
    waves: Path | None = None  # the waveform file when the build traces
    notes: list[str] = field(default_factory=list)

    @property
    def rtl_state_name(self) -> str:
        return RunState(self.rtl.state).name

    @property
    def ok(self) -> bool:
        return not self.mismatches

    def summary(self) -> str:
        head = (
            f"{self.name} on {self.sim}: {'match' if self.ok else 'MISMATCH'}; cycles model={self.model.cycle} "
            f"rtl={self.rtl.cycle}; state model={self.model.state.name} rtl={RunState(self.rtl.state).name}"
        )
        lines = [head] + [f"  - {m}" for m in self.mismatches[:20]]
        if len(self.mismatches) > 20:
            lines.append(f"  ... {len(self.mismatches) - 20} more")
        if self.divergence_text:
            lines.append(self.divergence_text)
        return "\n".join(lines + [f"  note: {n}" for n in self.notes])


def _job(build: SimBuild, hw: HardwareImage, mem: list[int], work: Path, **kw: object) -> SimJob:
    hex_path = work / "imem.hex"
    hw.write_hex(hex_path)
    load = kw.pop("imem_load", None) or (ImemLoad.HOST if len(hw.words) <= HOST_LOAD_MAX_BUNDLES else ImemLoad.PLUSARG)
    params = build.params
    return SimJob(
        prog_len=len(hw.words),
        imem_hex=str(hex_path),
        mem=list(mem),
        result_path=str(work / "result.json"),
        imem_load=load,  # type: ignore[arg-type]
        params={f: getattr(params, f) for f in params.__dataclass_fields__},
        **kw,  # type: ignore[arg-type]
    )


def _check_fits(build: SimBuild, hw: HardwareImage, mem: list[int]) -> None:
    p = build.params
    if hw.encoding.params != p:
        raise XCheckSetupError(f"the image was encoded for {hw.encoding.params}, the RTL was built for {p}")
    if len(mem) > p.mem_depth:
        raise XCheckSetupError(
            f"memory image of {len(mem)} words exceeds the RTL data memory (mem_depth {p.mem_depth})"
        )


def lockstep(
    build: SimBuild,
    hw: HardwareImage,
    mem: list[int],
    *,
    name: str = "program",
    records: list[RetireRecord] | None = None,
    enable_pause: bool = True,
    max_cycles: int = DEFAULT_MODEL_LIMIT,
    keep: bool = False,
) -> tuple[SimResult, int, float]:
    """Run the image in lockstep against the reference model's retire records
    (computed here unless given).  Returns (result, model records, seconds)."""
    _check_fits(build, hw, mem)
    if records is None:
        records = []
        run_model(
            hw.program,
            mem,
            build.params,
            "reference",
            enable_pause=enable_pause,
            max_cycles=max_cycles,
            records=records,
        )
    work = job_dir(build, f"{name}-lockstep")
    expected = work / "expected.jsonl"
    write_expected(records, expected)
    job = _job(
        build,
        hw,
        mem,
        work,
        mode=RunMode.LOCKSTEP,
        expected_path=str(expected),
        pause_enable=enable_pause,
        max_cycles=len(records) + 64,
    )
    run = run_job(build, job, work)
    if not keep and run.result.divergence is None and not run.result.error:
        shutil.rmtree(work, ignore_errors=True)
    return run.result, len(records), run.seconds


def _model_checks(
    program: Program, hw: HardwareImage, model: ModelOutcome, mem: list[int], notes: list[str], **kw: Any
) -> list[str]:
    """What is wrong before the RTL even runs: an unfinished model, an image that
    behaves unlike its program, or nothing to compare."""
    out = []
    if not model.finished:
        out.append(f"the model did not finish within {kw['max_cycles']} cycles (state {model.state.name})")
    if hw.program != program:  # bundles dropped or reordered: the image must still do the same
        original = run_model(program, mem, hw.encoding.params, "fast", **kw)
        out += [f"to_hardware changed behaviour: {d}" for d in final_state_diffs(original, model, hw.pc_map)]
        if (
            original.trap
            and model.trap
            and (original.trap.cause, original.trap.engine) != (model.trap.cause, model.trap.engine)
        ):
            notes.append(
                f"the program as written traps first in {original.trap.engine} ({original.trap.cause.name}); the image, "
                f"whose engines run in hardware order, in {model.trap.engine} ({model.trap.cause.name})"
            )
    if model.cycle == 0 and model.trap is None:
        out.append("compared nothing: the program executed no cycle-costing bundle")
    return out


def _run_fast(build: SimBuild, hw: HardwareImage, mem: list[int], name: str, keep: bool, **kw: Any) -> SimRun:
    work = job_dir(build, name)
    run = run_job(build, _job(build, hw, mem, work, mode=RunMode.FAST, **kw), work)
    if not keep and run.waves is None:
        shutil.rmtree(work, ignore_errors=True)
    return run


def cross_check(
    build: SimBuild,
    program: Program,
    mem: list[int],
    *,
    name: str = "program",
    model_engine: ModelEngine = "fast",
    mode: RunMode = RunMode.FAST,
    enable_pause: bool = True,
    imem_load: ImemLoad | None = None,
    max_cycles: int = DEFAULT_MODEL_LIMIT,
    auto_lockstep: bool = True,
    keep: bool = False,
) -> XCheckReport:
    """Run ``program`` on the RTL and the model and compare everything.

    ``mode=LOCKSTEP`` compares every retired bundle (reference model); otherwise
    a final-state mismatch reruns in lockstep (``auto_lockstep``) to name the
    first diverging bundle."""
    params = build.params
    hw = to_hardware(program, params)
    _check_fits(build, hw, mem)
    records: list[RetireRecord] | None = [] if mode is RunMode.LOCKSTEP else None
    engine: ModelEngine = "reference" if records is not None else model_engine
    run_kw = {"enable_pause": enable_pause, "max_cycles": max_cycles}
    model = run_model(hw.program, mem, params, engine, records=records, **run_kw)
    notes: list[str] = []
    mismatches = _model_checks(program, hw, model, mem, notes, **run_kw)

    t0 = time.perf_counter()
    waves = None
    if records is not None:
        rtl, _, _ = lockstep(build, hw, mem, name=name, records=records, enable_pause=enable_pause, keep=keep)
    else:
        run = _run_fast(build, hw, mem, name, keep, imem_load=imem_load, pause_enable=enable_pause,
                        max_cycles=model.cycle + 64)  # fmt: skip
        rtl, waves = run.result, run.waves
    report = XCheckReport(name, build.sim, mismatches, model, rtl, len(hw.words), image=hw, waves=waves, notes=notes)
    report.rtl_seconds = time.perf_counter() - t0
    if not rtl.finished:
        mismatches.append(f"the RTL did not finish: {rtl.error or 'no reason given'}")
    mismatches += final_state_diffs(model, rtl)
    if records is not None and rtl.compared_records != len(records) and rtl.divergence is None:
        mismatches.append(f"lockstep compared {rtl.compared_records} of {len(records)} retire records")

    found = Divergence.from_json(rtl.divergence) if rtl.divergence else None
    if mismatches and found is None and auto_lockstep and model.finished and records is None:
        t1 = time.perf_counter()
        again, _, _ = lockstep(build, hw, mem, name=name, keep=keep, **run_kw)
        report.lockstep_seconds = time.perf_counter() - t1
        found = Divergence.from_json(again.divergence) if again.divergence else None
        if found is None:
            report.notes.append(
                f"lockstep found no diverging bundle ({again.compared_records} records agree): "
                "the difference is in state the retire port does not show"
            )
    if found is not None:
        report.divergence = found
        report.divergence_text = describe_divergence(found, hw, program)
    return report
