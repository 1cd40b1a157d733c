"""Trap conformance programs: one per cause and place, each trapping in a
bundle full of slots that would otherwise commit (the spec: a trapping bundle
commits nothing and its cycle is not counted)."""

from __future__ import annotations

from typing import Any

from pymodel.isa import DEFAULT_PARAMS, HW_ENGINES, Engine, MachineParams, RunState, TrapCause

from .conformance import M, Builder, Conformance, TrapWant

Z, ONE, SEVEN, NLEN, NV, NV_OK, MX, ADDR = range(1400, 1408)
DZ0, DZ7, DZ3 = 1416, 1424, 1432  # vectors whose lane 0 / 7 / 3 is zero, the others one
MEM_LEN = 24
PREFIX = 8  # bundles before the trapping one in trap_case
Slot = tuple[Any, ...]


def _harmless(engine: Engine, i: int) -> Slot:
    """A slot that would change state if its bundle committed."""
    return {
        Engine.ALU: ("+", 600 + i, ONE, ONE),
        Engine.VALU: ("vbroadcast", 640 + 8 * i, SEVEN),
        Engine.LOAD: ("const", 700 + i, 99),
        Engine.STORE: ("store", Z if i == 0 else ONE, SEVEN),
        Engine.FLOW: ("trace_write", SEVEN),
    }[engine]


def trap_case(
    name: str, engine: Engine, slot: int, bad: Slot, cause: TrapCause, params: MachineParams = DEFAULT_PARAMS,
    extra: dict[Engine, dict[int, Slot]] | None = None,
) -> Conformance:  # fmt: skip
    """A prefix that sets registers, then one bundle with every engine busy and
    ``bad`` at (engine, slot); ``extra`` puts more slots (a later trap) in place."""
    vl = params.vlen
    mem = [0 if i % vl == 0 else 1 for i in range(vl)] + [0 if i == vl - 1 else 1 for i in range(vl)]
    mem += [0 if i == 3 else 1 for i in range(vl)]
    b = Builder(params)
    b.consts(Z, [0, 1, 7, MEM_LEN, MEM_LEN - vl + 1, MEM_LEN - vl, M, 0])
    b.consts(ADDR, [0, vl, 2 * vl, 0])
    b.bundles += [{"load": [("vload", DZ0, ADDR), ("vload", DZ7, ADDR + 1)]}, {"load": [("vload", DZ3, ADDR + 2)]}]
    prefix = len(b.bundles)
    assert prefix == PREFIX, prefix
    places = {e: {i: _harmless(e, i) for i in range(min(2, params.slot_limit(e)))} for e in HW_ENGINES}
    for e, more in (extra or {}).items():
        places[e].update(more)
    places[engine][slot] = bad
    for e in HW_ENGINES:  # fill the positions before the trapping one
        for i in range(max(places[e]) + 1):
            places[e].setdefault(i, _harmless(e, i))
    b.bundles.append({e.value: [places[e][i] for i in sorted(places[e])] for e in HW_ENGINES})
    for addr in [600 + i for i in range(params.alu_slots)] + [700, 701] + list(range(640, 640 + 8 * 6)):
        b.want(addr, 0)  # nothing of the trapping bundle landed
    b.expect.mem = dict(enumerate(mem))
    b.expect.trace = []
    b.expect.state = RunState.TRAPPED
    b.expect.trap = TrapWant(cause, prefix, engine, slot)
    return b.done(name, mem, cycle=prefix)


