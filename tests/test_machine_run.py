"""The run API: cycle limits, states, retire records, constructor checks, run_program."""

import pytest

from pymodel.core import snapshot
from pymodel.events import RetireRecord, Write
from pymodel.fast import FastMachine
from pymodel.isa import MachineParams, RunState, TrapCause
from pymodel.machine import Machine, run_program
from pymodel.program import Program, ProgramError

M32 = (1 << 32) - 1
SPIN = [{"load": [("const", 0, 1)]}, {"alu": [("+", 1, 1, 0)], "flow": [("cond_jump_rel", 0, -1)]}]


@pytest.fixture(params=[Machine, FastMachine], ids=["reference", "fast"])
def machine_cls(request):
    return request.param


def test_max_cycles_bounds_an_infinite_loop_and_is_absolute(machine_cls):
    m = machine_cls(SPIN, [0])
    assert m.state is RunState.RUNNING
    assert m.run(max_cycles=1000) is RunState.RUNNING
    assert (m.cycle, m.cores[0].scratch[1]) == (1000, 999)
    assert m.run(max_cycles=1000) is RunState.RUNNING and m.cycle == 1000  # already there
    assert m.run(max_cycles=1500) is RunState.RUNNING and m.cycle == 1500
    assert m.run_to_end(max_cycles=2000) is RunState.RUNNING and m.cycle == 2000


def test_max_cycles_zero_runs_only_free_bundles(machine_cls):
    m = machine_cls([{}, {"load": [("const", 0, 1)]}], [0])
    assert m.run(max_cycles=0) is RunState.RUNNING
    assert (m.cycle, m.cores[0].scratch[0]) == (0, 0)


def test_limit_reached_exactly_at_the_end_still_reports_the_stop(machine_cls):
    m = machine_cls([{"alu": []}, {"alu": []}], [0])
    assert m.run(max_cycles=2) is RunState.HALTED and m.cycle == 2


def test_long_loop_runs_in_several_chunks_on_fast_engine():
    prog = [{"load": [("const", 0, 3_000_000), ("const", 1, 1)]}, {"alu": [("-", 0, 0, 1)]}]
    prog.append({"flow": [("cond_jump_rel", 0, -2)]})  # 6M cycles: more than one CHUNK_CYCLES
    m = FastMachine(prog, [0])
    assert m.run() is RunState.HALTED
    assert m.cycle == 1 + 2 * 3_000_000
    assert m.bundle_counts.tolist() == [1, 3_000_000, 3_000_000]


def test_edits_between_runs_take_effect(machine_cls):
    prog = [{"flow": [("pause",)]}, {"load": [("load", 1, 0)]}, {"store": [("store", 2, 1)]}]
    m = machine_cls(prog, [5, 6, 0])
    assert m.run() is RunState.PAUSED
    m.mem[1] = 42
    m.cores[0].scratch[0] = 1  # M[1] is loaded
    m.cores[0].scratch[2] = 2  # and stored to M[2]
    assert m.run() is RunState.HALTED
    assert m.mem == [5, 42, 42]


def test_caller_memory_is_not_modified(machine_cls):
    mem = [0, 0]
    m = machine_cls([{"load": [("const", 0, 1)]}, {"store": [("store", 0, 0)]}], mem)
    m.run()
    assert (mem, m.mem) == ([0, 0], [0, 1])


def test_constructor_accepts_program_or_tuples_and_rejects_bad_input(machine_cls):
    raw = [{"load": [("const", 0, 3)]}]
    a, b = machine_cls(raw, [0]), machine_cls(Program.from_tuples(raw), [0])
    a.run(), b.run()
    assert snapshot(a) == snapshot(b)
    with pytest.raises(ProgramError, match="unknown op 'frob'"):
        machine_cls([{"alu": [("frob", 0, 0, 0)]}], [0])
    with pytest.raises(ProgramError, match="bundle 0, engine alu, slot 0"):
        machine_cls([{"alu": [("+", 0, 0)]}], [0])
    with pytest.raises(ValueError, match="memory image word 1"):
        machine_cls(raw, [0, 1 << 32])
    with pytest.raises(ValueError, match="memory image word 0"):
        machine_cls(raw, [-1])
    with pytest.raises(ValueError, match="max_cycles"):
        machine_cls(raw, [0]).run(max_cycles=-1)


