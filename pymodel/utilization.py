"""Slot utilization of a run: how full the bundles were, per engine.

From how often each pc executed (the retire records of a reference-model
run, or a list of executed pcs), count the slots each engine used, the share
of its capacity (slot limit x cycles) and the lower bound on cycles that the
engine's slot count alone implies: ceil(slots / slot limit).  The largest such
bound is what any schedule of the same slots needs at least.

Cycles are core-cycles: with several cores each core's executed bundles count.
Debug slots are left out (they are free).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from fractions import Fraction
from typing import Iterable, Mapping

from .events import RetireRecord
from .isa import DEFAULT_PARAMS, HW_ENGINES, Engine, MachineParams
from .program import Program


@dataclass(frozen=True)
class EngineUse:
    engine: Engine
    slots: int  # slots executed
    slot_limit: int  # slots per bundle
    cycles: int

    @property
    def capacity(self) -> int:
        return self.slot_limit * self.cycles

    @property
    def percent(self) -> float:
        return 100.0 * self.slots / self.capacity if self.capacity else 0.0

    @property
    def min_cycles(self) -> int:
        """Cycles this engine's slots need at the very least."""
        return -(-self.slots // self.slot_limit)


@dataclass(frozen=True)
class Utilization:
    cycles: int
    engines: tuple[EngineUse, ...]  # HW_ENGINES order

    @classmethod
    def from_visits(
        cls, program: Program, visits: Mapping[int, int], params: MachineParams = DEFAULT_PARAMS
    ) -> "Utilization":
        """``visits``: pc -> times executed.  Zero-cost bundles add no cycle."""
        cycles = 0
        used = Counter[Engine]()
        for pc, times in visits.items():
            if not 0 <= pc < len(program):
                raise ValueError(f"pc {pc} is outside the program (0..{len(program) - 1})")
            bundle = program[pc]
            if not bundle.costs_cycle:
                continue
            cycles += times
            for engine, slots in bundle.groups:
                used[engine] += times * len(slots)
        engines = tuple(EngineUse(e, used[e], params.slot_limit(e), cycles) for e in HW_ENGINES)
        return cls(cycles, engines)

    @classmethod
    def from_pcs(cls, program: Program, pcs: Iterable[int], params: MachineParams = DEFAULT_PARAMS) -> "Utilization":
        return cls.from_visits(program, Counter(pcs), params)

    @classmethod
    def from_records(
        cls, program: Program, records: Iterable[RetireRecord], params: MachineParams = DEFAULT_PARAMS
    ) -> "Utilization":
        """A trapping bundle's record is left out: it committed nothing and cost no cycle."""
        return cls.from_pcs(program, (r.pc for r in records if r.trap is None), params)

    def use(self, engine: Engine) -> EngineUse:
        return next(u for u in self.engines if u.engine is engine)

    @property
    def busiest(self) -> EngineUse:
        """The engine closest to full (ties: the earlier in hardware order)."""
        return max(self.engines, key=lambda u: (Fraction(u.slots, u.slot_limit), -HW_ENGINES.index(u.engine)))

    @property
    def min_cycles(self) -> int:
        """Lower bound on cycles from slot counts alone (the busiest engine's)."""
        return max((u.min_cycles for u in self.engines), default=0)

    def format_report(self) -> str:
        rows = [f"{'engine':<8}{'slots':>12}{'capacity':>14}{'use %':>9}{'min cycles':>12}"]
        for u in self.engines:
            rows.append(f"{u.engine.value:<8}{u.slots:>12}{u.capacity:>14}{u.percent:>8.2f}%{u.min_cycles:>12}")
        b = self.busiest
        rows.append(
            f"cycles {self.cycles}; busiest engine {b.engine} at {b.percent:.2f}%; "
            f"slot counts alone need at least {self.min_cycles} cycles"
        )
        return "\n".join(rows)

