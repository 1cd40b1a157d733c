"""Statically known scratch values (constant propagation over straight-line code).

Used by the scheduler to prove two memory ops disjoint (their address words
hold known constants) and by the validator to check memory addresses that are
known before the run.  A pure op whose every read word is known is evaluated
with the ISA table's own semantics; anything else makes its writes unknown.
"""

from __future__ import annotations

from typing import Any, Mapping, NamedTuple

from pymodel.isa import DivideByZero, Engine, MachineParams, OpSpec
from pymodel.program import Slot


class _Unknown(Exception):
    pass


class _KnownContext:
    """An ExecContext over known words only; touching anything else is _Unknown."""

    def __init__(self, known: Mapping[int, int], vlen: int) -> None:
        self.known = known
        self.vlen = vlen
        self.core_id = 0
        self.pc = 0
        self.writes: dict[int, int] = {}

    def read_scratch(self, addr: int) -> int:
        try:
            return self.known[addr]
        except KeyError:
            raise _Unknown from None

    def write_scratch(self, addr: int, value: int) -> None:
        self.writes[addr] = value

    def _impure(self, *_args: Any) -> Any:
        raise _Unknown

    read_mem = write_mem = jump = halt = pause = trace = debug_compare = _impure


def _is_pure(spec: OpSpec) -> bool:
    return not (
        spec.reads_mem
        or spec.writes_mem
        or spec.control
        or spec.side_effect
        or spec.engine is Engine.DEBUG
        or spec.name == "coreid"  # differs per core
    )


def slot_writes(slot: Slot, known: Mapping[int, int], params: MachineParams) -> dict[int, int | None]:
    """Every word ``slot`` writes -> its value if statically known, else None."""
    spec = slot.spec
    words = spec.scratch_writes(slot.args, params)
    if not words:
        return {}
    if _is_pure(spec):
        ctx = _KnownContext(known, params.vlen)
        try:
            spec.execute(ctx, *slot.args)
            return {w: ctx.writes.get(w) for w in words}
        except (_Unknown, DivideByZero, TypeError):  # TypeError: a label not yet resolved
            pass
    return dict.fromkeys(words)


def apply_writes(known: dict[int, int], writes: Mapping[int, int | None]) -> None:
    for word, value in writes.items():
        if value is None:
            known.pop(word, None)
        else:
            known[word] = value


class MemRange(NamedTuple):
    start: int
    length: int

    def overlaps(self, other: "MemRange") -> bool:
        return self.start < other.start + other.length and other.start < self.start + self.length


def mem_footprint(slot: Slot, known: Mapping[int, int], params: MachineParams) -> MemRange | None:
    """The memory words a load/store touches, if its address is known."""
    op, args = slot.op, slot.args
    if op in ("load", "vload"):
        addr_word = args[1]
    elif op == "load_offset":
        addr_word = args[1] + args[2]
    elif op in ("store", "vstore"):
        addr_word = args[0]
    else:
        return None
    if addr_word not in known:
        return None
    return MemRange(known[addr_word], params.vlen if op in ("vload", "vstore") else 1)