def test_state_summarises_the_cores(machine_cls):
    prog = [{"flow": [("coreid", 0)]}, {"flow": [("cond_jump", 0, 3)]}, {"flow": [("pause",)]}]
    m = machine_cls(prog, [0], MachineParams(n_cores=3))
    assert m.state is RunState.RUNNING
    assert m.run() is RunState.PAUSED and m.state is RunState.PAUSED
    assert [c.state for c in m.cores] == [RunState.PAUSED, RunState.HALTED, RunState.HALTED]
    assert m.run() is RunState.HALTED and m.state is RunState.HALTED


# -- retire records (reference) ------------------------------------------------------


def test_retire_records():
    prog = [
        {"load": [("const", 5, 1), ("const", 2, 7)]},
        {"debug": [("comment", "free: no record")]},
        {"alu": [("+", 9, 5, 5)], "load": [("const", 9, 4)], "store": [("store", 5, 2)], "flow": [("trace_write", 2)]},
        {"flow": [("pause",)]},
        {"flow": [("halt",)]},
    ]
    records: list[RetireRecord] = []
    m = Machine(prog, [0, 0])
    m.run_to_end(on_retire=records.append)
    assert records == [
        RetireRecord(0, 0, 0, 1, (Write(2, 7), Write(5, 1))),  # sorted by address
        RetireRecord(1, 0, 2, 3, (Write(9, 4),), (Write(1, 7),), (7,)),  # final value after priority
        RetireRecord(2, 0, 3, 4, paused=True),
        RetireRecord(3, 0, 4, 5, halted=True),
    ]


def test_retire_record_of_a_trapping_bundle():
    records: list[RetireRecord] = []
    m = Machine([{"alu": [("+", 1, 1, 1)]}, {"load": [("const", 3, 3)], "alu": [("%", 0, 0, 0)]}], [0])
    assert m.run(on_retire=records.append) is RunState.TRAPPED
    assert len(records) == 2
    assert records[1] == RetireRecord(1, 0, 1, 1, trap=m.trap)
    assert records[1].trap.cause is TrapCause.DIV_ZERO


def test_retire_records_name_the_core():
    records: list[RetireRecord] = []
    Machine([{"flow": [("coreid", 0)]}], [0], MachineParams(n_cores=2)).run(on_retire=records.append)
    assert [(r.cycle, r.core, r.scratch_writes) for r in records] == [(0, 0, (Write(0, 0),)), (0, 1, (Write(0, 1),))]


# -- run_program ------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ["reference", "fast"])
def test_run_program(engine):
    prog = [{"load": [("const", 0, 2)]}, {"flow": [("pause",)]}, {"store": [("store", 0, 0)]}]
    m = run_program(prog, [0, 0, 0], engine=engine)
    assert isinstance(m, Machine if engine == "reference" else FastMachine)
    assert (m.state, m.cycle, m.mem) == (RunState.HALTED, 3, [0, 0, 2])
    spun = run_program(SPIN, [0], engine=engine, max_cycles=10)
    assert (spun.state, spun.cycle) == (RunState.RUNNING, 10)


def test_run_program_options():
    m = run_program([{"flow": [("pause",)]}, {"alu": []}], [0], engine="fast", enable_pause=False)
    assert m.cycle == 2
    records = []
    run_program([{"alu": []}], [0], engine="reference", on_retire=records.append)
    assert len(records) == 1
    with pytest.raises(ValueError, match="on_retire needs engine='reference'"):
        run_program([{"alu": []}], [0], on_retire=records.append)
    with pytest.raises(ValueError, match="unknown engine"):
        run_program([{"alu": []}], [0], engine="rtl")


def test_state_lists_are_updated_in_place(machine_cls):
    m = machine_cls([{"load": [("const", 0, 1)], "flow": [("trace_write", 0)]}, {"store": [("store", 0, 0)]}], [0, 0])
    mem, scratch, trace = m.mem, m.cores[0].scratch, m.cores[0].trace
    m.run()
    assert (mem, scratch[0], trace) == ([0, 1], 1, [0])


def test_fast_engine_checks_edited_scratch():
    m = FastMachine([{"alu": []}], [0])
    m.cores[0].scratch[3] = -5
    with pytest.raises(ValueError, match="core 0 scratch word 3"):
        m.run()
