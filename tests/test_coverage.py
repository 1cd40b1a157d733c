"""The functional-coverage collector (pymodel.coverage): what it records for
small programs, the goal lists, merging, JSON and the report."""

from __future__ import annotations

import json
from pathlib import Path

from pymodel.coverage import (
    Coverage,
    CoverageMachine,
    SessionCoverage,
    collect,
    goals,
    measure,
    report_text,
    write_reports,
)
from pymodel.coverage_classes import binop_classes
from pymodel.machine import Machine
from pymodel.program import Program

M, H = 0xFFFFFFFF, 1 << 31


def test_binop_classes() -> None:
    assert binop_classes("<<", 1, 32) == {"a=1", "shift=32"}
    assert binop_classes(">>", M, H) == {"a=2^32-1", "b=2^31", "shift>=2^31"}
    assert binop_classes(">>", 5, 40) == {"shift 33..2^31-1"}
    assert binop_classes("+", M, 1) == {"a=2^32-1", "b=1", "carry out"}
    assert binop_classes("-", 0, 1) == {"a=0", "b=1", "borrow"}
    assert binop_classes("cdiv", 6, 3) == {"exact"} and binop_classes("%", 7, 3) == {"inexact"}
    assert binop_classes("//", 5, 0) == {"b=0"}  # the divide-by-zero attempt
    assert binop_classes("<", 2, 3) == {"true"} and binop_classes("==", 2, 3) == {"false"}


def test_collect_records_slot_positions_values_and_quirks() -> None:
    program = Program.from_tuples(
        [
            {},
            {"debug": [("comment", "x")]},
            {"load": [("const", 1, 1), ("const", 2, M)]},
            {"alu": []},
            {"alu": [("+", 3, 2, 1), ("+", 3, 1, 1)], "flow": [("trace_write", 3)]},
            {"flow": [("cond_jump_rel", 1, -2)]},  # taken backward for ever: max_cycles cuts the run
        ]
    )
    cov = collect(program, [0], max_cycles=7)
    assert ("load", "const", 0) in cov.slots and ("load", "const", 1) in cov.slots
    assert ("alu", "+", 1) in cov.slots and ("flow", "trace_write", 0) in cov.slots
    assert ("alu", "+", "carry out") in cov.values and ("load", "const", "k>=2^31") in cov.values
    assert ("flow", "cond_jump_rel", "taken backward") in cov.values
    for quirk in (
        "zero-cost bundle: no keys",
        "zero-cost bundle: debug only",
        "empty engine key costs a cycle",
        "write priority: same engine, later slot wins",
        "read sees the old value of a word written in the same bundle",
        "jump backward",
    ):
        assert quirk in cov.quirks, quirk
    assert cov.truncated == 1 and cov.cycles == 7 and cov.programs == 1


def test_trapping_slot_is_a_trap_goal_not_an_executed_slot() -> None:
    program = Program.from_tuples([{"load": [("const", 1, 5)]}, {"alu": [("+", 2, 1, 1), ("%", 3, 1, 0)]}])
    cov = collect(program, [0])
    assert cov.traps == {"DIV_ZERO alu %"}
    assert ("alu", "%", 1) not in cov.slots and ("alu", "+", 0) not in cov.slots  # the bundle committed nothing
    assert ("alu", "%", "b=0") in cov.values
    assert "trap in a bundle with other slots (nothing commits)" in cov.quirks
    vec = Program.from_tuples([{"valu": [("vbroadcast", 1530, 0)]}])
    assert collect(vec, [0]).traps == {"SCRATCH_RANGE vector write"}


def test_observer_does_not_change_the_run() -> None:
    raw = [{"load": [("const", 0, 3), ("const", 1, 1)]}, {"alu": [("-", 0, 0, 1)], "flow": [("trace_write", 0)]},
           {"flow": [("cond_jump_rel", 0, -2)]}, {"store": [("store", 1, 0)], "flow": [("halt",)]}]  # fmt: skip
    plain, observed = Machine(raw, [0, 0]), CoverageMachine(raw, [0, 0])
    plain.run_to_end()
    observed.run_to_end()
    assert (plain.cycle, plain.mem, plain.cores[0].trace) == (observed.cycle, observed.mem, observed.cores[0].trace)
    assert "halt mid-bundle (other slots still commit)" in observed.coverage.quirks


def test_merge_json_and_measure(tmp_path: Path) -> None:
    a = Coverage(slots={("alu", "+", 0)}, quirks={"jump forward"}, programs=1, cycles=3)
    b = Coverage(slots={("alu", "+", 1)}, traps={"DIV_ZERO alu //"}, programs=2, cycles=4, truncated=1)
    a.merge(b)
    again = Coverage.from_json_data(json.loads(json.dumps(a.to_json_data())))
    assert again == a and again.programs == 3 and again.cycles == 7
    results = {r.name: r for r in measure(a)}
    slots = results["op x slot position"]
    assert (slots.hit, slots.total) == (2, len(goals()["op x slot position"]))
    assert "alu + 2" in slots.holes and "alu + 0" not in slots.holes
    assert results["traps"].hit == 1 and 0 < results["traps"].percent < 100
    text = report_text(a, max_holes=3)
    assert "op x slot position" in text and "hole: alu + 2" in text and "more holes" in text
    json_path, text_path = write_reports(a, tmp_path)
    data = json.loads(json_path.read_text())
    assert [c["name"] for c in data["categories"]] == list(goals())
    assert "hole: valu multiply_add 5" in text_path.read_text()  # the text file lists every hole


def test_session_records_each_program_once() -> None:
    session = SessionCoverage()
    program = Program.from_tuples([{"load": [("const", 0, 1)]}])
    assert session.empty
    session.record(program, [0])
    session.record(program, [0])
    session.record(program, [1])
    assert session.total.programs == 2 and not session.empty
