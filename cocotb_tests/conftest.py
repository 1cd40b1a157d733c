"""Session fixtures: one Verilator build (cached under build/sim/), one Icarus build."""

from __future__ import annotations

import pytest

from .simbuild import SimBuild, SimulatorUnavailable, build_simulator


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
