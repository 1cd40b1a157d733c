"""Every quirk of MACHINE-SPEC.md ("One cycle", "Ops") as a directed test.

Each test runs on the reference interpreter and on the fast engine (the
``machine_cls`` fixture); the debug-engine quirks are reference-only since
the fast engine skips debug slots.
"""

import pytest

from pymodel.fast import FastMachine
from pymodel.isa import MachineParams, RunState
from pymodel.machine import Machine

M32 = (1 << 32) - 1


@pytest.fixture(params=[Machine, FastMachine], ids=["reference", "fast"])
def machine_cls(request):
    return request.param


def run(cls, program, mem=(0,) * 8, **kw):
    m = cls(program, list(mem), **kw)
    m.run()
    return m


def S(m, core=0):
    return m.cores[core].scratch


# -- "One cycle" 1: pc = pc + 1 before executing ------------------------------


def test_relative_jump_is_relative_to_next_bundle(machine_cls):
    prog = [
        {"load": [("const", 0, 1)]},
        {"flow": [("cond_jump_rel", 0, 1)]},  # pc is already 2: lands on 3
        {"load": [("const", 1, 7)]},  # skipped
        {"load": [("const", 2, 9)]},
    ]
    m = run(machine_cls, prog)
    assert (S(m)[1], S(m)[2], m.cycle, m.state) == (0, 9, 3, RunState.HALTED)


def test_relative_jump_by_zero_falls_through_and_minus_one_spins(machine_cls):
    prog = [{"load": [("const", 0, 1)]}, {"flow": [("cond_jump_rel", 0, 0)]}, {"load": [("const", 1, 5)]}]
    m = run(machine_cls, prog)
    assert (S(m)[1], m.cycle) == (5, 3)
    spin = machine_cls([{"load": [("const", 0, 1)]}, {"flow": [("cond_jump_rel", 0, -1)]}], [0])
    assert spin.run(max_cycles=50) is RunState.RUNNING
    assert (spin.cycle, spin.cores[0].pc) == (50, 1)


# -- 2/3: reads see the start of the cycle; writes land together ----------------


def test_reads_see_start_of_cycle_state(machine_cls):
    prog = [
        {"load": [("const", 0, 1), ("const", 1, 2)]},
        {"alu": [("+", 0, 1, 7), ("+", 1, 0, 7)]},  # swap through S[7] = 0
        {"load": [("const", 2, 9)], "alu": [("+", 3, 2, 7)]},  # S[3] sees the old S[2]
        {"store": [("store", 7, 1)], "load": [("load", 4, 7)]},  # the load sees the old M[0]
    ]
    m = run(machine_cls, prog, mem=[55, 0])
    assert S(m)[:5] == [2, 1, 9, 0, 55]
    assert m.mem == [1, 0]


def test_later_writer_wins_engines_in_listed_order(machine_cls):
    m = run(machine_cls, [{"load": [("const", 1, 5)]}, {"alu": [("+", 3, 1, 7)], "load": [("const", 3, 99)]}])
    assert S(m)[3] == 99
    m = run(machine_cls, [{"load": [("const", 1, 5)]}, {"load": [("const", 3, 99)], "alu": [("+", 3, 1, 7)]}])
    assert S(m)[3] == 5


def test_later_writer_wins_slots_in_list_order(machine_cls):
    m = run(machine_cls, [{"load": [("const", 3, 1), ("const", 3, 2)]}])
    assert S(m)[3] == 2
    prog = [{"load": [("const", 0, 2), ("const", 1, 10)]}, {"load": [("const", 2, 20)]}]
    prog.append({"store": [("store", 0, 1), ("store", 0, 2)]})
    assert run(machine_cls, prog, mem=[0] * 4).mem == [0, 0, 20, 0]


def test_vector_writes_overlapping_a_scalar_write(machine_cls):
    # valu lanes 0..7 of S[8..15], then flow's add_imm writes S[9]: flow listed later wins.
    prog = [{"load": [("const", 0, 4)]}, {"valu": [("vbroadcast", 8, 0)], "flow": [("add_imm", 9, 0, 1)]}]
    assert S(run(machine_cls, prog))[8:16] == [4, 5, 4, 4, 4, 4, 4, 4]


# -- 5: what costs a cycle ----------------------------------------------------


def test_debug_only_and_keyless_bundles_cost_nothing(machine_cls):
    prog = [{}, {"debug": [("comment", "hello")]}, {"debug": []}, {"load": [("const", 0, 1)]}, {}]
    m = run(machine_cls, prog, enable_debug=False)
    assert (m.cycle, m.cores[0].pc, S(m)[0], m.state) == (1, 5, 1, RunState.HALTED)


