"""Slot utilization from a run."""

import pytest

from pymodel.isa import Engine
from pymodel.machine import Machine
from pymodel.program import Program
from pymodel.utilization import Utilization

LOOP = Program.from_tuples(
    [
        {"load": [("const", 1, 3), ("const", 2, 1)]},  # counter = 3, one = 1
        {"debug": [("comment", "loop")]},  # free
        {"alu": [("-", 1, 1, 2), ("+", 5, 5, 2), ("+", 6, 6, 2)], "valu": [("vbroadcast", 8, 1)]},
        {"flow": [("cond_jump", 1, 2)]},
        {"store": []},  # one cycle, no slots
    ]
)


def run_records(program: Program) -> list:
    records = []
    Machine(program, [0]).run_to_end(on_retire=records.append)
    return records


def test_counts_from_a_run():
    records = run_records(LOOP)
    util = Utilization.from_records(LOOP, records)
    assert util.cycles == 1 + 3 * 2 + 1 == len(records)
    assert {u.engine: u.slots for u in util.engines} == {
        Engine.ALU: 9, Engine.VALU: 3, Engine.LOAD: 2, Engine.STORE: 0, Engine.FLOW: 3
    }
    alu = util.use(Engine.ALU)
    assert alu.capacity == 12 * 8 and alu.percent == pytest.approx(100 * 9 / 96) and alu.min_cycles == 1
    assert util.use(Engine.FLOW).min_cycles == 3 == util.min_cycles
    assert util.busiest.engine is Engine.FLOW  # 3 of 1-per-cycle beats 9 of 12
    assert Utilization.from_pcs(LOOP, [r.pc for r in records]) == util
    assert Utilization.from_pcs(LOOP, [0, 1, 1, 2, 3, 2, 3, 2, 3, 4]) == util  # zero-cost pcs add nothing


def test_report_table():
    report = Utilization.from_records(LOOP, run_records(LOOP)).format_report().splitlines()
    assert report[0].split() == ["engine", "slots", "capacity", "use", "%", "min", "cycles"]
    assert report[1].split() == ["alu", "9", "96", "9.38%", "1"]
    assert report[-1] == "cycles 8; busiest engine flow at 37.50%; slot counts alone need at least 3 cycles"


def test_trapping_bundle_is_not_counted_and_bad_pcs_are_rejected():
    program = Program.from_tuples([{"alu": [("+", 1, 1, 1)]}, {"alu": [("%", 2, 1, 3)]}])
    util = Utilization.from_records(program, run_records(program))
    assert util.cycles == 1 and util.use(Engine.ALU).slots == 1
    with pytest.raises(ValueError, match=r"pc 7 is outside the program \(0..1\)"):
        Utilization.from_pcs(program, [7])
    empty = Utilization.from_pcs(program, [])
    assert empty.cycles == 0 and empty.min_cycles == 0 and empty.use(Engine.ALU).percent == 0.0
