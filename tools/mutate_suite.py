"""The kill suite: the cross-check's own programs, run against one mutant of
the netlist-mutation build, in two simulations (lockstep programs, then
free-running ones), stopping at the first simulation that kills it.

Taken from cocotb_tests (the suite whose teeth are being proved): the
per-engine directed programs (lockstep), one program per trap cause, pause
with pausing enabled and disabled, seeded random programs, and the tree-hash
kernels at a tiny shape (whose final values must also match the benchmark's
reference semantics).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from cocotb_tests.batch import cross_check_batch
from cocotb_tests.job import RunMode
from cocotb_tests.programs import TestProgram, directed_programs, pause_program, trap_programs
from cocotb_tests.randprog import random_program
from cocotb_tests.simbuild import SimBuild
from cocotb_tests.xcheck import XCheckReport, cross_check
from kernels.tree_hash import build as build_kernel
from pymodel.benchmark import Problem, Shape, reference_run, values_region
from pymodel.isa import MachineParams
from pymodel.program import Program

RANDOM_SEEDS = range(4)
KERNEL_SHAPE = Shape(height=3, rounds=2, batch=16)  # a few dozen to a thousand cycles


@dataclass(frozen=True)
class KillTest:
    """One cross-check: a program and how to run it; ``extra`` checks more than RTL == model."""

    name: str
    program: TestProgram
    mode: RunMode = RunMode.FAST
    extra: Callable[[XCheckReport], str | None] | None = None  # returns why it failed, or None


@dataclass(frozen=True)
class TestOutcome:
    __test__ = False  # not a pytest class
    test: str
    passed: bool
    detail: str  # the first mismatch or divergence; "" when it passed
    seconds: float
    crashed: bool = False  # the run raised instead of comparing (the mutant, or the machinery?)


def _kernel_test(variant: str, params: MachineParams) -> KillTest:
    kernel = build_kernel(variant, KERNEL_SHAPE, params)
    mem = Problem.generate(KERNEL_SHAPE, seed=5).memory_image()
    want = values_region(reference_run(mem), KERNEL_SHAPE)

    def values_right(report: XCheckReport) -> str | None:
        got = values_region(report.rtl.mem, KERNEL_SHAPE)
        bad = [i for i, (w, g) in enumerate(zip(want, got)) if w != g]
        return None if not bad else f"values[{bad[0]}]: expected {want[bad[0]]}, actual {got[bad[0]]} (reference run)"

    name = f"tree_hash-{variant}"
    return KillTest(name, TestProgram(name, kernel.program, mem), extra=values_right)


def _conformance(params: MachineParams) -> list:
    """The conformance suite of `make test`: every op in every slot position on edge values, quirks, traps."""
    from cocotb_tests.conformance import alu_rotation, valu_rotation
    from cocotb_tests.conformance_flow import flow_ops, jump_end_programs, memory_ops
    from cocotb_tests.conformance_quirks import pause, priority, zero_cost
    from cocotb_tests.conformance_traps import trap_programs as conformance_traps

    return [alu_rotation(params), valu_rotation(params), memory_ops(params), flow_ops(params),
            *jump_end_programs(params), priority(params), zero_cost(params), pause(params, True),
            pause(params, False), *conformance_traps(params)]  # fmt: skip


def kill_suite(params: MachineParams) -> list[KillTest]:
    tests = [KillTest(t.name, t, RunMode.LOCKSTEP) for t in directed_programs(params)]
    tests += [KillTest(t.name, t) for t in trap_programs(params)]
    tests += [KillTest(t.name, t) for t in (pause_program(params, True), pause_program(params, False))]
    tests += [KillTest(c.name, TestProgram(c.name, c.program, c.mem, c.enable_pause)) for c in _conformance(params)]
    tests += [KillTest(f"random-{s}", random_program(s, params=params)) for s in RANDOM_SEEDS]
    tests += [_kernel_test(v, params) for v in ("vector", "baseline")]
    return tests + survivor_tests(params)


def first_difference(report: XCheckReport) -> str:
    """One line: the first diverging bundle when lockstep found it, else the first final-state mismatch."""
    div = report.divergence
    if div is not None and div.diffs:
        return f"cycle {div.cycle} pc {div.pc}: {div.diffs[0]}"
    return report.mismatches[0] if report.mismatches else "?"


def run_test(build: SimBuild, test: KillTest) -> TestOutcome:
    t0 = time.perf_counter()
    p = test.program
    try:
        report = cross_check(build, p.program, p.mem, name=p.name, enable_pause=p.enable_pause, mode=test.mode)
    except Exception as e:  # a mutant may also crash or hang the run: that fails the test too
        detail = f"run failed: {type(e).__name__}: {str(e).splitlines()[0]}"
        return TestOutcome(test.name, False, detail, _since(t0), crashed=True)
    if not report.ok:
        return TestOutcome(test.name, False, first_difference(report), _since(t0))
    why = test.extra(report) if test.extra else None
    return TestOutcome(test.name, why is None, why or "", _since(t0))


def _since(t0: float) -> float:
    return time.perf_counter() - t0


def run_suite(build: SimBuild, tests: list[KillTest], *, stop_at_first: bool = True) -> list[TestOutcome]:
    """Outcomes in order; with ``stop_at_first`` the last one is the first failure."""
    out = []
    for test in tests:
        outcome = run_test(build, test)
        out.append(outcome)
        if stop_at_first and not outcome.passed:
            break
    return out


def run_batches(build: SimBuild, tests: list[KillTest], mutant: int = 0) -> TestOutcome | None:
    """The suite on ``mutant`` in one simulation per run mode (later programs start on the
    core the one before left); the first failing test's outcome, or None when all pass."""
    slow = ("trap-trace-full", "tree_hash-baseline")  # thousands of cycles each: last, in their own simulation
    groups = [[t for t in tests if t.mode is RunMode.LOCKSTEP],
              [t for t in tests if t.mode is RunMode.FAST and t.name not in slow],
              [t for t in tests if t.mode is RunMode.FAST and t.name in slow]]  # fmt: skip
    for group in groups:
        mode = group[0].mode if group else RunMode.FAST
        if not group:
            continue
        t0 = time.perf_counter()
        try:
            reports = cross_check_batch(build, [t.program for t in group], mode=mode, mutant=mutant).reports
        except Exception as e:  # the simulation itself failed (e.g. X on a port): the mutant broke it
            return TestOutcome(group[0].name, False, f"run failed: {type(e).__name__}: {str(e).splitlines()[0]}",
                               _since(t0), crashed=True)  # fmt: skip
        for test, report in zip(group, reports):
            if not report.ok:
                return TestOutcome(test.name, False, first_difference(report), _since(t0))
            why = test.extra(report) if test.extra else None
            if why:
                return TestOutcome(test.name, False, why, _since(t0))
    return None


