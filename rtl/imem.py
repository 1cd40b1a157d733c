"""Instruction memory: one bundle per row, combinational read at ``pc``.

The real core instantiates a behavioural SRAM model (``verilog/imem_sram.v``)
behind an ``Instance``, the way chips treat SRAM macros: an amaranth
``Memory`` with contents would write every row into the Verilog (infeasible
at 150k bundles), and programs are loaded at run time anyway (host port, or
``$readmemh`` from ``+IMEM=<file>``).  Amaranth's Python simulator cannot run
an ``Instance``, so small configurations can ask for an amaranth ``Memory``
instead (``kind="memory"``), for unit tests.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path

from amaranth.hdl import ClockSignal, Instance, Module
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from .geometry import CoreGeometry

SRAM_MODULE = "imem_sram"
SRAM_VERILOG = Path(__file__).parent / "verilog" / "imem_sram.v"


class ImemKind(str, Enum):
    SRAM = "sram"  # Verilog SRAM model (generated Verilog, Verilator, Icarus)
    MEMORY = "memory"  # amaranth Memory (Python simulator, small params only)


class InstructionMemory(wiring.Component):
    def __init__(self, geom: CoreGeometry, kind: ImemKind | str = ImemKind.SRAM) -> None:
        self._geom = geom
        self._kind = ImemKind(kind)
        ia = geom.imem_addr_bits
        bw = geom.bundle_bits
        super().__init__(
            {
                "raddr": In(ia),
                "rdata": Out(bw),
                "we": In(1),
                "waddr": In(ia),
                "wdata": In(bw),
            }
        )

    def elaborate(self, platform) -> Module:
        m = Module()
        geom = self._geom
        if self._kind is ImemKind.SRAM:
            m.submodules.sram = Instance(
                SRAM_MODULE,
                p_DEPTH=geom.params.imem_depth,
                p_WIDTH=geom.bundle_bits,
                p_ADDR_BITS=geom.imem_addr_bits,
                i_clk=ClockSignal("sync"),
                i_we=self.we,
                i_waddr=self.waddr,
                i_wdata=self.wdata,
                i_raddr=self.raddr,
                o_rdata=self.rdata,
            )
        else:
            m.submodules.mem = mem = Memory(shape=geom.bundle_bits, depth=geom.params.imem_depth, init=[])
            rd = mem.read_port(domain="comb")
            wr = mem.write_port()
            m.d.comb += [
                rd.addr.eq(self.raddr),
                self.rdata.eq(rd.data),
                wr.en.eq(self.we),
                wr.addr.eq(self.waddr),
                wr.data.eq(self.wdata),
            ]
        return m
