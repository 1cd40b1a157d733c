"""Config ``vgather`` on the RTL: the extension op vgather and the tree-hash kernel
that uses it, cross-checked against the model bit for bit (one Verilator build
of the vgather core, cached under build/sim/)."""

from __future__ import annotations

import pytest

from kernels.tree_hash import build as build_kernel
from pymodel.benchmark import Problem, Shape, reference_run, values_region
from pymodel.configs import get_config
from pymodel.isa import RunState, TrapCause
from pymodel.program import Program

from .job import RunMode
from .simbuild import SimBuild, SimulatorUnavailable, build_simulator
from .xcheck import cross_check

pytestmark = pytest.mark.rtl
VGATHER = get_config("vgather").params
MEM = [(7919 * i + 13) & 0xFFFFFFFF for i in range(64)]


@pytest.fixture(scope="module")
def vgather_rtl() -> SimBuild:
    try:
        return build_simulator("verilator", VGATHER)
    except SimulatorUnavailable as e:
        pytest.fail(str(e))


def _consts(base: int, values: list[int]) -> list[dict]:
    slots = [("const", base + i, v) for i, v in enumerate(values)]
    return [{"load": slots[i : i + 2]} for i in range(0, len(slots), 2)]


PROGRAMS = {
    # distinct lanes in both load slots at once, then equal lanes, then a gather of gathered addresses
    "vgather-lanes": _consts(0, [5, 63, 0, 17, 1, 2, 3, 62]) + _consts(8, [9] * 8) + [
        {"load": [("vgather", 16, 0), ("vgather", 24, 8)]},
        {"valu": [("&", 32, 16, 40)], "load": [("const", 40, 31)]},
        {"valu": [("&", 32, 16, 48)], "load": [("vgather", 56, 0)]},
        {"load": [("vgather", 64, 32)], "flow": [("halt",)]},
    ],
    # lane 6 past the end of memory: MEM_RANGE, nothing of the bundle commits
    "vgather-trap": _consts(0, [1, 2, 3, 4, 5, 6, 64, 7]) + [
        {"load": [("vgather", 16, 0), ("const", 30, 1)]},
        {"flow": [("halt",)]},
    ],
}  # fmt: skip


@pytest.mark.parametrize("name", list(PROGRAMS))
def test_vgather_programs(vgather_rtl: SimBuild, name: str) -> None:
    program = Program.from_tuples(PROGRAMS[name], VGATHER)
    report = cross_check(vgather_rtl, program, MEM, name=name, model_engine="reference")
    assert report.ok, report.summary()
    if name == "vgather-trap":
        assert report.model.trap is not None and report.model.trap.cause is TrapCause.MEM_RANGE
        assert report.rtl.state == RunState.TRAPPED
    else:
        assert report.model.state is RunState.HALTED
        assert report.model.scratch[16:24] == [MEM[a] for a in (5, 63, 0, 17, 1, 2, 3, 62)]


@pytest.mark.parametrize("seed, shape", [(7, Shape(height=10, rounds=16, batch=256)), (3, Shape(height=4, rounds=7, batch=20))])
def test_vgather_tree_hash_kernel(vgather_rtl: SimBuild, seed: int, shape: Shape) -> None:
    kernel = build_kernel("vgather", shape, VGATHER)
    mem = Problem.generate(shape, seed).memory_image()
    report = cross_check(vgather_rtl, kernel.program, mem, name=f"tree-hash-vgather-{seed}", model_engine="reference")
    assert report.ok, report.summary()
    assert report.model.cycle == report.rtl.cycle
    assert values_region(report.rtl.mem, shape) == values_region(reference_run(mem), shape)
    if shape.batch == 256:
        assert report.rtl.cycle < 960  # the default machine's best is 960


def test_vgather_random_programs(vgather_rtl: SimBuild, tmp_path) -> None:
    """The fuzz generator on the vgather machine draws vgather with no edit of its own
    (randprog reads the config's ops); 60 programs, model vs RTL, every mismatch fails."""
    from tools.fuzz import run_campaign

    stats = run_campaign(60, 5000, batch=30, folder=tmp_path, build=vgather_rtl, jobs=1)
    assert stats.programs == 60 and not stats.mismatches and not stats.batch_only, stats.summary(1.0, RunMode.FAST, VGATHER)
    assert ("load", "vgather") in stats.ops  # executed, not only generated
