"""Data memory: ``mem_depth`` words, a combinational read port per load lane,
a write port per store lane (later-wins mask), and a host read/write port."""

from __future__ import annotations

from amaranth.hdl import Module
from amaranth.lib import data, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from pymodel.isa import WORD_BITS

from .geometry import CoreGeometry
from .priority import LaterWins


class DataMemory(wiring.Component):
    def __init__(self, geom: CoreGeometry, n_read: int, n_write: int) -> None:
        self._geom = geom
        self._n_read = n_read
        self._n_write = n_write
        da = geom.dmem_addr_bits
        super().__init__(
            {
                "rd_addr": In(data.ArrayLayout(da, n_read)),
                "rd_data": Out(data.ArrayLayout(WORD_BITS, n_read)),
                "wr_en": In(n_write),
                "wr_addr": In(data.ArrayLayout(da, n_write)),
                "wr_data": In(data.ArrayLayout(WORD_BITS, n_write)),
                "wr_keep": Out(n_write),
                "host_addr": In(da),
                "host_rdata": Out(WORD_BITS),
                "host_we": In(1),  # the core only allows it while not running
                "host_wdata": In(WORD_BITS),
            }
        )

    def elaborate(self, platform) -> Module:
        m = Module()
        # Zero-initialised so no simulator reads X; the host loads the image.
        m.submodules.mem = mem = Memory(shape=WORD_BITS, depth=self._geom.params.mem_depth, init=[])
        for i in range(self._n_read):
            port = mem.read_port(domain="comb")
            m.d.comb += [port.addr.eq(self.rd_addr[i]), self.rd_data[i].eq(port.data)]
        host_r = mem.read_port(domain="comb")
        m.d.comb += [host_r.addr.eq(self.host_addr), self.host_rdata.eq(host_r.data)]

        m.submodules.priority = prio = LaterWins(self._n_write, self._geom.dmem_addr_bits)
        m.d.comb += [prio.en.eq(self.wr_en), prio.addr.eq(self.wr_addr), self.wr_keep.eq(prio.keep)]
        for i in range(self._n_write):
            port = mem.write_port()
            m.d.comb += [port.en.eq(prio.keep[i]), port.addr.eq(self.wr_addr[i]), port.data.eq(self.wr_data[i])]
        host_w = mem.write_port()
        m.d.comb += [host_w.en.eq(self.host_we), host_w.addr.eq(self.host_addr), host_w.data.eq(self.host_wdata)]
        return m
