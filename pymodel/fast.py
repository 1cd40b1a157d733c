"""The fast engine: the reference machine's results at compiled speed.

``FastMachine`` has the constructor, attributes and run methods of
``machine.Machine`` and gives the same cycles, pc, scratch, memory, trace,
run states and traps.  It pre-decodes the program (``fast_decode``) and runs a
numba loop (``fast_kernel``).  Differences, by design:

* debug slots are skipped (as with ``enable_debug=False``); a program with
  ``compare``/``vcompare`` slots and ``enable_debug=True`` is refused;
* no retire records (use the reference engine for ``on_retire``);
* ``bundle_counts`` tells how often each bundle executed (a profile).

The attributes ``mem`` and ``cores`` are plain lists, copied into the arrays
when ``run`` starts and back when it returns, so editing them between runs
works as on the reference.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import numpy as np

from . import fast_kernel as K
from .context import div_zero_detail, jump_negative_detail, mem_range_detail, scratch_range_detail, trace_full_detail
from .core import MachineBase, check_max_cycles, check_memory_image
from .events import Trap
from .fast_decode import DecodedProgram, decode_program
from .isa import DEFAULT_PARAMS, MachineParams, RunState, TrapCause
from .program import Program

# Cycles per call into the compiled loop: between calls Python can see Ctrl-C.
CHUNK_CYCLES = 1 << 22
NO_LIMIT = (1 << 62) - 1


class FastMachine(MachineBase):
    def __init__(
        self,
        program: Program | Sequence[Mapping[str, Any]],
        mem: Sequence[int],
        params: MachineParams = DEFAULT_PARAMS,
        **kw: Any,
    ) -> None:
        super().__init__(program, mem, params, **kw)  # debug_values kept for symmetry; compares never run here
        self.decoded: DecodedProgram = decode_program(self.program, self.params, enable_debug=self.enable_debug)
        self.bundle_counts = np.zeros(self.decoded.n_bundles, dtype=np.int64)
        d = self.decoded
        self._buffers = (
            K.new_buffer(K.TRAP_FIELDS),
            K.new_buffer(d.max_scratch_writes),
            K.new_buffer(d.max_scratch_writes),
            K.new_buffer(d.max_mem_writes),
            K.new_buffer(d.max_mem_writes),
            K.new_buffer(d.max_trace_writes),
        )

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
        try:
            while True:
                chunk_limit = min(limit, int(clock[0]) + CHUNK_CYCLES)
                stop = K.run_cycles(
                    d.op, d.args, d.bundle_first, d.bundle_cost,
                    scratch, mem, trace, trace_len, pc, state, self.bundle_counts, clock,
                    chunk_limit, self.params.vlen, self.enable_pause,
                    *self._buffers,
                )  # fmt: skip
                if stop != K.STOP_LIMIT or chunk_limit >= limit:
                    break
        finally:
            self._store_arrays(arrays)
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
        place = self.decoded.places[row]
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
