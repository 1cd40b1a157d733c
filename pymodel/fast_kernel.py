"""The fast engine's compiled code (numba): the inner loop, a numba-compiled
interpreter over the arrays of ``fast_decode.DecodedProgram`` (``run_cycles``),
the program-file scanner (``scan``, see ``flat``) and the decoder (``decode``,
see ``fast_decode``).  ``fast_native`` compiles them ahead of time into one
extension module (so a run does not import numba), or falls back to numba's JIT.

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
    E_DEBUG_COMPARE,
    E_PC_RANGE,
    K_GENERIC,
    K_SKIP,
    O_IMM,
    O_PC,
    O_READ,
    O_READ_VEC,
    O_WRITE,
    O_WRITE_VEC,
    RESUME_CORE,
    RESUME_COSTED,
    STOP_GENERIC,
    STOP_IDLE,
    STOP_INTERNAL,
    STOP_LIMIT,
    STOP_TRAP,
    TRAP_AUX,
    TRAP_CAUSE,
    TRAP_CORE,
    TRAP_PC,
    TRAP_ROW,
    TRAP_VALUE,
    B_ADD,
    B_AND,
    B_CDIV,
    B_EQ,
    B_FLOORDIV,
    B_LT,
    B_MOD,
    B_MUL,
    B_OR,
    B_SHL,
    B_SHR,
    B_SUB,
    B_XOR,
    K_ADD_IMM,
    K_ALU_BINOP,
    K_COND_JUMP,
    K_COND_JUMP_REL,
    K_CONST,
    K_COREID,
    K_HALT,
    K_JUMP,
    K_JUMP_INDIRECT,
    K_LOAD,
    K_LOAD_OFFSET,
    K_MULTIPLY_ADD,
    K_PAUSE,
    K_SELECT,
    K_STORE,
    K_TRACE_WRITE,
    K_TRAP_SCRATCH,
    K_VALU_BINOP,
    K_VBROADCAST,
    K_VLOAD,
    K_VSELECT,
    K_VSTORE,
)
from .flat import DEBUG, NOT_MINE, OK
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
    if k == B_MOD:
        return a % b
    return -1  # unreachable: decoding emits only the ids above (fast_decode.BINOPS)


@njit(cache=True)
def run_cycles(
    op, args, bundle_first, bundle_cost, bundle_generic,  # the program (fast_decode.DecodedProgram)
    scratch, mem, trace, trace_len, pc, state, counts, clock, resume,  # machine state, updated in place
    limit, vlen, enable_pause,  # run settings
    trap_out, sw_addr, sw_val, mw_addr, mw_val, tw_val,  # out: trap; scratch: per-bundle write buffers
):  # fmt: skip
    n_cores = pc.shape[0]
    n_bundles = bundle_cost.shape[0]
    mem_len = mem.shape[0]
    depth = trace.shape[1]
    cycle = clock[0]
    any_generic = bundle_generic.shape[0] > 0 and bundle_generic.max() != 0  # else skip the per-bundle check
    start = resume[RESUME_CORE]  # > 0: finish the cycle a generic bundle interrupted
    costed = resume[RESUME_COSTED] != 0
    resume[RESUME_CORE] = 0
    resume[RESUME_COSTED] = 0
    while True:
        if start > 0:
            first_core = start
            start = 0
            top_of_cycle = False
        else:
            first_core = 0
            top_of_cycle = True
            costed = False
        if top_of_cycle:
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
        for c in range(first_core, n_cores):
            if state[c] != RUNNING:
                continue
            b = pc[c]
            if any_generic and bundle_generic[b] != 0:
                trap_out[TRAP_CORE] = c
                trap_out[TRAP_PC] = b
                resume[RESUME_CORE] = c + 1
                resume[RESUME_COSTED] = 1 if costed else 0
                clock[0] = cycle
                return STOP_GENERIC
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
                if o == K_ALU_BINOP:
                    vb = sc[z]
                    if vb == 0 and is_division(w):
                        fault, f_row, f_value, f_aux = T_DIV_ZERO, s, 0, z
                        break
                    sw_addr[ns] = x
                    sw_val[ns] = binop(w, sc[y], vb)
                    ns += 1
                elif o == K_VALU_BINOP:
                    k = w
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
                elif o == K_VBROADCAST:
                    v = sc[y]
                    for i in range(vlen):
                        sw_addr[ns] = x + i
                        sw_val[ns] = v
                        ns += 1
                elif o == K_MULTIPLY_ADD:
                    for i in range(vlen):
                        sw_addr[ns] = x + i
                        sw_val[ns] = (mul32(sc[y + i], sc[z + i]) + sc[w + i]) & MASK
                        ns += 1
                elif o == K_LOAD or o == K_LOAD_OFFSET:  # load_offset's effective addresses were decoded
                    addr = sc[y]
                    if addr >= mem_len:
                        fault, f_row, f_value = T_MEM_RANGE, s, addr
                        break
                    sw_addr[ns] = x
                    sw_val[ns] = mem[addr]
                    ns += 1
                elif o == K_VLOAD:
                    base = sc[y]
                    if base + vlen > mem_len:
                        fault, f_row, f_value = T_MEM_RANGE, s, max(base, mem_len)  # first bad lane
                        break
                    for i in range(vlen):
                        sw_addr[ns] = x + i
                        sw_val[ns] = mem[base + i]
                        ns += 1
                elif o == K_CONST:
                    sw_addr[ns] = x
                    sw_val[ns] = y
                    ns += 1
                elif o == K_STORE:
                    addr = sc[x]
                    if addr >= mem_len:
                        fault, f_row, f_value = T_MEM_RANGE, s, addr
                        break
                    mw_addr[nm] = addr
                    mw_val[nm] = sc[y]
                    nm += 1
                elif o == K_VSTORE:
                    base = sc[x]
                    if base + vlen > mem_len:
                        fault, f_row, f_value = T_MEM_RANGE, s, max(base, mem_len)
                        break
                    for i in range(vlen):
                        mw_addr[nm] = base + i
                        mw_val[nm] = sc[y + i]
                        nm += 1
                elif o == K_SELECT:
                    sw_addr[ns] = x
                    sw_val[ns] = sc[z] if sc[y] != 0 else sc[w]
                    ns += 1
                elif o == K_VSELECT:
                    for i in range(vlen):
                        sw_addr[ns] = x + i
                        sw_val[ns] = sc[z + i] if sc[y + i] != 0 else sc[w + i]
                        ns += 1
                elif o == K_ADD_IMM:
                    sw_addr[ns] = x
                    sw_val[ns] = (sc[y] + z) & MASK
                    ns += 1
                elif o == K_HALT:
                    halted = True
                elif o == K_PAUSE:
                    if enable_pause:
                        paused = True
                elif o == K_TRACE_WRITE:
                    if trace_len[c] + nt >= depth:
                        fault, f_row, f_value = T_TRACE_FULL, s, depth
                        break
                    tw_val[nt] = sc[x]
                    nt += 1
                elif o == K_COND_JUMP or o == K_COND_JUMP_REL or o == K_JUMP or o == K_JUMP_INDIRECT:
                    if o == K_JUMP:
                        taken, target = True, x
                    elif o == K_JUMP_INDIRECT:
                        taken, target = True, sc[x]
                    elif o == K_COND_JUMP:
                        taken, target = sc[x] != 0, y
                    else:
                        taken, target = sc[x] != 0, b + 1 + y  # relative to the next bundle
                    if taken:
                        if target < 0:
                            fault, f_row, f_value = T_JUMP_NEGATIVE, s, target
                            break
                        next_pc = target
                elif o == K_COREID:
                    sw_addr[ns] = x
                    sw_val[ns] = c
                    ns += 1
                elif o == K_TRAP_SCRATCH:  # its address is in DecodedProgram.scratch_faults
                    fault, f_row = T_SCRATCH_RANGE, s
                    break
                else:
                    trap_out[TRAP_ROW] = s
                    clock[0] = cycle
                    return STOP_INTERNAL
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



# --------------------------------------------------------------------------
# Reading a program file into arrays (flat.parse_program_bytes)




@njit(cache=True, inline="always")
def _skip_ws(d, p):
    n = d.shape[0]
    while p < n:
        c = d[p]
        if c == 32 or c == 10 or c == 13 or c == 9:
            p += 1
        else:
            break
    return p


@njit(cache=True, inline="always")
def _string(d, p):
    """p at the opening quote: (end of the string's bytes, position after the closing quote),
    or (-1, p) for anything but plain printable ASCII with no escapes."""
    n = d.shape[0]
    q = p + 1
    while q < n:
        c = d[q]
        if c == 34:
            return q, q + 1
        if c == 92 or c < 32 or c > 126:
            return -1, p
        q += 1
    return -1, p


@njit(cache=True, inline="always")
def _integer(d, p):
    """(value, position after it, ok): -?(0|[1-9][0-9]*), at most 18 digits, not followed by . e E."""
    n = d.shape[0]
    neg = False
    if p < n and d[p] == 45:
        neg = True
        p += 1
    start = p
    v = 0
    while p < n and 48 <= d[p] <= 57:
        v = v * 10 + (d[p] - 48)
        p += 1
    digits = p - start
    if digits == 0 or digits > 18 or (digits > 1 and d[start] == 48):
        return 0, p, False
    if p < n and (d[p] == 46 or d[p] == 101 or d[p] == 69):
        return 0, p, False
    return (-v if neg else v), p, True


@njit(cache=True, inline="always")
def _name(d, s, e, buf, off, lo, hi):
    """Index in lo..hi-1 of the name equal to d[s:e], or -1."""
    length = e - s
    for k in range(lo, hi):
        if off[k + 1] - off[k] != length:
            continue
        same = True
        for i in range(length):
            if buf[off[k] + i] != d[s + i]:
                same = False
                break
        if same:
            return k
    return -1


@njit(cache=True, inline="always")
def _skip_key(d, p):
    """A debug key: integers, plain strings and lists of them, nested at most 8
    deep.  Position after it, or -1.  (Iterative: numba's cache mishandles recursion.)"""
    n = d.shape[0]
    depth = 0
    need_value = True
    while True:
        if need_value:
            p = _skip_ws(d, p)
            if p >= n:
                return -1
            c = d[p]
            if c == 91:
                depth += 1
                if depth > 8:
                    return -1
                p = _skip_ws(d, p + 1)
                if p < n and d[p] == 93:
                    p += 1
                    depth -= 1
                    need_value = False
                continue
            if c == 34:
                e, p = _string(d, p)
                if e < 0:
                    return -1
            else:
                _v, p, ok = _integer(d, p)
                if not ok:
                    return -1
            need_value = False
        if depth == 0:
            return p
        p = _skip_ws(d, p)
        if p >= n:
            return -1
        if d[p] == 44:
            p += 1
            need_value = True
        elif d[p] == 93:
            p += 1
            depth -= 1
        else:
            return -1


@njit(cache=True)
def scan(d, buf, off, n_engines, cand_first, cand, arity, kinds, limits,
         engine, op, args, index, first, cost, out):  # fmt: skip
    """Fill the arrays (flat.parse_program_bytes); the status, out = [bundles, slots]."""
    n = d.shape[0]
    p = 0
    if n >= 3 and d[0] == 0xEF and d[1] == 0xBB and d[2] == 0xBF:  # a UTF-8 byte order mark
        p = 3
    p = _skip_ws(d, p)
    if p >= n or d[p] != 91:
        return NOT_MINE
    p = _skip_ws(d, p + 1)
    nb = 0
    r = 0
    first[0] = 0
    if p < n and d[p] == 93:
        p += 1
    else:
        while True:  # one bundle
            if p >= n or d[p] != 123:
                return NOT_MINE
            p = _skip_ws(d, p + 1)
            seen = 0
            costs = 0
            if p < n and d[p] == 125:
                p += 1
            else:
                while True:  # one engine group
                    if p >= n or d[p] != 34:
                        return NOT_MINE
                    key_start = p + 1
                    e_end, p = _string(d, p)
                    if e_end < 0:
                        return NOT_MINE
                    eng = _name(d, key_start, e_end, buf, off, 0, n_engines)
                    if eng < 0 or (seen >> eng) & 1:
                        return NOT_MINE
                    seen |= 1 << eng
                    if eng != DEBUG:
                        costs = 1
                    p = _skip_ws(d, p)
                    if p >= n or d[p] != 58:
                        return NOT_MINE
                    p = _skip_ws(d, p + 1)
                    if p >= n or d[p] != 91:
                        return NOT_MINE
                    p = _skip_ws(d, p + 1)
                    count = 0
                    if p < n and d[p] == 93:
                        p += 1
                    else:
                        while True:  # one slot
                            if p >= n or d[p] != 91:
                                return NOT_MINE
                            p = _skip_ws(d, p + 1)
                            if p >= n or d[p] != 34:
                                return NOT_MINE
                            s_start = p + 1
                            s_end, p = _string(d, p)
                            if s_end < 0:
                                return NOT_MINE
                            j = -1
                            if s_end > s_start:  # candidates: this engine's ops with this first letter
                                lut = eng * 256 + d[s_start]
                                for q in range(cand_first[lut], cand_first[lut + 1]):
                                    k = cand[q]
                                    o = off[n_engines + k]
                                    if off[n_engines + k + 1] - o != s_end - s_start:
                                        continue
                                    same = True
                                    for i in range(1, s_end - s_start):
                                        if buf[o + i] != d[s_start + i]:
                                            same = False
                                            break
                                    if same:
                                        j = k
                                        break
                            if j < 0 or count >= limits[eng]:
                                return NOT_MINE
                            engine[r] = eng
                            op[r] = j
                            index[r] = count
                            for k in range(4):
                                args[r, k] = 0
                            m = 0
                            p = _skip_ws(d, p)
                            while p < n and d[p] == 44:
                                p = _skip_ws(d, p + 1)
                                if m >= arity[j]:
                                    return NOT_MINE
                                kind = kinds[j, m]
                                if kind == 1:
                                    v, p, ok = _integer(d, p)
                                    if not ok:
                                        return NOT_MINE
                                    args[r, m] = v
                                elif kind == 2:
                                    if p >= n or d[p] != 34:
                                        return NOT_MINE
                                    t_end, p = _string(d, p)
                                    if t_end < 0:
                                        return NOT_MINE
                                else:
                                    p = _skip_key(d, p)
                                    if p < 0:
                                        return NOT_MINE
                                m += 1
                                p = _skip_ws(d, p)
                            if m != arity[j] or p >= n or d[p] != 93:
                                return NOT_MINE
                            p = _skip_ws(d, p + 1)
                            r += 1
                            count += 1
                            if p < n and d[p] == 44:
                                p = _skip_ws(d, p + 1)
                                continue
                            if p < n and d[p] == 93:
                                p += 1
                                break
                            return NOT_MINE
                    p = _skip_ws(d, p)
                    if p < n and d[p] == 44:
                        p = _skip_ws(d, p + 1)
                        continue
                    if p < n and d[p] == 125:
                        p += 1
                        break
                    return NOT_MINE
            cost[nb] = costs
            nb += 1
            first[nb] = r
            p = _skip_ws(d, p)
            if p < n and d[p] == 44:
                p = _skip_ws(d, p + 1)
                continue
            if p < n and d[p] == 93:
                p += 1
                break
            return NOT_MINE
    p = _skip_ws(d, p)
    if p != n:
        return NOT_MINE
    out[0] = nb
    out[1] = r
    return OK


# --------------------------------------------------------------------------
# Decoding (fast_decode.decode_flat)


@njit(cache=True)
def decode(op, args, first, cost, forced,  # the flat program
            code, sub, operand, offset_arg, lanes, mem_writes, trace_writes, compare,  # the op table
            vlen, size, enable_debug, pc_limit,
            dop, dargs, row_slot, rfirst, lane_ops, generic, fault, out):  # fmt: skip
    """Fill the row arrays (fast_decode.decode_flat); out = [rows, max scratch/mem/trace
    writes, error kind, error slot]."""
    n_bundles = cost.shape[0]
    r = 0
    max_sw = 0
    max_mw = 0
    max_tw = 0
    rfirst[0] = 0
    for b in range(n_bundles):
        sw = 0
        mw = 0
        tw = 0
        lane_sum = 0
        gen = 0
        for s in range(first[b], first[b + 1]):
            j = op[s]
            c = code[j]
            if c == K_SKIP:  # a debug slot: no row
                if enable_debug and compare[j] != 0:
                    out[4] = E_DEBUG_COMPARE
                    out[5] = s
                    return 1
                continue
            lane_sum += lanes[j]
            row_slot[r] = s
            # The first out-of-range scratch address: reads, then writes, lanes in order (OpSpec._touched).
            off = args[s, offset_arg[j]] if offset_arg[j] >= 0 else 0
            bad = False
            bad_addr = 0
            if forced[s] != 0:
                bad = True
            for want_write in range(2):
                if bad:
                    break
                for k in range(4):
                    kind = operand[j, k]
                    if want_write == 0 and kind != O_READ and kind != O_READ_VEC:
                        continue
                    if want_write == 1 and kind != O_WRITE and kind != O_WRITE_VEC:
                        continue
                    base = args[s, k] + off
                    width = vlen if (kind == O_READ_VEC or kind == O_WRITE_VEC) else 1
                    if base < 0 or base >= size:
                        bad = True
                        bad_addr = base
                        break
                    if base + width > size:
                        bad = True
                        bad_addr = size
                        break
            if c == K_GENERIC:  # its bundle runs on the reference semantics
                for k in range(4):
                    if operand[j, k] == O_PC and (args[s, k] <= -pc_limit or args[s, k] >= pc_limit):
                        out[4] = E_PC_RANGE
                        out[5] = s
                        return 1
                    dargs[r, k] = args[s, k]
                gen = 1
                dop[r] = c
                r += 1
                continue
            if bad:
                dop[r] = K_TRAP_SCRATCH
                fault[r] = bad_addr
                for k in range(4):
                    dargs[r, k] = 0
                r += 1
                continue
            dop[r] = c
            for k in range(4):
                v = args[s, k]
                if operand[j, k] == O_IMM:  # mod 2^32
                    v = v & 0xFFFFFFFF
                elif operand[j, k] == O_PC:
                    if v <= -pc_limit or v >= pc_limit:
                        out[4] = E_PC_RANGE
                        out[5] = s
                        return 1
                dargs[r, k] = v
            if offset_arg[j] >= 0:  # load_offset: effective addresses
                dargs[r, 0] = args[s, 0] + off
                dargs[r, 1] = args[s, 1] + off
                dargs[r, 2] = 0
            if c == K_ALU_BINOP or c == K_VALU_BINOP:  # the binop id in operand 3
                dargs[r, 3] = sub[j]
            for k in range(4):
                if operand[j, k] == O_WRITE:
                    sw += 1
                elif operand[j, k] == O_WRITE_VEC:
                    sw += vlen
            mw += mem_writes[j]
            tw += trace_writes[j]
            r += 1
        rfirst[b + 1] = r
        lane_ops[b] = lane_sum
        generic[b] = gen
        if sw > max_sw:
            max_sw = sw
        if mw > max_mw:
            max_mw = mw
        if tw > max_tw:
            max_tw = tw
    out[0] = r
    out[1] = max_sw
    out[2] = max_mw
    out[3] = max_tw
    return 0
