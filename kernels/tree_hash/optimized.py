"""The ``optimized`` tree-hash variant, on the dataflow compiler.

Pipeline: ``plan`` writes the kernel as a ``kernels.compiler.Kernel`` (a graph
of ops on SSA values); ``Kernel.compile`` assigns priorities, schedules --
choosing engines and scratch words as it goes -- resolves and validates.
How and why: docs/kernels.md.

The benchmark shape uses the tuned configuration below, other shapes generic
rules.  The general ``vector`` variant is built instead when the plan does
not fit in scratch or the schedule gets stuck (``PlanError``,
``CompileError``), and, for shapes without a tuned configuration, when it
happens to be shorter.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from pymodel.benchmark import BENCHMARK_SHAPE, Problem, Shape
from pymodel.isa import DEFAULT_PARAMS, MachineParams
from pymodel.program import Program

from ..builder import BuildError, BuiltKernel
from ..compiler import CompileError, PriorityConfig, ScheduleStats
from .plan import PlanConfig, PlanError, TreeHashPlan

NAME = "tree_hash"
VARIANT = "optimized"


@dataclass(frozen=True)
class OptConfig:
    plan: PlanConfig = field(default_factory=PlanConfig)
    priority: PriorityConfig = field(default_factory=PriorityConfig)
    reserve: int = 12  # pool registers kept for the oldest vector (deadlock-free)
    flow_patience: int | None = None  # cycles a vselect waits for FLOW before it runs as 2 VALU ops
    max_active: int | None = None  # vectors under way at once (None: no limit)


def _halves(n_vectors: int) -> tuple[tuple[int, int], ...]:
    """First half of the vectors reads the depth-td table in pass 0, second half in pass 1."""
    half = n_vectors // 2
    return tuple((j, 0) for j in range(half)) + tuple((j, 1) for j in range(half, n_vectors))


def _users(pass0: list[int], pass1: list[int]) -> tuple[tuple[int, int], ...]:
    return tuple((j, 0) for j in pass0) + tuple((j, 1) for j in pass1)


def _shifts(*runs: tuple[int, int, int, float]) -> tuple[tuple[int, int, float], ...]:
    """(vector, first round, last round, cycles) runs as ``PriorityConfig.round_offsets``."""
    return tuple((j, r, dt) for j, first, last, dt in runs for r in range(first, last + 1))


# Tuned at the benchmark shape with the (1+1) search of ``kernels.tree_hash.tune``
# (from the 959-cycle configuration of the indices-region copies, after the
# heap layout: a few thousand schedules): which vectors read depth 4 from the
# memory table in each pass, the copy of depth 7 and when it starts, small
# per-vector priority offsets (953 cycles); then the root and the first value
# loads ahead of the start-up constants (``early_bias``): 951.  Then vector 0
# as the first to gather (short-latency first descent, its knobs swapped with
# vector 1's), no depth-2 heap read, and per-(vector, round) offsets for the
# first descents and the last rounds (``round_offsets``): 949, the first
# depth-4 gather at cycle 46 instead of 49 (docs/kernels.md).
BENCHMARK_CONFIG = OptConfig(
    plan=PlanConfig(
        table_users=_users(
            [0, 1, 2, 3, 4, 9, 11, 15, 17, 18, 19, 22, 23, 25, 31],
            [1, 4, 5, 7, 15, 16, 17, 18, 19, 21, 24, 25, 26, 29, 30, 31],
        ),
        copy_levels=3,
        late_copy_at=20,
        fast_vectors=(24, 28),
        fast_first=(0,),
        early_bias=50.0,
        copy_bias=30.0,
        mux_wait=False,
    ),
    priority=PriorityConfig(
        stagger=11.0,
        late_round=11,
        late_stagger=2.5,
        late_shift=440.0,
        offsets=(-6, 16, -14, -12, -4, -10, -6, 6, 6, -6, -18, -4, 10, 4, 0, -16,
                 -62, 0, 4, -6, -4, 18, 8, 12, 12, 4, -4, 4, -4, -2, -4, -4),
        round_offsets=_shifts(
            (0, 0, 3, 20), (0, 4, 4, -4), (0, 11, 12, 8), (0, 13, 13, 12), (0, 14, 15, 6), (1, 0, 3, 6),
            (1, 4, 4, 14), (1, 11, 13, 4), (1, 14, 15, -6), (2, 0, 3, 6), (2, 4, 4, 2), (2, 11, 13, 2),
            (3, 0, 3, 4), (3, 4, 4, 2), (3, 11, 12, -4), (3, 14, 15, -2), (4, 0, 3, 8), (4, 11, 12, -4),
            (4, 13, 13, -8), (4, 14, 15, -4), (5, 0, 3, 34), (5, 4, 4, 14), (5, 13, 13, 6),
            (5, 14, 15, 10), (6, 0, 3, -10), (6, 4, 4, -18), (6, 11, 12, 6), (6, 13, 13, 8),
            (6, 14, 15, 12), (7, 0, 3, -22), (7, 4, 4, 2), (7, 11, 12, -6), (7, 13, 15, -4),
            (8, 13, 13, -2), (8, 14, 15, -4), (9, 11, 13, -8), (9, 14, 15, -4), (10, 13, 13, 2),
            (10, 14, 15, -8), (11, 11, 12, -6), (11, 13, 15, 2), (12, 11, 12, 4), (12, 13, 13, -4),
            (12, 14, 15, -6), (13, 14, 15, -6), (14, 13, 15, 6), (15, 11, 12, 16), (15, 13, 13, 14),
            (15, 14, 15, 10), (16, 11, 12, -6), (17, 11, 12, 4), (17, 13, 13, 6), (17, 14, 15, 4),
            (18, 11, 12, 4), (18, 13, 13, 6), (18, 14, 15, 8), (19, 13, 15, 4), (20, 14, 15, -4),
            (21, 11, 13, 2), (21, 14, 15, -4), (22, 11, 15, 4), (24, 13, 15, -2), (25, 11, 13, 2),
            (26, 11, 13, 2), (26, 14, 15, 6), (27, 11, 12, -4), (27, 13, 15, -2), (28, 11, 13, 2),
            (28, 14, 15, 4), (29, 11, 12, 4), (29, 13, 13, 2), (29, 14, 15, -2), (30, 11, 13, 2),
            (30, 14, 15, -2), (31, 11, 12, -4), (31, 13, 13, -2), (31, 14, 15, -4),
        ),
    ),
    reserve=12,
    flow_patience=4,
)


def default_config(shape: Shape, params: MachineParams = DEFAULT_PARAMS) -> OptConfig:
    """The tuned configuration at the benchmark shape; the generic rules elsewhere."""
    if shape == BENCHMARK_SHAPE and params == DEFAULT_PARAMS:
        return BENCHMARK_CONFIG
    n_vectors = -(-shape.batch // params.vlen)
    # Larger batches stream through scratch: at most 24 vectors under way at once.
    plan = PlanConfig(table_users=_halves(n_vectors), copy_levels=2)
    return OptConfig(plan=plan, priority=PriorityConfig(), max_active=24)


@dataclass
class OptimizedBuild:
    kernel: BuiltKernel
    stats: ScheduleStats | None  # None when the vector variant was built instead


def build_program(
    shape: Shape, params: MachineParams, cfg: OptConfig, debug_problem: Problem | None = None, check: bool = True
) -> tuple[Program, dict[str, tuple[int, int]], ScheduleStats]:
    """Plan, prioritize, schedule and validate; PlanError/CompileError if it does not fit."""
    plan = TreeHashPlan(shape, params, cfg.plan, debug=debug_problem is not None).build()
    built = plan.kernel.compile(
        mem_len=shape.mem_len,
        priority=cfg.priority,
        reserve=cfg.reserve,
        flow_patience=cfg.flow_patience,
        max_active=cfg.max_active,
        pool_words=cfg.plan.pool_words,
        check=check,
    )
    return built.program, built.symbols, built.stats


def build_optimized(
    shape: Shape = BENCHMARK_SHAPE,
    params: MachineParams = DEFAULT_PARAMS,
    *,
    debug_problem: Problem | None = None,
    config: OptConfig | None = None,
) -> OptimizedBuild:
    if debug_problem is not None and debug_problem.shape != shape:
        raise BuildError(f"debug_problem has shape {debug_problem.shape}, the kernel is built for {shape}")
    cfg = config or default_config(shape, params)
    from . import build as build_variant  # the package's general variants

    try:
        program, symbols, stats = build_program(shape, params, cfg, debug_problem)
    except (PlanError, CompileError):
        return OptimizedBuild(build_variant("vector", shape, params, debug_problem=debug_problem), None)
    if config is None and cfg is not BENCHMARK_CONFIG:  # untuned shape: never slower than "vector"
        vector = build_variant("vector", shape, params, debug_problem=debug_problem)
        if len(vector.program) < len(program):
            return OptimizedBuild(vector, None)
    values = None
    if debug_problem is not None:
        from .reference_trace import debug_values

        values = debug_values(debug_problem)
    return OptimizedBuild(BuiltKernel(NAME, VARIANT, shape, program, symbols, values), stats)
