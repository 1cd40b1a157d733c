"""`make sim TAKEHOME=...`: a take-home-style KernelBuilder (the project's own fixtures)
built in a child process, checked on the model for N seeds, refused when it breaks
this machine's rules; every bad input is one clear line.  The RTL side is the model
here (tests/takehome_support.py); cocotb_tests/test_user_kernels.py runs the real RTL."""

from __future__ import annotations

import re

import pytest

import tools.sim as sim_tool
import tools.sim_user as sim_user
from kernels.tree_hash.reference_trace import debug_values
from pymodel.benchmark import Problem, Shape, reference_run, values_region
from pymodel.isa import DEFAULT_PARAMS, Engine
from pymodel.machine import run_program
from tests.takehome_support import BAD, SMALL, TAKEHOME, no_rtl  # noqa: F401 (fixture)
from tools.takehome import TakehomeError, UserCodeError, find_module, load_takehome

SHAPE = Shape(3, 2, 16)


def _engines(program) -> set[Engine]:
    return {e for b in program for e, _, _ in b}


@pytest.mark.parametrize("module", ["perf_takehome.py", "perf_takehome_vector.py"])
def test_fixture_kernels_compute_the_reference_and_pass_their_debug_compares(module: str) -> None:
    kernel = load_takehome(TAKEHOME / module, SHAPE)
    problem = Problem.generate(SHAPE, 9)
    mem = problem.memory_image()
    m = run_program(kernel.program, mem, DEFAULT_PARAMS, "reference", debug_values=debug_values(problem))
    assert m.trap is None and m.state.name == "HALTED"
    assert values_region(m.mem, SHAPE) == values_region(reference_run(mem), SHAPE)
    assert kernel.symbols  # debug_info().scratch_map came through
    if module == "perf_takehome_vector.py":
        assert _engines(kernel.program) == set(Engine)  # alu, valu, load, store, flow, debug
        ops = {s.op for b in kernel.program for _, _, s in b}
        assert {"vload", "load_offset", "vstore", "multiply_add", "vselect", "vcompare"} <= ops
    else:
        assert Engine.VALU not in _engines(kernel.program)
        assert all(len(s) == 1 for b in kernel.program for _, s in b.groups)  # one slot per bundle


def test_a_folder_means_its_perf_takehome_and_scratch_names_come_from_the_map() -> None:
    assert find_module(TAKEHOME) == (TAKEHOME / "perf_takehome.py").resolve()
    kernel = load_takehome(TAKEHOME / "perf_takehome_vector.py", SHAPE)
    base, width = kernel.symbols["val_1"]
    assert width == 8 and kernel.scratch_name(base + 3) == "val_1[3]"
    assert kernel.scratch_name(kernel.symbols["forest_p"][0]) == "forest_p"


def test_takehome_flow_prints_cycles_correct_utilization_and_the_final_line(
    no_rtl: None, capsys: pytest.CaptureFixture[str]
) -> None:
    status = sim_tool.main(["--takehome", str(TAKEHOME / "perf_takehome_vector.py"), *SMALL, "--seeds", "2"])
    out = capsys.readouterr().out
    assert status == 0, out
    assert "model: 8 problems, seeds 123..130" in out and "correct 8/8" in out
    assert len(re.findall(r"seed \d+: cycles 121, correct", out)) == 8
    assert "slot utilization (model, seed 123)" in out and "busiest engine" in out
    assert "seed=124 cycles_model=121 cycles_rtl=121 memory=match" in out  # SEEDS=2: two RTL runs
    assert out.strip().splitlines()[-1] == "takehome=perf_takehome_vector correct=8/8 cycles_model=121 cycles_rtl=121 memory=match"
    assert "debug compare slots not checked" in out


def test_a_wrong_kernel_names_the_first_wrong_item(no_rtl: None, capsys: pytest.CaptureFixture[str]) -> None:
    status = sim_tool.main(["--takehome", str(TAKEHOME / "perf_takehome_wrong.py"), *SMALL, "--model-seeds", "2"])
    out = capsys.readouterr().out
    assert status == 1
    mem = Problem.generate(SHAPE, 123).memory_image()
    want = values_region(reference_run(mem), SHAPE)[0]
    line = next(x for x in out.splitlines() if "seed 123" in x)
    assert f"WRONG: item 0 (memory word {SHAPE.values_p}): expected {want} (after round 1), got " in line
    assert "(not the value of any round); 16 of 16 items wrong" in line
    assert out.strip().splitlines()[-1].startswith("takehome=perf_takehome_wrong correct=0/2 ")


def test_debug_compares_stop_at_the_first_wrong_step_with_key_and_scratch_name(
    no_rtl: None, capsys: pytest.CaptureFixture[str]
) -> None:
    status = sim_tool.main(["--takehome", str(TAKEHOME / "perf_takehome_wrong.py"), *SMALL, "--debug"])
    out = capsys.readouterr().out
    assert status == 1
    expected = debug_values(Problem.generate(SHAPE, 123))[(0, 0, "hash_stage", 3)]
    assert re.search(
        rf"seed 123: debug compare failed at cycle \d+, pc \d+, debug slot 0 \(vcompare lane 0\): "
        rf"key \(0, 0, 'hash_stage', 3\): expected {expected}, got \d+ in S\[\d+\] 'val_0\[0\]'",
        out,
    ), out
    assert "memory=not-run" in out


