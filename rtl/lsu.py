"""Load and store slots: address generation, MEM_RANGE checks, write lanes.

Lane i of a slot handles word i of a vload/vstore; scalar ops use lane 0.
The memory itself (and the later-wins rule among store lanes) is in dmem.py.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Module
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from pymodel.isa import WORD_BITS, Engine, Field, MachineParams, lookup, ops_of

from .decode import op_enum, operand_base, slot_layout
from .geometry import CoreGeometry
from .trapcode import TrapCode

LOAD_OPS = ("load", "load_offset", "vload", "const", "vgather")
STORE_OPS = ("store", "vstore")


def _check_covered(engine: Engine, implemented: tuple[str, ...], params: MachineParams) -> None:
    unknown = [op.name for op in ops_of(engine, params) if op.name not in implemented]
    if unknown:
        raise NotImplementedError(f"rtl.lsu has no HDL for {engine} op(s) {unknown}")


def _lane_layouts(geom: CoreGeometry) -> tuple[data.ArrayLayout, data.ArrayLayout]:
    lanes = geom.mem_lanes
    return data.ArrayLayout(WORD_BITS, lanes), data.ArrayLayout(geom.dmem_addr_bits, lanes)


class LoadSlot(wiring.Component):
    """One LOAD slot. ``src1[0]`` is S[a (+k for load_offset)]; ``mem_rdata[i]``
    is M[mem_raddr[i]] (combinational); ``mem_size`` bounds valid addresses."""

    def __init__(self, geom: CoreGeometry) -> None:
        self._geom = geom
        words, addrs = _lane_layouts(geom)
        lanes = geom.mem_lanes
        super().__init__(
            {
                "slot": In(slot_layout(geom, Engine.LOAD)),
                # VLEN lanes when the machine has vgather (S[a+i]), else one
                "src1": In(data.ArrayLayout(WORD_BITS, geom.read_lanes(Engine.LOAD)[Field.SRC1])),
                "mem_size": In(geom.dmem_addr_bits + 1),
                "mem_raddr": Out(addrs),
                "mem_rdata": In(words),
                "wr_en": Out(lanes),
                "wr_addr": Out(data.ArrayLayout(geom.addr_bits, lanes)),
                "wr_data": Out(words),
                "fault": Out(1),
                "fault_cause": Out(TrapCode),
            }
        )

    def elaborate(self, platform) -> Module:
        m = Module()
        geom = self._geom
        _check_covered(Engine.LOAD, LOAD_OPS, geom.params)
        ops = op_enum(Engine.LOAD, geom.encoding.opcode_bits)
        op = self.slot.op
        is_scalar_load = (op == ops["LOAD"]) | (op == ops["LOAD_OFFSET"])
        is_vload = op == ops["VLOAD"]
        is_const = op == ops["CONST"]
        lanes = geom.mem_lanes
        a = self.src1[0]
        dst = operand_base(geom, Engine.LOAD, self.slot, Field.DST)

        for i in range(lanes):
            mem_addr = a + i
            m.d.comb += [
                self.mem_raddr[i].eq(mem_addr),
                self.wr_addr[i].eq(dst + i),
            ]
            if i == 0:
                m.d.comb += [
                    self.wr_en[i].eq(is_scalar_load | is_vload | is_const),
                    self.wr_data[i].eq(self.mem_rdata[i]),
                ]
                with m.If(is_const):
                    m.d.comb += self.wr_data[i].eq(self.slot.imm)
            else:
                m.d.comb += [self.wr_en[i].eq(is_vload), self.wr_data[i].eq(self.mem_rdata[i])]

        # Addresses are full 32-bit words plus the lane: never wrapped.
        last = a + (lanes - 1)
        m.d.comb += [
            self.fault.eq((is_scalar_load & (a >= self.mem_size)) | (is_vload & (last >= self.mem_size))),
            self.fault_cause.eq(TrapCode.MEM_RANGE),
        ]
        if geom.params.has(lookup(Engine.LOAD, "vgather")):
            self._vgather(m, ops, dst)
        return m

    def _vgather(self, m: Module, ops, dst) -> None:
        """Extension vgather: lane i reads M[S[a+i]] into S[d+i]; any lane out of range traps."""
        is_vgather = self.slot.op == ops["VGATHER"]
        out_of_range = []
        for i in range(self._geom.mem_lanes):
            addr = self.src1[i]
            out_of_range.append(addr >= self.mem_size)  # the full 32-bit address: never wrapped
            with m.If(is_vgather):  # later comb assignments win over the lane loop's
                m.d.comb += [self.mem_raddr[i].eq(addr), self.wr_en[i].eq(1), self.wr_data[i].eq(self.mem_rdata[i])]
        with m.If(is_vgather):
            m.d.comb += self.fault.eq(Cat(*out_of_range).any())


class StoreSlot(wiring.Component):
    """One STORE slot. ``src1[0]`` is S[a]; ``src2[i]`` is S[s+i]."""

    def __init__(self, geom: CoreGeometry) -> None:
        self._geom = geom
        words, addrs = _lane_layouts(geom)
        super().__init__(
            {
                "slot": In(slot_layout(geom, Engine.STORE)),
                "src1": In(data.ArrayLayout(WORD_BITS, 1)),
                "src2": In(words),
                "mem_size": In(geom.dmem_addr_bits + 1),
                "mem_we": Out(geom.mem_lanes),
                "mem_waddr": Out(addrs),
                "mem_wdata": Out(words),
                "fault": Out(1),
                "fault_cause": Out(TrapCode),
            }
        )

    def elaborate(self, platform) -> Module:
        m = Module()
        geom = self._geom
        _check_covered(Engine.STORE, STORE_OPS, geom.params)
        ops = op_enum(Engine.STORE, geom.encoding.opcode_bits)
        is_store = self.slot.op == ops["STORE"]
        is_vstore = self.slot.op == ops["VSTORE"]
        lanes = geom.mem_lanes
        a = self.src1[0]
        for i in range(lanes):
            m.d.comb += [
                self.mem_waddr[i].eq(a + i),
                self.mem_wdata[i].eq(self.src2[i]),
                self.mem_we[i].eq((is_store | is_vstore) if i == 0 else is_vstore),
            ]
        last = a + (lanes - 1)
        m.d.comb += [
            self.fault.eq((is_store & (a >= self.mem_size)) | (is_vstore & (last >= self.mem_size))),
            self.fault_cause.eq(TrapCode.MEM_RANGE),
        ]
        return m