# -- programs written to kill mutants the campaign found surviving (docs/verification.md) ----------


def _consts(values: list[int], base: int, params: MachineParams) -> list[dict]:
    slots = [("const", base + i, v) for i, v in enumerate(values)]
    return [{"load": slots[i : i + params.load_slots]} for i in range(0, len(slots), params.load_slots)]


def cond_walking_ones(params: MachineParams) -> TestProgram:
    """cond_jump_rel, select and vselect (every lane) on conditions with exactly one bit set
    (1 << k, every k): a `!= 0` test that ignores one bit gives the wrong answer once."""
    vl = params.vlen
    b: list[dict] = _consts([11, 22], 1, params) + _consts([5] * vl, 16, params) + _consts([6] * vl, 24, params)
    for k in range(32):
        b += _consts([1 << k], 0, params)
        b.append({"flow": [("cond_jump_rel", 0, 1)]})
        b.append({"alu": [("+", 100 + k, 0, 0)]})  # skipped when the jump is taken
        b.append({"flow": [("select", 140 + k, 0, 1, 2)]})  # select's condition: the same `!= 0`
        b += _consts([(1 << k) if i == k % vl else 0 for i in range(vl)], 32, params)
        b.append({"flow": [("vselect", 200 + vl * k, 32, 16, 24)]})  # each lane's condition
        # cond_jump (absolute): its own `!= 0` cell in the netlist (one per jump op)
        b.append({"flow": [("cond_jump", 0, len(b) + 2)]})
        b.append({"alu": [("+", 500 + k, 0, 0)]})  # skipped when the jump is taken
    b.append({"flow": [("halt",)]})
    return TestProgram("kill-cond-walking-ones", Program.from_tuples(b, params), [0] * 4)


