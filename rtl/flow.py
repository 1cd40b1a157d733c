"""Flow slot: select/vselect/add_imm/coreid writes, jumps, halt, pause, trace."""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal, Value
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from pymodel.isa import WORD_BITS, Engine, ops_of

from .decode import op_enum, slot_layout
from .geometry import CoreGeometry
from .trapcode import TrapCode

FLOW_OPS = (
    "select",
    "vselect",
    "add_imm",
    "halt",
    "pause",
    "trace_write",
    "cond_jump",
    "cond_jump_rel",
    "jump",
    "jump_indirect",
    "coreid",
)


class FlowSlot(wiring.Component):
    """The flow slot. ``src1..3`` are the VLEN words at the SRC1..SRC3
    addresses (select's c, a, b); ``pc_next`` is the executing bundle's pc+1;
    ``trace_full`` says the trace buffer has no room left."""

    def __init__(self, geom: CoreGeometry, core_id: int = 0) -> None:
        self._geom = geom
        self._core_id = core_id
        vlen = geom.params.vlen
        words = data.ArrayLayout(WORD_BITS, vlen)
        super().__init__(
            {
                "slot": In(slot_layout(geom, Engine.FLOW)),
                "src1": In(words),
                "src2": In(words),
                "src3": In(words),
                "pc_next": In(WORD_BITS),
                "trace_full": In(1),
                "wr_en": Out(vlen),
                "wr_addr": Out(data.ArrayLayout(geom.addr_bits, vlen)),
                "wr_data": Out(words),
                "jump": Out(1),
                "jump_target": Out(WORD_BITS),
                "halt": Out(1),
                "pause": Out(1),
                "trace_en": Out(1),
                "trace_data": Out(WORD_BITS),
                "fault": Out(1),
                "fault_cause": Out(TrapCode),
            }
        )

    def elaborate(self, platform) -> Module:
        m = Module()
        geom = self._geom
        unknown = [op.name for op in ops_of(Engine.FLOW) if op.name not in FLOW_OPS]
        if unknown:
            raise NotImplementedError(f"rtl.flow has no HDL for FLOW op(s) {unknown}")
        ops = op_enum(Engine.FLOW, geom.encoding.opcode_bits)
        op, slot = self.slot.op, self.slot
        c, a, b = self.src1, self.src2, self.src3  # select / vselect operand order
        src = self.src1[0]  # the single scalar operand of add_imm, trace_write, jumps
        vlen = geom.params.vlen

        # Scratch writes: lane 0 for the scalar ops, every lane for vselect.
        for i in range(vlen):
            pick_a = c[i] != 0
            m.d.comb += [
                self.wr_addr[i].eq(slot.dst + i),
                self.wr_data[i].eq(Mux(pick_a, a[i], b[i])),
                self.wr_en[i].eq(op == ops["VSELECT"]),
            ]
        with m.Switch(op):
            with m.Case(ops["SELECT"]):
                m.d.comb += self.wr_en[0].eq(1)
            with m.Case(ops["ADD_IMM"]):
                m.d.comb += [self.wr_en[0].eq(1), self.wr_data[0].eq((src + slot.imm)[:WORD_BITS])]
            with m.Case(ops["COREID"]):
                m.d.comb += [self.wr_en[0].eq(1), self.wr_data[0].eq(self._core_id)]

        # Control.  Targets are signed (TARGET and REL are two's complement in
        # the encoding); a taken jump to a negative bundle traps.  A relative
        # target is pc+1+k, never wrapped.
        taken = src != 0
        target = Signal(range(-(1 << WORD_BITS), 1 << (WORD_BITS + 1)))
        take = Signal()
        with m.Switch(op):
            with m.Case(ops["COND_JUMP"]):
                m.d.comb += [take.eq(taken), target.eq(slot.imm.as_signed())]
            with m.Case(ops["COND_JUMP_REL"]):
                m.d.comb += [take.eq(taken), target.eq(self.pc_next + slot.imm.as_signed())]
            with m.Case(ops["JUMP"]):
                m.d.comb += [take.eq(1), target.eq(slot.imm.as_signed())]
            with m.Case(ops["JUMP_INDIRECT"]):
                m.d.comb += [take.eq(1), target.eq(src)]
        jump_negative = take & (target < 0)
        m.d.comb += [self.jump.eq(take), self.jump_target.eq(target[:WORD_BITS])]

        is_trace = op == ops["TRACE_WRITE"]
        trace_full = is_trace & self.trace_full
        trace_en: Value = is_trace
        m.d.comb += [
            self.halt.eq(op == ops["HALT"]),
            self.pause.eq(op == ops["PAUSE"]),
            self.trace_en.eq(trace_en),
            self.trace_data.eq(src),
            self.fault.eq(jump_negative | trace_full),
            self.fault_cause.eq(Mux(jump_negative, TrapCode.JUMP_NEGATIVE, TrapCode.TRACE_FULL)),
        ]
        return m
