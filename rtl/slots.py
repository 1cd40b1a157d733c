"""The slot positions of a bundle: decoder, execution unit and scratch range
check for each (engine, index) of ``Encoding.slot_positions()``, and the
lists of scratch read and write lanes they need, in port order."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

from amaranth.hdl import Module, Value
from amaranth.lib import wiring

from pymodel.isa import Engine

from .alu import AluSlot
from .decode import SlotDecoder, operand_base
from .flow import FlowSlot
from .geometry import CoreGeometry
from .lsu import LoadSlot, StoreSlot
from .trap import ScratchRangeCheck
from .valu import ValuSlot


@dataclass(frozen=True)
class SlotHardware:
    engine: Engine
    index: int
    decoder: SlotDecoder
    unit: wiring.Component
    range_check: ScratchRangeCheck

    @property
    def name(self) -> str:
        return f"{self.engine.value}{self.index}"


@dataclass(frozen=True)
class ReadLane:
    addr: Value  # scratch address (may be past the array: the range check traps then)
    data: Value  # the unit input that receives S[addr]
    position: int = -1  # index of the owning slot in build_slots' list


@dataclass(frozen=True)
class WriteLane:
    en: Value
    addr: Value
    data: Value
    position: int = -1  # index of the owning slot in build_slots' list


def _unit(geom: CoreGeometry, engine: Engine, core_id: int) -> wiring.Component:
    if engine is Engine.ALU:
        return AluSlot(geom)
    if engine is Engine.VALU:
        return ValuSlot(geom)
    if engine is Engine.LOAD:
        return LoadSlot(geom)
    if engine is Engine.STORE:
        return StoreSlot(geom)
    if engine is Engine.FLOW:
        return FlowSlot(geom, core_id)
    raise ValueError(f"engine {engine} has no hardware")


def build_slots(
    m: Module, geom: CoreGeometry, bundle: Value, core_id: int = 0
) -> list[SlotHardware]:
    """Instantiate every slot position and feed it its part of ``bundle``."""
    enc = geom.encoding
    slots = []
    for engine, index in geom.positions():
        name = f"{engine.value}{index}"
        dec = SlotDecoder(geom, engine)
        unit = _unit(geom, engine, core_id)
        check = ScratchRangeCheck(geom, engine)
        m.submodules[f"dec_{name}"] = dec
        m.submodules[name] = unit
        m.submodules[f"range_{name}"] = check
        lsb = enc.position_lsb(engine, index)
        m.d.comb += [
            dec.word.eq(bundle[lsb : lsb + enc.slot_bits]),
            unit.slot.eq(dec.slot),
            check.slot.eq(dec.slot),
        ]
        slots.append(SlotHardware(engine, index, dec, unit, check))
    return slots


def read_lanes(geom: CoreGeometry, slots: list[SlotHardware]) -> Iterator[ReadLane]:
    """Every scratch read lane, slot position by slot position, field by field."""
    for p, hw in enumerate(slots):
        for f, lanes in geom.read_lanes(hw.engine).items():
            data = getattr(hw.unit, f.value)
            if len(data) != lanes:
                have = len(data)
                raise AssertionError(f"{hw.name}: the unit reads {have} lanes through {f.value}; the ISA needs {lanes}")
            base = operand_base(geom, hw.engine, hw.decoder.slot, f)
            for i in range(lanes):
                yield ReadLane(base + i, data[i], p)


def write_lanes(geom: CoreGeometry, slots: list[SlotHardware]) -> Iterator[WriteLane]:
    """Every scratch write lane in priority order (``geom.scratch_write_ports``)."""
    for p, hw in enumerate(slots):
        lanes = geom.write_lanes(hw.engine)
        if lanes == 0:
            continue
        unit = hw.unit
        if len(unit.wr_en) != lanes:
            raise AssertionError(f"{hw.name}: unit has {len(unit.wr_en)} write lanes, the ISA needs {lanes}")
        for i in range(lanes):
            yield WriteLane(unit.wr_en[i], unit.wr_addr[i], unit.wr_data[i], p)