def test_engine_key_with_no_slots_costs_a_cycle(machine_cls):
    m = run(machine_cls, [{"alu": []}, {"valu": [], "debug": []}, {"flow": []}])
    assert m.cycle == 3


# -- 6: stopping ----------------------------------------------------------------


def test_halt_mid_bundle_rest_executes_and_cycle_counts(machine_cls):
    prog = [{"flow": [("halt",)], "load": [("const", 0, 5)]}, {"load": [("const", 1, 6)]}]
    m = run(machine_cls, prog)
    assert (S(m)[0], S(m)[1], m.cycle, m.cores[0].pc, m.state) == (5, 0, 1, 1, RunState.HALTED)
    assert m.run() is RunState.HALTED and m.cycle == 1  # a halted core is not resumed


def test_running_past_the_end_stops_without_a_cycle(machine_cls):
    m = run(machine_cls, [{"load": [("const", 0, 1)]}, {"alu": [("+", 1, 0, 0)]}])
    assert (m.state, m.cycle, m.cores[0].pc) == (RunState.HALTED, 2, 2)
    empty = run(machine_cls, [])
    assert (empty.state, empty.cycle, empty.cores[0].pc) == (RunState.HALTED, 0, 0)


@pytest.mark.parametrize("target", [2, 3, 1000, 1 << 40])
def test_jump_at_or_past_the_end_is_a_normal_stop(machine_cls, target):
    m = run(machine_cls, [{"flow": [("jump", target)]}, {"load": [("const", 0, 1)]}])
    assert (m.state, m.cycle, m.cores[0].pc, m.trap, S(m)[0]) == (RunState.HALTED, 1, target, None, 0)


def test_jump_indirect_to_the_largest_word_stops(machine_cls):
    m = run(machine_cls, [{"load": [("const", 0, M32)]}, {"flow": [("jump_indirect", 0)]}])
    assert (m.state, m.cores[0].pc, m.cycle) == (RunState.HALTED, M32, 2)


# -- pause ----------------------------------------------------------------------


def test_pause_stops_and_run_resumes_at_next_bundle(machine_cls):
    prog = [{"load": [("const", 0, 1)]}, {"flow": [("pause",)]}, {"load": [("const", 1, 2)]}]
    m = machine_cls(prog, [0])
    assert m.run() is RunState.PAUSED
    assert (m.state, m.cycle, m.cores[0].pc, S(m)[1]) == (RunState.PAUSED, 2, 2, 0)
    assert m.run() is RunState.HALTED
    assert (m.cycle, S(m)[1]) == (3, 2)


def test_pause_disabled_does_nothing_but_costs_its_cycle(machine_cls):
    prog = [{"flow": [("pause",)]}, {"flow": [("pause",)]}, {"load": [("const", 1, 2)]}]
    m = machine_cls(prog, [0], enable_pause=False)
    assert m.run() is RunState.HALTED
    assert (m.cycle, S(m)[1]) == (3, 2)


def test_run_to_end_resumes_after_every_pause(machine_cls):
    prog = [{"flow": [("pause",)]}] * 4 + [{"load": [("const", 1, 2)]}]
    m = machine_cls(prog, [0])
    assert m.run_to_end() is RunState.HALTED
    assert (m.cycle, S(m)[1]) == (5, 2)


# -- trace buffer -----------------------------------------------------------------


def test_trace_write_appends_in_order(machine_cls):
    prog = [{"load": [("const", 0, 3), ("const", 1, M32)]}, {"flow": [("trace_write", 0)]}]
    prog.append({"flow": [("trace_write", 1)]})
    prog.append({"flow": [("trace_write", 0)], "load": [("const", 0, 8)]})  # start-of-cycle value: 3
    prog.append({"flow": [("trace_write", 0)]})
    assert run(machine_cls, prog).cores[0].trace == [3, M32, 3, 8]


# -- several cores ----------------------------------------------------------------


TWO = MachineParams(n_cores=2)


def test_core_sees_previous_cores_writes_of_the_same_cycle(machine_cls):
    prog = [
        {"flow": [("coreid", 0)], "load": [("const", 2, 0)]},
        {"store": [("store", 2, 0)], "load": [("load", 3, 2)]},  # M[0] = core id; S[3] = M[0]
    ]
    m = machine_cls(prog, [77, 0], TWO)
    assert m.run() is RunState.HALTED
    assert m.cycle == 2  # once per cycle, not per core
    assert (S(m, 0)[0], S(m, 1)[0]) == (0, 1)  # each core its own scratch
    assert (S(m, 0)[3], S(m, 1)[3]) == (77, 0)  # core 1 read core 0's store of that cycle
    assert m.mem == [1, 0]  # core 1 wrote last


