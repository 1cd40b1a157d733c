"""The debug engine on the reference interpreter, and the fast engine's refusal of it."""

import json

import pytest

from pymodel.events import Trap
from pymodel.fast import FastMachine
from pymodel.isa import Engine, RunState, TrapCause
from pymodel.machine import Machine
from pymodel.program import Program

SET = {"load": [("const", 3, 42)]}


def test_compare_matches_and_costs_nothing():
    m = Machine([SET, {"debug": [("compare", 3, "answer")]}], [0], debug_values={"answer": 42})
    assert m.run() is RunState.HALTED and m.cycle == 1


def test_compare_mismatch_traps():
    m = Machine([SET, {"debug": [("comment", "x"), ("compare", 3, "answer")]}], [0], debug_values={"answer": 41})
    assert m.run() is RunState.TRAPPED
    detail = "S[3]=42 but the recorded value for key 'answer' is 41"
    assert m.trap == Trap(TrapCause.DEBUG_MISMATCH, 1, 1, Engine.DEBUG, 1, detail, 0, 42)


def test_compare_with_unknown_key_traps():
    m = Machine([SET, {"debug": [("compare", 3, "nope")]}], [0], debug_values={"answer": 42})
    assert m.run() is RunState.TRAPPED
    assert m.trap.cause is TrapCause.DEBUG_MISMATCH and "no recorded value for key 'nope'" in m.trap.detail
    assert Machine([{"debug": [("compare", 0, "k")]}], [0]).run() is RunState.TRAPPED  # no debug_values at all


def test_compare_reads_start_of_cycle_state():
    m = Machine([{"load": [("const", 3, 42)], "debug": [("compare", 3, "k")]}], [0], debug_values={"k": 0})
    assert m.run() is RunState.HALTED


def test_debug_disabled_skips_compares():
    m = Machine([SET, {"debug": [("compare", 3, "nope"), ("compare", 9999, "bad address")]}], [0], enable_debug=False)
    assert m.run() is RunState.HALTED


def test_compare_of_an_out_of_range_address_traps_when_enabled():
    m = Machine([{"debug": [("compare", 9999, "k")]}], [0], debug_values={"k": 0})
    assert m.run() is RunState.TRAPPED and m.trap.cause is TrapCause.SCRATCH_RANGE


def test_json_list_keys_arrive_as_tuples():
    lanes = json.dumps([["v", i] for i in range(8)])
    raw = json.loads(
        '[{"load": [["const", 3, 42]]}, {"debug": [["compare", 3, ["round", 0, "val"]]]},'
        f' {{"debug": [["vcompare", 8, {lanes}]]}}]'
    )
    values = {("round", 0, "val"): 42} | {("v", i): 0 for i in range(8)}
    assert Machine(Program.from_tuples(raw), [0], debug_values=values).run() is RunState.HALTED
    values[("v", 5)] = 1
    m = Machine(raw, [0], debug_values=values)
    assert m.run() is RunState.TRAPPED
    assert "S[13]=0 but the recorded value for key ('v', 5) is 1" == m.trap.detail


def test_fast_engine_refuses_compares_with_debug_enabled():
    prog = [SET, {"debug": [("compare", 3, "answer")]}]
    with pytest.raises(ValueError, match="bundle 1, engine debug, slot 0.*reference engine"):
        FastMachine(prog, [0], debug_values={"answer": 42})
    m = FastMachine(prog, [0], enable_debug=False)
    assert m.run() is RunState.HALTED and m.cycle == 1
    assert FastMachine([{"debug": [("comment", "fine")]}], [0]).run() is RunState.HALTED
