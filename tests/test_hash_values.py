"""The second kernel on the dataflow compiler: hash_values (R hashes of every value)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kernels import hash_values
from kernels.builder import BuildError
from kernels.compiler import interpret
from kernels.registry import KERNELS, resolve
from pymodel.benchmark import BENCHMARK_SHAPE, Problem, Shape, hash_value, values_region
from pymodel.fast import FastMachine
from pymodel.isa import DEFAULT_PARAMS, Engine, RunState, TrapCause
from pymodel.machine import Machine

# 32 vectors x 16 rounds x 11 vector ops (4 multiply_add + 7 lane-wise), on
# VALU (6) + ALU (12/8): 7.5 vector ops a cycle.
BENCHMARK_BOUND = 751


@pytest.fixture(scope="module")
def benchmark_kernel():
    return hash_values.build()


def _run(program, mem: list[int]) -> FastMachine:
    m = FastMachine(program, mem)
    assert m.run_to_end() is RunState.HALTED, m.trap
    return m


def test_listed_and_resolved() -> None:
    assert "hash_values" in KERNELS
    kernel, variant = resolve("hash_values")
    assert (kernel.name, variant) == ("hash_values", "dataflow")
    assert kernel.reference is hash_values.reference


def test_benchmark_shape_on_many_seeds(benchmark_kernel) -> None:
    shape = BENCHMARK_SHAPE
    for seed in range(12):
        mem = Problem.generate(shape, seed).memory_image()
        m = _run(benchmark_kernel.program, mem)
        assert values_region(m.mem, shape) == hash_values.reference(mem, shape), seed
        # only the values region changes
        assert m.mem[: shape.values_p] == mem[: shape.values_p]
        assert m.cycle == len(benchmark_kernel.program)


def test_benchmark_shape_is_near_its_bound(benchmark_kernel) -> None:
    program = benchmark_kernel.program
    cycles = len(program)
    assert BENCHMARK_BOUND <= cycles <= BENCHMARK_BOUND * 1.03, cycles
    slots = {e: 0 for e in Engine}
    for bundle in program:
        for e, group in bundle.groups:
            slots[e] += len(group)
    # every lane-wise op ran somewhere: VALU slots + ALU slots / 8 cover the work
    assert slots[Engine.VALU] + slots[Engine.ALU] / 8 >= 32 * 16 * 11
    assert slots[Engine.VALU] > 0.9 * 6 * cycles and slots[Engine.ALU] > 0.8 * 12 * cycles


def test_reference_engine_agrees(benchmark_kernel) -> None:
    mem = Problem.generate(BENCHMARK_SHAPE, 77).memory_image()
    ref = Machine(benchmark_kernel.program, mem)
    assert ref.run_to_end() is RunState.HALTED
    fast = _run(benchmark_kernel.program, mem)
    assert (ref.cycle, ref.mem) == (fast.cycle, fast.mem)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rounds=st.integers(0, 4),
    batch=st.integers(1, 40),
    seed=st.integers(0, 2**31),
    words=st.lists(st.integers(0, 2**32 - 1), min_size=40, max_size=40),
)
def test_any_shape_and_any_words(rounds: int, batch: int, seed: int, words: list[int]) -> None:
    """Tails (batch not a multiple of 8), zero rounds, full 32-bit words."""
    shape = Shape(2, rounds, batch)
    built = hash_values.build(shape=shape)
    mem = Problem.generate(shape, seed).memory_image()
    mem[shape.values_p :] = words[:batch]
    m = _run(built.program, mem)
    want = list(words[:batch])
    for _ in range(rounds):
        want = [hash_value(v) for v in want]
    assert values_region(m.mem, shape) == want


def test_graph_meaning_without_the_scheduler() -> None:
    shape = Shape(3, 3, 21)
    mem = Problem.generate(shape, 4).memory_image()
    out = interpret(hash_values.plan(shape), mem)
    assert values_region(out, shape) == hash_values.reference(mem, shape)


def test_debug_compares_pass_and_catch_a_wrong_value() -> None:
    shape = Shape(2, 3, 13)
    problem = Problem.generate(shape, 3)
    built = hash_values.build(shape=shape, debug_problem=problem)
    m = Machine(built.program, problem.memory_image(), debug_values=built.debug_values)
    assert m.run_to_end() is RunState.HALTED, m.trap
    wrong = dict(built.debug_values)
    wrong[(1, 12, "hashed")] ^= 4
    bad = Machine(built.program, problem.memory_image(), debug_values=wrong)
    assert bad.run_to_end() is RunState.TRAPPED
    assert bad.trap is not None and bad.trap.cause is TrapCause.DEBUG_MISMATCH


def test_unknown_variant_is_one_clear_error() -> None:
    with pytest.raises(BuildError, match="unknown hash_values variant 'fast'"):
        hash_values.build("fast")