def test_value_history_names_the_round_a_wrong_value_belongs_to() -> None:
    mem = Problem.generate(SHAPE, 4).memory_image()
    history = sim_user.value_history(mem)
    assert history[-1] == values_region(reference_run(mem), SHAPE)
    one_round_short = list(reference_run(mem))
    one_round_short[SHAPE.values_p : SHAPE.values_p + SHAPE.batch] = history[-2]
    text = sim_user.first_wrong_value(mem, one_round_short, SHAPE)
    assert text is not None and "got" in text and "(the value after round 0)" in text
    untouched = sim_user.first_wrong_value(mem, mem, SHAPE)
    assert untouched is not None and "(the input value: no round reached it)" in untouched
    assert sim_user.first_wrong_value(mem, reference_run(mem), SHAPE) is None


# --------------------------------------------------------------------------
# Bad input: one line naming the file and the place, exit status 2 (1 for a kernel that runs wrong).


BAD_CASES = [
    ("no_builder.py", 2, ["no_builder.py defines no KernelBuilder class"]),
    ("not_list.py", 2, ["not_list.py: KernelBuilder.instrs is a dict, not a list of bundle dicts"]),
    ("not_dicts.py", 2, ["not_dicts.py: KernelBuilder.instrs[1] is a tuple", "not a bundle dict"]),
    ("unknown_op.py", 2, ["unknown op 'xor_shift' on engine valu", "bundle 1, engine valu, slot 0"]),
    ("unknown_engine.py", 2, ["bundle 1: unknown engine 'tensor'"]),
    ("more_slots.py", 2, ["bundle 1, engine alu: 16 slots exceed the limit of 12", "problem.py beside the kernel is not used"]),
    ("big_scratch.py", 2, ["bundle 2, engine alu, slot 0: + operand d=4095 is outside scratch 0..1535"]),
    ("exits.py", 2, ["the module ended the process (exit status 3) before build_kernel returned", "giving up"]),
]


@pytest.mark.parametrize("module,status,parts", BAD_CASES, ids=[c[0] for c in BAD_CASES])
def test_bad_takehome_modules_get_one_clear_line(
    module: str, status: int, parts: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert sim_tool.main(["--takehome", str(BAD / module), *SMALL]) == status
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    for part in parts:
        assert part in lines[0]


@pytest.mark.parametrize(
    "path,part",
    [("/nonexistent/perf_takehome.py", "no such file or folder"), ("tests/fixtures", "the folder has no perf_takehome.py"),
     ("README.md", "not a Python file")],  # fmt: skip
)
def test_missing_or_unusable_files(path: str, part: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert sim_tool.main(["--takehome", path]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"error: {path}: {part}" or (part in err and len(err.splitlines()) == 1), err


def test_a_build_kernel_that_raises_shows_the_users_traceback_and_says_it_is_theirs(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert sim_tool.main(["--takehome", str(BAD / "raises.py"), *SMALL]) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert lines[0] == "Traceback (most recent call last):"
    assert "raises.py\", line 13, in build_kernel" in err and "in plan_rounds" in err
    assert "ZeroDivisionError: division by zero" in err
    assert "takehome_child" not in err and "tools/" not in err  # only the user's frames
    assert lines[-1].startswith("error: ") and "raised an exception in your code" in lines[-1]
    assert "build_kernel(3, 15, 16, 2)" in lines[-1]


def test_a_module_that_does_not_parse_is_the_users_code_too(capsys: pytest.CaptureFixture[str]) -> None:
    assert sim_tool.main(["--takehome", str(BAD / "not_python.py"), *SMALL]) == 2
    err = capsys.readouterr().err
    assert "SyntaxError" in err and "Traceback" not in err.split("SyntaxError")[0].split("not_python.py")[0]
    assert err.strip().splitlines()[-1].startswith("error: ") and "importing" in err


def test_build_kernel_that_never_returns_is_stopped() -> None:
    with pytest.raises(TakehomeError, match=r"slow.py: build_kernel did not return within 2 s \(stopped\)"):
        load_takehome(BAD / "slow.py", SHAPE, timeout=2)


def test_user_code_error_carries_the_traceback() -> None:
    with pytest.raises(UserCodeError) as info:
        load_takehome(BAD / "raises.py", SHAPE)
    assert "ZeroDivisionError" in info.value.traceback


def test_a_kernel_that_never_halts_stops_at_the_cycle_limit(no_rtl: None, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--takehome", str(BAD / "never_halts.py"), *SMALL, "--max-cycles", "5000"]
    assert sim_tool.main(argv) == 1
    out = capsys.readouterr().out
    assert ("seed 123: the kernel did not halt: stopped at the cycle limit of 5000 cycles, still running at pc "
            in out)  # fmt: skip
    assert out.strip().splitlines()[-1] == "takehome=never_halts correct=0/8 cycles_model=5000 cycles_rtl=- memory=not-run"


def test_an_unknown_debug_key_is_named(no_rtl: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert sim_tool.main(["--takehome", str(BAD / "bad_key.py"), *SMALL, "--debug"]) == 1
    out = capsys.readouterr().out
    assert "debug compare at cycle 1, pc 1, debug slot 0 (compare): key (0, 0, 'velocity') is not in the reference trace" in out
    assert "S[1] 'one' = 1" in out


def test_a_kernel_too_big_for_the_instruction_memory_is_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from dataclasses import replace

    small = replace(DEFAULT_PARAMS, imem_depth=16)  # the same check as at 2^18 bundles, cheaply
    monkeypatch.setattr(sim_user, "_params", lambda args: small)
    assert sim_tool.main(["--takehome", str(BAD / "huge.py"), *SMALL]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "huge.py: does not fit the RTL's instruction memory or encoding" in err
    assert "41 bundles, more than the instruction memory holds (imem_depth 16)" in err
