"""The reference interpreter's view of one executing bundle (``isa.ExecContext``).

Reads see the start-of-cycle state (scratch and memory are read directly;
nothing has been written yet).  Writes, trace appends, jumps, halt and pause
are buffered here and land together when the machine commits the bundle, so a
trapping bundle commits nothing.  The trap wording lives here too, and the
fast engine builds its traps with the same functions, so both engines give
equal ``Trap`` objects.
"""

from __future__ import annotations

from typing import Any, Mapping

from .core import CoreState
from .isa import MachineParams, OpSpec, TrapCause


class Fault(Exception):
    """A run-time error inside one slot; the machine adds the place (cycle,
    pc, engine, slot) and turns it into an ``events.Trap``."""

    def __init__(self, cause: TrapCause, value: int | None, detail: str) -> None:
        super().__init__(detail)
        self.cause = cause
        self.value = value
        self.detail = detail


# --------------------------------------------------------------------------
# Trap wording, shared by both engines.


def div_zero_detail(addr: int, op: str) -> str:
    return f"S[{addr}]=0 is the divisor of {op}"


def scratch_range_detail(addr: int, size: int) -> str:
    return f"scratch address {addr} is outside the scratch (0..{size - 1})"


def mem_range_detail(addr: int, mem_len: int) -> str:
    if mem_len == 0:
        return f"memory address {addr}: the memory image is empty"
    return f"memory address {addr} is outside the memory image (0..{mem_len - 1})"


def jump_negative_detail(target: int) -> str:
    return f"jump to bundle {target}, before bundle 0"


def trace_full_detail(depth: int) -> str:
    return f"trace buffer full ({depth} entries)"


def scratch_fault(spec: OpSpec, args: tuple[Any, ...], params: MachineParams) -> int | None:
    """The first scratch address outside 0..scratch_size-1 that the slot
    touches (reads, then writes, lanes in order), or None.

    Scratch addresses are static operands, so this is known before the slot
    runs; both engines check it before executing the slot.
    """
    for addr in spec.scratch_reads(args, params) + spec.scratch_writes(args, params):
        if not 0 <= addr < params.scratch_size:
            return addr
    return None


# --------------------------------------------------------------------------


class BundleContext:
    """Implements ``isa.ExecContext`` for one bundle on one core."""

    def __init__(
        self,
        core: CoreState,
        mem: list[int],
        params: MachineParams,
        *,
        enable_pause: bool,
        debug_values: Mapping[Any, int],
    ) -> None:
        self.vlen = params.vlen
        self.core_id = core.id
        self.pc = core.pc + 1  # pc = pc + 1 before executing (spec, "One cycle" 1)
        self._scratch = core.scratch
        self._mem = mem
        self._scratch_size = params.scratch_size
        self._trace_room = params.trace_depth - len(core.trace)
        self._trace_depth = params.trace_depth
        self._enable_pause = enable_pause
        self._debug_values = debug_values
        # Effects, committed together by the machine (later writer wins).
        self.scratch_writes: dict[int, int] = {}
        self.mem_writes: dict[int, int] = {}
        self.trace_values: list[int] = []
        self.next_pc = self.pc
        self.halted = False
        self.paused = False
        self.last_read: int | None = None  # scratch address of the latest read (the divisor on a DivideByZero)

    # -- scratch and memory ------------------------------------------------

    def _check_scratch(self, addr: int) -> None:
        if not 0 <= addr < self._scratch_size:
            raise Fault(TrapCause.SCRATCH_RANGE, addr, scratch_range_detail(addr, self._scratch_size))

    def read_scratch(self, addr: int) -> int:
        self._check_scratch(addr)
        self.last_read = addr
        return self._scratch[addr]

    def write_scratch(self, addr: int, value: int) -> None:
        self._check_scratch(addr)
        self.scratch_writes[addr] = value

    def _check_mem(self, addr: int) -> None:
        if not 0 <= addr < len(self._mem):  # never grow or wrap the image
            raise Fault(TrapCause.MEM_RANGE, addr, mem_range_detail(addr, len(self._mem)))

    def read_mem(self, addr: int) -> int:
        self._check_mem(addr)
        return self._mem[addr]

    def write_mem(self, addr: int, value: int) -> None:
        self._check_mem(addr)
        self.mem_writes[addr] = value

    # -- control -------------------------------------------------------------

    def jump(self, target: int) -> None:
        if target < 0:  # the reference would index from the end of the program
            raise Fault(TrapCause.JUMP_NEGATIVE, target, jump_negative_detail(target))
        self.next_pc = target

    def halt(self) -> None:
        self.halted = True

    def pause(self) -> None:
        if self._enable_pause:
            self.paused = True

    def trace(self, value: int) -> None:
        if len(self.trace_values) >= self._trace_room:
            raise Fault(TrapCause.TRACE_FULL, self._trace_depth, trace_full_detail(self._trace_depth))
        self.trace_values.append(value)

    # -- debug engine --------------------------------------------------------

    def debug_compare(self, addr: int, key: Any) -> None:
        value = self.read_scratch(addr)
        try:
            ref = self._debug_values[key]
        except (KeyError, TypeError):  # TypeError: an unhashable key
            detail = f"no recorded value for key {key!r} (S[{addr}]={value})"
            raise Fault(TrapCause.DEBUG_MISMATCH, value, detail) from None
        if value != ref:
            raise Fault(
                TrapCause.DEBUG_MISMATCH, value, f"S[{addr}]={value} but the recorded value for key {key!r} is {ref}"
            )
