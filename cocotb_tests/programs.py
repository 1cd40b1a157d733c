"""Directed cross-check programs: every op of each engine on edge values, one
trap per cause, pauses.  Each is a ``TestProgram`` (program + memory image)."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product
from typing import Any

from pymodel.isa import ALU_BINOPS, DEFAULT_PARAMS, MachineParams
from pymodel.program import Program

Raw = dict[str, list[tuple[Any, ...]]]

EDGE_VALUES = (0, 1, 2, 31, 32, 33, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFE, 0xFFFFFFFF)
DIVIDING = ("//", "cdiv", "%")


@dataclass(frozen=True)
class TestProgram:
    __test__ = False  # not a pytest class
    name: str
    program: Program
    mem: list[int]
    enable_pause: bool = True


def _chunks(slots: list[tuple[Any, ...]], engine: str, per_bundle: int) -> list[Raw]:
    return [{engine: slots[i : i + per_bundle]} for i in range(0, len(slots), per_bundle)]


def _consts(values: list[int] | tuple[int, ...], base: int, params: MachineParams) -> list[Raw]:
    return _chunks([("const", base + i, v) for i, v in enumerate(values)], "load", params.load_slots)


def _data_image(n: int) -> list[int]:
    return [(0x9E3779B9 * (i + 1)) & 0xFFFFFFFF for i in range(n)]


def alu_program(params: MachineParams = DEFAULT_PARAMS) -> TestProgram:
    """Every ALU op on every pair of edge values (no zero divisors), plus
    same-bundle reads of a word being written and two slots writing one word."""
    v = list(EDGE_VALUES)
    bundles = _consts(v, 0, params)
    slots = []
    dest = 16
    for name, _fn, _text in ALU_BINOPS:
        for a, b in product(range(len(v)), repeat=2):
            if name in DIVIDING and v[b] == 0:
                continue
            slots.append((name, dest, a, b))
            dest += 1
    bundles += _chunks(slots, "alu", params.alu_slots)
    # reads see the start of the cycle; the later slot wins a shared destination
    # The two writers of 1501 must disagree, or the priority check sees nothing.
    assert (v[1] - v[2]) % 2**32 != v[5] ^ v[7]
    bundles.append({"alu": [("+", 3, 3, 1), ("*", 1500, 3, 3), ("-", 1501, 1, 2), ("^", 1501, 5, 7)]})
    bundles.append({"flow": [("halt",)]})
    return TestProgram("alu", Program.from_tuples(bundles, params), _data_image(8))


def valu_program(params: MachineParams = DEFAULT_PARAMS) -> TestProgram:
    """Every VALU op lane-wise on edge-value vectors, vbroadcast, multiply_add."""
    vl = params.vlen
    v = list(EDGE_VALUES)
    lanes_a = [v[i % len(v)] for i in range(vl)]
    lanes_b = [v[(i * 3 + 1) % len(v)] for i in range(vl)]
    lanes_nz = [x or 7 for x in lanes_b]  # divisors: no zero lane
    lanes_c = [v[(i + 5) % len(v)] for i in range(vl)]
    A, B, NZ, C = 0, vl, 2 * vl, 3 * vl
    bundles = _consts(lanes_a, A, params) + _consts(lanes_b, B, params) + _consts(lanes_nz, NZ, params)
    bundles += _consts(lanes_c, C, params)
    slots = []
    dest = 4 * vl
    for name, _fn, _text in ALU_BINOPS:
        for a, b in ((A, B), (B, A), (A, A)):
            if name in DIVIDING:
                b = NZ
            slots.append((name, dest, a, b))
            dest += vl
    slots += [("vbroadcast", dest, 7), ("vbroadcast", dest + vl, A + 6), ("multiply_add", dest + 2 * vl, A, B, C)]
    slots.append(("multiply_add", dest + 3 * vl, C, C, A))
    bundles += _chunks(slots, "valu", params.valu_slots)
    bundles.append({"flow": [("halt",)]})
    return TestProgram("valu", Program.from_tuples(bundles, params), _data_image(8))


def load_program(params: MachineParams = DEFAULT_PARAMS) -> TestProgram:
    """load, load_offset at every k, vload (up to the last word), const edge immediates."""
    vl = params.vlen
    mem = _data_image(64)
    addrs = [0, 1, 31, 63, 63 - vl + 1]
    bundles = _consts(addrs, 0, params) + _consts(list(range(vl)), 8, params)  # 8..: load_offset addresses
    slots: list[tuple[Any, ...]] = [("load", 100 + i, i) for i in range(len(addrs))]
    slots += [("load_offset", 200, 8, k) for k in range(vl)]
    slots += [("vload", 300, 0), ("vload", 300 + vl, 4), ("vload", 300 + 2 * vl, 2)]
    slots += [("const", 400 + i, k) for i, k in enumerate((0, 1, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, -1, -(1 << 31)))]
    bundles += _chunks(slots, "load", params.load_slots)
    bundles.append({"load": [("load", 500, 1), ("load", 500, 2)]})  # same destination: slot 1 wins
    bundles.append({"flow": [("halt",)]})
    return TestProgram("load", Program.from_tuples(bundles, params), mem)


def store_program(params: MachineParams = DEFAULT_PARAMS) -> TestProgram:
    """store and vstore to the first and last words, overlapping stores in one bundle."""
    vl = params.vlen
    n = 48
    mem = _data_image(n)
    bundles = _consts([0, n - 1, n - vl, 10, 13], 0, params) + _consts(list(EDGE_VALUES[:vl]), 16, params)
    bundles += [
        {"store": [("store", 0, 16), ("store", 1, 17)]},
        {"store": [("vstore", 2, 16), ("store", 3, 18)]},  # store0 then store1
        {"store": [("vstore", 3, 16), ("store", 4, 22)]},  # store1 lands inside vstore: store1 wins
        {"store": [("store", 4, 19), ("vstore", 3, 16)]},  # the vstore (slot 1) wins word 13
        {"store": [("store", 0, 20), ("store", 0, 21)]},  # same address: slot 1 wins
        {"flow": [("halt",)]},
    ]
    return TestProgram("store", Program.from_tuples(bundles, params), mem)


def flow_program(params: MachineParams = DEFAULT_PARAMS) -> TestProgram:
    """select/vselect on zero, one and high-bit conditions, add_imm, trace_write,
    every jump (taken and not, a backward counted loop), coreid, halt mid-bundle."""
    vl = params.vlen
    conds = [0, 1, 0x80000000, 0, 0xFFFFFFFF, 0, 2, 0]
    b: list[Raw] = _consts([0, 1, 0x80000000, 5, 11, 22], 0, params)  # 0..5: zero one high count a b
    b += (
        _consts(conds, 8, params)
        + _consts(list(EDGE_VALUES[:vl]), 16, params)
        + _consts(list(EDGE_VALUES[2:]), 24, params)
    )
    b += [
        {"flow": [("select", 40, 0, 4, 5)]},
        {"flow": [("select", 41, 1, 4, 5)]},
        {"flow": [("select", 42, 2, 4, 5)]},
        {"flow": [("vselect", 48, 8, 16, 24)]},
        {"flow": [("add_imm", 43, 2, 0x80000000)]},
        {"flow": [("add_imm", 44, 4, -12)]},
        {"flow": [("coreid", 45)]},
        {"flow": [("trace_write", 2)]},
    ]
    # count down from 5, tracing each value
    b += [
        {"alu": [("-", 3, 3, 1)], "flow": [("trace_write", 3)]},
        {"flow": [("cond_jump_rel", 3, -2)]},
        {"flow": [("cond_jump_rel", 0, -3)]},  # not taken
        {"flow": [("cond_jump", 0, 0)]},  # not taken
    ]
    here = len(b)
    b += [
        {"flow": [("cond_jump", 1, here + 2)]},  # taken: skips the next bundle
        {"flow": [("trace_write", 4)]},
        {"load": [("const", 46, here + 7)]},
        {"flow": [("jump", here + 5)]},
        {"flow": [("trace_write", 5)]},  # jumped over
        {"flow": [("jump_indirect", 46)]},
        {"flow": [("trace_write", 5)]},  # jumped over
        {"alu": [("+", 47, 4, 5)], "flow": [("halt",)]},  # the rest of a halting bundle still executes
        {"flow": [("trace_write", 4)]},  # never reached
    ]
    return TestProgram("flow", Program.from_tuples(b, params), _data_image(4))


def pause_program(params: MachineParams = DEFAULT_PARAMS, enable_pause: bool = True) -> TestProgram:
    """Pauses at the start, mid-program (with other slots) and as the last bundle."""
    b: list[Raw] = [
        {"flow": [("pause",)]},
        {"load": [("const", 0, 3), ("const", 1, 1)]},
        {"alu": [("+", 2, 0, 1)], "flow": [("pause",)]},
        {"alu": [("*", 3, 2, 2)], "flow": [("trace_write", 2)]},
        {"flow": [("pause",)]},
    ]
    name = "pause" if enable_pause else "pause-disabled"
    return TestProgram(name, Program.from_tuples(b, params), [1, 2, 3], enable_pause)


def trap_programs(params: MachineParams = DEFAULT_PARAMS) -> list[TestProgram]:
    """One program per trap cause (plus slot priority), each trapping after a few good cycles."""
    vl = params.vlen
    top = params.scratch_size
    pre: list[Raw] = [{"load": [("const", 0, 0), ("const", 1, 7)]}, {"alu": [("+", 2, 1, 1)]}]
    cases: dict[str, list[Raw]] = {
        "trap-div-zero": pre + [{"alu": [("+", 3, 1, 1), ("//", 4, 1, 0)]}],
        "trap-valu-mod-zero": pre + _consts([1, 1, 1, 0, 1, 1, 1, 1], 8, params) + [{"valu": [("%", 16, 24, 8)]}],
        "trap-scratch-range": pre + [{"valu": [("+", top - vl + 1, 16, 24)]}],
        "trap-load-offset-range": pre
        + [{"load": [("load_offset", top - 8, 0, 7)]}, {"load": [("load_offset", top - 4, 0, 7)]}],
        "trap-mem-range": pre
        + [{"load": [("load", 5, 1)]}, {"load": [("const", 6, 12)]}, {"load": [("vload", 16, 6)]}],
        "trap-store-range": pre + [{"load": [("const", 6, 16)]}, {"store": [("store", 6, 1)]}],
        "trap-jump-negative": pre + [{"flow": [("cond_jump_rel", 1, -5)]}],
        # alu slot 1 and load slot 0 both trap: the first in HW_ENGINES order (alu) is the trap
        "trap-first-slot-wins": pre
        + [{"load": [("const", 6, 100)]}, {"alu": [("+", 3, 1, 1), ("%", 4, 1, 0)], "load": [("load", 5, 6)]}],
        # listed load-first: the model as written traps in load; the image (hardware order) in alu
        "trap-order-noncanonical": pre
        + [{"load": [("const", 6, 100)]}, {"load": [("load", 5, 6)], "alu": [("%", 4, 1, 0)]}],
        "trap-trace-full": [
            {"load": [("const", 0, params.trace_depth + 1), ("const", 1, 1)]},
            {"alu": [("-", 0, 0, 1)], "flow": [("trace_write", 0)]},
            {"flow": [("cond_jump_rel", 0, -2)]},
        ],
    }
    return [TestProgram(name, Program.from_tuples(b, params), list(range(16))) for name, b in cases.items()]


def directed_programs(params: MachineParams = DEFAULT_PARAMS) -> list[TestProgram]:
    return [
        alu_program(params),
        valu_program(params),
        load_program(params),
        store_program(params),
        flow_program(params),
    ]


def dense_loop_program(iterations: int, params: MachineParams = DEFAULT_PARAMS) -> TestProgram:
    """One full bundle (every slot of every engine) run ``iterations`` times: the RTL's worst case."""
    vl = params.vlen
    count, one, p0, p1 = 0, 1, 2, 3
    b: list[Raw] = _consts([iterations - 1, 1, 0, 2 * vl], 0, params) + _consts(list(EDGE_VALUES[:vl]), 16, params)
    ops = [name for name, _fn, _text in ALU_BINOPS if name not in DIVIDING]  # no divisor can be zero
    alu = [("-", count, count, one)]
    alu += [(ops[i % len(ops)], 64 + i, 16 + i % vl, 17 + i % (vl - 1)) for i in range(params.alu_slots - 1)]
    valu = [(ops[i % len(ops)], 128 + vl * i, 16, 16 + vl * (i % 2)) for i in range(params.valu_slots)]
    load = [("vload", 256 + vl * i, p0) for i in range(params.load_slots)]
    store = [("vstore", p1 if i % 2 else p0, 128 + vl * i) for i in range(params.store_slots)]
    b.append({"alu": alu, "valu": valu, "load": load, "store": store, "flow": [("cond_jump_rel", count, -1)]})
    b.append({"flow": [("halt",)]})
    return TestProgram(f"dense-{iterations}", Program.from_tuples(b, params), _data_image(4 * vl))
