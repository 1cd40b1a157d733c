"""The reference interpreter: the executable form of MACHINE-SPEC.md.

Plain on purpose.  Every slot runs through the ISA table's own semantics
(``OpSpec.execute``) with a ``BundleContext``; this module only orders the
slots, commits their effects and keeps the cycle counter.  The fast engine
(``pymodel.fast``) is checked against it.

One iteration of ``run``'s loop is one machine cycle: each running core in
turn executes one bundle and commits it at once, so core i sees core i-1's
memory writes of the same cycle.  The counter advances if any core executed
a bundle with an engine key other than ``debug``.

Rules the spec leaves open, fixed here (the fast engine and the RTL follow):

* A slot's scratch operands are range-checked before it executes (reads, then
  writes, lanes in order); then its semantics run, so memory, divisor, jump
  and trace traps come from the op itself.  The first trapping slot in
  execution order wins.
* A trap stops the whole machine at once: that bundle commits nothing, its
  core's pc stays on it, the cycle is not counted, later cores do not run that
  cycle (earlier cores' bundles of that cycle have committed).
* ``max_cycles`` is checked at the top of a cycle, after retiring cores that
  ran past the end; a program that ends exactly at the limit reports HALTED.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Literal, Mapping, Sequence

from .context import BundleContext, Fault, div_zero_detail, scratch_fault, scratch_range_detail
from .core import CoreState, MachineBase, check_max_cycles
from .events import RetireRecord, Trap, Write
from .isa import DEFAULT_PARAMS, DivideByZero, Engine, MachineParams, OpSpec, RunState, TrapCause
from .program import Program

if TYPE_CHECKING:
    from .fast import FastMachine

RetireHook = Callable[[RetireRecord], None]
EngineName = Literal["fast", "reference"]


@dataclass(frozen=True)
class PlannedSlot:
    """One slot resolved against the ISA table once, before the run."""

    engine: Engine
    index: int  # position within its engine's slot list
    spec: OpSpec
    args: tuple[Any, ...]
    bad_scratch: int | None  # first out-of-range scratch address it touches


@dataclass(frozen=True)
class PlannedBundle:
    slots: tuple[PlannedSlot, ...]  # execution order: engines as listed, slots in list order
    costs_cycle: bool


def plan_program(program: Program, params: MachineParams, enable_debug: bool) -> tuple[PlannedBundle, ...]:
    # Kernels repeat the same slot a lot: resolve each distinct one once.
    resolved: dict[tuple[Engine, str, tuple[Any, ...]], tuple[OpSpec, int | None]] = {}
    plan = []
    for bundle in program:
        slots = []
        for engine, index, slot in bundle:
            if engine is Engine.DEBUG:
                if not enable_debug:
                    continue
                # Not cached: debug operands may be unhashable, and they are few.
                bad = scratch_fault(slot.spec, slot.args, params)
                slots.append(PlannedSlot(engine, index, slot.spec, slot.args, bad))
                continue
            key = (engine, slot.op, slot.args)
            if key not in resolved:
                resolved[key] = (slot.spec, scratch_fault(slot.spec, slot.args, params))
            spec, bad = resolved[key]
            slots.append(PlannedSlot(engine, index, spec, slot.args, bad))
        plan.append(PlannedBundle(tuple(slots), bundle.costs_cycle))
    return tuple(plan)


class Machine(MachineBase):
    """The golden model: ``cycle``, ``mem``, ``cores``, ``trap``, ``state``; ``run`` / ``run_to_end``."""

    def __init__(
        self,
        program: Program | Sequence[Mapping[str, Any]],
        mem: Sequence[int],
        params: MachineParams = DEFAULT_PARAMS,
        **kw: Any,
    ) -> None:
        super().__init__(program, mem, params, **kw)
        self._plan = plan_program(self.program, self.params, self.enable_debug)

    # -- running -------------------------------------------------------------

    def run(self, max_cycles: int | None = None, on_retire: RetireHook | None = None) -> RunState:
        """Resume paused cores and run until no core is RUNNING.

        Returns PAUSED, HALTED or TRAPPED, or RUNNING when it stopped because
        ``self.cycle`` reached ``max_cycles`` (an absolute count).
        """
        check_max_cycles(max_cycles)
        if self.trap is not None:
            return RunState.TRAPPED
        for core in self.cores:
            if core.state is RunState.PAUSED:
                core.state = RunState.RUNNING
        n_bundles = len(self._plan)
        while True:
            for core in self.cores:
                if core.state is RunState.RUNNING and core.pc >= n_bundles:
                    core.state = RunState.HALTED  # ran past the end: a normal stop, no cycle
            running = [core for core in self.cores if core.state is RunState.RUNNING]
            if not running:
                return self.state
            if max_cycles is not None and self.cycle >= max_cycles:
                return RunState.RUNNING
            costed = False
            for core in running:
                bundle = self._plan[core.pc]
                if not self._step(core, bundle, on_retire):
                    return RunState.TRAPPED
                costed = costed or bundle.costs_cycle
            if costed:
                self.cycle += 1

    # -- one bundle ------------------------------------------------------------

    def _step(self, core: CoreState, bundle: PlannedBundle, on_retire: RetireHook | None) -> bool:
        """Execute and commit one bundle; False if it trapped."""
        pc = core.pc
        ctx = BundleContext(core, self.mem, self.params, enable_pause=self.enable_pause, debug_values=self.debug_values)
        for slot in bundle.slots:
            try:
                self._execute(ctx, slot)
            except Fault as fault:
                self.trap = Trap(
                    fault.cause, self.cycle, pc, slot.engine, slot.index, fault.detail, core=core.id, value=fault.value
                )
                core.state = RunState.TRAPPED
                if on_retire is not None:
                    on_retire(RetireRecord(cycle=self.cycle, core=core.id, pc=pc, next_pc=pc, trap=self.trap))
                return False
        # Commit: every write of the bundle lands together.
        for addr, value in ctx.scratch_writes.items():
            core.scratch[addr] = value
        for addr, value in ctx.mem_writes.items():
            self.mem[addr] = value
        core.trace.extend(ctx.trace_values)
        core.pc = ctx.next_pc
        if ctx.halted:
            core.state = RunState.HALTED
        elif ctx.paused:
            core.state = RunState.PAUSED
        if on_retire is not None and bundle.costs_cycle:
            on_retire(
                RetireRecord(
                    cycle=self.cycle,
                    core=core.id,
                    pc=pc,
                    next_pc=ctx.next_pc,
                    scratch_writes=tuple(Write(a, v) for a, v in sorted(ctx.scratch_writes.items())),
                    mem_writes=tuple(Write(a, v) for a, v in sorted(ctx.mem_writes.items())),
                    trace=tuple(ctx.trace_values),
                    halted=ctx.halted,
                    paused=ctx.paused,
                )
            )
        return True

    def _execute(self, ctx: BundleContext, slot: PlannedSlot) -> None:
        if slot.bad_scratch is not None:
            size = self.params.scratch_size
            raise Fault(TrapCause.SCRATCH_RANGE, slot.bad_scratch, scratch_range_detail(slot.bad_scratch, size))
        try:
            slot.spec.execute(ctx, *slot.args)
        except DivideByZero:
            assert ctx.last_read is not None  # the divisor was the latest read
            raise Fault(TrapCause.DIV_ZERO, 0, div_zero_detail(ctx.last_read, slot.spec.name)) from None


def run_program(
    program: Program | Sequence[Mapping[str, Any]],
    mem: Sequence[int],
    params: MachineParams = DEFAULT_PARAMS,
    engine: EngineName = "fast",
    *,
    max_cycles: int | None = None,
    **kw: Any,
) -> "Machine | FastMachine":
    """Build a machine on ``engine`` ("fast" or "reference") and run it to the end
    (resuming after every pause).  ``kw`` goes to the constructor
    (enable_pause, enable_debug, debug_values); the reference also takes on_retire.
    """
    on_retire = kw.pop("on_retire", None)
    if engine == "reference":
        machine = Machine(program, mem, params, **kw)
        machine.run_to_end(max_cycles, on_retire)
        return machine
    if engine == "fast":
        if on_retire is not None:
            raise ValueError("on_retire needs engine='reference' (the fast engine emits no retire records)")
        from .fast import FastMachine  # numba is imported only when asked for

        fast = FastMachine(program, mem, params, **kw)
        fast.run_to_end(max_cycles)
        return fast
    raise ValueError(f"unknown engine {engine!r} (engines: 'fast', 'reference')")
