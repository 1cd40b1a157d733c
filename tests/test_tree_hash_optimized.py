"""The optimized tree-hash variant: its dataflow, its scheduler, and the program on the model."""

from __future__ import annotations

from dataclasses import replace

import pytest

from kernels.builder import BuildError
from kernels.tree_hash import build
from kernels.compiler import Graph, Pool, PriorityConfig, ScheduleError, Scheduler, Unit, assign, interpret, schedule
from kernels.tree_hash.plan import PlanConfig, TreeHashPlan
from kernels.tree_hash.optimized import BENCHMARK_CONFIG, build_optimized, build_program, default_config
from kernels.stream import Layout, resolve
from kernels.validate import validate
from pymodel.benchmark import BENCHMARK_SHAPE, Problem, Shape, reference_run, values_region
from pymodel.fast import FastMachine
from pymodel.isa import DEFAULT_PARAMS, Engine, MachineParams, RunState, TrapCause
from pymodel.machine import Machine


@pytest.fixture(scope="module")
def benchmark_build():
    return build_optimized(BENCHMARK_SHAPE)


def run_fast(program, shape: Shape, seed: int) -> tuple[FastMachine, list[int]]:
    mem = Problem.generate(shape, seed).memory_image()
    m = FastMachine(program, mem)
    assert m.run_to_end() is RunState.HALTED, m.trap
    return m, reference_run(mem)


def test_benchmark_shape_on_20_seeds(benchmark_build) -> None:
    kernel = benchmark_build.kernel
    assert (kernel.variant, benchmark_build.stats is not None) == ("optimized", True)
    cycles = set()
    for seed in [123, *range(1, 20)]:
        m, ref = run_fast(kernel.program, BENCHMARK_SHAPE, seed)
        assert values_region(m.mem, BENCHMARK_SHAPE) == values_region(ref, BENCHMARK_SHAPE), seed
        cycles.add(m.cycle)
    # Straight-line code: every bundle costs one cycle, whatever the data.
    assert cycles == {len(kernel.program)}


def test_benchmark_figures_of_the_spec(benchmark_build) -> None:
    m, _ref = run_fast(benchmark_build.kernel.program, BENCHMARK_SHAPE, 123)
    assert values_region(m.mem, BENCHMARK_SHAPE)[:4] == [677941075, 2166718950, 1850294448, 228067758]


def test_reference_engine_agrees(benchmark_build) -> None:
    mem = Problem.generate(BENCHMARK_SHAPE, 5).memory_image()
    ref = Machine(benchmark_build.kernel.program, mem)
    assert ref.run_to_end() is RunState.HALTED
    fast, _ = run_fast(benchmark_build.kernel.program, BENCHMARK_SHAPE, 5)
    assert (ref.cycle, ref.mem) == (fast.cycle, fast.mem)


@pytest.mark.parametrize(
    "shape",
    [
        Shape(10, 35, 256),  # the benchmark tree, three wraps
        Shape(3, 9, 13),  # gathers below the table, two wraps, a tail of 5
        Shape(4, 12, 24),  # the table is the leaf level
        Shape(1, 7, 17),  # multiplexers only, a tail of 1
        Shape(0, 5, 1),  # one node: every round at the root
        Shape(5, 20, 40),  # three wraps, copies and gathers
        Shape(6, 30, 9),  # only a tail after one vector, four wraps
        Shape(7, 0, 9),  # no rounds: values unchanged
        Shape(4, 6, 1200),  # more values than scratch: vectors stream through the pool
    ],
)
def test_other_shapes_match_the_reference(shape: Shape) -> None:
    built = build_optimized(shape)
    for seed in (3, 41):
        m, ref = run_fast(built.kernel.program, shape, seed)
        assert values_region(m.mem, shape) == values_region(ref, shape)


def test_other_shapes_use_the_optimized_plan_when_it_is_faster() -> None:
    for shape in (Shape(10, 35, 256), Shape(5, 20, 40), Shape(4, 6, 1200)):
        built = build_optimized(shape)
        assert built.kernel.variant == "optimized" and built.stats is not None, shape
        assert len(built.kernel.program) < len(build("vector", shape).program)


def test_too_small_a_scratch_falls_back_to_the_vector_variant() -> None:
    shape, params = Shape(3, 5, 20), MachineParams(scratch_size=500)
    built = build_optimized(shape, params)
    assert built.stats is None and built.kernel.variant == "vector"
    mem = Problem.generate(shape, 2).memory_image()
    m = FastMachine(built.kernel.program, mem, params)
    assert m.run_to_end() is RunState.HALTED
    assert values_region(m.mem, shape) == values_region(reference_run(mem), shape)


