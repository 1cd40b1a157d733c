"""The tree-hash variants of the machine configs (kernels/tree_hash/gather_variant.py)
are correct for any seed and shape on their machine, like the default kernel; the
cycle figures of docs/EXTENDING.md are what the build gives."""

from __future__ import annotations

import pytest

from kernels.tree_hash import build
from pymodel.benchmark import BENCHMARK_SHAPE, Problem, Shape, reference_run, values_region
from pymodel.configs import get_config
from pymodel.fast import FastMachine
from pymodel.isa import RunState

VARIANTS = [("vgather", "vgather"), ("vgather", "vgather_valu8"), ("valu8", "valu8")]
SHAPES = [Shape(10, 16, 256), Shape(4, 7, 20), Shape(3, 9, 64), Shape(6, 3, 8)]


def _check(variant: str, config: str, shape: Shape, seeds: list[int]) -> int:
    params = get_config(config).params
    program = build(variant, shape, params).program
    for seed in seeds:
        mem = Problem.generate(shape, seed).memory_image()
        m = FastMachine(program, mem, params)  # vgather runs through the fast engine's generic path
        assert m.run_to_end() is RunState.HALTED, (config, shape, seed, m.trap)
        assert values_region(m.mem, shape) == values_region(reference_run(mem), shape), (config, shape, seed)
    return len(program)


@pytest.mark.parametrize("variant, config", VARIANTS)
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"H{s.height}R{s.rounds}B{s.batch}")
def test_config_variant_matches_the_reference(variant: str, config: str, shape: Shape) -> None:
    _check(variant, config, shape, [123, 1, 2] if shape == BENCHMARK_SHAPE else [5, 6])


def test_config_variants_beat_the_default_machine() -> None:
    default = len(build("optimized", BENCHMARK_SHAPE).program)
    cycles = {c: len(build(v, BENCHMARK_SHAPE, get_config(c).params).program) for v, c in VARIANTS}
    assert cycles["vgather"] < default and cycles["valu8"] <= default, (default, cycles)
    assert cycles["vgather_valu8"] < 0.8 * default, (default, cycles)