def trap_programs(params: MachineParams = DEFAULT_PARAMS) -> list[Conformance]:
    top, vl = params.scratch_size, params.vlen
    A, V, L, S, F = Engine.ALU, Engine.VALU, Engine.LOAD, Engine.STORE, Engine.FLOW
    D, SR, MR = TrapCause.DIV_ZERO, TrapCause.SCRATCH_RANGE, TrapCause.MEM_RANGE
    cases: list[tuple[str, Engine, int, Slot, TrapCause, dict[Engine, dict[int, Slot]] | None]] = [
        ("alu-floordiv-zero", A, 1, ("//", 610, SEVEN, Z), D, None),
        ("alu-cdiv-zero", A, 6, ("cdiv", 610, SEVEN, Z), D, None),
        ("alu-mod-zero", A, params.alu_slots - 1, ("%", 610, Z, Z), D, None),
        ("valu-floordiv-lane0-zero", V, 0, ("//", 800, DZ7, DZ0), D, None),
        ("valu-cdiv-lane7-zero", V, 3, ("cdiv", 800, DZ0, DZ7), D, None),
        ("valu-mod-lane3-zero", V, params.valu_slots - 1, ("%", 800, DZ7, DZ3), D, None),
        ("scratch-read-scalar", A, 4, ("+", 610, top, ONE), SR, None),
        ("scratch-write-scalar", A, 0, ("+", top, ONE, ONE), SR, None),
        ("scratch-read-trace", F, 0, ("trace_write", top), SR, None),
        ("scratch-read-vector-last-lane", V, 2, ("+", 800, top - vl + 1, DZ0), SR, None),
        ("scratch-write-vector-last-lane", V, 5, ("vbroadcast", top - vl + 1, ONE), SR, None),
        ("scratch-write-vload-last-lane", L, 1, ("vload", top - vl + 1, Z), SR, None),
        ("scratch-read-vstore-last-lane", S, 1, ("vstore", Z, top - vl + 1), SR, None),
        ("scratch-write-load-offset", L, 0, ("load_offset", top - vl + 2, Z, vl - 2), SR, None),
        ("scratch-before-div-zero", A, 2, ("//", top, ONE, Z), SR, None),  # one slot: range first
        ("mem-load", L, 0, ("load", 610, NLEN), MR, None),
        ("mem-load-huge", L, 1, ("load", 610, MX), MR, None),
        ("mem-load-offset", L, 1, ("load_offset", 700, Z, NLEN - Z), MR, None),
        ("mem-vload-last-lane", L, 0, ("vload", 720, NV), MR, {L: {1: ("vload", 730, NV_OK)}}),
        ("mem-store", S, 1, ("store", NLEN, ONE), MR, None),
        ("mem-vstore-last-lane", S, 0, ("vstore", NV, DZ0), MR, None),
        # two trapping slots: the first in hardware order (alu before valu) is the trap
        ("first-trapping-slot-wins", A, 3, ("%", 610, ONE, Z), D, {V: {0: ("+", top - 1, DZ0, DZ0)}}),
    ]
    out = [trap_case(f"trap-{n}", e, i, bad, c, params, x) for n, e, i, bad, c, x in cases]
    out.append(_jump_negative(params))
    out.append(_trace_full(params))
    return out


def _jump_negative(params: MachineParams) -> Conformance:
    """A relative jump to bundle -1 traps at the jump's bundle (with the others busy)."""
    return trap_case("trap-jump-rel-negative", Engine.FLOW, 0, ("cond_jump_rel", ONE, -(PREFIX + 2)),
                     TrapCause.JUMP_NEGATIVE, params)  # fmt: skip


def _trace_full(params: MachineParams) -> Conformance:
    """trace_depth appends fill the buffer; one more traps, with the counter's
    decrement in the same bundle not committed."""
    depth = params.trace_depth
    b = Builder(params)
    b.bundles += [
        {"load": [("const", 0, depth + 1), ("const", 1, 1)]},
        {"alu": [("-", 0, 0, 1)], "flow": [("trace_write", 0)]},
        {"flow": [("cond_jump_rel", 0, -2)]},
    ]
    b.want(0, 1)
    b.expect.trace = list(range(depth + 1, 1, -1))
    b.expect.state = RunState.TRAPPED
    b.expect.trap = TrapWant(TrapCause.TRACE_FULL, 1, Engine.FLOW, 0)
    return b.done("trap-trace-full", [0], cycle=1 + 2 * depth)
