"""The whole core on a small configuration in Amaranth's simulator.

Every program runs on the RTL (``rtl.pysim``) and on the golden model
(``pymodel.machine.Machine``) with the same hardware image; the two must
agree bundle by bundle on the retire port, and on the final state.  The
directed tests also check the values the spec gives.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from pymodel.encoding import to_hardware
from pymodel.events import RetireRecord
from pymodel.isa import Encoding, Engine, MachineParams, RunState, TrapCause
from pymodel.machine import Machine
from pymodel.program import Program
from rtl.pysim import SimResult, simulate

P = MachineParams(
    vlen=4,
    scratch_size=64,
    alu_slots=2,
    valu_slots=2,
    load_slots=2,
    store_slots=2,
    mem_depth=64,
    imem_depth=32,
    trace_depth=4,
)
M32 = 0xFFFFFFFF


def check_against_model(rtl: SimResult, program: Program, mem: list[int], pause_enable: bool, resume: bool) -> Machine:
    model = Machine(program, mem, P, enable_pause=pause_enable, enable_debug=False)
    records: list[RetireRecord] = []
    if resume:
        model.run_to_end(on_retire=records.append)
    else:
        model.run(on_retire=records.append)
    assert len(rtl.retired) == len(records), f"RTL retired {len(rtl.retired)} bundles, the model {len(records)}"
    for got, want in zip(rtl.retired, records):
        where = f"cycle {want.cycle}, pc {want.pc}"
        assert (got.cycle, got.pc, got.trap) == (want.cycle, want.pc, want.trap is not None), where
        if not got.trap:
            assert got.next_pc == want.next_pc, where
            assert got.scratch_writes == want.scratch_writes, where
            assert got.mem_writes == want.mem_writes, where
            assert got.trace == want.trace, where
    core = model.cores[0]
    assert (rtl.state, rtl.cycle, rtl.pc) == (model.state, model.cycle, core.pc)
    assert rtl.scratch == core.scratch
    assert rtl.mem == model.mem
    assert rtl.trace == core.trace
    if model.trap is None:
        assert rtl.trap is None
    else:
        t = model.trap
        assert rtl.trap is not None
        assert (rtl.trap.cause, rtl.trap.pc, rtl.trap.engine, rtl.trap.slot) == (t.cause, t.pc, t.engine, t.slot)
    return model


def run(
    prog: list[dict[str, Any]], mem: list[int] | None = None, *, pause_enable: bool = True, resume: bool = True
) -> SimResult:
    mem = list(range(100, 120)) if mem is None else mem
    hw = to_hardware(Program.from_tuples(prog, P), P)
    rtl = simulate(P, hw.words, mem, pause_enable=pause_enable, resume_on_pause=resume)
    check_against_model(rtl, hw.program, mem, pause_enable, resume)
    return rtl


def test_arithmetic_vectors_and_memory() -> None:
    r = run(
        [
            {"load": [("const", 1, 5), ("const", 2, 7)]},
            {"alu": [("+", 3, 1, 2), ("cdiv", 4, 2, 1)], "valu": [("vbroadcast", 8, 1), ("vbroadcast", 12, 2)]},
            {"valu": [("multiply_add", 16, 8, 12, 8), ("-", 20, 8, 12)], "store": [("vstore", 1, 8), ("store", 2, 3)]},
            {"load": [("vload", 24, 1), ("load_offset", 30, 0, 2)], "flow": [("add_imm", 5, 3, M32)]},
            {"flow": [("halt",)]},
        ]
    )
    assert r.state is RunState.HALTED and r.cycle == 5 and r.pc == 5
    assert r.scratch[3:6] == [12, 2, 11]  # 5+7, cdiv(7,5), 12 + (2^32-1)
    assert r.scratch[16:20] == [40] * 4 and r.scratch[20:24] == [M32 - 1] * 4
    # vstore M[5..8] = S[8..11] = 5; store M[S[2] = 7] = S[3] = 12, and store1 wins on M[7]
    assert r.mem[5:9] == [5, 5, 12, 5]
    assert r.scratch[24:28] == [5, 5, 12, 5]  # vload M[5..8] after the stores landed
    assert r.scratch[32] == 12  # load_offset: S[30+2] = M[S[0+2]] = M[7]


def test_later_slot_wins_every_conflict() -> None:
    r = run(
        [
            {"load": [("const", 1, 5), ("const", 2, 7)]},
            {
                "alu": [("+", 10, 1, 2), ("-", 10, 1, 2)],  # alu1 wins over alu0
                "valu": [("vbroadcast", 20, 1), ("vbroadcast", 22, 2)],  # valu1 wins on 22, 23
                "load": [("const", 30, 1), ("const", 30, 2)],  # load1 wins
                "flow": [("add_imm", 20, 1, 100)],  # flow wins over valu0 on 20
            },
            {"store": [("vstore", 1, 20), ("store", 2, 10)]},  # store1 wins on M[7]
        ]
    )
    assert r.scratch[10] == M32 - 1
    assert r.scratch[20:26] == [105, 5, 7, 7, 7, 7]
    assert r.scratch[30] == 2
    assert r.mem[5:9] == [105, 5, M32 - 1, 7]


def test_trapping_bundle_commits_nothing_and_first_slot_wins() -> None:
    r = run(
        [
            {"load": [("const", 1, 5)]},
            {
                "alu": [("+", 3, 1, 1), ("//", 4, 1, 0)],  # alu1: DIV_ZERO (S[0] = 0)
                "valu": [("+", 62, 0, 0)],  # valu0: SCRATCH_RANGE, but later in HW order
                "store": [("store", 1, 1)],
                "flow": [("trace_write", 1)],
            },
        ]
    )
    assert r.state is RunState.TRAPPED and r.cycle == 1 and r.pc == 1
    assert r.trap is not None
    assert (r.trap.cause, r.trap.pc, r.trap.engine, r.trap.slot) == (TrapCause.DIV_ZERO, 1, Engine.ALU, 1)
    assert r.scratch[3] == 0 and r.mem[5] == 105 and r.trace == []


def test_scratch_range_beats_the_slots_own_trap() -> None:
    r = run([{"valu": [("//", 60, 0, 0)]}])  # d = 60..63 fine, divides by zero
    assert r.trap is not None and r.trap.cause is TrapCause.DIV_ZERO
    r = run([{"valu": [("//", 61, 0, 0)]}])  # d runs past the end too
    assert r.trap is not None and r.trap.cause is TrapCause.SCRATCH_RANGE


@pytest.mark.parametrize("base, cause", [(16, None), (17, TrapCause.MEM_RANGE), (M32, TrapCause.MEM_RANGE)])
def test_vload_range_covers_every_lane(base: int, cause: TrapCause | None) -> None:
    r = run([{"load": [("const", 1, base)]}, {"load": [("vload", 8, 1)]}])  # 20 words of memory
    assert (r.trap.cause if r.trap else None) is cause


def test_store_past_the_image_traps() -> None:
    r = run([{"load": [("const", 1, 20)]}, {"store": [("store", 1, 1)]}])
    assert r.trap is not None and (r.trap.cause, r.trap.engine) == (TrapCause.MEM_RANGE, Engine.STORE)


def test_counting_loop_with_a_relative_jump() -> None:
    r = run(
        [
            {"load": [("const", 1, 1), ("const", 2, 5)]},  # S[3] counts up to 5
            {"alu": [("+", 3, 3, 1)]},
            {"alu": [("<", 4, 3, 2)]},
            {"flow": [("cond_jump_rel", 4, -3)]},  # back to bundle 1 while S[3] < 5
            {"flow": [("trace_write", 3)]},
        ]
    )
    assert r.scratch[3] == 5 and r.trace == [5]
    assert r.cycle == 1 + 5 * 3 + 1 and r.state is RunState.HALTED


def test_jumps() -> None:
    jump_over = [{"flow": [("jump_indirect", 1)]}, {"flow": [("halt",)]}, {"load": [("const", 9, 9)]}]
    r = run([{"load": [("const", 1, 3)]}] + jump_over)
    assert r.scratch[9] == 9 and r.state is RunState.HALTED and r.pc == 4
    # past the end: a normal stop (to_hardware maps the target to the program length)
    r = run([{"flow": [("jump", 30)]}, {"load": [("const", 9, 9)]}])
    assert r.state is RunState.HALTED and r.cycle == 1 and r.pc == 2 and r.scratch[9] == 0
    r = run([{"load": [("const", 1, 1)]}, {"flow": [("cond_jump_rel", 1, -3)]}])
    assert r.trap is not None and (r.trap.cause, r.trap.pc) == (TrapCause.JUMP_NEGATIVE, 1)


def test_pause_and_resume() -> None:
    prog = [{"load": [("const", 1, 1)]}, {"flow": [("pause",)]}, {"load": [("const", 2, 2)]}, {"flow": [("pause",)]}]
    r = run(prog, resume=False)
    assert r.state is RunState.PAUSED and r.pc == 2 and r.scratch[2] == 0
    r = run(prog, resume=True)
    assert r.state is RunState.HALTED and r.pauses == 2 and r.scratch[2] == 2 and r.cycle == 4
    r = run(prog, pause_enable=False)
    assert r.state is RunState.HALTED and r.pauses == 0 and r.cycle == 4


def test_trace_buffer_fills_then_traps() -> None:
    r = run([{"load": [("const", 1, 7)]}] + [{"flow": [("trace_write", 1)]}] * (P.trace_depth + 1))
    assert r.trace == [7] * P.trace_depth
    assert r.trap is not None and (r.trap.cause, r.trap.pc) == (TrapCause.TRACE_FULL, P.trace_depth + 1)


def test_undefined_opcode_traps_illegal_op() -> None:
    enc = Encoding(P)
    word = 63 << enc.position_lsb(Engine.LOAD, 1)  # no load op has opcode 63
    r = simulate(P, [0, word], [0] * 4)
    assert r.trap is not None
    assert (r.trap.cause, r.trap.pc, r.trap.engine, r.trap.slot) == (TrapCause.ILLEGAL_OP, 1, Engine.LOAD, 1)
    assert r.cycle == 1


def test_empty_program_halts_without_a_cycle() -> None:
    r = simulate(P, [], [0] * 4)
    assert (r.state, r.cycle, r.pc, r.retired) == (RunState.HALTED, 0, 0, [])


# -- random programs: RTL vs model ------------------------------------------------

BINOPS = ["+", "-", "*", "//", "cdiv", "^", "&", "|", "<<", ">>", "%", "<", "=="]
PTRS = range(0, 4)  # scratch words holding memory addresses
DATA_START = 4  # the other words: operands and destinations


class RandomProgram:
    """Random bundles over every engine: mostly in-range operands, a few
    scratch addresses past the end, divisors that may be zero, memory
    pointers near the image's end -- so runs mix long stretches and traps."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def addr(self, vector: bool = False) -> int:
        top = P.scratch_size - (P.vlen if vector else 1)
        if self.rng.random() < 0.03:
            return self.rng.randrange(top - 2, 64)  # sometimes past the end
        return self.rng.randrange(DATA_START, top + 1)

    def word(self) -> int:
        return self.rng.choice([0, 1, 2, 3, 31, 33, M32, self.rng.getrandbits(32)])

    def alu(self) -> tuple:
        return (self.rng.choice(BINOPS), self.addr(), self.addr(), self.addr())

    def valu(self) -> tuple:
        a = self.addr
        return self.rng.choice(
            [
                ("vbroadcast", a(True), a()),
                ("multiply_add", a(True), a(True), a(True), a(True)),
                (self.rng.choice(BINOPS), a(True), a(True), a(True)),
                (self.rng.choice(BINOPS), a(True), a(True), a(True)),
            ]
        )

    def load(self) -> tuple:
        ptr, a = self.rng.choice(PTRS), self.addr
        offset = self.rng.randrange(len(PTRS))
        return self.rng.choice(
            [
                ("load", a(), ptr),
                ("vload", a(True), ptr),
                ("const", a(), self.word()),
                ("load_offset", a() - 3, 0, offset),  # S[d+k] = M[S[k]]: k picks a pointer
            ]
        )

    def store(self) -> tuple:
        ptr = self.rng.choice(PTRS)
        return self.rng.choice([("store", ptr, self.addr()), ("vstore", ptr, self.addr(True))])

    def flow(self) -> tuple:
        a = self.addr
        return self.rng.choice(
            [
                ("select", a(), a(), a(), a()),
                ("vselect", a(True), a(True), a(True), a(True)),
                ("add_imm", a(), a(), self.rng.getrandbits(32)),
                ("trace_write", a()),
                ("coreid", a()),
            ]
        )

    def program(self, n_bundles: int) -> list[dict[str, Any]]:
        rng = self.rng
        prog: list[dict[str, Any]] = [
            {"load": [("const", p, rng.randrange(0, 17)), ("const", p + 1, 8)]} for p in PTRS[::2]
        ]
        prog += [{"load": [("const", d, self.word()), ("const", d + 1, rng.getrandbits(8))]} for d in range(4, 40, 8)]
        gens = [("alu", self.alu, 0.8), ("valu", self.valu, 0.6), ("load", self.load, 0.5), ("store", self.store, 0.4)]
        for _ in range(n_bundles):
            bundle = {name: [gen() for _ in range(rng.randrange(1, 3))] for name, gen, p in gens if rng.random() < p}
            if rng.random() < 0.4:
                bundle["flow"] = [self.flow()]
            prog.append(bundle or {"alu": []})
        return prog


@pytest.mark.parametrize("seed", range(6))
def test_random_programs_match_the_model(seed: int) -> None:
    rng = random.Random(seed)
    prog = RandomProgram(rng).program(14)
    mem = [rng.getrandbits(32) for _ in range(24)]
    run(prog, mem)
