"""What the host asks one simulator run to do, and what the run reports back.

The pytest/tools side writes a ``SimJob`` as JSON, the cocotb testbench
(``tb_core``, inside the simulator process) reads it, drives the core and
writes a ``SimResult``.  Both sides import only this module and ``retire``,
so the testbench never needs the golden model.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

JOB_PLUSARG = "XCHECK_JOB"  # +XCHECK_JOB=<job.json> tells the testbench what to do
BATCH_PLUSARG = "XCHECK_BATCH"  # +XCHECK_BATCH=<batch.json>: several jobs, one after another, in one simulation


class RunMode(str, Enum):
    FAST = "fast"  # clock runs free; Python wakes only on a state change
    LOCKSTEP = "lockstep"  # Python samples the retire port every cycle and compares


class ImemLoad(str, Enum):
    PLUSARG = "plusarg"  # $readmemh of a hex file at time 0 (+IMEM=<file>)
    HOST = "host"  # imem_we writes through the host port, one bundle per clock


@dataclass
class SimJob:
    prog_len: int  # bundles in the hardware image
    imem_hex: str  # $readmemh file, one bundle per line
    mem: list[int]  # data memory image; its length is mem_size
    result_path: str
    imem_load: ImemLoad = ImemLoad.PLUSARG
    mode: RunMode = RunMode.FAST
    pause_enable: bool = True
    resume_on_pause: bool = True  # like Machine.run_to_end: resume after every pause
    max_cycles: int = 1 << 24  # the run fails as "did not finish" past this
    expected_path: str | None = None  # lockstep: JSON lines of expected retire records
    history: int = 8  # lockstep: actual records kept before a divergence
    clock_ns: int = 10
    params: dict[str, int] = field(default_factory=dict)  # MachineParams fields (the tb decodes ports with them)
    reset: bool = True  # pulse rst before loading; False: only load and `start` (a batch's later jobs)
    mutant: int = 0  # value driven on the mutant-select port of a netlist-mutation build (0: the real design)
    direct_readback: bool = False  # read the memories' arrays, not word by word through the host ports

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_json()))

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["imem_load"] = self.imem_load.value
        data["mode"] = self.mode.value
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SimJob:
        data = dict(data, imem_load=ImemLoad(data["imem_load"]), mode=RunMode(data["mode"]))
        return cls(**data)

    @classmethod
    def read(cls, path: Path) -> SimJob:
        return cls.from_json(json.loads(Path(path).read_text()))


@dataclass
class BatchJob:
    """Jobs run back to back in one simulation (one start-up for many programs).

    The first job resets the core; every later one only loads its image
    through the host port ($readmemh happens only at time 0) and pulses
    `start`, so what `start` must clear is exercised on every program.
    Scratch keeps its contents across `start` (docs/verification.md): the host
    runs the model of a later job from the scratch the job before left."""

    jobs: list[SimJob]

    def __post_init__(self) -> None:
        for i, job in enumerate(self.jobs):
            if job.imem_load is not ImemLoad.HOST:
                raise ValueError(f"batch job {i}: imem_load must be HOST ($readmemh loads only at time 0)")

    def write(self, path: Path) -> None:
        path.write_text(json.dumps({"jobs": [j.to_json() for j in self.jobs]}))

    @classmethod
    def read(cls, path: Path) -> BatchJob:
        return cls([SimJob.from_json(j) for j in json.loads(Path(path).read_text())["jobs"]])


@dataclass
class TrapStatus:
    cause: int
    pc: int
    engine: int
    slot: int


@dataclass
class PausePoint:
    cycle: int
    pc: int


@dataclass
class SimResult:
    """The core's state after the run, read back through the host ports."""

    finished: bool  # reached HALTED or TRAPPED (not stuck RUNNING / PAUSED)
    state: int  # isa.RunState code
    cycle: int
    pc: int
    trap: TrapStatus
    mem: list[int]
    scratch: list[int]
    trace: list[int]
    pauses: list[PausePoint] = field(default_factory=list)
    error: str = ""  # why the run did not finish, in words
    compared_records: int = 0  # lockstep: retire records checked
    divergence: dict[str, Any] | None = None  # lockstep: see retire.Divergence
    retired: dict[int, int] = field(default_factory=dict)  # lockstep: pc -> bundles retired there (RTL side)
    load_seconds: float = 0.0
    run_seconds: float = 0.0
    readback_seconds: float = 0.0

    def write(self, path: Path) -> None:
        Path(path).write_text(json.dumps(asdict(self)))

    @classmethod
    def read(cls, path: Path) -> SimResult:
        data = json.loads(Path(path).read_text())
        data["trap"] = TrapStatus(**data["trap"])
        data["pauses"] = [PausePoint(**p) for p in data["pauses"]]
        data["retired"] = {int(pc): n for pc, n in data.get("retired", {}).items()}  # JSON keys are strings
        return cls(**data)