def valu_quotients_everywhere(params: MachineParams) -> TestProgram:
    """`//` and `cdiv` by 1 and by 2 in every VALU slot on every lane, on words with alternating
    and all-one bits: every quotient bit of every lane divider is 0 and 1 somewhere."""
    vl = params.vlen
    pats = [0xFFFFFFFF, 0xAAAAAAAA, 0x55555555, 0x80000001]
    b: list[dict] = []
    base = 16
    for i, p in enumerate(pats):
        b += _consts([p] * vl, base + i * vl, params)
    ones, twos = base + len(pats) * vl, base + (len(pats) + 1) * vl
    b += _consts([1] * vl, ones, params) + _consts([2] * vl, twos, params)
    dest = 200
    for op in ("//", "cdiv"):
        for i in range(len(pats)):
            for div in (ones, twos):
                slots = []
                for _s in range(params.valu_slots):
                    slots.append((op, dest, base + i * vl, div))
                    dest += vl
                b.append({"valu": slots})
    b.append({"flow": [("halt",)]})
    return TestProgram("kill-valu-quotients", Program.from_tuples(b, params), [0] * 4)


def valu_div_zero_everywhere(params: MachineParams) -> list[TestProgram]:
    """A zero divisor in each lane of each VALU slot position, for each dividing op: it must trap."""
    vl = params.vlen
    out = []
    for op in ("//", "cdiv", "%"):
        for s in range(params.valu_slots):
            for lane in range(vl):
                b = _consts([7] * vl, 0, params) + _consts([0 if i == lane else 3 for i in range(vl)], vl, params)
                slots = [("+", 64 + 8 * j, 0, 0) for j in range(s)] + [(op, 64 + 8 * s, 0, vl)]
                b.append({"valu": slots})
                name = f"kill-valu-{op}-slot{s}-lane{lane}-zero"
                out.append(TestProgram(name, Program.from_tuples(b, params), [0] * 4))
    return out


def high_address(params: MachineParams) -> list[TestProgram]:
    """load, vload, store and vstore in each slot position at an address with one high bit set
    (past mem_depth): each must trap MEM_RANGE; a range check that drops that bit of the
    address (or of its last lane) would let it through."""
    out = []
    depth_bits = (params.mem_depth - 1).bit_length()
    for engine, op in (("load", "load"), ("load", "vload"), ("store", "store"), ("store", "vstore")):
        for s in range(params.load_slots if engine == "load" else params.store_slots):
            for bit in range(depth_bits, 32):
                b = _consts([1 << bit], 0, params) + _consts([5] * params.vlen, 8, params)
                if engine == "load":  # earlier slots: a harmless in-range access
                    slots = [("load", 40 + i, 1) for i in range(s)] + [(op, 24, 0)]
                else:
                    slots = [("store", 1, 8)] * s + [(op, 0, 8)]
                b.append({engine: slots})
                b.append({"flow": [("halt",)]})
                name = f"kill-{op}-slot{s}-bit{bit}"  # 64 words: the address minus its high bit is in range
                out.append(TestProgram(name, Program.from_tuples(b, params), [0] * 64))
    return out