@pytest.mark.parametrize(
    "cfg",
    [
        PlanConfig(),
        PlanConfig(table_users=tuple((j, p) for j in range(8) for p in range(4))),
        PlanConfig(copy_levels=0),
        PlanConfig(select_depth=2, keep_diff=False),
        PlanConfig(select_depth=1, table_users=tuple((j, p) for j in range(8) for p in range(4))),
        PlanConfig(table_users=((0, 0), (1, 1), (2, 0), (4, 1)), spec_users=((0, 0), (1, 1), (4, 1))),
        PlanConfig(flow_consts=False, alu_broadcasts=False),
        PlanConfig(heap=False),  # copies in the indices region, two address ops a level
        PlanConfig(copy_levels=3, late_copy_at=20, fast_vectors=(0, 2), fast_from=3),
        PlanConfig(copy_levels=3, fast_first=(0, 3)),  # short-latency first descents
        PlanConfig(shallow_users=((0, 0, 2), (0, 0, 3), (1, 0, 3), (2, 1, 3)), table_users=((0, 0), (1, 1))),
    ],
)
@pytest.mark.parametrize("shape", [Shape(5, 14, 37), Shape(2, 10, 3), Shape(8, 21, 24)])
def test_plan_dataflow_matches_the_reference(cfg: PlanConfig, shape: Shape) -> None:
    """The graph's meaning, without the scheduler: tables, index arithmetic, folding of C5."""
    graph = TreeHashPlan(shape, DEFAULT_PARAMS, cfg).build().graph
    mem = Problem.generate(shape, 9).memory_image()
    assert values_region(interpret(graph, mem), shape) == values_region(reference_run(mem), shape)


def test_debug_compares_pass_and_catch_a_wrong_value() -> None:
    shape = Shape(4, 9, 21)
    problem = Problem.generate(shape, 3)
    kernel = build_optimized(shape, debug_problem=problem).kernel
    assert kernel.debug_values is not None
    assert any(s.engine is Engine.DEBUG for b in kernel.program for _e, _i, s in b)
    m = Machine(kernel.program, problem.memory_image(), debug_values=kernel.debug_values)
    assert m.run_to_end() is RunState.HALTED, m.trap
    assert m.cycle == len(build_optimized(shape).kernel.program)  # debug slots cost no cycle
    wrong = dict(kernel.debug_values)
    wrong[(6, 11, "hash_stage", 4)] ^= 1
    bad = Machine(kernel.program, problem.memory_image(), debug_values=wrong)
    assert bad.run_to_end() is RunState.TRAPPED
    assert bad.trap is not None and bad.trap.cause is TrapCause.DEBUG_MISMATCH
    with pytest.raises(BuildError, match="debug_problem has shape"):
        build_optimized(Shape(4, 9, 22), debug_problem=problem)


def test_memory_order_edges_are_kept() -> None:
    """Table stores follow the node loads they overwrite; gathers follow the stores."""
    cfg = default_config(BENCHMARK_SHAPE)
    plan = TreeHashPlan(BENCHMARK_SHAPE, DEFAULT_PARAMS, cfg.plan).build()
    assign(plan.graph, cfg.priority)
    n_pool = plan.kernel.alloc.largest_free // 8
    base = plan.kernel.fixed("pool", 8 * n_pool)
    sched = Scheduler(plan.graph, DEFAULT_PARAMS, Pool([base + 8 * i for i in range(n_pool)]))
    sched.run()
    ordered = [op for op in plan.graph.ops if op.after]
    assert any(op.unit is Unit.STORE for op in ordered) and any(op.unit is Unit.GATHER for op in ordered)
    for op in ordered:
        assert all(sched.start[op.id] > sched.finish[p.id] for p in op.after), op


def test_scheduler_uses_every_engine_and_validates(benchmark_build) -> None:
    stats = benchmark_build.stats
    assert stats.alu_lanewise > 0 and stats.valu_lanewise > 0  # lanewise ops on both engines
    assert stats.mux_flow > 0 and stats.mux_valu > 0  # bottom muxes on both engines
    program = benchmark_build.kernel.program
    validate(program, DEFAULT_PARAMS, BENCHMARK_SHAPE.mem_len)
    used = {e for bundle in program for e, slots in bundle.groups if slots}
    assert {Engine.ALU, Engine.VALU, Engine.LOAD, Engine.STORE, Engine.FLOW} <= used


