"""Functional coverage: what a test suite made the machine do.

``CoverageMachine`` is the reference interpreter with an observer: for every
executed slot it notes the (engine, op, slot index), the corner-value
classes of its operands, and per bundle the spec's quirks (write priority,
reads of a word being written, zero-cost bundles, halt mid-bundle...), and
each trap.  A ``Coverage`` accumulates them over many programs and is
measured against ``goals(params)``; ``SESSION`` is the pytest session's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from .coverage_classes import (
    QUIRKS,
    TRAP_GOALS,
    bundle_quirks,
    scratch_trap_goal,
    slot_classes,
    static_quirks,
    trap_goals,
    value_goals,
)
from .isa import DEFAULT_PARAMS, HW_ENGINES, Engine, MachineParams, RunState, ops_of
from .machine import Machine, PlannedBundle, PlannedSlot, RetireHook
from .context import BundleContext, Fault
from .core import CoreState
from .program import Program, as_program

COVERAGE_MAX_CYCLES = 20_000  # a long kernel repeats itself: its first cycles are enough

SlotKey = tuple[str, str, int]  # (engine, op, slot index)
ValueKey = tuple[str, str, str]  # (engine, op, class)


@dataclass
class Coverage:
    """Sets of covered items; JSON-able; ``merge`` adds another run's."""

    slots: set[SlotKey] = field(default_factory=set)
    values: set[ValueKey] = field(default_factory=set)
    quirks: set[str] = field(default_factory=set)
    traps: set[str] = field(default_factory=set)
    programs: int = 0
    cycles: int = 0
    truncated: int = 0  # programs cut at COVERAGE_MAX_CYCLES

    def merge(self, other: "Coverage") -> None:
        self.slots |= other.slots
        self.values |= other.values
        self.quirks |= other.quirks
        self.traps |= other.traps
        self.programs += other.programs
        self.cycles += other.cycles
        self.truncated += other.truncated

    def to_json_data(self) -> dict[str, Any]:
        return {
            "slots": sorted(list(k) for k in self.slots),
            "values": sorted(list(k) for k in self.values),
            "quirks": sorted(self.quirks),
            "traps": sorted(self.traps),
            "programs": self.programs,
            "cycles": self.cycles,
            "truncated": self.truncated,
        }

    @classmethod
    def from_json_data(cls, data: Mapping[str, Any]) -> "Coverage":
        return cls(
            slots={(e, o, int(i)) for e, o, i in data["slots"]},
            values={(e, o, c) for e, o, c in data["values"]},
            quirks=set(data["quirks"]),
            traps=set(data["traps"]),
            programs=int(data["programs"]),
            cycles=int(data["cycles"]),
            truncated=int(data["truncated"]),
        )


# --------------------------------------------------------------------------
# Goals and the report


def slot_goals(params: MachineParams = DEFAULT_PARAMS) -> list[SlotKey]:
    """Every op of every hardware engine in every slot position."""
    return [(e.value, op.name, i) for e in HW_ENGINES for op in ops_of(e, params) for i in range(params.slot_limit(e))]


def goals(params: MachineParams = DEFAULT_PARAMS) -> dict[str, list[Any]]:
    return {
        "op x slot position": slot_goals(params),
        "corner values per op": value_goals(params),
        "quirks": list(QUIRKS),
        "traps": trap_goals(params),
    }


@dataclass(frozen=True)
class CategoryResult:
    name: str
    hit: int
    total: int
    holes: list[str]

    @property
    def percent(self) -> float:
        return 100.0 * self.hit / self.total if self.total else 100.0


def _covered_set(cov: Coverage, category: str) -> set[Any]:
    return {
        "op x slot position": cov.slots,
        "corner values per op": cov.values,
        "quirks": cov.quirks,
        "traps": cov.traps,
    }[category]


def _key_text(key: Any) -> str:
    return " ".join(str(k) for k in key) if isinstance(key, tuple) else str(key)


def measure(cov: Coverage, params: MachineParams = DEFAULT_PARAMS) -> list[CategoryResult]:
    out = []
    for name, wanted in goals(params).items():
        have = _covered_set(cov, name)
        holes = [_key_text(k) for k in wanted if k not in have]
        out.append(CategoryResult(name, len(wanted) - len(holes), len(wanted), holes))
    return out


def report_text(cov: Coverage, params: MachineParams = DEFAULT_PARAMS, max_holes: int = 40) -> str:
    lines = [
        f"functional coverage: {cov.programs} programs, {cov.cycles} model cycles observed"
        + (f" ({cov.truncated} cut at {COVERAGE_MAX_CYCLES} cycles)" if cov.truncated else "")
    ]
    for r in measure(cov, params):
        lines.append(f"  {r.name:<22} {r.percent:6.1f}%  ({r.hit}/{r.total})")
        for hole in r.holes[:max_holes]:
            lines.append(f"      hole: {hole}")
        if len(r.holes) > max_holes:
            lines.append(f"      ... {len(r.holes) - max_holes} more holes")
    return "\n".join(lines)


