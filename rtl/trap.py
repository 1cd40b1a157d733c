"""Trap detection and priority (api.md "Trap priority inside one slot").

Within a slot: an undefined opcode first (RTL only), then the static scratch
ranges of its operands (SCRATCH_RANGE), then the op's own dynamic trap from
its unit (MEM_RANGE, DIV_ZERO, JUMP_NEGATIVE, TRACE_FULL).  Across slots: the
first trapping slot position in HW_ENGINES order, slot index order.
"""

from __future__ import annotations

from amaranth.hdl import Const, Module, Signal, Value
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from pymodel.isa import HW_ENGINES, Engine, ops_of

from .decode import member_name, op_enum, slot_layout
from .geometry import CoreGeometry, offset_operand
from .trapcode import CAUSE_BITS, TrapCode


class ScratchRangeCheck(wiring.Component):
    """``bad`` when any scratch word an operand of the slot's op touches
    (every lane of a vector, load_offset's +k) is at or past scratch_size."""

    def __init__(self, geom: CoreGeometry, engine: Engine) -> None:
        self._geom = geom
        self._engine = engine
        super().__init__({"slot": In(slot_layout(geom, engine)), "bad": Out(1)})

    def elaborate(self, platform) -> Module:
        m = Module()
        geom, slot = self._geom, self.slot
        size = geom.params.scratch_size
        ops = op_enum(self._engine, geom.encoding.opcode_bits)
        with m.Switch(slot.op):
            for op in ops_of(self._engine, geom.params):
                off_field = offset_operand(op)
                offset: Value = getattr(slot, off_field.value) if off_field is not None else Const(0)
                bad = []
                for o in op.operands:
                    if o.kind.is_scratch:  # the words are contiguous: check the last one
                        last = getattr(slot, o.field.value) + offset + (o.width(geom.params) - 1)
                        bad.append(last >= size)
                if bad:
                    with m.Case(ops[member_name(op.name)]):
                        m.d.comb += self.bad.eq(_any(bad))
        return m


def _any(terms: list[Value]) -> Value:
    out = terms[0]
    for t in terms[1:]:
        out = out | t
    return out


class TrapSelect(wiring.Component):
    """Per slot position (``geom.positions()`` order): its own trap inputs;
    out: the first trapping position's cause, engine index and slot index."""

    def __init__(self, geom: CoreGeometry) -> None:
        self._geom = geom
        n = len(geom.positions())
        super().__init__(
            {
                "illegal": In(n),
                "range_bad": In(n),
                "fault": In(n),
                "fault_cause": In(data.ArrayLayout(CAUSE_BITS, n)),
                "trap": Out(1),
                "cause": Out(TrapCode),
                "engine": Out(geom.engine_bits),
                "slot": Out(geom.slot_bits),
            }
        )

    def elaborate(self, platform) -> Module:
        m = Module()
        positions = self._geom.positions()
        traps = Signal(len(positions))
        m.d.comb += [traps.eq(self.illegal | self.range_bad | self.fault), self.trap.eq(traps.any())]
        # Later comb assignments win, so walking backwards leaves the first trapping position.
        for p in reversed(range(len(positions))):
            engine, index = positions[p]
            with m.If(traps[p]):
                m.d.comb += [self.engine.eq(HW_ENGINES.index(engine)), self.slot.eq(index)]
                with m.If(self.illegal[p]):
                    m.d.comb += self.cause.eq(TrapCode.ILLEGAL_OP)
                with m.Elif(self.range_bad[p]):
                    m.d.comb += self.cause.eq(TrapCode.SCRATCH_RANGE)
                with m.Else():
                    m.d.comb += self.cause.as_value().eq(self.fault_cause[p])
        return m
