"""What one executed bundle did, and how a run can stop abnormally.

``RetireRecord`` is the model's side of the RTL's retire port (in the spirit
of RISC-V's RVFI): the lockstep cross-check compares the two every cycle.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .isa import Engine, TrapCause


@dataclass(frozen=True, slots=True)
class Write:
    addr: int
    value: int


@dataclass(frozen=True)
class RetireRecord:
    """One executed bundle that cost a cycle (or trapped)."""

    cycle: int  # the cycle counter's value before this bundle
    core: int
    pc: int  # index of the executed bundle
    next_pc: int
    # Writes that landed at the end of the cycle, after priority resolution:
    # one entry per written word, final value, sorted by address.
    scratch_writes: tuple[Write, ...] = ()
    mem_writes: tuple[Write, ...] = ()
    trace: tuple[int, ...] = ()  # values appended to the trace buffer
    halted: bool = False
    paused: bool = False
    trap: "Trap | None" = None


@dataclass(frozen=True)
class Trap(Exception):
    """An error the program made at run time.  The trapping bundle commits
    nothing and its cycle is not counted; ``pc`` is that bundle's index."""

    cause: TrapCause
    cycle: int
    pc: int
    engine: Engine | None
    slot: int | None
    detail: str = ""
    core: int = 0
    value: int | None = field(default=None)  # the bad address, divisor, target...

    def __str__(self) -> str:
        where = f"cycle {self.cycle}, pc {self.pc}"
        if self.engine is not None:
            where += f", engine {self.engine}, slot {self.slot}"
        if self.core:
            where += f", core {self.core}"
        return f"trap {self.cause.name}: {self.detail} ({where})"
