"""The assembler: scratch allocation, constant pool, labels, emission."""

from __future__ import annotations

import pytest

from kernels.alloc import AllocationError, ScratchAllocator
from kernels.builder import BuildError, KernelBuilder
from kernels.stream import LabelError
from kernels.validate import ValidationError
from pymodel.isa import Engine, MachineParams
from pymodel.machine import Machine
from pymodel.program import Program


def run(program: Program, mem: list[int] | None = None) -> Machine:
    m = Machine(program, mem if mem is not None else [0] * 16)
    m.run_to_end()
    assert m.trap is None, m.trap
    return m


def ops(program: Program) -> list[tuple]:
    return [slot.to_tuple() for bundle in program for _e, _i, slot in bundle]


# -- allocator -----------------------------------------------------------------


def test_allocator_reuses_freed_words_and_coalesces() -> None:
    a = ScratchAllocator(32)
    x, y, z = a.alloc("x", 8), a.alloc("y", 8), a.alloc("z", 8)
    assert (x, y, z) == (0, 8, 16)
    a.free(x)
    a.free(y)  # coalesced with x's words: a 16-word range is free again
    assert a.alloc("w", 16) == 0
    assert a.symbols == {"x": (0, 8), "y": (8, 8), "z": (16, 8), "w": (0, 16)}
    assert a.high_water == 24


def test_allocator_scope_frees_on_exit_but_not_unscoped() -> None:
    a = ScratchAllocator(16)
    with a.scope():
        t = a.alloc("t", 4)
        keep = a.alloc("keep", 1, scoped=False)
    assert a.words_live == 1
    assert a.alloc("u", 4) == t  # t's words are reused
    assert keep == 4


def test_allocator_errors_name_the_request() -> None:
    a = ScratchAllocator(10)
    a.alloc("big", 8)
    with pytest.raises(AllocationError, match=r"out of scratch allocating 'more' \(4 words\).*8 of 10 words live"):
        a.alloc("more", 4)
    with pytest.raises(AllocationError, match="'big' is already used"):
        a.alloc("big", 1)
    with pytest.raises(AllocationError, match="address 3, which is not the start"):
        a.free(3)


# -- constant pool -----------------------------------------------------------------


def test_constants_are_loaded_once_and_shared() -> None:
    b = KernelBuilder()
    c5 = b.const(5)
    assert b.const(5) == c5
    assert b.const(-1) == b.const(0xFFFFFFFF)  # one 32-bit value, one word
    v = b.vconst(5)
    assert b.vconst(5) == v
    program = b.finish(schedule=False)
    assert ops(program) == [("const", c5, 5), ("const", b.const(-1), 0xFFFFFFFF), ("vbroadcast", v, c5)]
    m = run(program)
    assert m.cores[0].scratch[v : v + 8] == [5] * 8


def test_constants_load_at_their_anchor_in_order_of_first_use() -> None:
    b = KernelBuilder()
    x = b.scalar("x")
    b.load("const", x, 1)  # a plain slot, not a pool constant
    b.const_pool_here()
    b.flow("pause")
    b.const_pool_here()
    b.alu("+", x, x, b.const(7))
    b.alu("+", x, x, b.const(3))
    b.alu("+", x, x, b.const(7))
    got = ops(b.finish(schedule=False))
    c7, c3 = b.const(7), b.const(3)
    assert got == [
        ("const", x, 1),
        ("pause",),
        ("const", c7, 7),
        ("const", c3, 3),
        ("+", x, x, c7),
        ("+", x, x, c3),
        ("+", x, x, c7),
    ]


def test_constant_out_of_range_is_rejected() -> None:
    b = KernelBuilder()
    with pytest.raises(BuildError, match="not a 32-bit integer"):
        b.const(1 << 32)
    with pytest.raises(BuildError, match="not a 32-bit integer"):
        b.const(True)


def test_constants_survive_scopes() -> None:
    b = KernelBuilder()
    with b.scope():
        c = b.const(9)
        t = b.scalar("t")
    assert b.scalar("t2") == t  # the scoped word is reused, the constant's is not
    assert b.const(9) == c


# -- labels and jumps -----------------------------------------------------------


