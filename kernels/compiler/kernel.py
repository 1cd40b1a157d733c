"""The dataflow front end: write a kernel as SSA values, get a scheduled Program.

    k = Kernel(params)
    x = k.vload(k.const(values_p))            # a vector value
    y = k.op("+", x, k.vconst(1))             # what it computes, not which engine
    k.vstore(k.const(values_p), y)
    built = k.compile(mem_len=len(mem))       # Compiled(program, symbols, stats)

A ``Kernel`` is a ``Graph`` (``kernels.compiler.ir``) plus what every kernel
needs around it: a scratch allocator for the values that live at fixed
addresses (constants, tables, names a debugger should see), a constant pool
(each scalar or broadcast constant is made once and shared), and ``compile``,
which gives the rest of scratch to the scheduler's register pool, assigns
priorities, schedules (``kernels.compiler.schedule``: engine choice and
register allocation per op and cycle) and runs the project's one back end
(``kernels.stream.resolve`` -> ``pymodel.program.Program``, checked by
``kernels.validate``).  The user guide is docs/assembler.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from pymodel.isa import DEFAULT_PARAMS, WORD_MASK, MachineParams
from pymodel.program import Program, ProgramError

from ..alloc import ScratchAllocator
from ..stream import Layout, resolve
from ..validate import validate
from .ir import Graph, Op, Value
from .priority import PriorityConfig, assign
from .schedule import Pool, ScheduleError, ScheduleStats, schedule

MIN_POOL_VECTORS = 2
MAX_POOL_SCALARS = 64  # scratch words for scalar temporaries (values without an address)


class CompileError(ProgramError):
    """The kernel does not fit (scratch) or cannot be scheduled; one line naming why."""


@dataclass
class Compiled:
    program: Program
    symbols: dict[str, tuple[int, int]]  # fixed scratch names -> (address, width); "pool" is the register pool
    stats: ScheduleStats


class Kernel(Graph):
    """A dataflow kernel: ``Graph`` ops plus fixed scratch, a constant pool and ``compile``."""

    def __init__(self, params: MachineParams = DEFAULT_PARAMS, *, flow_consts: bool = True, alu_broadcasts: bool = True) -> None:
        """``flow_consts``: pooled constants may also be made by the FLOW engine
        (``add_imm`` on a word zeroed by the ALU), when the load engine is busier.
        ``alu_broadcasts``: broadcasts may run as eight ALU slots instead of a VALU slot."""
        super().__init__(params.vlen)
        self.alu_broadcasts = alu_broadcasts
        self.params = params
        self.alloc = ScratchAllocator(params.scratch_size)
        self._scalars: dict[int, Value] = {}
        self._vectors: dict[int, Value] = {}
        self.flow_consts = flow_consts
        self._zero: Value | None = None

    @property
    def zero(self) -> Value:
        """A scalar holding 0 (made once, by the ALU)."""
        if self._zero is None:
            group, self.group = self.group, -1
            self._zero = self.zero_word(self.fixed("zero"))
            self.group = group
        return self._zero

    # -- constants and fixed scratch ---------------------------------------------

    def const(self, k: int, name: str | None = None, addr: int | None = None) -> Value:  # type: ignore[override]
        """A scalar constant (one ``const`` load, shared by every use) -- or, with
        ``addr``, a fresh constant at that address (``Graph.const``)."""
        if addr is not None:
            return super().const(k, name, addr)
        k &= WORD_MASK
        if k not in self._scalars:
            label = f"c{k:#x}"
            zero = self.zero if self.flow_consts else None
            self._scalars[k] = super().const(k, label, self.alloc.alloc(label, 1), zero=zero)
        return self._scalars[k]

    def vconst(self, k: int) -> Value:
        """A vector with ``k`` in every lane (a broadcast of ``const(k)``, shared)."""
        k &= WORD_MASK
        if k not in self._vectors:
            label = f"v{k:#x}"
            self._vectors[k] = self.broadcast(self.const(k), label, self.alloc.alloc(label, self.vlen))
        return self._vectors[k]

    def fixed(self, name: str, width: int = 1) -> int:
        """Scratch words that stay put (named in the symbol table): pass as ``addr=``."""
        return self.alloc.alloc(name, width)

    def broadcast_fixed(self, scalar: Value, name: str) -> Value:
        """A broadcast kept at a fixed address for the whole kernel (a table entry)."""
        return self.broadcast(scalar, name, self.fixed(name, self.vlen))

    # -- engine-neutral ops --------------------------------------------------------

    def op(self, name: str, a: Value, b: Value, label: str | None = None) -> Value:
        """``a name b``: lane-wise for vectors (one VALU slot or eight ALU slots, the
        scheduler decides), one ALU slot for scalars."""
        if a.width != b.width:
            raise ValueError(f"{name}: operands {a} (width {a.width}) and {b} (width {b.width}) differ in width")
        if a.width > 1:
            return self.binop(name, a, b, label)
        return self.alu(name, a, b, label)

    def select(self, c: Value, hi: Value, lo: Value, label: str | None = None) -> Value:
        """``hi`` where ``c != 0`` else ``lo``, lane-wise (FLOW vselect).  For ``c`` in
        {0, 1} and constant ``hi``/``lo`` prefer ``mux(c, hi, lo, diff)``: it may also
        run as a VALU ``multiply_add(c, hi - lo, lo)``."""
        return self.mux(c, hi, lo, None, label)

    # -- compile -----------------------------------------------------------------------

    def compile(
        self,
        *,
        mem_len: int | None = None,
        priority: PriorityConfig | Callable[[Graph], None] | None = None,
        reserve: int = 12,
        flow_patience: int | None = None,
        max_active: int | None = None,
        pool_words: int | None = None,
        check: bool = True,
    ) -> Compiled:
        """Schedule into bundles and validate.

        ``priority``: a ``PriorityConfig`` (due cycle = group offset - height), or a
        function that sets every ``Op.prio`` itself; default ``PriorityConfig()``.
        ``reserve``: pool vectors kept for the oldest unfinished group.
        ``flow_patience``: cycles a FLOW vselect waits before running as two VALU ops.
        ``max_active``: groups under way at once (streams a large batch through scratch).
        ``mem_len``: memory size, for the validator's static address checks.
        ``check=False``: schedule only (``stats.cycles``), no Program -- for tuning loops."""
        n_scalars = sum(1 for v in self.values if v.width == 1 and v.addr is None and v.base is None)
        n_scalars = min(n_scalars, MAX_POOL_SCALARS)
        scalars: list[int] = []
        if n_scalars:
            first = self.fixed("scalar pool", n_scalars)
            scalars = list(range(first, first + n_scalars))
        free = self.alloc.largest_free
        words = free if pool_words is None else min(pool_words, free)
        n_pool = words // self.vlen
        if n_pool < MIN_POOL_VECTORS:
            raise CompileError(f"only {free} scratch words left for the register pool")
        base = self.alloc.alloc("pool", n_pool * self.vlen)
        if callable(priority):
            priority(self)
        else:
            assign(self, priority or PriorityConfig())
        pool = Pool([base + self.vlen * i for i in range(n_pool)], scalars)
        try:
            bundles, stats = schedule(
                self, self.params, pool, min(reserve, n_pool - 1), flow_patience=flow_patience, max_active=max_active
            )
        except ScheduleError as e:
            raise CompileError(str(e)) from None
        if not check:  # a tuning run wants the length only
            return Compiled(Program(()), dict(self.alloc.symbols), stats)
        program = resolve(Layout(bundles))
        validate(program, self.params, mem_len)
        return Compiled(program, dict(self.alloc.symbols), stats)


__all__ = ["Compiled", "CompileError", "Kernel", "Op", "Value"]
