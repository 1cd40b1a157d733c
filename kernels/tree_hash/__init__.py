"""The benchmark kernel (MACHINE-SPEC.md, "The benchmark kernel") in two variants.

``baseline``: the scalar reference kernel, one slot per bundle (147734 cycles
at the benchmark shape).  ``vector``: VALU ops and the list scheduler.
"""

from __future__ import annotations

from typing import Callable

from pymodel.benchmark import BENCHMARK_SHAPE, Problem, Shape
from pymodel.isa import DEFAULT_PARAMS, MachineParams

from ..builder import BuildError, BuiltKernel, KernelBuilder
from .baseline import emit_baseline
from .reference_trace import debug_values
from .vector import emit_vector

NAME = "tree_hash"
# variant -> (emitter, scheduled?)
VARIANTS: dict[str, tuple[Callable[[KernelBuilder, Shape, bool], None], bool]] = {
    "baseline": (emit_baseline, False),
    "vector": (emit_vector, True),
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
    emit, scheduled = VARIANTS[variant]
    b = KernelBuilder(params)
    emit(b, shape, debug_problem is not None)
    program = b.finish(schedule=scheduled, mem_len=shape.mem_len)
    values = debug_values(debug_problem) if debug_problem is not None else None
    return BuiltKernel(NAME, variant, shape, program, b.symbols, values)
