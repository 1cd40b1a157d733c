"""The golden model's side of a cross-check: final state in the testbench's
terms, and the retire records lockstep compares against."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pymodel.events import RetireRecord, Trap
from pymodel.isa import HW_ENGINES, MachineParams, RunState
from pymodel.program import Program

from .job import PausePoint, TrapStatus
from .retire import view_of_record

ModelEngine = Literal["fast", "reference"]
DEFAULT_MODEL_LIMIT = 1 << 24


@dataclass
class ModelOutcome:
    state: RunState
    cycle: int
    pc: int
    trap: Trap | None
    mem: list[int]
    scratch: list[int]
    trace: list[int]
    pauses: list[PausePoint]
    seconds: float
    engine: ModelEngine
    visits: dict[int, int] | None = None  # pc -> times executed (fast engine), for utilization

    @property
    def finished(self) -> bool:
        return self.state in (RunState.HALTED, RunState.TRAPPED)

    def trap_status(self) -> TrapStatus:
        """The RTL's trap port values this outcome implies (all zero without a trap)."""
        t = self.trap
        if t is None:
            return TrapStatus(0, 0, 0, 0)
        return TrapStatus(int(t.cause), t.pc, HW_ENGINES.index(t.engine) if t.engine is not None else 0, t.slot or 0)


def run_model(
    program: Program,
    mem: list[int],
    params: MachineParams,
    engine: ModelEngine = "fast",
    *,
    enable_pause: bool = True,
    max_cycles: int = DEFAULT_MODEL_LIMIT,
    records: list[RetireRecord] | None = None,
    scratch: list[int] | None = None,
) -> ModelOutcome:
    """Run to the end (resuming pauses, noting each), like the testbench does.

    ``records`` (reference engine only) collects every RetireRecord; ``scratch``
    is the scratch a `start` finds (what the program before left; default all zero)."""
    from pymodel.machine import Machine

    if engine == "fast":
        from pymodel.fast import FastMachine

        machine: Machine | FastMachine = FastMachine(
            program, mem, params, enable_pause=enable_pause, enable_debug=False
        )
    else:
        machine = Machine(program, mem, params, enable_pause=enable_pause, enable_debug=False)
    if scratch is not None:  # scratch survives `start` (docs/verification.md)
        machine.cores[0].scratch[:] = scratch
    hook = records.append if records is not None else None
    if hook is not None and engine != "reference":
        raise ValueError("retire records need the reference engine")
    pauses: list[PausePoint] = []
    t0 = time.perf_counter()
    while True:
        state = machine.run(max_cycles, hook) if hook else machine.run(max_cycles)
        if state is not RunState.PAUSED:
            break
        pauses.append(PausePoint(machine.cycle, machine.cores[0].pc))
    seconds = time.perf_counter() - t0
    core = machine.cores[0]
    return ModelOutcome(
        state=state,
        cycle=machine.cycle,
        pc=core.pc,
        trap=machine.trap,
        mem=list(machine.mem),
        scratch=list(core.scratch),
        trace=list(core.trace),
        pauses=pauses,
        seconds=seconds,
        engine=engine,
        visits=_visits(machine),
    )


def _visits(machine: object) -> dict[int, int] | None:
    counts = getattr(machine, "bundle_counts", None)
    return None if counts is None else {pc: int(n) for pc, n in enumerate(counts) if n}


def write_expected(records: list[RetireRecord], path: Path) -> None:
    """JSON lines of RetireView, the form the lockstep testbench reads."""
    with open(path, "w") as f:
        for r in records:
            f.write(json.dumps(view_of_record(r).to_json()))
            f.write("\n")