def trace_walking_bits(params: MachineParams) -> TestProgram:
    """trace_write of 0, all ones, every 1 << k and every ~(1 << k): every bit of the trace
    buffer's write data and host read port is 0 and 1 next to each pattern of its neighbours."""
    values = [0, 0xFFFFFFFF] + [1 << k for k in range(32)] + [0xFFFFFFFF ^ (1 << k) for k in range(32)]
    values += [0x55555555, 0xAAAAAAAA, 0x33333333, 0xCCCCCCCC, 0x0F0F0F0F, 0xF0F0F0F0]
    b: list[dict] = []
    for v in values:
        b += _consts([v], 0, params)
        b.append({"flow": [("trace_write", 0)]})
    b.append({"flow": [("halt",)]})
    return TestProgram("kill-trace-walking-bits", Program.from_tuples(b, params), [0] * 4)


def vselect_walking_bits(params: MachineParams) -> TestProgram:
    """vselect picking each side in every lane, on data words 1 << k and ~(1 << k) in every
    lane (both operands different): every data bit of every lane's mux is 0 and 1 both ways."""
    vl = params.vlen
    b: list[dict] = _consts([1] * vl, 0, params) + _consts([0] * vl, vl, params)
    dest = 64
    for k in range(32):
        one, zero = [(1 << k)] * vl, [0xFFFFFFFF ^ (1 << k)] * vl
        b += _consts(one, 16, params) + _consts(zero, 24, params)
        for cond in (0, vl):
            for a, c in ((16, 24), (24, 16)):
                b.append({"flow": [("vselect", dest, cond, a, c)]})
                dest += vl
    b.append({"flow": [("halt",)]})
    return TestProgram("kill-vselect-walking-bits", Program.from_tuples(b, params), [0] * 4)


def alu_high_reads(params: MachineParams) -> TestProgram:
    """Every ALU slot reading both operands from words with one high address bit set
    (1 << b + small, for each address bit b >= 6), distinct values: a scratch read port that
    drops an address bit reads another (different) word."""
    n = params.alu_slots
    b: list[dict] = []
    top = (params.scratch_size - 1).bit_length()
    dest = params.scratch_size - 2 * n * (top - 6)  # the results: above every source block
    for bit in range(6, top):
        base = 1 << bit
        if base + 2 * n > params.scratch_size:
            continue
        b += _consts([1000 * bit + i + 1 for i in range(2 * n)], base, params)
        b.append({"alu": [("+", dest + s, base + 2 * s, base + 2 * s + 1) for s in range(n)]})
        b.append({"alu": [("-", dest + n + s, base + 2 * s + 1, base + 2 * s) for s in range(n)]})
        dest += 2 * n
    b.append({"flow": [("halt",)]})
    return TestProgram("kill-alu-high-reads", Program.from_tuples(b, params), [0] * 4)


def memory_edge(params: MachineParams) -> list[TestProgram]:
    """load, vload, store and vstore in each slot position at the last in-range address and one
    past it, with mem_size = 1023 (every low bit set): the range check `last >= mem_size` must
    flip exactly there; dropping or forcing any of bits 0-9 of the address moves the edge."""
    vl, size = params.vlen, 1023
    mem = [(7 * i + 1) & 0xFFFFFFFF for i in range(size)]
    out = []
    for engine, ops in (("load", ("load", "vload")), ("store", ("store", "vstore"))):
        n = params.load_slots if engine == "load" else params.store_slots
        for op in ops:
            width = vl if op.startswith("v") else 1
            for past in (0, 1):
                for s in range(n):
                    addr = size - width + past
                    b = _consts([addr, 0], 0, params) + _consts([9] * vl, 8, params)
                    if engine == "load":
                        slots = [("load", 40 + i, 1) for i in range(s)] + [(op, 24, 0)]
                    else:
                        slots = [("store", 1, 8)] * s + [(op, 0, 8)]
                    b.append({engine: slots})
                    b.append({"flow": [("halt",)]})
                    name = f"kill-edge-{op}-slot{s}-{'past' if past else 'last'}"
                    out.append(TestProgram(name, Program.from_tuples(b, params), mem))
    return out


