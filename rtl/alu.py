"""Scalar ALU slot, and the binop lane it shares with the vector unit.

The 13 binops are written here in HDL, independently of the model's Python
semantics in ``isa.ALU_BINOPS`` (the cross-check compares the two).
"""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal, Value
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from pymodel.isa import WORD_BITS, Engine, ops_of

from .decode import EMPTY, member_name, op_enum, slot_layout
from .geometry import CoreGeometry
from .trapcode import TrapCode

# The binop selector is the ALU engine's op enum (every ALU op is a binop).
BINOP_ENGINE = Engine.ALU
DIVIDING_OPS = frozenset({"//", "cdiv", "%"})  # a zero divisor traps


def binop_enum(geom: CoreGeometry):
    return op_enum(BINOP_ENGINE, geom.encoding.opcode_bits)


def _binop_table(a: Value, b: Value, q: Value, r: Value) -> dict[str, Value]:
    """Result of each binop on unsigned words a, b (q = a // b, r = a % b)."""
    small_shift: Value = b < WORD_BITS  # shifts by 32 or more give 0
    shamt = b[:5]
    table = {
        "+": (a + b)[:WORD_BITS],
        "-": (a - b)[:WORD_BITS],
        "*": (a * b)[:WORD_BITS],
        "//": q,
        "cdiv": (q + (r != 0))[:WORD_BITS],
        "^": a ^ b,
        "&": a & b,
        "|": a | b,
        "<<": Mux(small_shift, (a << shamt)[:WORD_BITS], 0),
        ">>": Mux(small_shift, a >> shamt, 0),
        "%": r,
        "<": a < b,
        "==": a == b,
    }
    return table


class BinopLane(wiring.Component):
    """One 32-bit lane: ``result = a op b``; ``div_zero`` when op divides by 0."""

    def __init__(self, geom: CoreGeometry) -> None:
        self._geom = geom
        super().__init__(
            {
                "op": In(binop_enum(geom)),
                "a": In(WORD_BITS),
                "b": In(WORD_BITS),
                "result": Out(WORD_BITS),
                "div_zero": Out(1),
            }
        )

    def elaborate(self, platform) -> Module:
        m = Module()
        a, b = self.a, self.b
        q = Signal(WORD_BITS)
        r = Signal(WORD_BITS)
        m.d.comb += [q.eq(a // b), r.eq(a % b)]
        table = _binop_table(a, b, q, r)
        ops = binop_enum(self._geom)
        names = [op.name for op in ops_of(BINOP_ENGINE)]
        missing = sorted(set(names) - set(table))
        if missing:
            raise NotImplementedError(f"rtl.alu has no HDL for ALU op(s) {missing}")
        dividing = Signal()
        with m.Switch(self.op):
            for name in names:
                with m.Case(ops[member_name(name)]):
                    m.d.comb += self.result.eq(table[name])
                    if name in DIVIDING_OPS:
                        m.d.comb += dividing.eq(1)
        m.d.comb += self.div_zero.eq(dividing & (b == 0))
        return m


class AluSlot(wiring.Component):
    """One ALU slot: ``S[d] = S[a] op S[b]``."""

    def __init__(self, geom: CoreGeometry) -> None:
        self._geom = geom
        super().__init__(
            {
                "slot": In(slot_layout(geom, Engine.ALU)),
                # Scratch words read through each field (one lane each).
                "src1": In(data.ArrayLayout(WORD_BITS, 1)),
                "src2": In(data.ArrayLayout(WORD_BITS, 1)),
                # One write lane, shaped like the vector units' lanes.
                "wr_en": Out(1),
                "wr_addr": Out(data.ArrayLayout(geom.addr_bits, 1)),
                "wr_data": Out(data.ArrayLayout(WORD_BITS, 1)),
                "fault": Out(1),
                "fault_cause": Out(TrapCode),
            }
        )

    def elaborate(self, platform) -> Module:
        m = Module()
        m.submodules.lane = lane = BinopLane(self._geom)
        empty = op_enum(Engine.ALU, self._geom.encoding.opcode_bits)[EMPTY]
        m.d.comb += [
            lane.op.eq(self.slot.op),
            lane.a.eq(self.src1[0]),
            lane.b.eq(self.src2[0]),
            self.wr_en.eq(self.slot.op != empty),
            self.wr_addr[0].eq(self.slot.dst),
            self.wr_data[0].eq(lane.result),
            self.fault.eq(lane.div_zero),
            self.fault_cause.eq(TrapCode.DIV_ZERO),
        ]
        return m
