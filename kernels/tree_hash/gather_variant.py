"""Tree-hash variants for machine configs with more hardware (pymodel.configs).

``vgather`` (config ``vgather``): the optimized plan (``plan.py``) with every
gather -- eight ``load_offset`` slots, one per lane -- issued as one
``vgather`` slot.  The load engine, saturated on the spec's machine, goes
almost idle, so the plan is re-tuned for it: the multiplexer trees and the
memory table of the shallow depths (which cost VALU, ALU and FLOW work) give
way to gathers where that is shorter (``VGATHER_CONFIGS``, best one kept).

``valu8`` (config ``valu8``): the optimized plan scheduled for 8 VALU slots.

Both are correct for any seed and shape (the plan is), and fall back to the
``vector`` build when the plan does not fit, like ``optimized``.
"""

from __future__ import annotations

from dataclasses import replace

from pymodel.benchmark import BENCHMARK_SHAPE, Problem, Shape
from pymodel.isa import DEFAULT_PARAMS, Engine, MachineParams, lookup

from ..builder import BuildError, BuiltKernel
from ..compiler import CompileError
from ..compiler.ir import Unit
from .optimized import BENCHMARK_CONFIG, OptConfig, default_config
from .plan import PlanConfig, PlanError, TreeHashPlan

NAME = "tree_hash"


def needs_vgather(params: MachineParams) -> None:
    op = lookup(Engine.LOAD, "vgather")
    if not params.has(op):
        raise BuildError(
            "tree_hash:vgather needs a machine with the vgather extension (make sim CONFIG=vgather); "
            f"this one has extensions {list(params.extensions)}"
        )


def _vgather_configs(shape: Shape, params: MachineParams) -> list[OptConfig]:
    """Plans to try: the tuned one with its gathers on vgather, and ones that gather
    deeper into the tree (fewer multiplexers) now that gathers are cheap."""
    base = BENCHMARK_CONFIG if shape == BENCHMARK_SHAPE else default_config(shape, replace(params, extensions=()))
    n_vec = -(-shape.batch // params.vlen)
    every = tuple((j, p) for j in range(n_vec) for p in range(shape.rounds // (shape.height + 1) + 1))
    out = [base]
    for td in (2, 3, 4):  # the heap layout saves compute for loads: the wrong trade once gathers are cheap
        plan = replace(base.plan, select_depth=td, table_users=every, copy_levels=shape.height, heap=False)
        out.append(replace(base, plan=plan))
    return out


def _compile(shape: Shape, params: MachineParams, cfg: OptConfig, debug: bool, gather: bool):
    plan = TreeHashPlan(shape, params, cfg.plan, debug=debug).build()
    if gather:
        for op in plan.kernel.ops:
            if op.unit is Unit.GATHER:  # eight load_offset slots -> one vgather slot
                op.unit, op.name = Unit.LOAD, "vgather"
    return plan.kernel.compile(
        mem_len=shape.mem_len,
        priority=cfg.priority,
        reserve=cfg.reserve,
        flow_patience=cfg.flow_patience,
        max_active=cfg.max_active,
        pool_words=cfg.plan.pool_words,
    )


def _best(
    variant: str, shape: Shape, params: MachineParams, configs: list[OptConfig], debug_problem: Problem | None, gather: bool
) -> BuiltKernel:
    from . import build as build_variant

    best = None
    for cfg in configs:
        try:
            built = _compile(shape, params, cfg, debug_problem is not None, gather)
        except (PlanError, CompileError):
            continue
        if best is None or len(built.program) < len(best.program):
            best = built
    values = None
    if debug_problem is not None:
        from .reference_trace import debug_values

        values = debug_values(debug_problem)
    if best is None:
        fallback = build_variant("vector", shape, params, debug_problem=debug_problem)
        return replace(fallback, variant=variant)
    return BuiltKernel(NAME, variant, shape, best.program, best.symbols, values)


def build_vgather(
    shape: Shape = BENCHMARK_SHAPE, params: MachineParams = DEFAULT_PARAMS, debug_problem: Problem | None = None
) -> BuiltKernel:
    needs_vgather(params)
    return _best("vgather", shape, params, _vgather_configs(shape, params), debug_problem, gather=True)


def build_valu8(
    shape: Shape = BENCHMARK_SHAPE, params: MachineParams = DEFAULT_PARAMS, debug_problem: Problem | None = None
) -> BuiltKernel:
    """The optimized plan on a machine with more VALU slots (any valu_slots works)."""
    base = BENCHMARK_CONFIG if shape == BENCHMARK_SHAPE else default_config(shape, replace(params, valu_slots=6))
    configs = [base, replace(base, flow_patience=4), replace(base, flow_patience=None)]
    return _best("valu8", shape, params, configs, debug_problem, gather=False)