def _chain_graph(n: int) -> Graph:
    """n independent lanewise chains from one broadcast constant."""
    g = Graph(8)
    one = g.const(1, "one", addr=0)
    vone = g.broadcast(one, "vone", addr=8)
    for i in range(n):
        g.group = i
        a = g.binop("+", vone, vone, f"a{i}")
        b = g.binop("^", a, vone, f"b{i}")
        c = g.binop("+", b, a, f"c{i}")
        out = g.const(100 + 8 * i, f"out{i}", addr=16 + i)
        g.vstore(out, c)
    return g


def test_scheduler_spills_lanewise_ops_to_the_alu_and_reuses_registers() -> None:
    g = _chain_graph(12)
    pool = Pool([64 + 8 * k for k in range(40)])
    bundles, stats = schedule(g, DEFAULT_PARAMS, pool)
    assert stats.alu_lanewise > 0
    program = resolve(Layout(bundles))
    validate(program, DEFAULT_PARAMS, 200)
    m = FastMachine(program, [0] * 200)
    assert m.run_to_end() is RunState.HALTED
    # a = 2, b = 3, c = 5 in every lane of every output
    assert m.mem[100 : 100 + 8 * 12] == [5] * 96
    assert len(pool.vectors) == 40  # every register came back


def test_scheduler_reports_a_pool_too_small() -> None:
    g = _chain_graph(2)
    with pytest.raises(ScheduleError, match="cycle .* no op can issue"):
        schedule(g, DEFAULT_PARAMS, Pool([64]), reserve=0)


def test_the_benchmark_shape_has_a_tuned_configuration() -> None:
    assert default_config(BENCHMARK_SHAPE) is BENCHMARK_CONFIG
    generic = default_config(Shape(3, 9, 13))
    assert generic is not BENCHMARK_CONFIG and generic.priority == PriorityConfig()
    assert generic.plan.table_users == ((0, 0), (1, 1))  # two vectors: one per pass


def test_heap_layout_reaches_depths_5_to_7_with_one_op_a_level() -> None:
    """Depths 5-7 at 2^d + P_d (A' = 2A + c: one multiply_add), depth 8 from the tree."""
    plan = TreeHashPlan(BENCHMARK_SHAPE, DEFAULT_PARAMS, BENCHMARK_CONFIG.plan)
    graph = plan.build().graph
    assert BENCHMARK_CONFIG.plan.heap and [d for d, lv in plan.level.items() if lv.heap] == [5, 6, 7]
    for d in (5, 6, 7):
        (gather,) = [o for o in graph.ops if o.unit is Unit.GATHER and o.dst.name == f"v3.r{d - 1}.node"]
        addr = gather.srcs[0].producer
        assert addr.name == "multiply_add" and addr.srcs[2].name == f"v3.r{d - 1}.c", d
    permutes = [o for o in graph.ops if o.unit is Unit.PERMUTE]
    assert len(permutes) == (32 + 64 + 128) // 8 and all(o.perm == tuple(range(7, -1, -1)) for o in permutes)


def test_heap_knobs_on_the_model() -> None:
    """Shallow heap reads (the pass-1 table at 0 is stored after them), short-latency rounds
    and the held-back depth-7 copy, scheduled and run: the memory order edges hold."""
    shape = Shape(8, 21, 24)
    plan = PlanConfig(
        copy_levels=3, late_copy_at=20, fast_vectors=(1, 2), fast_from=9,
        shallow_users=((0, 0, 2), (0, 0, 3), (1, 0, 3)), table_users=((0, 0), (1, 1), (2, 1)),
    )  # fmt: skip
    program, _symbols, _stats = build_program(shape, DEFAULT_PARAMS, replace(default_config(shape), plan=plan))
    for seed in (1, 2):
        m, ref = run_fast(program, shape, seed)
        assert values_region(m.mem, shape) == values_region(ref, shape), seed


def test_fast_first_shortens_the_first_descent_only() -> None:
    """``fast_first``: x' = mux(c, u ^ hi, u ^ lo) in the multiplexed rounds of the first
    descent of the named vectors (one op more a round), nowhere else."""

    def fast_rounds(plan: PlanConfig) -> set[tuple[int, int]]:
        graph = TreeHashPlan(BENCHMARK_SHAPE, DEFAULT_PARAMS, plan).build().graph
        return {(op.group, op.round) for op in graph.ops if op.dst is not None and op.dst.name.endswith(".xh")}

    base = PlanConfig(copy_levels=3)
    assert fast_rounds(base) == set()
    assert fast_rounds(replace(base, fast_first=(0, 5))) == {(j, r) for j in (0, 5) for r in range(3)}