def priority_near_collisions(params: MachineParams, per_bit: int = 200, seed: int = 11) -> TestProgram:
    """Bundles in which the write lanes of a random subset of every slot position land on
    two clusters 1 << b apart (b = each scratch address bit; for the STORE slots, each
    memory address bit 0-9), with a distinct value per lane:
    pairs of write ports hit one word (the later must win) or words differing in exactly
    bit b (both must land).  Run in lockstep: the retire port shows every kept write, so a
    later-wins compare that misses or invents a match shows in the bundle that exercised it."""
    import random

    rng, mrng = random.Random(seed), random.Random(seed + 1)  # scratch and memory draws
    vl = params.vlen
    src = params.scratch_size - 16 * vl  # the sources live above every cluster
    zero = src - vl  # a zero vector (also vselect's condition: pick the second operand)
    b: list[dict] = _consts([0x10000 * (k + 1) + 0x100 * k + 7 for k in range(12 * vl)], src, params)
    mem = [0xA0000 + i for i in range(2 * vl)]
    b += _consts([0, vl], zero - 2, params)  # vload addresses of LOAD slots 0 and 1
    regs = zero - 2 - 16  # store addresses: two clusters 1 << bit apart in memory
    mem_bits = 10  # memory near-collisions on address bits 0-9 (a 1040-word image)
    mem += [0] * ((1 << mem_bits) + 16 - len(mem))
    for bit in range((params.scratch_size - 1).bit_length()):
        if bit < mem_bits:
            b += _consts([(1 << bit) * (i // 8) + i % 8 for i in range(16)], regs, params)
        for _ in range(per_bit):
            def at() -> int:
                return rng.choice((0, 1 << bit)) + rng.randrange(24)

            bundle: dict = {}
            alu = [("+", at(), src + k, zero) for k in range(params.alu_slots) if rng.random() < 0.5]
            valu = [("+", at(), src + vl * (2 + s), zero) for s in range(params.valu_slots) if rng.random() < 0.5]
            load = [("vload", at(), zero - 2 + s) for s in range(params.load_slots) if rng.random() < 0.5]
            if alu:
                bundle["alu"] = alu
            if valu:
                bundle["valu"] = valu
            if load:
                bundle["load"] = load
            if rng.random() < 0.5:
                bundle["flow"] = [("vselect", at(), zero, src + vl * 9, src + vl * 10)]
            if bit < mem_bits:  # store lanes: the data memory's later-wins compares
                store = [(mrng.choice(("store", "vstore")), regs + mrng.randrange(16), src + vl * (3 + s))
                         for s in range(params.store_slots) if mrng.random() < 0.6]  # fmt: skip
                if store:
                    bundle["store"] = store
            if bundle:
                b.append(bundle)
    b.append({"flow": [("halt",)]})
    return TestProgram("kill-priority-near-collisions", Program.from_tuples(b, params), mem)


def scratch_range_edges(params: MachineParams) -> list[TestProgram]:
    """Each scratch operand of a representative op in each slot position, once just past the
    end (a scalar at scratch_size, a vector whose last lane is): it must trap SCRATCH_RANGE
    with that slot's engine and index.  A range check that drops a bit of that field, or of
    its `field + width - 1` sum, misses the trap."""
    size, vl = params.scratch_size, params.vlen
    reps = {  # engine: [(op, operand widths)], operand order of pymodel.isa
        "alu": [("+", (1, 1, 1))],
        "valu": [("+", (vl, vl, vl))],
        "load": [("load", (1, 1)), ("vload", (vl, 1))],
        "store": [("store", (1, 1)), ("vstore", (1, vl))],
        "flow": [("select", (1, 1, 1, 1)), ("vselect", (vl, vl, vl, vl)), ("trace_write", (1,)), ("add_imm", (1, 1)),
                 ("cond_jump", (1,)), ("cond_jump_rel", (1,)), ("jump_indirect", (1,)), ("coreid", (1,))],
    }
    tails = {"add_imm": (1,), "cond_jump": (1,), "cond_jump_rel": (0,)}  # the immediate after the operands
    slots = {"alu": params.alu_slots, "valu": params.valu_slots, "load": params.load_slots,
             "store": params.store_slots, "flow": params.flow_slots}  # fmt: skip
    out = []
    for engine, ops in reps.items():
        for op, widths in ops:
            for k, w in enumerate(widths):
                for s in range(slots[engine]):
                    operands = [16 * (j + 1) if j != k else size - w + 1 for j in range(len(widths))]
                    filler = {"alu": ("+", 200, 0, 0), "valu": ("+", 200, 0, 0), "load": ("load", 300, 0),
                              "store": ("store", 0, 0), "flow": ("select", 200, 0, 0, 0)}[engine]  # fmt: skip
                    b = [{engine: [filler] * s + [(op, *operands, *tails.get(op, ()))]}, {"flow": [("halt",)]}]
                    name = f"kill-range-{engine}{s}-{op}-operand{k}"
                    out.append(TestProgram(name, Program.from_tuples(b, params), [0] * 64))
    return out


def survivor_tests(params: MachineParams) -> list[KillTest]:
    tests = [KillTest(t.name, t) for t in (cond_walking_ones(params), valu_quotients_everywhere(params))]
    tests += [KillTest(t.name, t) for t in valu_div_zero_everywhere(params)]
    tests += [KillTest(t.name, t) for t in (vselect_walking_bits(params), alu_high_reads(params))]
    tests += [KillTest(t.name, t) for t in high_address(params) + memory_edge(params) + scratch_range_edges(params)]
    tests.append(KillTest("kill-priority-near-collisions", priority_near_collisions(params), RunMode.LOCKSTEP))
    # survivors of the 2026-12-02 campaign (docs/verification.md section 2)
    lockstep = [binop_walking_pairs(params), div_walking_divisors(params), priority_alu_valu_collisions(params),
                trap_at_high_pc(params), *far_jumps(params)]  # fmt: skip
    tests += [KillTest(t.name, t, RunMode.LOCKSTEP) for t in lockstep]
    tests.append(KillTest("kill-trace-walking-bits-lockstep", trace_walking_bits(params), RunMode.LOCKSTEP))
    tests += [KillTest(t.name, t) for t in alu_div_zero_everywhere(params) + alu_range_every_op(params)]
    back_to_back = trace_back_to_back(params)
    tests.append(KillTest(back_to_back.name, back_to_back))
    # last of the free-running batch: its trace is read back through the host port (cocotb_tests.batch)
    return tests + [KillTest("kill-trace-walking-bits", trace_walking_bits(params))]


# -- programs for the survivors of the 2026-12-02 campaign (docs/verification.md section 2) --------


def _walk(k: int) -> int:
    return 1 << (k % 32)


def binop_walking_pairs(params: MachineParams) -> TestProgram:
    """Run in lockstep (every retired write is compared, so destinations are reused).
    `<` and `==` in every ALU slot and every VALU slot and lane on the pairs
    (0, 1 << k), (1 << k, 0), (~(1 << k), ~0) and (~0, ~(1 << k)) for every k: a
    comparator input bit forced, inverted or xor-ed with another bit of its word turns
    one of them into an equal pair (or a false `<` into a true one).  `>>` and `<<` of
    all ones by every amount 0-31: every bit of the shifter outputs is 1 somewhere.
    The k a slot (a lane) sees rotates with the bundle, so every slot and lane meets every k."""
    vl, na, nv = params.vlen, params.alu_slots, params.valu_slots
    ones = 0xFFFFFFFF
    b: list[dict] = []
    # scalars: 0..31 = 1 << k, 32..63 = ~(1 << k), 64 = 0, 65 = ~0
    b += _consts([_walk(k) for k in range(32)] + [ones ^ _walk(k) for k in range(32)] + [0, ones], 0, params)
    zero, allones = 64, 65
    # vectors: rotation j at P = 80 + 8j (lane l: 1 << (l + j)), N = 336 + 8j (~P), S = 592 + 8j (shift (l + j) % 32)
    P, N, S = 80, 80 + 32 * vl, 80 + 64 * vl
    for j in range(32):
        b += _consts([_walk(lane + j) for lane in range(vl)], P + vl * j, params)
        b += _consts([ones ^ _walk(lane + j) for lane in range(vl)], N + vl * j, params)
        b += _consts([(lane + j) % 32 for lane in range(vl)], S + vl * j, params)
    Z = S + 32 * vl  # zero vector, then all-ones vector
    O = Z + vl
    b += _consts([0] * vl + [ones] * vl, Z, params)
    dest_a, dest_v = O + vl, O + vl + na  # results: overwritten bundle after bundle (lockstep sees each)
    for op in ("<", "=="):
        for pair in range(4):
            for j in range(32):
                alu = []
                for s in range(na):
                    k = (s + j) % 32
                    a, c = ((zero, k), (k, zero), (32 + k, allones), (allones, 32 + k))[pair]
                    alu.append((op, dest_a + s, a, c))
                b.append({"alu": alu})
                va, vc = ((Z, P + vl * j), (P + vl * j, Z), (N + vl * j, O), (O, N + vl * j))[pair]
                b.append({"valu": [(op, dest_v + vl * s, va, vc) for s in range(nv)]})
    for op in (">>", "<<"):
        for j in range(32):
            # lane 0 of shift rotation m holds the amount m
            b.append({"alu": [(op, dest_a + s, allones, S + vl * ((s + j) % 32)) for s in range(na)]})
            b.append({"valu": [(op, dest_v + vl * s, O, S + vl * ((j + s) % 32)) for s in range(nv)]})
    b.append({"flow": [("halt",)]})
    return TestProgram("kill-binop-walking-pairs", Program.from_tuples(b, params), [0] * 4)


def div_walking_divisors(params: MachineParams) -> TestProgram:
    """Run in lockstep.  `//`, `cdiv` and `%` of all ones by every power of two 1 << k, in
    every ALU slot and every VALU slot and lane (the k rotates with the bundle): the
    dividers' `b != 0` guards see every one-bit divisor, so a guard that drops or forces a
    divisor bit turns a nonzero divisor into "zero" (result 0) somewhere."""
    vl, na, nv = params.vlen, params.alu_slots, params.valu_slots
    ones = 0xFFFFFFFF
    b: list[dict] = _consts([_walk(k) for k in range(32)] + [ones], 0, params)
    allones = 32
    P = 40  # rotation j: lane l holds 1 << (l + j)
    for j in range(32):
        b += _consts([_walk(lane + j) for lane in range(vl)], P + vl * j, params)
    O = P + 32 * vl
    b += _consts([ones] * vl, O, params)
    dest_a, dest_v = O + vl, O + vl + na
    for op in ("//", "cdiv", "%"):
        for j in range(32):
            b.append({"alu": [(op, dest_a + s, allones, (s + j) % 32) for s in range(na)],
                      "valu": [(op, dest_v + vl * s, O, P + vl * ((j + s) % 32)) for s in range(nv)]})  # fmt: skip
    b.append({"flow": [("halt",)]})
    return TestProgram("kill-div-walking-divisors", Program.from_tuples(b, params), [0] * 4)


def alu_div_zero_everywhere(params: MachineParams) -> list[TestProgram]:
    """A zero divisor in each ALU slot position, for each dividing op: it must trap DIV_ZERO
    with that slot (a slot whose `dividing & (b == 0)` is cut lets it through)."""
    out = []
    for op in ("//", "cdiv", "%"):
        for s in range(params.alu_slots):
            b = _consts([7, 0], 0, params)
            b.append({"alu": [("+", 64 + j, 0, 0) for j in range(s)] + [(op, 64 + s, 0, 1)]})
            b.append({"flow": [("halt",)]})
            out.append(TestProgram(f"kill-alu-{op}-slot{s}-zero", Program.from_tuples(b, params), [0] * 4))
    return out


def alu_range_every_op(params: MachineParams) -> list[TestProgram]:
    """Every ALU op in every ALU slot position writing just past the scratch (d =
    scratch_size): it must trap SCRATCH_RANGE.  The range check has one case per op and
    slot; a case that no longer matches its op lets the write through."""
    from pymodel.isa import ALU_BINOPS

    out = []
    for name, _fn, _text in ALU_BINOPS:
        for s in range(params.alu_slots):
            b = _consts([7, 3], 0, params)
            b.append({"alu": [("+", 64 + j, 0, 1) for j in range(s)] + [(name, params.scratch_size, 0, 1)]})
            b.append({"flow": [("halt",)]})
            out.append(TestProgram(f"kill-range-alu{s}-{name}", Program.from_tuples(b, params), [0] * 4))
    return out


def priority_alu_valu_collisions(params: MachineParams) -> TestProgram:
    """Run in lockstep.  Every ALU slot writes exactly the word some VALU slot's lane writes
    in the same bundle (the VALU lane, later, must win: retire_swe shows the ALU port
    dropped), rotating so every (ALU slot, VALU slot, lane) pair collides, at three
    placements of the VALU vectors (bits 6-10 of the address set, clear, and lanes not
    8-aligned): a later-wins compare that drops or forces an address bit misses the collision."""
    vl, na, nv = params.vlen, params.alu_slots, params.valu_slots
    src = 16
    b: list[dict] = _consts([0x1000 + i for i in range(na)], src, params)
    b += _consts([0x2000 + 0x100 * s + i for s in range(nv) for i in range(vl)], src + na, params)
    b += _consts([0] * vl, src + na + nv * vl, params)
    zero = src + na + nv * vl
    pairs = [(v, lane) for v in range(nv) for lane in range(vl)]
    for base in (0x5C8, 0x200, 0x203 + 0x40):
        for r in range(len(pairs)):
            valu = [("+", base + vl * v, src + na + vl * v, zero) for v in range(nv)]
            alu = []
            for s in range(na):
                v, lane = pairs[(s * (len(pairs) // na) + r) % len(pairs)]
                alu.append(("+", base + vl * v + lane, src + s, zero))
            b.append({"alu": alu, "valu": valu})
    b.append({"flow": [("halt",)]})
    return TestProgram("kill-priority-alu-valu-collisions", Program.from_tuples(b, params), [0] * 4)


def trace_back_to_back(params: MachineParams) -> TestProgram:
    """trace_write in every bundle until the buffer is full, then one more (TRACE_FULL):
    the count register's next value is taken on every edge in a row, so a mutated bit
    of it moves the next entry instead of being restored by a quiet cycle in between."""
    b: list[dict] = _consts([0, 1], 0, params)
    for _ in range(params.trace_depth + 1):
        b.append({"alu": [("+", 0, 0, 1)], "flow": [("trace_write", 0)]})
    b.append({"flow": [("halt",)]})
    return TestProgram("kill-trace-back-to-back", Program.from_tuples(b, params), [0] * 4)


def far_jumps(params: MachineParams) -> list[TestProgram]:
    """Run in lockstep.  jump_indirect to 1 << k (k = 2..31), past the program: the core
    halts there, and retire_next_pc shows the whole target, so a dropped, forced or mixed
    target bit shows.  (Only jump_indirect can: the encoder clamps an immediate target
    past the end to the end, pymodel.encoding._hw_target.)"""
    out = []
    for k in range(2, 32):
        b = _consts([1 << k], 0, params) + [{"flow": [("jump_indirect", 0)]}, {"flow": [("halt",)]}]
        out.append(TestProgram(f"kill-far-jump_indirect-bit{k}", Program.from_tuples(b, params), [0] * 4))
    return out


def trap_at_high_pc(params: MachineParams) -> TestProgram:
    """Run in lockstep.  A bundle that traps at pc 8191 (bits 0-12 set): retire_next_pc of a
    trapping bundle is its own pc, which only a trap past bundle 4095 shows in bit 12."""
    pc = 8191
    b: list[dict] = _consts([pc, 0, 7], 0, params) + [{"flow": [("jump_indirect", 0)]}]
    b += [{"alu": [("+", 5, 5, 5)]}] * (pc - len(b))  # never executed (an empty bundle would be dropped)
    b.append({"alu": [("//", 3, 2, 1)]})
    b.append({"flow": [("halt",)]})
    return TestProgram("kill-trap-at-high-pc", Program.from_tuples(b, params), [0] * 4)
