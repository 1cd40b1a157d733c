"""The benchmark kernel (MACHINE-SPEC.md, "The benchmark kernel") in two variants.

``baseline``: the scalar reference kernel, one slot per bundle (147734 cycles
at the benchmark shape).  ``vector``: VALU ops packed by the list scheduler.
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
    emit: Callable[[KernelBuilder, Shape, bool], None]  # (builder, shape, debug compares?)
    scheduled: bool  # packed by kernels.scheduler, or one slot per bundle


VARIANTS: dict[str, Variant] = {
    "baseline": Variant("the spec's scalar baseline, one slot per bundle", emit_baseline, scheduled=False),
    "vector": Variant("VALU hash, level tricks for depths 0-2, gathers below; scheduled", emit_vector, scheduled=True),
}
DEFAULT_VARIANT = "vector"


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
    b = KernelBuilder(params)
    v.emit(b, shape, debug_problem is not None)
    program = b.finish(schedule=v.scheduled, mem_len=shape.mem_len)
    values = debug_values(debug_problem) if debug_problem is not None else None
    return BuiltKernel(NAME, variant, shape, program, b.symbols, values)
