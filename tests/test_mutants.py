"""The mutant catalogue (rtl/mutants.py): big enough, every entry really changes
the design, and the real core is untouched.  The campaign itself (building and
killing every mutant) is ``make mutate``, not a unit test."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pymodel.isa import MachineParams
from rtl.generate import write_verilog
from rtl.mutants import MUTANTS, check_mutant, get_mutant, is_active, mutant_names
from tools.mutate import list_mutants, main

# Small enough to generate in about a second, with two slots wherever a mutant
# needs two (write priority, forwarding, store lanes) and VLEN > 1 (lane bugs).
SMALL = MachineParams(
    vlen=2, scratch_size=64, alu_slots=2, valu_slots=1, load_slots=1, store_slots=2,
    mem_depth=64, imem_depth=16, trace_depth=4,
)  # fmt: skip
RTL = Path(__file__).resolve().parent.parent / "rtl"


def verilog(out: Path, mutant: str | None) -> str:
    return write_verilog(SMALL, out, mutant=mutant).read_text()


@pytest.fixture(scope="module")
def real_verilog(tmp_path_factory: pytest.TempPathFactory) -> str:
    return verilog(tmp_path_factory.mktemp("real"), None)


def test_catalogue_is_big_and_well_formed() -> None:
    names = mutant_names()
    assert len(names) >= 10
    assert len(set(names)) == len(names)
    for m in MUTANTS:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", m.name), m.name
        assert m.description and m.area
    # every engine and the sequencing have at least one mutant
    areas = {m.area for m in MUTANTS}
    assert {"alu", "valu", "load", "store", "flow", "scratch", "traps", "cycles"} <= areas


def test_every_mutant_is_planted_in_the_rtl() -> None:
    planted = set()
    for path in RTL.glob("*.py"):
        planted |= set(re.findall(r'is_active\([^,]+, "([a-z0-9_]+)"\)', path.read_text()))
    assert planted == set(mutant_names())


@pytest.mark.parametrize("name", mutant_names())
def test_mutant_changes_the_verilog(name: str, real_verilog: str, tmp_path: Path) -> None:
    assert verilog(tmp_path, name) != real_verilog


def test_generation_is_deterministic(real_verilog: str, tmp_path: Path) -> None:
    assert verilog(tmp_path, None) == real_verilog  # so "differs" above is the mutant, not noise


def test_unknown_mutant_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown mutant 'swap_priority'.*swap_write_priority"):
        check_mutant("swap_priority")  # what VliwCore(params, mutant=...) calls first
    with pytest.raises(ValueError, match="unknown mutant"):
        is_active(None, "no_such_mutant")  # a misspelt check in the RTL fails at elaboration
    assert check_mutant(None) is None
    assert get_mutant("lt_signed").area == "alu"


def test_cli_list_and_bad_name(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--list"]) == 0
    out = capsys.readouterr().out
    assert out.strip() == list_mutants().strip()
    assert all(name in out for name in mutant_names())
    with pytest.raises(SystemExit) as e:
        main(["--only", "no_such_mutant"])
    assert e.value.code == 2
    assert "unknown mutant 'no_such_mutant'" in capsys.readouterr().err
