"""The fast engine's inner loop: a numba-compiled interpreter over the arrays
of ``fast_decode.DecodedProgram``.

It follows ``machine.Machine.run`` step for step (same cycle loop, same
commit order, same trap rules); only the representation differs.  Every
value is an int64 holding an unsigned 32-bit word, and every result is masked
back to 32 bits, so nothing ever computes on unbounded integers.  Scratch
addresses were range-checked when decoding; memory addresses, pc and the
trace buffer are checked here, so the unchecked array indexing is safe.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .fast_decode import (
    F_ADD_IMM,
    F_ALU,
    F_COND_JUMP,
    F_COND_JUMP_REL,
    F_CONST,
    F_COREID,
    F_HALT,
    F_JUMP,
    F_JUMP_INDIRECT,
    F_LOAD,
    F_LOAD_OFFSET,
    F_MULTIPLY_ADD,
    F_PAUSE,
    F_SELECT,
    F_STORE,
    F_TRACE_WRITE,
    F_TRAP_SCRATCH,
    F_VALU,
    F_VBROADCAST,
    F_VLOAD,
    F_VSELECT,
    F_VSTORE,
)
from .isa import RunState, TrapCause

MASK = 0xFFFFFFFF
RUNNING = int(RunState.RUNNING)
PAUSED = int(RunState.PAUSED)
HALTED = int(RunState.HALTED)
TRAPPED = int(RunState.TRAPPED)
T_DIV_ZERO = int(TrapCause.DIV_ZERO)
T_SCRATCH_RANGE = int(TrapCause.SCRATCH_RANGE)
T_MEM_RANGE = int(TrapCause.MEM_RANGE)
T_JUMP_NEGATIVE = int(TrapCause.JUMP_NEGATIVE)
T_TRACE_FULL = int(TrapCause.TRACE_FULL)

# Why run_cycles returned.
STOP_IDLE = 0  # no core is RUNNING
STOP_LIMIT = 1  # the cycle counter reached the limit
STOP_TRAP = 2  # trap_out holds the trap

# trap_out layout
TRAP_CAUSE, TRAP_CORE, TRAP_PC, TRAP_ROW, TRAP_VALUE, TRAP_AUX = range(6)
TRAP_FIELDS = 6

# Binary op index k (fast_decode.BINOP_INDEX order).
B_ADD, B_SUB, B_MUL, B_FLOORDIV, B_CDIV, B_XOR, B_AND, B_OR, B_SHL, B_SHR, B_MOD, B_LT, B_EQ = range(13)
N_BINOPS = 13


@njit(inline="always")
def is_division(k: int) -> bool:
    return k == B_FLOORDIV or k == B_CDIV or k == B_MOD


@njit(inline="always")
def mul32(a: int, b: int) -> int:
    # Low 32 bits of a*b without leaving int64: both partial products are < 2^48.
    return (a * (b & 0xFFFF) + (((a * (b >> 16)) & 0xFFFF) << 16)) & MASK


@njit(inline="always")
def binop(k: int, a: int, b: int) -> int:
    """a, b in 0..2^32-1; the divisor of a division op is non-zero."""
    if k == B_ADD:
        return (a + b) & MASK
    if k == B_SUB:
        return (a - b) & MASK
    if k == B_MUL:
        return mul32(a, b)
    if k == B_XOR:
        return a ^ b
    if k == B_AND:
        return a & b
    if k == B_OR:
        return a | b
    if k == B_SHL:
        return ((a << b) & MASK) if b < 32 else 0
    if k == B_SHR:
        return (a >> b) if b < 32 else 0
    if k == B_LT:
        return 1 if a < b else 0
    if k == B_EQ:
        return 1 if a == b else 0
    if k == B_FLOORDIV:
        return a // b
    if k == B_CDIV:
        return (a + b - 1) // b
    return a % b  # B_MOD


@njit(cache=True)
def run_cycles(
    op, args, bundle_first, bundle_cost,  # the program (fast_decode.DecodedProgram)
    scratch, mem, trace, trace_len, pc, state, counts, clock,  # machine state, updated in place
    limit, vlen, enable_pause,  # run settings
    trap_out, sw_addr, sw_val, mw_addr, mw_val, tw_val,  # out: trap; scratch: per-bundle write buffers
):  # fmt: skip
    n_cores = pc.shape[0]
    n_bundles = bundle_cost.shape[0]
    mem_len = mem.shape[0]
    depth = trace.shape[1]
    cycle = clock[0]
    while True:
        any_running = False
        for c in range(n_cores):
            if state[c] == RUNNING:
                if pc[c] >= n_bundles:
                    state[c] = HALTED  # ran past the end: a normal stop, no cycle
                else:
                    any_running = True
        if not any_running:
            clock[0] = cycle
            return STOP_IDLE
        if cycle >= limit:
            clock[0] = cycle
            return STOP_LIMIT
        costed = False
        for c in range(n_cores):
            if state[c] != RUNNING:
                continue
            b = pc[c]
            sc = scratch[c]
            next_pc = b + 1
            ns = 0
            nm = 0
            nt = 0
            halted = False
            paused = False
            fault = 0
            f_row = 0
            f_value = 0
            f_aux = 0
            for s in range(bundle_first[b], bundle_first[b + 1]):
                o = op[s]
                x = args[s, 0]
                y = args[s, 1]
                z = args[s, 2]
                w = args[s, 3]
                if o < F_ALU + N_BINOPS:
                    vb = sc[z]
                    if vb == 0 and is_division(o - F_ALU):
                        fault, f_row, f_value, f_aux = T_DIV_ZERO, s, 0, z
                        break
                    sw_addr[ns] = x
                    sw_val[ns] = binop(o - F_ALU, sc[y], vb)
                    ns += 1
                elif o < F_VALU + N_BINOPS:
                    k = o - F_VALU
                    for i in range(vlen):
                        vb = sc[z + i]
                        if vb == 0 and is_division(k):
                            fault, f_row, f_value, f_aux = T_DIV_ZERO, s, 0, z + i
                            break
                        sw_addr[ns] = x + i
                        sw_val[ns] = binop(k, sc[y + i], vb)
                        ns += 1
                    if fault != 0:
                        break
                elif o == F_VBROADCAST:
                    v = sc[y]
                    for i in range(vlen):
                        sw_addr[ns] = x + i
                        sw_val[ns] = v
                        ns += 1
                elif o == F_MULTIPLY_ADD:
                    for i in range(vlen):
                        sw_addr[ns] = x + i
                        sw_val[ns] = (mul32(sc[y + i], sc[z + i]) + sc[w + i]) & MASK
                        ns += 1
                elif o == F_LOAD or o == F_LOAD_OFFSET:
                    addr = sc[y]
                    if addr >= mem_len:
                        fault, f_row, f_value = T_MEM_RANGE, s, addr
                        break
                    sw_addr[ns] = x
                    sw_val[ns] = mem[addr]
                    ns += 1
                elif o == F_VLOAD:
                    base = sc[y]
                    if base + vlen > mem_len:
                        fault, f_row, f_value = T_MEM_RANGE, s, max(base, mem_len)  # first bad lane
                        break
                    for i in range(vlen):
                        sw_addr[ns] = x + i
                        sw_val[ns] = mem[base + i]
                        ns += 1
                elif o == F_CONST:
                    sw_addr[ns] = x
                    sw_val[ns] = y
                    ns += 1
                elif o == F_STORE:
                    addr = sc[x]
                    if addr >= mem_len:
                        fault, f_row, f_value = T_MEM_RANGE, s, addr
                        break
                    mw_addr[nm] = addr
                    mw_val[nm] = sc[y]
                    nm += 1
                elif o == F_VSTORE:
                    base = sc[x]
                    if base + vlen > mem_len:
                        fault, f_row, f_value = T_MEM_RANGE, s, max(base, mem_len)
                        break
                    for i in range(vlen):
                        mw_addr[nm] = base + i
                        mw_val[nm] = sc[y + i]
                        nm += 1
                elif o == F_SELECT:
                    sw_addr[ns] = x
                    sw_val[ns] = sc[z] if sc[y] != 0 else sc[w]
                    ns += 1
                elif o == F_VSELECT:
                    for i in range(vlen):
                        sw_addr[ns] = x + i
                        sw_val[ns] = sc[z + i] if sc[y + i] != 0 else sc[w + i]
                        ns += 1
                elif o == F_ADD_IMM:
                    sw_addr[ns] = x
                    sw_val[ns] = (sc[y] + z) & MASK
                    ns += 1
                elif o == F_HALT:
                    halted = True
                elif o == F_PAUSE:
                    if enable_pause:
                        paused = True
                elif o == F_TRACE_WRITE:
                    if trace_len[c] + nt >= depth:
                        fault, f_row, f_value = T_TRACE_FULL, s, depth
                        break
                    tw_val[nt] = sc[x]
                    nt += 1
                elif o == F_COND_JUMP or o == F_COND_JUMP_REL or o == F_JUMP or o == F_JUMP_INDIRECT:
                    if o == F_JUMP:
                        taken, target = True, x
                    elif o == F_JUMP_INDIRECT:
                        taken, target = True, sc[x]
                    elif o == F_COND_JUMP:
                        taken, target = sc[x] != 0, y
                    else:
                        taken, target = sc[x] != 0, b + 1 + y  # relative to the next bundle
                    if taken:
                        if target < 0:
                            fault, f_row, f_value = T_JUMP_NEGATIVE, s, target
                            break
                        next_pc = target
                elif o == F_COREID:
                    sw_addr[ns] = x
                    sw_val[ns] = c
                    ns += 1
                else:  # F_TRAP_SCRATCH: its address is in DecodedProgram.scratch_faults
                    fault, f_row = T_SCRATCH_RANGE, s
                    break
            if fault != 0:
                trap_out[TRAP_CAUSE] = fault
                trap_out[TRAP_CORE] = c
                trap_out[TRAP_PC] = b
                trap_out[TRAP_ROW] = f_row
                trap_out[TRAP_VALUE] = f_value
                trap_out[TRAP_AUX] = f_aux
                state[c] = TRAPPED
                clock[0] = cycle
                return STOP_TRAP
            # Commit, in execution order: a later writer wins.
            for i in range(ns):
                sc[sw_addr[i]] = sw_val[i]
            for i in range(nm):
                mem[mw_addr[i]] = mw_val[i]
            for i in range(nt):
                trace[c, trace_len[c]] = tw_val[i]
                trace_len[c] += 1
            pc[c] = next_pc
            if halted:
                state[c] = HALTED
            elif paused:
                state[c] = PAUSED
            counts[b] += 1
            if bundle_cost[b] != 0:
                costed = True
        if costed:
            cycle += 1


def new_buffer(n: int) -> np.ndarray:
    return np.zeros(max(1, n), dtype=np.int64)
