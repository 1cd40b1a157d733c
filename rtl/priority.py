"""Later-wins write priority for a bank of write ports.

Amaranth defines no winner when two write ports of one memory hit the same
row in one cycle (Yosys emits one ``always`` block per port and simulators
disagree), so the spec's rule -- the slot executed later wins -- is built
here explicitly: a port is kept only if no later enabled port has its address.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Module
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out


class LaterWins(wiring.Component):
    """``keep[i] = en[i]`` and no enabled port j > i has ``addr[j] == addr[i]``."""

    def __init__(self, ports: int, addr_bits: int) -> None:
        self._ports = ports
        super().__init__(
            {
                "en": In(ports),
                "addr": In(data.ArrayLayout(addr_bits, ports)),
                "keep": Out(ports),
            }
        )

    def elaborate(self, platform) -> Module:
        m = Module()
        n = self._ports
        for i in range(n):
            later = [self.en[j] & (self.addr[j] == self.addr[i]) for j in range(i + 1, n)]
            overridden = Cat(*later).any() if later else 0
            m.d.comb += self.keep[i].eq(self.en[i] & ~overridden)
        return m
