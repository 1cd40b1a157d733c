"""Sizes of the RTL core, all derived from ``MachineParams`` and ``Encoding``.

Every unit asks this module how wide a port is and how many lanes it has, so
that the whole core follows the ISA table (``isa.OPS``) instead of numbers
written into the HDL.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from pymodel.isa import (
    DEFAULT_PARAMS,
    HW_ENGINES,
    Access,
    Encoding,
    Engine,
    Field,
    MachineParams,
    OperandKind,
    OpSpec,
    ops_of,
)

# Scratch-address fields of an encoded slot, in encoding order.
SCRATCH_FIELDS: tuple[Field, ...] = (Field.DST, Field.SRC1, Field.SRC2, Field.SRC3)


def bits_for(count: int) -> int:
    """Address bits needed to index ``count`` entries (at least 1)."""
    return max(1, (count - 1).bit_length())


def offset_operand(op: OpSpec) -> Field | None:
    """The field holding an OFFSET immediate that shifts every scratch operand
    of the op (``load_offset``: S[d+k] = M[S[a+k]]), or None."""
    for o in op.operands:
        if o.kind is OperandKind.OFFSET:
            return o.field
    return None


@dataclass(frozen=True)
class LanePort:
    """One scratch or memory port lane owned by a slot position."""

    engine: Engine
    slot: int
    lane: int

    def __str__(self) -> str:
        return f"{self.engine}{self.slot}_l{self.lane}"


@dataclass(frozen=True)
class CoreGeometry:
    params: MachineParams = DEFAULT_PARAMS

    @cached_property
    def encoding(self) -> Encoding:
        return Encoding(self.params)

    # -- widths of the top-level ports (api.md: A, IA, DA, BW, TA)
    @property
    def addr_bits(self) -> int:
        return self.params.addr_bits

    @property
    def imem_addr_bits(self) -> int:
        return bits_for(self.params.imem_depth)

    @property
    def dmem_addr_bits(self) -> int:
        return bits_for(self.params.mem_depth)

    @property
    def trace_addr_bits(self) -> int:
        return bits_for(self.params.trace_depth)

    @property
    def bundle_bits(self) -> int:
        return self.encoding.bundle_bits

    @property
    def engine_bits(self) -> int:
        return bits_for(len(HW_ENGINES))

    @property
    def slot_bits(self) -> int:
        return bits_for(max(self.params.slot_limit(e) for e in HW_ENGINES))

    # -- lanes per slot, from the operand table
    def read_lanes(self, engine: Engine) -> dict[Field, int]:
        """Scratch read lanes one slot of ``engine`` needs per field: the widest
        scratch operand read through that field by any of the engine's ops."""
        lanes: dict[Field, int] = {}
        for op in ops_of(engine, self.params):
            for o in op.operands:
                if o.access is Access.READ and o.kind.is_scratch:
                    lanes[o.field] = max(lanes.get(o.field, 0), o.width(self.params))
        return {f: lanes[f] for f in SCRATCH_FIELDS if f in lanes}

    def write_lanes(self, engine: Engine) -> int:
        """Scratch write lanes of one slot of ``engine``."""
        return max(
            (o.width(self.params) for op in ops_of(engine, self.params) for o in op.operands if o.access is Access.WRITE),
            default=0,
        )

    @property
    def mem_lanes(self) -> int:
        """Memory words one load or store slot moves at most (vload / vstore)."""
        return self.params.vlen

    def positions(self) -> list[tuple[Engine, int]]:
        return self.encoding.slot_positions()

    @cached_property
    def scratch_write_ports(self) -> tuple[LanePort, ...]:
        """Scratch write lanes in priority order (a later one wins)."""
        return tuple(
            LanePort(e, s, lane) for e, s in self.positions() for lane in range(self.write_lanes(e))
        )

    @cached_property
    def mem_write_ports(self) -> tuple[LanePort, ...]:
        """Memory write lanes in priority order (store slots only)."""
        return tuple(
            LanePort(e, s, lane) for e, s in self.positions() if e is Engine.STORE for lane in range(self.mem_lanes)
        )

    @cached_property
    def mem_read_ports(self) -> tuple[LanePort, ...]:
        return tuple(
            LanePort(e, s, lane) for e, s in self.positions() if e is Engine.LOAD for lane in range(self.mem_lanes)
        )

    @cached_property
    def scratch_read_count(self) -> int:
        return sum(sum(self.read_lanes(e).values()) for e, _ in self.positions())
