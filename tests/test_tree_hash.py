"""The tree-hash kernels on the golden model, against the reference semantics."""

from __future__ import annotations

import pytest

from kernels.builder import BuildError
from kernels.tree_hash import build
from pymodel.benchmark import BENCHMARK_SHAPE, Problem, Shape, reference_run, values_region
from pymodel.isa import Engine, RunState, TrapCause
from pymodel.fast import FastMachine
from pymodel.machine import Machine


def run_kernel(variant: str, shape: Shape, seed: int) -> tuple[Machine, list[int]]:
    """Final machine and the reference's final memory."""
    mem = Problem.generate(shape, seed).memory_image()
    m = Machine(build(variant, shape).program, mem)
    assert m.run_to_end() is RunState.HALTED, m.trap
    return m, reference_run(mem)


def test_baseline_costs_147734_cycles_and_is_correct() -> None:
    kernel = build("baseline")
    mem = Problem.generate(BENCHMARK_SHAPE, 123).memory_image()
    m = Machine(kernel.program, mem)
    assert m.run() is RunState.PAUSED
    assert m.cycle == 7 * 2 + 3 + 1  # header loads, constants 0 1 2, the pause
    assert m.run() is RunState.PAUSED
    assert m.cycle == 277 + 36 * 4096 + 1  # the final pause
    assert m.run() is RunState.HALTED and m.cycle == 147734
    assert values_region(m.mem, BENCHMARK_SHAPE) == values_region(reference_run(mem), BENCHMARK_SHAPE)
    assert values_region(m.mem, BENCHMARK_SHAPE)[:4] == [677941075, 2166718950, 1850294448, 228067758]
    assert m.mem[BENCHMARK_SHAPE.indices_p : BENCHMARK_SHAPE.indices_p + 4] == [62, 35, 45, 55]
    # 277 cycles before the body: the first body slot follows 277 cycle-costing bundles.
    first_body = next(b for b, bundle in enumerate(kernel.program) if bundle.slots(Engine.ALU))
    assert sum(bundle.costs_cycle for bundle in kernel.program.bundles[:first_body]) == 277


def test_baseline_is_one_slot_per_bundle() -> None:
    kernel = build("baseline", Shape(2, 2, 3))
    assert all(len(list(bundle)) == 1 for bundle in kernel.program)


@pytest.mark.parametrize("shape, seed", [(Shape(2, 3, 5), 1), (Shape(0, 4, 2), 2), (Shape(3, 9, 3), 3)])
def test_baseline_matches_the_reference(shape: Shape, seed: int) -> None:
    m, ref = run_kernel("baseline", shape, seed)
    assert m.mem == ref  # the baseline writes the indices back too


@pytest.mark.parametrize("seed", [123, 1, 99])
def test_vector_at_the_benchmark_shape(seed: int) -> None:
    m, ref = run_kernel("vector", BENCHMARK_SHAPE, seed)
    assert values_region(m.mem, BENCHMARK_SHAPE) == values_region(ref, BENCHMARK_SHAPE)
    assert m.cycle < 5000


@pytest.mark.parametrize(
    "shape",
    [
        Shape(0, 5, 1),  # one item, a tree of one node: wraps every round
        Shape(1, 7, 13),  # a tail of 5 items after one full vector
        Shape(3, 9, 13),  # gathers, two wraps
        Shape(2, 5, 8),  # exactly one vector
        Shape(3, 20, 40),  # five wraps
        Shape(5, 14, 7),  # only a tail, gathers at levels 3..5
        Shape(4, 8, 500),  # more vectors than fit in scratch at once: chunks
        Shape(6, 0, 9),  # no rounds: values unchanged
    ],
)
@pytest.mark.parametrize("seed", [5, 77])
def test_vector_matches_the_reference(shape: Shape, seed: int) -> None:
    m, ref = run_kernel("vector", shape, seed)
    assert values_region(m.mem, shape) == values_region(ref, shape)


@pytest.mark.parametrize("seed", [123, 8])
def test_dataflow_at_the_benchmark_shape(seed: int) -> None:
    """vector's algorithm on kernels.compiler: same answers, far fewer cycles."""
    kernel = build("dataflow")
    mem = Problem.generate(BENCHMARK_SHAPE, seed).memory_image()
    m = FastMachine(kernel.program, mem)
    assert m.run_to_end() is RunState.HALTED, m.trap
    assert values_region(m.mem, BENCHMARK_SHAPE) == values_region(reference_run(mem), BENCHMARK_SHAPE)
    assert m.cycle == len(kernel.program) < 1200


@pytest.mark.parametrize(
    "shape", [Shape(0, 5, 1), Shape(1, 7, 13), Shape(3, 9, 13), Shape(2, 5, 8), Shape(5, 14, 7), Shape(4, 8, 500)]
)
def test_dataflow_matches_the_reference(shape: Shape) -> None:
    kernel = build("dataflow", shape)
    for seed in (5, 77):
        mem = Problem.generate(shape, seed).memory_image()
        m = FastMachine(kernel.program, mem)
        assert m.run_to_end() is RunState.HALTED, m.trap
        assert values_region(m.mem, shape) == values_region(reference_run(mem), shape)


@pytest.mark.parametrize(
    "variant, shape", [("baseline", Shape(3, 5, 13)), ("vector", Shape(4, 12, 13)), ("dataflow", Shape(4, 12, 13))]
)
def test_debug_compares_pass_and_catch_a_wrong_value(variant: str, shape: Shape) -> None:
    problem = Problem.generate(shape, 5)
    kernel = build(variant, shape, debug_problem=problem)
    assert kernel.debug_values is not None
    m = Machine(kernel.program, problem.memory_image(), debug_values=kernel.debug_values)
    assert m.run_to_end() is RunState.HALTED, m.trap
    plain = Machine(build(variant, shape).program, problem.memory_image())
    plain.run_to_end()
    assert plain.cycle == m.cycle  # debug slots cost no cycle
    wrong = dict(kernel.debug_values)
    wrong[(2, 7, "hashed_val")] ^= 1
    bad = Machine(kernel.program, problem.memory_image(), debug_values=wrong)
    assert bad.run_to_end() is RunState.TRAPPED
    assert bad.trap is not None and bad.trap.cause is TrapCause.DEBUG_MISMATCH


def test_symbols_name_the_kernel_state() -> None:
    kernel = build("vector", Shape(3, 4, 16))
    assert kernel.symbols["val[0:]"] == (kernel.symbols["val[0:]"][0], 16)
    assert all(0 <= a and a + w <= 1536 for a, w in kernel.symbols.values())
    assert (kernel.name, kernel.variant, kernel.shape) == ("tree_hash", "vector", Shape(3, 4, 16))


def test_build_errors() -> None:
    with pytest.raises(BuildError, match="unknown tree_hash variant 'fast' \\(variants: baseline, vector, optimized, dataflow"):
        build("fast")
    with pytest.raises(BuildError, match="debug_problem has shape"):
        build("vector", Shape(2, 2, 2), debug_problem=Problem.generate(Shape(2, 2, 3), 1))