def counting_loop(b: KernelBuilder, n: int) -> tuple[int, int]:
    """counter = n; do { acc += 2; counter -= 1 } while counter; then skip one add by a forward jump."""
    acc, counter = b.scalar("acc"), b.scalar("counter")
    b.load("const", counter, n)
    top, done = b.label("top"), b.label("done")
    b.place(top)
    b.alu("+", acc, acc, b.const(2))
    b.alu("-", counter, counter, b.const(1))
    b.flow("cond_jump_rel", counter, top)
    b.flow("jump", done)  # forward reference
    b.alu("+", acc, acc, b.const(100))  # skipped
    b.place(done)
    return acc, counter


@pytest.mark.parametrize("schedule", [False, True])
def test_labels_resolve_forward_and_backward(schedule: bool) -> None:
    b = KernelBuilder()
    acc, _counter = counting_loop(b, 5)
    program = b.finish(schedule=schedule)
    rel = next(s for bu in program for _e, _i, s in bu if s.op == "cond_jump_rel")
    jump = next(s for bu in program for _e, _i, s in bu if s.op == "jump")
    assert rel.args[1] < 0 and jump.args[0] == len(program)  # back to the loop, forward to the end
    assert run(program).cores[0].scratch[acc] == 10


def test_label_in_a_const_immediate_gives_its_bundle() -> None:
    b = KernelBuilder()
    target, x = b.scalar("target"), b.scalar("x")
    there = b.label("there")
    b.load("const", target, there)
    b.flow("jump_indirect", target)
    b.load("const", x, 1)  # skipped
    b.place(there)
    b.load("const", x, 2)
    program = b.finish(schedule=False)
    assert program[0].slots(Engine.LOAD)[0].args == (target, 3)
    assert run(program).cores[0].scratch[x] == 2


def test_unplaced_and_twice_placed_labels_are_errors() -> None:
    b = KernelBuilder()
    b.flow("jump", b.label("nowhere"))
    with pytest.raises(LabelError, match="label 'nowhere' is used by jump but never placed"):
        b.finish(schedule=False)
    b = KernelBuilder()
    here = b.label("here")
    b.place(here)
    b.place(here)
    with pytest.raises(LabelError, match="label 'here' is placed twice"):
        b.finish()


# -- emission and output ---------------------------------------------------------


def test_emit_rejects_unknown_ops_and_wrong_arity_naming_the_position() -> None:
    b = KernelBuilder()
    b.alu("+", 0, 0, 0)
    with pytest.raises(BuildError, match=r"stream slot 1: unknown op 'vload' on engine alu"):
        b.alu("vload", 0, 0)
    with pytest.raises(BuildError, match=r"stream slot 1: \+ takes 3 operand\(s\) \(d, a, b\), got 2"):
        b.alu("+", 0, 0)
    with pytest.raises(BuildError, match=r"stream slot 1: unknown engine 'fpu'"):
        b.emit("fpu", "+", 0, 0, 0)


def test_finish_validates_what_it_emits() -> None:
    b = KernelBuilder(MachineParams(scratch_size=64))
    b.valu("+", 60, 0, 0)
    with pytest.raises(ValidationError, match=r"bundle 0, engine valu, slot 0: \+ operand d=60 \(last lane 67\)"):
        b.finish(schedule=False)


def test_symbols_and_unscheduled_layout() -> None:
    b = KernelBuilder()
    x, v = b.scalar("x"), b.vector("v")
    b.comment("debug only")
    b.load("const", x, 3)
    b.valu("vbroadcast", v, x)
    program = b.finish(schedule=False)
    assert b.symbols == {"x": (x, 1), "v": (v, 8)}
    assert [bu.to_dict() for bu in program] == [
        {"debug": [("comment", "debug only")]},
        {"load": [("const", x, 3)]},
        {"valu": [("vbroadcast", v, x)]},
    ]
    m = run(program)
    assert m.cycle == 2  # the debug-only bundle costs no cycle


def test_a_late_constant_never_reuses_words_freed_before_it() -> None:
    # The constant's load is hoisted to the anchor at the start, before the scoped
    # code that writes t: sharing t's word would clobber it.
    b = KernelBuilder()
    out = b.scalar("out")
    with b.scope():
        t = b.scalar("t")
        b.load("const", t, 1)
        b.alu("+", out, t, t)
    c = b.const(40)
    assert c != t
    b.alu("+", out, out, c)
    for schedule in (False, True):
        assert run(b.finish(schedule=schedule)).cores[0].scratch[out] == 42