def write_reports(cov: Coverage, out_dir: Path, params: MachineParams = DEFAULT_PARAMS) -> tuple[Path, Path]:
    """build/coverage.json (covered items + per-category figures) and coverage.txt."""
    out_dir.mkdir(parents=True, exist_ok=True)
    data = cov.to_json_data()
    data["categories"] = [
        {"name": r.name, "hit": r.hit, "total": r.total, "percent": round(r.percent, 2), "holes": r.holes}
        for r in measure(cov, params)
    ]
    json_path, text_path = out_dir / "coverage.json", out_dir / "coverage.txt"
    json_path.write_text(json.dumps(data, indent=1))
    text_path.write_text(report_text(cov, params, max_holes=10_000) + "\n")
    return json_path, text_path


# --------------------------------------------------------------------------
# The observer


class CoverageMachine(Machine):
    """The reference Machine, noting what it executes into ``self.coverage``."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.coverage = Coverage()
        self._pending: list[tuple[str, str, int]] = []
        self._core: CoreState | None = None
        self._static: dict[int, frozenset[str]] = {}  # pc -> quirks known without running

    def _step(self, core: CoreState, bundle: PlannedBundle, on_retire: RetireHook | None) -> bool:
        pc = core.pc
        self._core, self._pending = core, []
        if pc not in self._static:
            self._static[pc] = static_quirks(self.program[pc], bundle, self.params, self.enable_pause)
        dynamic = bundle_quirks(bundle, core.scratch, self.params)
        ok = super()._step(core, bundle, on_retire)
        cov = self.coverage
        if ok:
            cov.slots.update(self._pending)
            cov.quirks |= self._static[pc] | dynamic
            if core.state is RunState.PAUSED:
                cov.quirks.add("pause stops the core (enabled)")
        elif self.trap is not None:
            if len(bundle.slots) > 1:
                cov.quirks.add("trap in a bundle with other slots (nothing commits)")
        return ok

    def _execute(self, ctx: BundleContext, slot: PlannedSlot) -> None:
        assert self._core is not None
        scratch, engine, name = self._core.scratch, slot.engine.value, slot.spec.name
        cov = self.coverage
        if slot.bad_scratch is not None:
            cov.traps.add(scratch_trap_goal(slot.spec, slot.args, slot.bad_scratch, self.params))
            super()._execute(ctx, slot)
            return
        if slot.engine is not Engine.DEBUG:
            for c in slot_classes(slot.spec, slot.args, scratch, self.mem, self.params, self.enable_pause):
                cov.values.add((engine, name, c))
        try:
            super()._execute(ctx, slot)
        except Fault as fault:
            cov.traps.add(f"{fault.cause.name} {engine} {name}")
            raise
        if slot.engine is Engine.FLOW and slot.spec.control:
            self._note_jump(ctx, slot)
        self._pending.append((engine, name, slot.index))

    def _note_jump(self, ctx: BundleContext, slot: PlannedSlot) -> None:
        if not slot.spec.name.startswith(("jump", "cond_jump")):
            return
        engine, name = slot.engine.value, slot.spec.name
        if ctx.next_pc == ctx.pc:
            self.coverage.values.add((engine, name, "not taken" if name.startswith("cond") else "to next bundle"))
            return
        where = "to end" if ctx.next_pc >= len(self.program) else "backward" if ctx.next_pc < ctx.pc else "forward"
        self.coverage.values.add((engine, name, f"taken {where}"))
        self.coverage.quirks.add(f"jump {where}")


def collect(
    program: Program | Sequence[Mapping[str, Any]],
    mem: Sequence[int],
    params: MachineParams = DEFAULT_PARAMS,
    *,
    enable_pause: bool = True,
    max_cycles: int = COVERAGE_MAX_CYCLES,
) -> Coverage:
    """Run ``program`` (debug slots skipped, like the cross-check) to its end and return what it covered."""
    machine = CoverageMachine(as_program(program, params), mem, params, enable_pause=enable_pause, enable_debug=False)
    cov = machine.coverage
    pauses = 0
    while True:
        state = machine.run(max_cycles)
        if state is not RunState.PAUSED:
            break
        pauses += 1
    if pauses:
        cov.quirks.add("resume after a pause")
    if state is RunState.HALTED and machine.cores[0].pc >= len(machine.program):
        cov.quirks.add("run past the last bundle (normal stop)")
    if state is RunState.TRAPPED and machine.trap is not None and machine.trap.cause.name == "JUMP_NEGATIVE":
        cov.quirks.add("relative jump before bundle 0 traps")
    cov.programs, cov.cycles, cov.truncated = 1, machine.cycle, int(state is RunState.RUNNING)
    return cov


class SessionCoverage:
    """What a whole pytest session covered; each distinct program is observed once."""

    def __init__(self) -> None:
        self.total = Coverage()
        self._seen: set[int] = set()

    def record(
        self, program: Program, mem: Sequence[int], params: MachineParams = DEFAULT_PARAMS, *, enable_pause: bool = True
    ) -> None:
        key = hash((program, tuple(mem), params, enable_pause))
        if key in self._seen:
            return
        self._seen.add(key)
        self.total.merge(collect(program, mem, params, enable_pause=enable_pause))

    @property
    def empty(self) -> bool:
        return self.total.programs == 0


SESSION = SessionCoverage()
