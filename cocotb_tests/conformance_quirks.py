"""Conformance programs for the spec's quirks: write priority inside a bundle,
reads seeing the start-of-cycle state, zero-cost bundles, pause on and off;
expected results from the spec (see ``conformance``)."""

from __future__ import annotations

from pymodel.isa import DEFAULT_PARAMS, MachineParams
from pymodel.program import Program

from .conformance import Builder, Conformance

Z, ONE, TWO, X, Y, W, SEVEN, ADDR20, ADDR25, ADDR24, ADDR30 = range(1400, 1411)
V1 = 1416


def _base(params: MachineParams) -> tuple[Builder, list[int]]:
    mem = [100 + i for i in range(32)]
    b = Builder(params)
    b.consts(Z, [0, 1, 2, 11, 22, 33, 7, 20, 25, 24, 30])
    b.bundles.append({"load": [("vload", V1, Z)]})  # V1.. = M[0..7] = 100..107
    for i in range(params.vlen):
        b.value[V1 + i] = 100 + i
    return b, mem


def priority(params: MachineParams = DEFAULT_PARAMS) -> Conformance:
    """Two slots writing one word (the later one in hardware order wins), and
    every read seeing the value from before the bundle."""
    vl = params.vlen
    b, mem = _base(params)
    b.consts(640, [5])
    b.bundles += [
        # same engine: the later slot wins
        {"alu": [("+", 600, X, Z), ("*", 602, X, Y), ("+", 600, Y, Z)]},
        {"valu": [("vbroadcast", 608, X), ("vbroadcast", 612, Y)]},
        {"load": [("const", 630, 1), ("const", 630, 2)]},
        {"load": [("vload", 632, Z), ("load", 633, TWO)]},  # lane 1 of the vload loses to slot 1
        # across engines, listed in hardware order: alu < valu < load < flow
        {"alu": [("+", 620, X, Z)], "valu": [("vbroadcast", 620, Y)], "load": [("const", 621, 5)],
         "flow": [("add_imm", 622, X, 100)]},
        # two stores to one word: slot 1 wins; a store inside a vstore wins when later, loses when earlier
        {"store": [("store", Z, X), ("store", Z, Y)]},
        {"store": [("vstore", TWO, V1), ("store", SEVEN, W)]},
        {"store": [("store", ADDR30, X), ("vstore", ADDR24, V1)]},
        # reads see the old value
        {"alu": [("+", 640, 640, ONE), ("*", 641, 640, 640)]},
        {"alu": [("+", 660, 650, ONE)], "valu": [("vbroadcast", 650, X)]},
        {"alu": [("+", ADDR20, ONE, ONE)], "store": [("store", ADDR20, W)]},  # stores at the old address 20
        {"load": [("load", 661, ONE)], "store": [("store", ONE, Y)]},  # the load sees the old M[1]
        {"alu": [("+", 662, X, X)], "flow": [("trace_write", 662)]},
        {"alu": [("+", 663, ONE, Z)], "flow": [("cond_jump", 663, 0)]},  # old 0: not taken
        # listed out of hardware order, no word written twice: same result as in order
        {"flow": [("add_imm", 670, X, 1)], "store": [("store", ADDR25, X)], "load": [("const", 671, 9)],
         "valu": [("vbroadcast", 672, W)], "alu": [("-", 680, Z, ONE)]},
        # the top of scratch
        {"valu": [("vbroadcast", params.scratch_size - vl, X)]},
        {"alu": [("+", params.scratch_size - 1, X, Y)]},
        {"alu": [("+", 690, params.scratch_size - 1, Z)]},
        {"flow": [("halt",)]},
    ]  # fmt: skip
    wants = {600: 22, 602: 242, 630: 2, 633: 102, 620: 22, 621: 5, 622: 111, 640: 6, 641: 25, 660: 1, ADDR20: 2}
    wants |= {661: 101, 662: 22, 663: 1, 670: 12, 671: 9, 680: 0xFFFFFFFF, 690: 33, params.scratch_size - 1: 33}
    for addr, v in wants.items():
        b.want(addr, v)
    for i in range(vl):
        b.want(608 + i, 11 if i < 4 else 22)
        b.want(612 + i, 22)
        b.want(650 + i, 11)
        b.want(672 + i, 33)
        if i >= 3:  # lanes 1 and 2 lose to load and flow
            b.want(620 + i, 22)
        if i != 1:
            b.want(632 + i, 100 + i)
        if i < vl - 1:
            b.want(params.scratch_size - vl + i, 11)
    after = list(mem)
    after[0] = 22
    after[2 : 2 + vl] = [100 + i for i in range(vl)]
    after[7] = 33  # the store (slot 1) wins over the vstore's lane 5
    after[24 : 24 + vl] = [100 + i for i in range(vl)]  # the vstore (slot 1) wins over the store at 30
    after[1] = 22
    after[20] = 33
    after[25] = 11
    b.expect.mem = dict(enumerate(after))
    b.expect.trace = [0]
    return b.done("conf-priority", mem)


def hw_order_conflict(params: MachineParams = DEFAULT_PARAMS) -> Program:
    """Listed valu then alu, both writing word 600: the model (listed order) lets
    alu win; the hardware order would let valu win, so to_hardware must refuse."""
    return Program.from_tuples(
        [
            {"load": [("const", 1, 11), ("const", 2, 22)]},
            {"valu": [("vbroadcast", 600, 1)], "alu": [("+", 600, 2, 2)]},
            {"flow": [("halt",)]},
        ],
        params,
    )


def zero_cost(params: MachineParams = DEFAULT_PARAMS) -> Conformance:
    """Key-less and debug-only bundles cost nothing; an empty engine key costs
    one cycle; a jump to a zero-cost bundle lands on the next real one."""
    b = Builder(params)
    b.bundles += [
        {},
        {"debug": [("comment", "costs nothing")]},
        {"load": [("const", 1, 5)]},
        {"alu": []},  # costs a cycle
        {"debug": [("comment", "with alu")], "alu": [("+", 2, 1, 1)]},
        {},
        {"flow": [("jump", 8)]},
        {"flow": [("trace_write", 1)]},  # jumped over
        {},  # the jump's target: execution continues at the next bundle
        {"flow": [("trace_write", 2)]},
        {"debug": [("comment", "the end")]},
    ]
    b.want(1, 5)
    b.want(2, 10)
    b.expect.trace = [10]
    return b.done("conf-zero-cost", [0], cycle=5)


def pause(params: MachineParams = DEFAULT_PARAMS, enable_pause: bool = True) -> Conformance:
    """Pauses first, mid-program beside other slots and last: with pausing
    enabled three stops (each resumed), disabled none; the same result."""
    b = Builder(params)
    b.bundles += [
        {"flow": [("pause",)]},
        {"load": [("const", 0, 3), ("const", 1, 4)]},
        {"alu": [("+", 2, 0, 1)], "flow": [("pause",)]},
        {"alu": [("*", 3, 2, 2)], "flow": [("trace_write", 2)]},
        {"flow": [("pause",)]},
    ]
    b.want(2, 7)
    b.want(3, 49)
    b.expect.trace = [7]
    b.expect.pauses = 3 if enable_pause else 0
    return b.done(f"conf-pause-{'on' if enable_pause else 'off'}", [1, 2, 3], enable_pause=enable_pause)
