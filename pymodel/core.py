"""State shared by both model engines: one core's architectural state, the
machine's overall run state, and checks of what a user hands in.

Both ``pymodel.machine.Machine`` (the reference interpreter) and
``pymodel.fast.FastMachine`` expose their state through these types, so a
test can compare the two field by field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Sequence

from .events import Trap
from .isa import DEFAULT_PARAMS, WORD_MASK, MachineParams, RunState
from .configs import check_program_ops
from .program import Program, as_program


@dataclass
class CoreState:
    """One core: its pc, its own scratch, its trace buffer and run state."""

    id: int
    pc: int
    scratch: list[int]
    trace: list[int] = field(default_factory=list)
    state: RunState = RunState.RUNNING

    @classmethod
    def fresh(cls, core_id: int, params: MachineParams) -> "CoreState":
        return cls(id=core_id, pc=0, scratch=[0] * params.scratch_size)


def machine_state(cores: Iterable[CoreState], trap: Trap | None) -> RunState:
    """TRAPPED once any core trapped (the machine stops there); else RUNNING
    while any core runs; else PAUSED if any core paused; else HALTED."""
    if trap is not None:
        return RunState.TRAPPED
    states = [c.state for c in cores]
    if RunState.RUNNING in states:
        return RunState.RUNNING
    if RunState.PAUSED in states:
        return RunState.PAUSED
    return RunState.HALTED


def check_memory_image(mem: Iterable[Any], what: str = "memory image") -> list[int]:
    """A copy of ``mem`` as a list of words; ValueError names the first bad cell.

    The machine never grows the image, so its length is the memory size.
    """
    if isinstance(mem, (str, bytes, bytearray, Mapping)) or not isinstance(mem, Iterable):
        raise ValueError(f"{what} must be a sequence of integers, got {type(mem).__name__}")
    out = list(mem)
    for i, v in enumerate(out):
        if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= WORD_MASK:
            raise ValueError(f"{what} word {i} must be an integer 0..2^32-1, got {v!r}")
    return out


def check_debug_values(debug_values: Mapping[Any, int] | None) -> dict[Any, int]:
    if debug_values is None:
        return {}
    if not isinstance(debug_values, Mapping):
        raise ValueError(f"debug_values must be a mapping from key to value, got {type(debug_values).__name__}")
    return dict(debug_values)


def check_params(params: Any) -> MachineParams:
    if not isinstance(params, MachineParams):
        raise ValueError(f"params must be a pymodel.isa.MachineParams, got {type(params).__name__}")
    return params


def check_max_cycles(max_cycles: int | None) -> int | None:
    if max_cycles is not None and (isinstance(max_cycles, bool) or not isinstance(max_cycles, int) or max_cycles < 0):
        raise ValueError(f"max_cycles must be a non-negative integer or None, got {max_cycles!r}")
    return max_cycles


@dataclass(frozen=True)
class Snapshot:
    """Everything observable about a machine, for comparing engines."""

    cycle: int
    state: RunState
    mem: tuple[int, ...]
    cores: tuple[CoreState, ...]  # copies
    trap: Trap | None


def snapshot(machine: Any) -> Snapshot:
    """A Snapshot of a Machine or FastMachine."""
    return Snapshot(
        cycle=machine.cycle,
        state=machine.state,
        mem=tuple(machine.mem),
        cores=tuple(CoreState(c.id, c.pc, list(c.scratch), list(c.trace), c.state) for c in machine.cores),
        trap=machine.trap,
    )


class MachineBase:
    """What both engines share: the checked inputs, the architectural state
    (``cycle``, ``mem``, ``cores``, ``trap``, ``state``) and ``run_to_end``.
    Subclasses implement ``run``."""

    def __init__(
        self,
        program: Program | Sequence[Mapping[str, Any]],
        mem: Sequence[int],
        params: MachineParams = DEFAULT_PARAMS,
        *,
        enable_pause: bool = True,
        enable_debug: bool = True,
        debug_values: Mapping[Any, int] | None = None,
    ) -> None:
        self.params = check_params(params)
        self.program = as_program(program, params)
        check_program_ops(self.program, params)  # an op this machine's config lacks
        self.mem: list[int] = check_memory_image(mem)
        self.enable_pause = enable_pause
        self.enable_debug = enable_debug
        self.debug_values = check_debug_values(debug_values)
        self.cores: list[CoreState] = [CoreState.fresh(i, params) for i in range(params.n_cores)]
        self.cycle = 0
        self.trap: Trap | None = None

    @property
    def state(self) -> RunState:
        return machine_state(self.cores, self.trap)

    def run(self, max_cycles: int | None = None, on_retire: Callable[..., None] | None = None) -> RunState:
        raise NotImplementedError

    def run_to_end(self, max_cycles: int | None = None, on_retire: Callable[..., None] | None = None) -> RunState:
        """``run`` again after every pause: HALTED, TRAPPED or RUNNING (limit)."""
        while True:
            state = self.run(max_cycles, on_retire)
            if state is not RunState.PAUSED:
                return state
