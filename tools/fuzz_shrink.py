"""Delta debugging of a failing fuzz program: drop bundles, then engine groups,
then single slots, while the model and the RTL still disagree.

Candidates are tried many at a time in one batch simulation; a candidate that
fails there is kept only if it also fails alone on a fresh simulation (the
saved case must fail by itself).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from cocotb_tests.batch import cross_check_batch
from cocotb_tests.job import RunMode
from cocotb_tests.programs import TestProgram
from cocotb_tests.randprog import RawBundle
from cocotb_tests.simbuild import SimBuild
from cocotb_tests.xcheck import XCheckReport, cross_check
from pymodel.program import Program

CANDIDATES_PER_BATCH = 40


def real_failure(report: XCheckReport) -> bool:
    """A model/RTL disagreement (not a program the model cannot finish, or one that does nothing)."""
    return not report.ok and report.model.finished and not any("compared nothing" in m for m in report.mismatches)


@dataclass
class Shrinker:
    build: SimBuild
    mode: RunMode
    max_cycles: int
    budget: int = 400  # candidate programs run, at most
    tried: int = 0
    mutant: int = 0  # a netlist-mutation build's mutant (0: the real design)

    def check(self, t: TestProgram) -> XCheckReport:
        """``t`` alone on a fresh simulation (after reset)."""
        if self.mutant:  # cross_check drives no mutant-select port: a batch of one is the same run
            return self._batch([t])[0]
        return cross_check(self.build, t.program, t.mem, name=t.name, enable_pause=t.enable_pause,
                           mode=self.mode, max_cycles=self.max_cycles)  # fmt: skip

    def _batch(self, tests: list[TestProgram]) -> list[XCheckReport]:
        return cross_check_batch(self.build, tests, mode=self.mode, max_cycles=self.max_cycles,
                                 mutant=self.mutant).reports  # fmt: skip

    def _first_failing(self, base: TestProgram, candidates: Iterator[list[RawBundle]]) -> TestProgram | None:
        chunk: list[TestProgram] = []
        for raw in candidates:
            chunk.append(TestProgram(base.name, Program.from_tuples(raw, self.build.params), base.mem,
                                     base.enable_pause))  # fmt: skip
            if len(chunk) == CANDIDATES_PER_BATCH:
                found = self._run(chunk)
                if found is not None or self.tried >= self.budget:
                    return found
                chunk = []
        return self._run(chunk) if chunk else None

    def _run(self, chunk: list[TestProgram]) -> TestProgram | None:
        self.tried += len(chunk)
        reports = self._batch(chunk)
        for t, r in zip(chunk, reports):
            if real_failure(r) and real_failure(self.check(t)):
                return t
        return None

    def shrink(self, t: TestProgram) -> TestProgram:
        for moves in (_drop_bundles, _drop_groups, _drop_slots):
            while self.tried < self.budget:
                found = self._first_failing(t, moves(t.program.to_tuples()))
                if found is None:
                    break
                t = found
        return t


def _drop_bundles(raw: list[RawBundle]) -> Iterator[list[RawBundle]]:
    """Halves, quarters, ... of the bundle list, then single bundles (ddmin's complements)."""
    n = len(raw)
    size = max(1, n // 2)
    while size >= 1:
        for i in range(0, n, size):
            if n - size >= 1:
                yield raw[:i] + raw[i + size :]
        if size == 1:
            break
        size //= 2


def _edited(raw: list[RawBundle], pc: int, edit: Callable[[RawBundle], RawBundle]) -> list[RawBundle]:
    return raw[:pc] + [edit(raw[pc])] + raw[pc + 1 :]


def _drop_groups(raw: list[RawBundle]) -> Iterator[list[RawBundle]]:
    for pc, bundle in enumerate(raw):
        for engine in bundle:
            if len(bundle) > 1 or bundle[engine]:
                yield _edited(raw, pc, lambda b, e=engine: {k: v for k, v in b.items() if k != e} or {"alu": []})


def _drop_slots(raw: list[RawBundle]) -> Iterator[list[RawBundle]]:
    for pc, bundle in enumerate(raw):
        for engine, slots in bundle.items():
            if len(slots) > 1:
                for i in range(len(slots)):
                    yield _edited(raw, pc, lambda b, e=engine, i=i: _without(b, e, i))


def _without(bundle: RawBundle, engine: str, index: int) -> RawBundle:
    out: dict[str, Any] = dict(bundle)
    out[engine] = [s for j, s in enumerate(bundle[engine]) if j != index]
    return out
