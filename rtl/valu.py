"""Vector ALU slot: VLEN binop lanes, plus vbroadcast and multiply_add."""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from pymodel.isa import WORD_BITS, Engine, ops_of

from .alu import BINOP_ENGINE, BinopLane, binop_enum
from .decode import EMPTY, member_name, op_enum, slot_layout
from .geometry import CoreGeometry
from .trapcode import TrapCode

_SPECIAL_OPS = ("vbroadcast", "multiply_add")  # the VALU ops that are not lane-wise binops


class ValuSlot(wiring.Component):
    """One VALU slot. ``src1..3`` are the VLEN words at the SRC1..SRC3
    addresses (the op's a, b, c); lane i writes ``d+i``."""

    def __init__(self, geom: CoreGeometry) -> None:
        self._geom = geom
        vlen = geom.params.vlen
        words = data.ArrayLayout(WORD_BITS, vlen)
        super().__init__(
            {
                "slot": In(slot_layout(geom, Engine.VALU)),
                "src1": In(words),
                "src2": In(words),
                "src3": In(words),
                "wr_en": Out(vlen),
                "wr_addr": Out(data.ArrayLayout(geom.addr_bits, vlen)),
                "wr_data": Out(words),
                "fault": Out(1),
                "fault_cause": Out(TrapCode),
            }
        )

    def elaborate(self, platform) -> Module:
        m = Module()
        geom = self._geom
        bits = geom.encoding.opcode_bits
        ops = op_enum(Engine.VALU, bits)
        binops = binop_enum(geom)
        binop_names = {op.name for op in ops_of(BINOP_ENGINE)}
        unknown = [op.name for op in ops_of(Engine.VALU) if op.name not in binop_names and op.name not in _SPECIAL_OPS]
        if unknown:
            raise NotImplementedError(f"rtl.valu has no HDL for VALU op(s) {unknown}")

        # Which binop the lanes compute (the VALU op of the same name).
        lane_op = Signal(binops)
        is_binop = Signal()
        with m.Switch(self.slot.op):
            for op in ops_of(Engine.VALU):
                if op.name in binop_names:
                    with m.Case(ops[member_name(op.name)]):
                        m.d.comb += [lane_op.eq(binops[member_name(op.name)]), is_binop.eq(1)]
        is_broadcast = self.slot.op == ops["VBROADCAST"]
        is_madd = self.slot.op == ops["MULTIPLY_ADD"]

        a, b, c = self.src1, self.src2, self.src3
        faults = []
        for i in range(geom.params.vlen):
            lane = BinopLane(geom)
            m.submodules[f"lane{i}"] = lane
            m.d.comb += [lane.op.eq(lane_op), lane.a.eq(a[i]), lane.b.eq(b[i])]
            madd = (a[i] * b[i] + c[i])[:WORD_BITS]
            with m.If(is_broadcast):
                m.d.comb += self.wr_data[i].eq(a[0])
            with m.Elif(is_madd):
                m.d.comb += self.wr_data[i].eq(madd)
            with m.Else():
                m.d.comb += self.wr_data[i].eq(lane.result)
            lane_addr = self.slot.dst + i
            m.d.comb += self.wr_addr[i].eq(lane_addr)
            faults.append(lane.div_zero)

        write = self.slot.op != ops[EMPTY]
        m.d.comb += [
            self.wr_en.eq(write.replicate(geom.params.vlen)),
            self.fault.eq(is_binop & Cat(*faults).any()),
            self.fault_cause.eq(TrapCode.DIV_ZERO),
        ]
        return m
