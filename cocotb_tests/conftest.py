"""Session fixtures: one Verilator build (cached under build/sim/), one Icarus build.

Every cross-checked program is also observed by the functional-coverage
collector (pymodel.coverage.SESSION); the root conftest.py prints and writes
the summary at the end of the session.
"""

from __future__ import annotations

import functools
from typing import Any

import pytest

from pymodel.coverage import SESSION

from . import batch, xcheck
from .simbuild import SimBuild, SimulatorUnavailable, build_simulator


def _with_coverage(cross_check: Any) -> Any:
    """cross_check that also records the program's coverage (test modules import
    the name after this conftest has run, so they all get this one)."""
    if getattr(cross_check, "records_coverage", False):
        return cross_check

    @functools.wraps(cross_check)
    def checked(build: SimBuild, program: Any, mem: list[int], **kw: Any) -> xcheck.XCheckReport:
        report = cross_check(build, program, mem, **kw)
        SESSION.record(program, mem, build.params, enable_pause=kw.get("enable_pause", True))
        return report

    checked.records_coverage = True  # type: ignore[attr-defined]
    return checked


def _batch_with_coverage(cross_check_batch: Any) -> Any:
    """The same for batch.cross_check_batch (the fuzz campaign's many programs per simulation)."""
    if getattr(cross_check_batch, "records_coverage", False):
        return cross_check_batch

    @functools.wraps(cross_check_batch)
    def checked(build: SimBuild, tests: Any, **kw: Any) -> Any:
        result = cross_check_batch(build, tests, **kw)
        for t in tests:
            SESSION.record(t.program, t.mem, build.params, enable_pause=t.enable_pause)
        return result

    checked.records_coverage = True  # type: ignore[attr-defined]
    return checked


xcheck.cross_check = _with_coverage(xcheck.cross_check)
batch.cross_check_batch = _batch_with_coverage(batch.cross_check_batch)


@pytest.fixture(scope="session")
def verilator() -> SimBuild:
    try:
        return build_simulator("verilator")
    except SimulatorUnavailable as e:  # a declared dependency: missing means a broken venv
        pytest.fail(str(e))


@pytest.fixture(scope="session")
def icarus() -> SimBuild:
    try:
        return build_simulator("icarus")
    except SimulatorUnavailable as e:
        pytest.skip(str(e))
