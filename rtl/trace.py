"""Trace buffer: ``trace_depth`` words appended by trace_write, read by the host."""

from __future__ import annotations

from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from pymodel.isa import WORD_BITS

from .geometry import CoreGeometry


class TraceBuffer(wiring.Component):
    """``append`` writes ``data`` at ``count`` and counts it (the core traps
    TRACE_FULL instead of appending when ``full``); ``clear`` empties it."""

    def __init__(self, geom: CoreGeometry) -> None:
        self._geom = geom
        ta = geom.trace_addr_bits
        super().__init__(
            {
                "append": In(1),
                "data": In(WORD_BITS),
                "clear": In(1),
                "count": Out(ta + 1),
                "full": Out(1),
                "host_addr": In(ta),
                "host_data": Out(WORD_BITS),
            }
        )

    def elaborate(self, platform) -> Module:
        m = Module()
        depth = self._geom.params.trace_depth
        m.submodules.mem = mem = Memory(shape=WORD_BITS, depth=depth, init=[])
        wr = mem.write_port()
        rd = mem.read_port(domain="comb")
        append = self.append & ~self.full
        m.d.comb += [
            self.full.eq(self.count >= depth),
            wr.en.eq(append),
            wr.addr.eq(self.count),
            wr.data.eq(self.data),
            rd.addr.eq(self.host_addr),
            self.host_data.eq(rd.data),
        ]
        with m.If(self.clear):
            m.d.sync += self.count.eq(0)
        with m.Elif(append):
            m.d.sync += self.count.eq(self.count + 1)
        return m
