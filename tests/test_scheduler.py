"""The list scheduler: dependences, slot limits, regions, and (property) same results as sequential."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kernels.builder import KernelBuilder
from kernels.scheduler import schedule
from kernels.stream import resolve
from pymodel.isa import Engine
from pymodel.machine import Machine
from pymodel.program import Program, Slot

VLEN = 8
MEM_WORDS = 24
MAX_ADDR = MEM_WORDS - VLEN  # a vload/vstore at any address word stays inside memory
ADDR = range(0, 8)  # scratch words that only ever hold valid memory addresses
DATA = range(8, 40)
VEC = range(8, 40 - VLEN + 1)
COUNTER, ONE = 40, 41
RESERVED = 48  # the builder's own allocations start above the hand-picked words
SAFE_BINOPS = ["+", "-", "*", "^", "&", "|", "<<", ">>", "<", "=="]  # no division: no traps


def bundle_of(program: Program) -> dict[tuple[Any, ...], int]:
    return {slot.to_tuple(): b for b, bundle in enumerate(program) for _e, _i, slot in bundle}


def run(program: Program, mem: list[int]) -> Machine:
    m = Machine(program, list(mem))
    m.run_to_end()
    assert m.trap is None, m.trap
    return m


def builder() -> KernelBuilder:
    b = KernelBuilder()
    b.array("hand-picked words", RESERVED)
    return b


def emit_all(b: KernelBuilder, ops: list[tuple[str, str, tuple[int, ...]]]) -> None:
    for engine, op, args in ops:
        if engine == "chain":  # (word, length): a dependence chain that makes `word` ready late
            word, length = args
            for _ in range(length):
                b.alu(op, word, word, word)
        else:
            b.emit(engine, op, *args)


# -- random straight-line streams -----------------------------------------------

data, vec, addr = st.sampled_from(DATA), st.sampled_from(VEC), st.sampled_from(ADDR)
word = st.integers(0, (1 << 32) - 1)
# ("chain", op, (word, length)): `length` dependent ops on `word`, so it becomes ready late.
CHAINS = st.tuples(
    st.just("chain"), st.sampled_from(["+", "*"]), st.tuples(st.sampled_from(range(8, 20)), st.integers(1, 6))
)
OPS = st.one_of(
    CHAINS,
    st.tuples(st.just("alu"), st.sampled_from(SAFE_BINOPS), st.tuples(data, data, data)),
    st.tuples(st.just("valu"), st.sampled_from(SAFE_BINOPS), st.tuples(vec, vec, vec)),
    st.tuples(st.just("valu"), st.just("multiply_add"), st.tuples(vec, vec, vec, vec)),
    st.tuples(st.just("valu"), st.just("vbroadcast"), st.tuples(vec, data)),
    st.tuples(st.just("load"), st.just("const"), st.tuples(data, word)),
    st.tuples(st.just("load"), st.just("const"), st.tuples(addr, st.integers(0, MAX_ADDR))),
    st.tuples(st.just("load"), st.just("load"), st.tuples(data, addr)),
    st.tuples(st.just("load"), st.just("load_offset"), st.tuples(vec, st.just(0), st.integers(0, VLEN - 1))),
    st.tuples(st.just("load"), st.just("vload"), st.tuples(vec, addr)),
    st.tuples(st.just("store"), st.just("store"), st.tuples(addr, data)),
    st.tuples(st.just("store"), st.just("vstore"), st.tuples(addr, vec)),
    st.tuples(st.just("flow"), st.just("select"), st.tuples(data, data, data, data)),
    st.tuples(st.just("flow"), st.just("select"), st.tuples(addr, data, addr, addr)),  # unknown addresses
    st.tuples(st.just("flow"), st.just("vselect"), st.tuples(vec, vec, vec, vec)),
    st.tuples(st.just("flow"), st.just("add_imm"), st.tuples(data, data, word)),
    st.tuples(st.just("flow"), st.just("trace_write"), st.tuples(data)),
)
# Memory-heavy streams over few words: many aliasing loads/stores whose inputs
# become ready at different times (alu chains), so a missing edge reorders them.
few, few_vec = st.sampled_from(range(8, 20)), st.sampled_from(range(8, 13))
addr_few = st.sampled_from([0, 1, 2])
near = st.sampled_from([0, 1, 3, 5, 8, 13, MAX_ADDR])  # vectors and words that overlap partly
MEMORY_OPS = st.one_of(
    CHAINS,
    st.tuples(st.just("alu"), st.sampled_from(["+", "^", "*"]), st.tuples(few, few, few)),
    st.tuples(st.just("load"), st.just("const"), st.tuples(addr_few, near)),
    st.tuples(st.just("flow"), st.just("select"), st.tuples(addr_few, few, addr_few, addr_few)),
    st.tuples(st.just("load"), st.just("load"), st.tuples(few, addr_few)),
    st.tuples(st.just("load"), st.just("vload"), st.tuples(few_vec, addr_few)),
    st.tuples(st.just("load"), st.just("load_offset"), st.tuples(few_vec, st.just(0), st.integers(0, VLEN - 1))),
    st.tuples(st.just("store"), st.just("store"), st.tuples(addr_few, few)),
    st.tuples(st.just("store"), st.just("vstore"), st.tuples(addr_few, few_vec)),
    st.tuples(st.just("flow"), st.just("trace_write"), st.tuples(few)),
)
MEMS = st.lists(word, min_size=MEM_WORDS, max_size=MEM_WORDS)
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def assert_same_results(b: KernelBuilder, mem: list[int]) -> tuple[Machine, Machine]:
    sequential, scheduled = b.finish(schedule=False), b.finish(schedule=True)  # both validated
    m1, m2 = run(sequential, mem), run(scheduled, mem)
    assert m2.mem == m1.mem
    assert m2.cores[0].scratch == m1.cores[0].scratch
    assert m2.cores[0].trace == m1.cores[0].trace
    assert m2.cycle <= m1.cycle
    return m1, m2


@SETTINGS
@given(st.lists(OPS, min_size=10, max_size=60), MEMS)
def test_scheduled_straight_line_computes_the_same(ops: list, mem: list[int]) -> None:
    b = builder()
    emit_all(b, ops)
    assert_same_results(b, mem)


@SETTINGS
@given(st.lists(MEMORY_OPS, min_size=15, max_size=60), MEMS)
def test_scheduled_memory_heavy_stream_computes_the_same(ops: list, mem: list[int]) -> None:
    b = builder()
    emit_all(b, ops)
    assert_same_results(b, mem)


@SETTINGS
@given(st.lists(OPS, max_size=15), st.lists(OPS, max_size=25), st.lists(OPS, max_size=15), st.integers(1, 3), MEMS)
def test_scheduled_loop_with_pause_computes_the_same(before: list, body: list, after: list, n: int, mem: list) -> None:
    b = builder()
    emit_all(b, before)
    b.load("const", COUNTER, n)
    b.load("const", ONE, 1)
    top = b.label("top")
    b.place(top)
    emit_all(b, body)
    b.alu("-", COUNTER, COUNTER, ONE)
    b.flow("cond_jump", COUNTER, top)
    b.flow("pause")
    emit_all(b, after)
    b.flow("halt")
    assert_same_results(b, mem)


# -- the dependence rules, one at a time ---------------------------------------------


def test_raw_waits_a_bundle_war_may_share_waw_never_shares() -> None:
    b = builder()
    b.load("const", 8, 1)
    b.load("const", 9, 2)
    b.alu("+", 10, 8, 9)  # RAW on 8 and 9: a bundle later
    b.load("const", 8, 5)  # WAR with the add (may share its bundle), WAW with const 8, 1
    at = bundle_of(b.finish())
    assert at[("const", 8, 1)] == at[("const", 9, 2)] == 0
    assert at[("+", 10, 8, 9)] == 1
    assert at[("const", 8, 5)] == 1


def test_two_writes_of_one_word_keep_their_order() -> None:
    b = builder()
    b.load("const", 8, 1)
    b.load("const", 8, 2)
    program = b.finish()
    assert len(program) == 2
    assert run(program, [0] * MEM_WORDS).cores[0].scratch[8] == 2


def test_slot_limits_are_respected() -> None:
    b = builder()
    for i in range(20):
        b.alu("+", 8 + i, 0, 0)
    for i in range(5):
        b.load("const", 30 + i, i)
    program = b.finish()
    assert [len(bu.slots(Engine.ALU)) for bu in program] == [12, 8, 0]
    assert [len(bu.slots(Engine.LOAD)) for bu in program] == [2, 2, 1]


def test_critical_path_starts_first() -> None:
    b = builder()
    for i in range(24):
        b.alu("+", 8 + i, 0, 0)  # independent filler, listed first
    for i in range(5):
        b.alu("+", 33 + i, 32 + i, 32 + i)  # a chain of 5
    at = bundle_of(b.finish())
    assert at[("+", 33, 32, 32)] == 0
    assert at[("+", 37, 36, 36)] == 4
    assert max(at.values()) == 4  # the filler fits around the chain


def test_known_disjoint_stores_share_a_bundle_unknown_ones_do_not() -> None:
    b = builder()
    b.load("const", 0, 3)
    b.load("const", 1, 4)
    b.store("store", 0, 8)
    b.store("store", 1, 9)  # address 4 vs 3: provably disjoint
    b.load("load", 2, 1)  # address word 2 now holds a value only known at run time
    b.store("store", 2, 8)
    b.store("store", 0, 9)  # may alias the store through word 2: a bundle later
    at = bundle_of(b.finish())
    assert at[("store", 0, 8)] == at[("store", 1, 9)] == 1
    assert at[("store", 0, 9)] == at[("store", 2, 8)] + 1


def test_loads_after_stores_to_the_same_address_wait() -> None:
    b = builder()
    b.load("const", 0, 3)
    b.load("load", 8, 0)  # reads M[3] before the store
    b.store("store", 0, 9)  # may share the load's bundle (WAR on memory)
    b.load("load", 10, 0)  # must see the store: a bundle later
    program = b.finish()
    at = bundle_of(program)
    assert at[("load", 8, 0)] == at[("store", 0, 9)] == 1
    assert at[("load", 10, 0)] == 2
    m = run(program, [0, 0, 0, 7] + [0] * 20)
    assert m.cores[0].scratch[8] == 7 and m.cores[0].scratch[10] == 0


def test_control_slots_end_their_region() -> None:
    b = builder()
    b.load("const", 8, 1)
    b.flow("pause")
    b.load("const", 9, 2)  # independent, but after the pause
    program = b.finish()
    at = bundle_of(program)
    assert at[("const", 8, 1)] == at[("pause",)] == 0
    assert at[("const", 9, 2)] == 1


def test_a_label_starts_a_bundle() -> None:
    b = builder()
    b.load("const", 8, 1)
    b.place(b.label("here"))
    b.load("const", 9, 2)
    assert len(b.finish()) == 2


def test_bias_lowers_priority_but_keeps_dependences() -> None:
    stream = [Slot(Engine.LOAD, "const", (8 + i, i)) for i in range(4)] + [Slot(Engine.ALU, "+", (20, 8, 11))]
    layout = schedule(stream, KernelBuilder().params, bias=[-10.0, -10.0, 0.0, 0.0, 0.0])
    at = bundle_of(resolve(layout))
    assert at[("const", 10, 2)] == at[("const", 11, 3)] == 0
    assert at[("const", 8, 0)] == at[("const", 9, 1)] == 1
    assert at[("+", 20, 8, 11)] == 2


def test_overlapping_known_stores_keep_their_order() -> None:
    b = builder()
    b.load("const", 0, 3)
    b.load("const", 1, 5)
    b.load("const", 8, 1)
    for _ in range(3):
        b.valu("+", 8, 8, 8)  # the vector store's data is ready late
    b.store("vstore", 0, 8)  # M[3..10]
    b.load("const", 20, 99)
    b.store("store", 1, 20)  # M[5], inside the vector store: must land after it
    program = b.finish()
    at = bundle_of(program)
    assert at[("store", 1, 20)] > at[("vstore", 0, 8)]
    assert run(program, [0] * MEM_WORDS).mem[5] == 99


def test_trace_writes_keep_program_order() -> None:
    b = builder()
    b.load("const", 8, 1)
    for _ in range(3):
        b.alu("+", 8, 8, 8)  # the first traced value is ready late
    b.flow("trace_write", 8)
    b.load("const", 9, 7)
    b.flow("trace_write", 9)
    assert run(b.finish(), [0] * MEM_WORDS).cores[0].trace == [8, 7]
