"""One executed bundle as both sides see it, and the comparison of the two.

``RetireView`` is the common, comparable form: the model's ``RetireRecord``
converts to it on the host, the RTL's retire port is read into it inside the
testbench.  The RTL side also says which write port carried each write, so a
divergence report can name the engine, slot and lane.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Any

from pymodel.isa import Engine, MachineParams


@dataclass(frozen=True)
class WritePort:
    """One write port of the RTL's retire interface."""

    engine: Engine
    slot: int
    lane: int

    def __str__(self) -> str:
        return f"{self.engine.value}{self.slot} lane {self.lane}"


@lru_cache(maxsize=8)
def scratch_write_ports(params: MachineParams) -> list[WritePort]:
    """Port order of retire_swe: alu0..N, then valu, load, flow slots with VLEN lanes each."""
    ports = [WritePort(Engine.ALU, s, 0) for s in range(params.alu_slots)]
    for engine, count in (
        (Engine.VALU, params.valu_slots),
        (Engine.LOAD, params.load_slots),
        (Engine.FLOW, params.flow_slots),
    ):
        ports += [WritePort(engine, s, lane) for s in range(count) for lane in range(params.vlen)]
    return ports


@lru_cache(maxsize=8)
def mem_write_ports(params: MachineParams) -> list[WritePort]:
    return [WritePort(Engine.STORE, s, lane) for s in range(params.store_slots) for lane in range(params.vlen)]


@dataclass(frozen=True)
class PortWrite:
    addr: int
    value: int
    port: int = -1  # index into the port list; -1 on the model side


@dataclass(frozen=True)
class RetireView:
    cycle: int
    pc: int
    next_pc: int
    trap: bool
    scratch: tuple[PortWrite, ...] = ()
    mem: tuple[PortWrite, ...] = ()
    trace: tuple[int, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "cycle": self.cycle,
            "pc": self.pc,
            "next_pc": self.next_pc,
            "trap": self.trap,
            "s": [[w.addr, w.value, w.port] for w in self.scratch],
            "m": [[w.addr, w.value, w.port] for w in self.mem],
            "t": list(self.trace),
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> RetireView:
        return cls(
            cycle=d["cycle"],
            pc=d["pc"],
            next_pc=d["next_pc"],
            trap=d["trap"],
            scratch=tuple(PortWrite(*w) for w in d["s"]),
            mem=tuple(PortWrite(*w) for w in d["m"]),
            trace=tuple(d["t"]),
        )


def read_views(path: str) -> Iterator[RetireView]:
    """RetireViews from a JSON-lines file (a lockstep run's expected records)."""
    with open(path) as f:
        for line in f:
            if line.strip():
                yield RetireView.from_json(json.loads(line))


def view_of_record(record: Any) -> RetireView:
    """pymodel.events.RetireRecord -> RetireView (duck-typed: no model import here)."""
    return RetireView(
        cycle=record.cycle,
        pc=record.pc,
        next_pc=record.next_pc,
        trap=record.trap is not None,
        scratch=tuple(PortWrite(w.addr, w.value) for w in record.scratch_writes),
        mem=tuple(PortWrite(w.addr, w.value) for w in record.mem_writes),
        trace=tuple(record.trace),
    )


@dataclass(frozen=True)
class FieldDiff:
    """One difference: ``what`` is pc, next_pc, cycle, trap, scratch, mem, trace,
    a duplicate write, or a run that stopped on one side only."""

    what: str
    expected: int | None
    actual: int | None
    addr: int | None = None
    port: str | None = None  # RTL write port that carried the actual write

    def __str__(self) -> str:
        at = f" [{self.addr}]" if self.addr is not None else ""
        via = f" (RTL port {self.port})" if self.port else ""
        return f"{self.what}{at}: expected {_fmt(self.expected)}, actual {_fmt(self.actual)}{via}"


def _fmt(v: int | None) -> str:
    return "none" if v is None else f"{v} (0x{v:x})"


def _write_diffs(
    what: str, expected: Iterable[PortWrite], actual: Iterable[PortWrite], ports: list[WritePort]
) -> list[FieldDiff]:
    diffs: list[FieldDiff] = []
    want = {w.addr: w.value for w in expected}
    got: dict[int, PortWrite] = {}
    for w in actual:
        if w.addr in got:  # the RTL must mask earlier ports; two live writes race in the simulator
            diffs.append(
                FieldDiff(
                    f"{what} (two RTL write ports enabled)", got[w.addr].value, w.value, w.addr, _port_name(w, ports)
                )
            )
        got[w.addr] = w
    for addr in sorted(want.keys() | got.keys()):
        w = got.get(addr)
        if want.get(addr) != (w.value if w else None):
            diffs.append(
                FieldDiff(what, want.get(addr), w.value if w else None, addr, _port_name(w, ports) if w else None)
            )
    return diffs


def _port_name(w: PortWrite, ports: list[WritePort]) -> str | None:
    return str(ports[w.port]) if 0 <= w.port < len(ports) else None


def compare_views(expected: RetireView, actual: RetireView, params: MachineParams) -> list[FieldDiff]:
    """Differences between the model's record and the RTL's retire port for one bundle."""
    diffs: list[FieldDiff] = []
    for name in ("cycle", "pc", "trap"):
        e, a = getattr(expected, name), getattr(actual, name)
        if e != a:
            diffs.append(FieldDiff(name, int(e), int(a)))
    if diffs:
        return diffs
    if expected.next_pc != actual.next_pc:  # a trapping bundle's is its own pc (it stays there)
        diffs.append(FieldDiff("next_pc", expected.next_pc, actual.next_pc))
    if expected.trap:
        return diffs  # a trapping bundle commits nothing: its write ports mean nothing
    diffs += _write_diffs("scratch", expected.scratch, actual.scratch, scratch_write_ports(params))
    diffs += _write_diffs("mem", expected.mem, actual.mem, mem_write_ports(params))
    for i in range(max(len(expected.trace), len(actual.trace))):
        e = expected.trace[i] if i < len(expected.trace) else None
        a = actual.trace[i] if i < len(actual.trace) else None
        if e != a:
            diffs.append(FieldDiff("trace", e, a, i))
    return diffs


@dataclass
class Divergence:
    """The first bundle at which the RTL and the model disagree."""

    index: int  # retire record number (0 = first executed bundle)
    cycle: int
    pc: int  # hardware pc of the bundle (expected side when both exist)
    diffs: list[FieldDiff]
    expected: RetireView | None  # None: the model had stopped
    actual: RetireView | None  # None: the RTL had stopped
    history: list[RetireView] = field(default_factory=list)  # RTL records just before, oldest first

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "cycle": self.cycle,
            "pc": self.pc,
            "diffs": [asdict(d) for d in self.diffs],
            "expected": self.expected.to_json() if self.expected else None,
            "actual": self.actual.to_json() if self.actual else None,
            "history": [h.to_json() for h in self.history],
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Divergence:
        return cls(
            index=d["index"],
            cycle=d["cycle"],
            pc=d["pc"],
            diffs=[FieldDiff(**x) for x in d["diffs"]],
            expected=RetireView.from_json(d["expected"]) if d["expected"] else None,
            actual=RetireView.from_json(d["actual"]) if d["actual"] else None,
            history=[RetireView.from_json(h) for h in d["history"]],
        )
