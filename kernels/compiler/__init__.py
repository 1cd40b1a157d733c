"""The dataflow compiler: one path for every kernel that wants the machine's bound.

``Kernel`` (``kernel.py``): SSA vector and scalar values and ops that name what
they compute; a constant pool and fixed scratch; ``compile`` -> ``Program``.
``ir.py``: the graph (values, ops, which engines may run each op).
``schedule.py``: the cycle-by-cycle list scheduler -- engine choice per op,
register allocation from a scratch pool while scheduling, lanes of gathers and
ALU-run vector ops issued as they are ready.
``priority.py``: due-cycle priorities (group offset minus height), the hook.
``interp.py``: runs a graph without scheduling (its meaning, for tests).
``search.py``: a (1+1) local search over a kernel's knobs (a tuning tool).

Hand-placed code and control flow use ``kernels.builder`` instead; both end in
``kernels.stream.resolve`` (one Program type) and ``kernels.validate``.  The
user guide is docs/assembler.md.
"""

from .interp import interpret
from .ir import Graph, Op, Unit, Value
from .kernel import Compiled, CompileError, Kernel
from .priority import PriorityConfig, assign, heights
from .schedule import Pool, ScheduleError, Scheduler, ScheduleStats, schedule

__all__ = [
    "Compiled", "CompileError", "Graph", "Kernel", "Op", "Pool", "PriorityConfig", "ScheduleError",
    "ScheduleStats", "Scheduler", "Unit", "Value", "assign", "heights", "interpret", "schedule",
]
