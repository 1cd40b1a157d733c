"""Scratch memory: the register file.

An ``amaranth.lib.memory.Memory`` of ``scratch_size`` words with one
combinational read port per operand lane (every read sees the start-of-cycle
value) plus a host read port, and one synchronous write port per write lane,
behind the later-wins mask.
"""

from __future__ import annotations

from amaranth.hdl import Module
from amaranth.lib import data, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from pymodel.isa import WORD_BITS

from .geometry import CoreGeometry
from .priority import LaterWins


class ScratchFile(wiring.Component):
    """``wr_en`` are the lanes' enables before the priority mask; ``wr_keep``
    the enables that actually write (for the retire port)."""

    def __init__(self, geom: CoreGeometry, n_read: int, n_write: int) -> None:
        self._geom = geom
        self._n_read = n_read
        self._n_write = n_write
        a = geom.addr_bits
        super().__init__(
            {
                "rd_addr": In(data.ArrayLayout(a, n_read)),
                "rd_data": Out(data.ArrayLayout(WORD_BITS, n_read)),
                "wr_en": In(n_write),
                "wr_addr": In(data.ArrayLayout(a, n_write)),
                "wr_data": In(data.ArrayLayout(WORD_BITS, n_write)),
                "wr_keep": Out(n_write),
                "host_addr": In(a),
                "host_data": Out(WORD_BITS),
            }
        )

    def elaborate(self, platform) -> Module:
        m = Module()
        # Scratch starts all zero, as in the reference.
        m.submodules.mem = mem = Memory(shape=WORD_BITS, depth=self._geom.params.scratch_size, init=[])
        for i in range(self._n_read):
            port = mem.read_port(domain="comb")
            m.d.comb += [port.addr.eq(self.rd_addr[i]), self.rd_data[i].eq(port.data)]
        host = mem.read_port(domain="comb")
        m.d.comb += [host.addr.eq(self.host_addr), self.host_data.eq(host.data)]

        m.submodules.priority = prio = LaterWins(self._n_write, self._geom.addr_bits)
        m.d.comb += [prio.en.eq(self.wr_en), prio.addr.eq(self.wr_addr), self.wr_keep.eq(prio.keep)]
        for i in range(self._n_write):
            port = mem.write_port()
            m.d.comb += [port.en.eq(prio.keep[i]), port.addr.eq(self.wr_addr[i]), port.data.eq(self.wr_data[i])]
        return m
