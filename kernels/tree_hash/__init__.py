"""The benchmark kernel (MACHINE-SPEC.md, "The benchmark kernel") in three variants.

``baseline``: the scalar reference kernel, one slot per bundle (147734 cycles
at the benchmark shape).  ``vector``: VALU ops packed by the list scheduler.
``optimized``: the tree-hash plan (``plan.py``) on the dataflow compiler
``kernels.compiler`` (949 cycles; ``optimized.py``, docs/kernels.md); for shapes it cannot do
better on it returns the ``vector`` build.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from pymodel.benchmark import BENCHMARK_SHAPE, Problem, Shape
from pymodel.isa import DEFAULT_PARAMS, MachineParams

from ..builder import BuildError, BuiltKernel, KernelBuilder
from .baseline import emit_baseline
from .reference_trace import debug_values
from .vector import emit_vector

NAME = "tree_hash"


@dataclass(frozen=True)
class Variant:
    summary: str
    emit: Callable[[KernelBuilder, Shape, bool], None] | None  # (builder, shape, debug compares?)
    scheduled: bool = True  # packed by kernels.scheduler, or one slot per bundle
    # A variant with its own pipeline (planner + scheduler) builds itself.
    own_build: Callable[..., BuiltKernel] | None = None


def _build_optimized(shape: Shape, params: MachineParams, debug_problem: Problem | None) -> BuiltKernel:
    from .optimized import build_optimized  # it builds "vector" itself as its fallback

    return build_optimized(shape, params, debug_problem=debug_problem).kernel


def _build_dataflow(shape: Shape, params: MachineParams, debug_problem: Problem | None) -> BuiltKernel:
    from .dataflow import build_dataflow

    built = build_dataflow(shape, params, debug=debug_problem is not None)
    values = debug_values(debug_problem) if debug_problem is not None else None
    return BuiltKernel(NAME, "dataflow", shape, built.program, built.symbols, values)


VARIANTS: dict[str, Variant] = {
    "baseline": Variant("the spec's scalar baseline, one slot per bundle", emit_baseline, scheduled=False),
    "vector": Variant("VALU hash, level tricks for depths 0-2, gathers below; scheduled", emit_vector),
    "optimized": Variant(
        "the tree-hash plan on kernels.compiler: memory tables, engine choice per op; 949 cycles",
        None,
        own_build=_build_optimized,
    ),
    "dataflow": Variant(
        "vector's algorithm written plainly on kernels.compiler (no tuning)", None, own_build=_build_dataflow
    ),
}


def _build_vgather(shape: Shape, params: MachineParams, debug_problem: Problem | None) -> BuiltKernel:
    from .gather_variant import build_vgather  # machine config "vgather" (pymodel.configs)

    return build_vgather(shape, params, debug_problem)


def _build_valu8(shape: Shape, params: MachineParams, debug_problem: Problem | None) -> BuiltKernel:
    from .gather_variant import build_valu8  # machine config "valu8"

    return build_valu8(shape, params, debug_problem)


# Variants for machine configs with extra hardware (pymodel.configs; gather_variant.py).
VARIANTS["vgather"] = Variant("optimized plan, gathers as one vgather slot (config vgather)", None, own_build=_build_vgather)
VARIANTS["valu8"] = Variant("optimized plan scheduled for 8 VALU slots (config valu8)", None, own_build=_build_valu8)
DEFAULT_VARIANT = "optimized"


def build(
    variant: str = DEFAULT_VARIANT,
    shape: Shape = BENCHMARK_SHAPE,
    params: MachineParams = DEFAULT_PARAMS,
    *,
    debug_problem: Problem | None = None,
) -> BuiltKernel:
    """Assemble one variant for ``shape``.  With ``debug_problem`` the program
    carries debug ``compare`` slots and ``debug_values`` holds their expected
    values for that problem (pass them to the Machine)."""
    if variant not in VARIANTS:
        raise BuildError(f"unknown {NAME} variant {variant!r} (variants: {', '.join(VARIANTS)})")
    if debug_problem is not None and debug_problem.shape != shape:
        raise BuildError(f"debug_problem has shape {debug_problem.shape}, the kernel is built for {shape}")
    v = VARIANTS[variant]
    if v.own_build is not None:
        return v.own_build(shape, params, debug_problem)
    assert v.emit is not None
    b = KernelBuilder(params)
    v.emit(b, shape, debug_problem is not None)
    program = b.finish(schedule=v.scheduled, mem_len=shape.mem_len)
    values = debug_values(debug_problem) if debug_problem is not None else None
    return BuiltKernel(NAME, variant, shape, program, b.symbols, values)