def test_cycle_counts_when_any_core_executes_a_costing_bundle(machine_cls):
    prog = [
        {"flow": [("coreid", 0)]},
        {"flow": [("cond_jump", 0, 3)]},  # core 1 skips ahead
        {"debug": [("comment", "core 0 only: free")]},
        {"alu": []},
    ]
    m = machine_cls(prog, [0], TWO, enable_debug=False)
    assert m.run() is RunState.HALTED
    # b0, b1 together; core 0's free b2 with core 1's b3; core 0's b3 alone.
    assert m.cycle == 4
    assert run(machine_cls, prog, enable_debug=False).cycle == 3  # one core: b0, b1, b3


def test_cores_pause_and_halt_independently(machine_cls):
    prog = [{"flow": [("coreid", 0)]}, {"flow": [("cond_jump", 0, 3)]}, {"flow": [("pause",)]}]
    prog.append({"load": [("const", 1, 4)]})
    m = machine_cls(prog, [0], TWO)
    assert m.run() is RunState.PAUSED  # core 1 halted, core 0 paused
    assert [c.state for c in m.cores] == [RunState.PAUSED, RunState.HALTED]
    assert m.run() is RunState.HALTED
    assert (S(m, 0)[1], S(m, 1)[1], m.cycle) == (4, 4, 4)


# -- ops' arithmetic quirks (values worked out by hand) ------------------------------


@pytest.mark.parametrize(
    "op, a, b, want",
    [
        ("+", M32, 1, 0),
        ("-", 0, 1, M32),
        ("*", M32, M32, 1),
        ("*", 0x10000, 0x10000, 0),
        ("//", 7, 2, 3),
        ("//", M32, 1 << 31, 1),
        ("cdiv", 7, 2, 4),
        ("cdiv", 0, 5, 0),
        ("cdiv", M32, 2, 1 << 31),
        ("%", 7, 2, 1),
        ("^", M32, 1, M32 - 1),
        ("<", 1, M32, 1),
        ("<", M32, 1, 0),
        ("==", 5, 5, 1),
        ("<<", 1, 31, 1 << 31),
        ("<<", 3, 31, 1 << 31),
        ("<<", 1, 32, 0),
        ("<<", 1, 1 << 31, 0),  # a hang in the reference simulator
        ("<<", 1, M32, 0),
        (">>", M32, 31, 1),
        (">>", M32, 32, 0),
        (">>", M32, 1 << 31, 0),
    ],
)
def test_alu_and_valu_arithmetic(machine_cls, op, a, b, want):
    prog = [{"load": [("const", 0, a), ("const", 1, b)]}, {"alu": [(op, 2, 0, 1)]}]
    prog += [{"valu": [("vbroadcast", 8, 0), ("vbroadcast", 16, 1)]}, {"valu": [(op, 24, 8, 16)]}]
    m = run(machine_cls, prog)
    assert S(m)[2] == want
    assert S(m)[24:32] == [want] * 8


def test_immediates_are_taken_mod_2_32(machine_cls):
    prog = [{"load": [("const", 0, -1), ("const", 1, (1 << 33) + 5)]}, {"flow": [("add_imm", 2, 1, -6)]}]
    assert S(run(machine_cls, prog))[:3] == [M32, 5, M32]


def test_vector_memory_and_select_ops(machine_cls):
    prog = [
        {"load": [("const", 0, 2), ("const", 1, 12)]},
        {"load": [("vload", 8, 0)]},  # S[8..15] = M[2..9]
        {"valu": [("multiply_add", 16, 8, 8, 8)], "load": [("load_offset", 30, 28, 2)]},  # S[32] = M[S[30]] = M[0]
        {"flow": [("vselect", 24, 8, 16, 0)]},
        {"store": [("vstore", 1, 16)]},  # M[12..19] = S[16..23]
        {"flow": [("select", 40, 41, 0, 1)]},  # S[41] = 0: picks S[1]
    ]
    mem = [9, 0] + [0, 1, 2, 3, 4, 5, 6, 7] + [0] * 12
    m = run(machine_cls, prog, mem)
    want_ma = [x * x + x for x in range(8)]
    assert S(m)[8:16] == list(range(8))
    assert S(m)[16:24] == want_ma
    assert S(m)[24:32] == [2] + want_ma[1:]  # lane 0's condition S[8] is 0: S[0]
    assert S(m)[32] == 9
    assert m.mem[12:20] == want_ma
    assert S(m)[40] == 12


def test_coreid_on_one_core_is_zero(machine_cls):
    assert S(run(machine_cls, [{"load": [("const", 0, 5)]}, {"flow": [("coreid", 0)]}]))[0] == 0
