"""Netlist mutation (tools.netlist_mutate, tools.mutate): the design carries no
test scaffolding, mutations map back to rtl/ lines, and -- in CI -- a fixed
sample of generated mutants is killed by the kill suite.  The full campaign
is ``make mutate``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tools.mutate import SURVIVED, load_verdicts
from tools.mutate_suite import kill_suite, run_batches
from tools.netlist_mutate import (
    MIN_PER_UNIT,
    Mutation,
    build_mutants,
    parse_list_line,
    stratified,
    units_summary,
    _unit_of,
)

REPO = Path(__file__).resolve().parent.parent
CI_SAMPLE = 26  # generated mutants CI runs (every unit represented)

LINE = (
    r"mutate -ctrl mutsel 9 1 -mode cnot0 -module vliw_core -cell $flatten\valu3.\lane7.$22 -port Y -portbit 29 "
    r"-ctrlbit 10 -wire valu3.lane7.q -wirebit 29 -src /x/rtl/alu.py:78 -src /x/rtl/alu.py:80"
)


def test_rtl_has_no_mutation_hooks() -> None:
    for path in (REPO / "rtl").glob("*.py"):
        text = path.read_text()
        assert "MUTANT" not in text and "is_active(" not in text and "mutant" not in text.lower(), path
    assert not (REPO / "rtl" / "mutants.py").exists()


def test_list_lines_map_back_to_rtl_lines() -> None:
    f = parse_list_line(LINE)
    assert f["mode"] == ["cnot0"] and f["portbit"] == ["29"] and f["cell"] == [r"$flatten\valu3.\lane7.$22"]
    assert _unit_of(f) == ("alu", "rtl/alu.py:78")
    no_src = parse_list_line(r"mutate -mode const0 -module vliw_core -cell $flatten\scratch.$74 -port EN -portbit 1")
    assert _unit_of(no_src) == ("regfile", "")
    lib_src = parse_list_line(r"mutate -mode const1 -module vliw_core -cell $x -port A -portbit 4 -src /v/amaranth/enum.py:3")
    assert _unit_of(lib_src) == ("core", "")


def test_sample_is_stratified_by_unit() -> None:
    cands = [parse_list_line(f"mutate -mode const0 -module m -cell c{i} -port A -portbit 0 -src /r/rtl/alu.py:{i}")
             for i in range(200)]  # fmt: skip
    cands += [parse_list_line(f"mutate -mode const1 -module m -cell d{i} -port A -portbit 0 -src /r/rtl/trace.py:{i}")
              for i in range(5)]  # fmt: skip
    got = stratified(cands, 30, seed=3)
    units = [_unit_of(c)[0] for c in got]
    assert len(got) == 30 and units.count("trace") == 5 and units.count("alu") == 25
    assert got == stratified(cands, 30, seed=3)  # reproducible
    assert MIN_PER_UNIT >= 5


def ci_sample(mutations: list[Mutation], n: int = CI_SAMPLE) -> list[Mutation]:
    """A fixed sample: round-robin over units, in id order, skipping mutants with a recorded
    verdict (equivalent, unobservable or bounded: the suite cannot kill them)."""
    verdicts = load_verdicts()
    by_unit: dict[str, list[Mutation]] = {}
    for m in mutations:
        if m.command not in verdicts:
            by_unit.setdefault(m.unit, []).append(m)
    out: list[Mutation] = []
    while len(out) < n and any(by_unit.values()):
        for unit in sorted(by_unit):
            if by_unit[unit] and len(out) < n:
                out.append(by_unit[unit].pop(0))
    return out


@pytest.mark.rtl
def test_ci_sample_of_generated_mutants_is_killed() -> None:
    net, build = build_mutants(log=lambda _s: None)
    sample = ci_sample(net.sampled)
    assert len(sample) >= 25 and set(units_summary(sample)) == set(units_summary(net.sampled))
    tests = kill_suite(build.params)
    assert run_batches(build, tests, 0) is None, "the kill suite must pass on the real design (mutsel=0)"
    survivors = []
    for m in sample:
        outcome = run_batches(build, tests, m.id)
        if outcome is None:
            survivors.append(f"#{m.id} {m.where}: {m.command} ({SURVIVED})")
    assert not survivors, "mutants the kill suite no longer kills:\n" + "\n".join(survivors)


def test_verdicts_have_reasons() -> None:
    for command, v in load_verdicts().items():
        assert re.match(r"mutate -mode \w+ ", command), command
        assert v["class"] in ("equivalent", "unobservable", "bounded") and len(v["reason"]) > 20, (command, v)
