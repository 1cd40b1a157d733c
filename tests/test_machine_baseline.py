"""The spec's figure: the scalar baseline kernel costs 147734 cycles (H=10, R=16, B=256),
on both engines, and computes the reference's values region."""

import pytest

from pymodel.benchmark import BENCHMARK_SHAPE, Problem, Shape, reference_run, values_region
from pymodel.core import snapshot
from pymodel.fast import FastMachine
from pymodel.isa import Engine, RunState
from pymodel.machine import Machine
from tools.bench_model import BASELINE_CYCLES, baseline_program

SEED = 123


@pytest.fixture(scope="module")
def problem_mem() -> list[int]:
    return Problem.generate(BENCHMARK_SHAPE, SEED).memory_image()


def check_baseline_on_both_engines(program, mem):
    want = values_region(reference_run(mem), BENCHMARK_SHAPE)
    ref, fast = Machine(program, mem, enable_debug=False), FastMachine(program, mem, enable_debug=False)
    assert ref.run_to_end() is RunState.HALTED
    assert fast.run_to_end() is RunState.HALTED
    assert ref.cycle == fast.cycle == BASELINE_CYCLES == 147734
    assert values_region(ref.mem, BENCHMARK_SHAPE) == want
    assert snapshot(ref) == snapshot(fast)


def test_bench_fallback_baseline_matches_the_spec_figure(problem_mem):
    program = baseline_program()
    assert all(sum(len(slots) for _, slots in b.groups) == 1 for b in program)  # one slot per bundle
    firsts = [program[i].slots(Engine(e))[0].op for i, e in ((17, "flow"), (276, "load"), (277, "alu"))]
    assert firsts == ["pause", "const", "+"]  # 277 bundles before the body
    check_baseline_on_both_engines(program, problem_mem)


def test_kernels_baseline_matches_the_spec_figure(problem_mem):
    tree_hash = pytest.importorskip("kernels.tree_hash")
    check_baseline_on_both_engines(tree_hash.build("baseline").program, problem_mem)


@pytest.mark.parametrize("variant", ["baseline", "vector"])
def test_kernels_debug_compares_pass_on_the_reference(variant):
    tree_hash = pytest.importorskip("kernels.tree_hash")
    shape = Shape(height=3, rounds=2, batch=16)
    problem = Problem.generate(shape, SEED)
    kernel = tree_hash.build(variant, shape, debug_problem=problem)
    m = Machine(kernel.program, problem.memory_image(), debug_values=kernel.debug_values)
    assert m.run_to_end() is RunState.HALTED, m.trap
    assert values_region(m.mem, shape) == values_region(reference_run(problem.memory_image()), shape)


def test_kernels_vector_variant_agrees_on_both_engines(problem_mem):
    tree_hash = pytest.importorskip("kernels.tree_hash")
    program = tree_hash.build("vector").program
    ref, fast = Machine(program, problem_mem, enable_debug=False), FastMachine(program, problem_mem, enable_debug=False)
    assert ref.run_to_end() is fast.run_to_end() is RunState.HALTED
    assert snapshot(ref) == snapshot(fast)
    assert values_region(fast.mem, BENCHMARK_SHAPE) == values_region(reference_run(problem_mem), BENCHMARK_SHAPE)
