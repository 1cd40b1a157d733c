"""The fast engine: the reference machine's results at compiled speed.

``FastMachine`` has the constructor, attributes and run methods of
``machine.Machine`` and gives the same cycles, pc, scratch, memory, trace,
run states and traps.  It pre-decodes the program (``fast_decode``) and runs a
numba loop (``fast_kernel``).  Differences, by design:

* debug slots are skipped (as with ``enable_debug=False``); a program with
  ``compare``/``vcompare`` slots and ``enable_debug=True`` is refused;
* no retire records (use the reference engine for ``on_retire``);
* ``bundle_counts`` tells how often each bundle executed (a profile).

The op set comes from the ISA table (``fast_decode.FastOpTable``): a bundle
holding an op with no compiled form (an op added to the table, an extension
op) runs through the reference semantics (``OpSpec.execute`` with a
``BundleContext``, exactly as ``machine.Machine`` runs it), and the compiled
loop goes on after it.  A program may be given as a ``flat.FlatProgram``
(``FastMachine.from_file``: no Python object per slot); ``program`` is then
built from the file only when someone asks for it.

The attributes ``mem`` and ``cores`` are plain lists, copied into the arrays
when ``run`` starts and back when it returns, so editing them between runs
works as on the reference.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import numpy as np

from . import fast_decode as K
from .configs import missing_op_message
from .context import (
    BundleContext,
    Fault,
    div_zero_detail,
    jump_negative_detail,
    mem_range_detail,
    scratch_fault,
    scratch_range_detail,
    trace_full_detail,
)
from .core import CoreState, MachineBase, check_max_cycles, check_memory_image
from .events import Trap
from .fast_decode import DecodedProgram, decode_flat, first_missing_op
from .fast_native import kernels
from .flat import ENGINES, FlatProgram, read_flat_program
from .isa import DEFAULT_PARAMS, OPS, Engine, MachineParams, OpSpec, RunState, TrapCause
from .program import Program, ProgramError, place

# Cycles per call into the compiled loop: between calls Python can see Ctrl-C.
CHUNK_CYCLES = 1 << 22
NO_LIMIT = (1 << 62) - 1


def _new_buffer(n: int) -> np.ndarray:
    return np.zeros(max(1, n), dtype=np.int64)


class _Words:
    """A numpy row seen as a list of Python ints (the reference semantics compute
    on unbounded ints: an int64 scalar would overflow in ``a * b``)."""

    __slots__ = ("a",)

    def __init__(self, a: np.ndarray) -> None:
        self.a = a

    def __getitem__(self, i: int) -> int:
        return int(self.a[i])

    def __len__(self) -> int:
        return len(self.a)


class FastMachine(MachineBase):
    def __init__(
        self,
        program: Program | FlatProgram | Sequence[Mapping[str, Any]],
        mem: Sequence[int],
        params: MachineParams = DEFAULT_PARAMS,
        **kw: Any,
    ) -> None:
        if isinstance(program, FlatProgram):
            super().__init__(Program(()), mem, params, **kw)  # inputs checked as for any program
            flat = program
            bad = first_missing_op(flat, self.params)  # as configs.check_program_ops, in bulk
            if bad is not None:
                at = place(flat.bundle_of(bad), ENGINES[int(flat.engine[bad])], int(flat.index[bad]))
                raise ProgramError(f"{at}: {missing_op_message(flat.spec(bad), self.params)}")
            self._program: Program | None = flat.program
        else:
            super().__init__(program, mem, params, **kw)  # debug_values kept for symmetry; compares never run here
            flat = FlatProgram.from_program(self.program)
        self.decoded: DecodedProgram = decode_flat(flat, self.params, enable_debug=self.enable_debug)
        self.bundle_counts = np.zeros(self.decoded.n_bundles, dtype=np.int64)
        d = self.decoded
        self._buffers = (
            _new_buffer(K.TRAP_FIELDS),
            _new_buffer(d.max_scratch_writes),
            _new_buffer(d.max_scratch_writes),
            _new_buffer(d.max_mem_writes),
            _new_buffer(d.max_mem_writes),
            _new_buffer(d.max_trace_writes),
        )
        self._resume = np.zeros(2, dtype=np.int64)  # fast_kernel.RESUME_*
        self._generic_plans: dict[int, list[Any]] = {}

    @classmethod
    def from_file(
        cls, path: str, mem: Sequence[int], params: MachineParams = DEFAULT_PARAMS, ops: tuple[OpSpec, ...] = OPS, **kw: Any
    ) -> "FastMachine":
        """A machine for a program file, read straight into arrays (``flat.read_flat_program``);
        a bad file raises ``formats.FormatError`` with the same message as ``formats.read_program``."""
        return cls(read_flat_program(path, params, ops), mem, params, **kw)

    @property
    def program(self) -> Program:  # type: ignore[override]
        """The typed program; for a machine made from a file, read when first asked for."""
        if self._program is None:
            self._program = self.decoded.flat.to_program(self.params)
        return self._program

    @program.setter
    def program(self, value: Program) -> None:
        self._program = value

    def run(self, max_cycles: int | None = None, on_retire: Callable[..., None] | None = None) -> RunState:
        """As ``Machine.run``: PAUSED, HALTED, TRAPPED, or RUNNING at the cycle limit."""
        check_max_cycles(max_cycles)
        if on_retire is not None:
            raise ValueError("the fast engine emits no retire records; use pymodel.machine.Machine for on_retire")
        if self.trap is not None:
            return RunState.TRAPPED
        limit = NO_LIMIT if max_cycles is None else min(max_cycles, NO_LIMIT)
        arrays = self._load_arrays()  # checks edited state before anything changes
        scratch, mem, trace, trace_len, pc, state, clock = arrays
        state[state == int(RunState.PAUSED)] = int(RunState.RUNNING)  # resume paused cores
        d = self.decoded
        trap_out = self._buffers[0]
        run_cycles = kernels().run_cycles
        generic_trap: Trap | None = None
        try:
            while True:
                chunk_limit = min(limit, int(clock[0]) + CHUNK_CYCLES)
                stop = run_cycles(
                    d.op, d.args, d.bundle_first, d.bundle_cost, d.bundle_generic,
                    scratch, mem, trace, trace_len, pc, state, self.bundle_counts, clock, self._resume,
                    chunk_limit, self.params.vlen, self.enable_pause,
                    *self._buffers,
                )  # fmt: skip
                if stop == K.STOP_GENERIC:
                    generic_trap = self._run_generic(arrays, int(trap_out[K.TRAP_CORE]), int(trap_out[K.TRAP_PC]))
                    if generic_trap is None:
                        continue  # the loop finishes the cycle (fast_kernel.RESUME_*)
                    self._resume[:] = 0
                    break
                if stop == K.STOP_INTERNAL:
                    row = int(trap_out[K.TRAP_ROW])
                    raise RuntimeError(f"fast engine: row {row} has kernel code {int(d.op[row])}, which the loop lacks")
                if stop != K.STOP_LIMIT or chunk_limit >= limit:
                    break
        finally:
            self._store_arrays(arrays)
        if generic_trap is not None:
            self.trap = generic_trap
            return RunState.TRAPPED
        if stop == K.STOP_TRAP:
            self.trap = self._make_trap(trap_out)
            return RunState.TRAPPED
        if stop == K.STOP_LIMIT:
            return RunState.RUNNING
        return self.state

    # -- state in and out of the arrays ------------------------------------------

    def _load_arrays(self) -> tuple[np.ndarray, ...]:
        p = self.params
        for core in self.cores:  # the lists may have been edited between runs
            if len(core.scratch) != p.scratch_size:
                raise ValueError(f"core {core.id}: scratch must hold {p.scratch_size} words, has {len(core.scratch)}")
            if len(core.trace) > p.trace_depth:
                raise ValueError(f"core {core.id}: trace holds more than trace_depth={p.trace_depth} entries")
        mem = np.array(check_memory_image(self.mem), dtype=np.int64)
        scratch = np.array([check_memory_image(c.scratch, f"core {c.id} scratch") for c in self.cores], dtype=np.int64)
        trace = np.zeros((len(self.cores), p.trace_depth), dtype=np.int64)
        for core in self.cores:
            trace[core.id, : len(core.trace)] = core.trace
        trace_len = np.array([len(c.trace) for c in self.cores], dtype=np.int64)
        pc = np.array([c.pc for c in self.cores], dtype=np.int64)
        state = np.array([int(c.state) for c in self.cores], dtype=np.int64)
        clock = np.array([self.cycle], dtype=np.int64)
        return scratch, mem, trace, trace_len, pc, state, clock

    def _store_arrays(self, arrays: tuple[np.ndarray, ...]) -> None:
        scratch, mem, trace, trace_len, pc, state, clock = arrays
        self.mem[:] = mem.tolist()  # in place, as the reference mutates its lists
        for core in self.cores:
            i = core.id
            core.scratch[:] = scratch[i].tolist()
            core.trace[:] = trace[i, : trace_len[i]].tolist()
            core.pc = int(pc[i])
            core.state = RunState(int(state[i]))
        self.cycle = int(clock[0])

    def _make_trap(self, t: np.ndarray) -> Trap:
        cause = TrapCause(int(t[K.TRAP_CAUSE]))
        row = int(t[K.TRAP_ROW])
        place = self.decoded.place(row)
        value: int = int(t[K.TRAP_VALUE])
        if cause is TrapCause.SCRATCH_RANGE:
            value = self.decoded.scratch_faults[row]
            detail = scratch_range_detail(value, self.params.scratch_size)
        elif cause is TrapCause.DIV_ZERO:
            detail = div_zero_detail(int(t[K.TRAP_AUX]), place.op)
        elif cause is TrapCause.MEM_RANGE:
            detail = mem_range_detail(value, len(self.mem))
        elif cause is TrapCause.JUMP_NEGATIVE:
            detail = jump_negative_detail(value)
        else:
            detail = trace_full_detail(value)
        core = int(t[K.TRAP_CORE])
        return Trap(cause, self.cycle, int(t[K.TRAP_PC]), place.engine, place.index, detail, core, value)

    # -- ops with no compiled form ------------------------------------------------

    def _generic_plan(self, b: int) -> list[Any]:
        """Bundle b's non-debug slots as the reference plans them (machine.PlannedSlot);
        compiled slots take their scratch check from decoding, generic ones compute it."""
        from .machine import PlannedSlot

        plan = self._generic_plans.get(b)
        if plan is None:
            d = self.decoded
            flat = d.flat
            plan = []
            for r in range(int(d.bundle_first[b]), int(d.bundle_first[b + 1])):  # rows: no debug slots
                s = int(d.row_slot[r])
                spec, args = flat.spec(s), flat.slot_args(s)
                code = int(d.op[r])
                if code == K.K_GENERIC:
                    bad = scratch_fault(spec, args, self.params)
                else:
                    bad = d.scratch_faults.get(r) if code == K.K_TRAP_SCRATCH else None
                plan.append(PlannedSlot(ENGINES[int(flat.engine[s])], int(flat.index[s]), spec, args, bad))
            self._generic_plans[b] = plan
        return plan

    def _run_generic(self, arrays: tuple[np.ndarray, ...], c: int, b: int) -> Trap | None:
        """Run bundle b on core c through the reference semantics and commit it
        into the arrays, as ``machine.Machine._step`` does; its Trap, or None."""
        from .machine import Machine

        scratch, mem, trace, trace_len, pc, state, clock = arrays
        core = CoreState(c, b, scratch[c].tolist(), [0] * int(trace_len[c]))  # scratch is small: a copy reads fastest
        ctx = BundleContext(core, _Words(mem), self.params, enable_pause=self.enable_pause, debug_values={})  # type: ignore[arg-type]
        for slot in self._generic_plan(b):
            try:
                Machine._execute(self, ctx, slot)  # type: ignore[arg-type]  # the reference's own slot step
            except Fault as fault:
                state[c] = int(RunState.TRAPPED)
                return Trap(fault.cause, int(clock[0]), b, slot.engine, slot.index, fault.detail, c, fault.value)
        for addr, value in ctx.scratch_writes.items():
            scratch[c, addr] = value
        for addr, value in ctx.mem_writes.items():
            mem[addr] = value
        for value in ctx.trace_values:
            trace[c, trace_len[c]] = value
            trace_len[c] += 1
        pc[c] = ctx.next_pc  # jump operands were range-checked when decoding; data targets are words
        if ctx.halted:
            state[c] = int(RunState.HALTED)
        elif ctx.paused:
            state[c] = int(RunState.PAUSED)
        self.bundle_counts[b] += 1
        if self.decoded.bundle_cost[b]:
            self._resume[K.RESUME_COSTED] = 1  # the cycle counts (the loop adds it at the cycle's end)
        return None
