"""The spec's figures for the benchmark problem (MACHINE-SPEC.md, "Figures to reproduce")."""

import pytest

from pymodel.benchmark import BENCHMARK_SHAPE, Problem, Shape, hash_value, reference_final_memory, values_region


def test_hash_figures():
    assert hash_value(0) == 1800329511
    assert hash_value(1) == 3028713910
    assert hash_value(0xFFFFFFFF) == 4268016002


def test_seed_123_memory_image():
    problem = Problem.generate(BENCHMARK_SHAPE, seed=123)
    mem = problem.memory_image()
    assert len(mem) == 2566
    assert mem[:8] == [16, 2047, 256, 10, 7, 2054, 2310, 112449971]
    assert list(problem.values[:3]) == [319861016, 570165276, 361744404]
    assert mem[2310:2313] == [319861016, 570165276, 361744404]
    assert mem[2054:2310] == [0] * 256  # all indices start at 0


def test_seed_123_after_16_rounds():
    shape = BENCHMARK_SHAPE
    final = reference_final_memory(Problem.generate(shape, seed=123))
    assert values_region(final, shape)[:4] == [677941075, 2166718950, 1850294448, 228067758]
    assert final[shape.indices_p : shape.indices_p + 4] == [62, 35, 45, 55]
    assert len(final) == shape.mem_len  # never grown


def test_other_seed_differs():
    a = Problem.generate(BENCHMARK_SHAPE, seed=1).memory_image()
    b = Problem.generate(BENCHMARK_SHAPE, seed=2).memory_image()
    assert a[:7] == b[:7] and a != b


@pytest.mark.parametrize("bad", [dict(height=-1), dict(height=21), dict(rounds=-1), dict(batch=0)])
def test_shape_rejects_nonsense(bad):
    with pytest.raises(ValueError):
        Shape(**bad)
