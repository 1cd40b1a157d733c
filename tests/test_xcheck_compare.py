"""The cross-check's comparison logic, without a simulator: what counts as a
difference, how it is named, and the generators' promises."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from cocotb_tests.job import ImemLoad, PausePoint, RunMode, SimJob, SimResult, TrapStatus
from cocotb_tests.model_side import ModelOutcome, run_model
from cocotb_tests.programs import dense_loop_program, directed_programs, trap_programs
from cocotb_tests.randprog import random_program
from cocotb_tests.report import final_state_diffs
from cocotb_tests.retire import PortWrite, RetireView, compare_views, scratch_write_ports
from pymodel.encoding import to_hardware
from pymodel.isa import DEFAULT_PARAMS, Engine, RunState

P = DEFAULT_PARAMS


def view(**kw: object) -> RetireView:
    base: dict[str, object] = {"cycle": 4, "pc": 4, "next_pc": 5, "trap": False}
    base.update(kw)
    return RetireView(**base)  # type: ignore[arg-type]


def test_identical_views_agree() -> None:
    v = view(scratch=(PortWrite(3, 7),), mem=(PortWrite(9, 1),), trace=(5,))
    assert compare_views(v, view(scratch=(PortWrite(3, 7, 0),), mem=(PortWrite(9, 1, 2),), trace=(5,)), P) == []


def test_wrong_and_missing_writes_are_named_with_the_port() -> None:
    ports = scratch_write_ports(P)
    valu2_lane3 = next(i for i, p in enumerate(ports) if (p.engine, p.slot, p.lane) == (Engine.VALU, 2, 3))
    expected = view(scratch=(PortWrite(3, 7), PortWrite(4, 8)))
    actual = view(scratch=(PortWrite(3, 6, valu2_lane3),))
    diffs = compare_views(expected, actual, P)
    assert [(d.what, d.addr, d.expected, d.actual) for d in diffs] == [("scratch", 3, 7, 6), ("scratch", 4, 8, None)]
    assert diffs[0].port == "valu2 lane 3"


def test_two_live_write_ports_on_one_word_is_a_difference() -> None:
    expected = view(scratch=(PortWrite(3, 7),))
    actual = view(scratch=(PortWrite(3, 1, 0), PortWrite(3, 7, 5)))
    diffs = compare_views(expected, actual, P)
    assert len(diffs) == 1 and "two RTL write ports" in diffs[0].what


def test_trapping_bundle_writes_are_ignored_but_pc_and_cycle_are_not() -> None:
    assert compare_views(view(trap=True), view(trap=True, scratch=(PortWrite(1, 1, 0),)), P) == []
    assert [d.what for d in compare_views(view(trap=True), view(trap=False), P)] == ["trap"]
    assert [d.what for d in compare_views(view(), view(cycle=5, pc=7), P)] == ["cycle", "pc"]
    assert [d.what for d in compare_views(view(), view(next_pc=9), P)] == ["next_pc"]


def _outcome(**kw: object) -> ModelOutcome:
    base = ModelOutcome(
        RunState.HALTED, 10, 4, None, [1, 2, 3], [0] * 4, [9], [PausePoint(1, 1)], seconds=0.0, engine="fast"
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def _result(**kw: object) -> SimResult:
    base = SimResult(True, 2, 10, 4, TrapStatus(0, 0, 0, 0), [1, 2, 3], [0] * 4, [9], [PausePoint(1, 1)])
    return replace(base, **kw)  # type: ignore[arg-type]


def test_final_state_diffs_name_each_field() -> None:
    assert final_state_diffs(_outcome(), _result()) == []
    diffs = final_state_diffs(_outcome(), _result(cycle=11, mem=[1, 5, 3], trace=[], pauses=[]))
    assert diffs[0] == "cycle: expected 10, actual 11"
    assert "memory[1]: expected 2, actual 5" in diffs
    assert any(d.startswith("pauses") for d in diffs) and any(d.startswith("trace: length") for d in diffs)
    assert any(d.startswith("trap") for d in final_state_diffs(_outcome(), _result(trap=TrapStatus(1, 0, 0, 0))))


def test_job_and_result_round_trip(tmp_path: Path) -> None:
    job = SimJob(3, "x.hex", [1, 2], "r.json", ImemLoad.HOST, RunMode.LOCKSTEP, params={"vlen": 8})
    job.write(tmp_path / "j.json")
    assert SimJob.read(tmp_path / "j.json") == job
    result = _result()
    result.write(tmp_path / "r.json")
    assert SimResult.read(tmp_path / "r.json") == result


def test_random_programs_are_deterministic_and_finish_on_the_model() -> None:
    assert random_program(5).program == random_program(5).program
    assert random_program(5).program != random_program(6).program
    for seed in range(8):
        t = random_program(seed)
        out = run_model(to_hardware(t.program).program, t.mem, P, "reference")
        assert out.state is RunState.HALTED and out.cycle > 40, (seed, out.state, out.trap)


def test_directed_programs_do_what_their_names_say() -> None:
    for t in directed_programs() + [dense_loop_program(10)]:
        assert run_model(t.program, t.mem, P, "reference").state is RunState.HALTED, t.name
    for t in trap_programs():
        out = run_model(t.program, t.mem, P, "reference")
        assert out.state is RunState.TRAPPED and out.cycle > 0, t.name
