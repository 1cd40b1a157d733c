"""`make sim PROGRAM=prog.json [MEM=mem.json]`: any interchange program on model and RTL,
the final line, the values check and the bad inputs (RTL stood in by the model here;
cocotb_tests/test_user_kernels.py runs the real RTL)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import tools.sim as sim_tool
from kernels.cli import main as kernels_main
from pymodel.benchmark import Problem, Shape, reference_run, values_region
from pymodel.formats import write_memory
from tests.takehome_support import no_rtl  # noqa: F401 (fixture)

SHAPE = ["--height", "4", "--rounds", "3", "--batch", "16"]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("prog")
    prog, mem = d / "prog.json", d / "mem.json"
    assert kernels_main(["build", "tree_hash", "--variant", "vector", "--seed", "5", *SHAPE,
                         "--out", str(prog), "--mem-out", str(mem)]) == 0  # fmt: skip
    return prog, mem


def _last(out: str) -> str:
    return out.strip().splitlines()[-1]


def test_program_and_memory_end_with_the_program_line(
    no_rtl: None, files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    prog, mem = files
    assert sim_tool.main(["--program", str(prog), "--mem", str(mem)]) == 0
    out = capsys.readouterr().out
    last = _last(out)
    assert last.startswith("program=prog cycles_model=") and last.endswith(" memory=match")
    model, rtl = (int(x.split("=")[1]) for x in last.split()[1:3])
    assert model == rtl > 0
    assert "values vs reference_run  match" in out  # the image's header says it is a tree-hash problem
    assert "slot utilization (model)" in out


def test_without_mem_the_problem_is_generated_and_checked(
    no_rtl: None, files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    prog, _ = files
    assert sim_tool.main(["--program", str(prog), *SHAPE, "--seed", "77", "--debug"]) == 0
    out = capsys.readouterr().out
    assert "the tree-hash problem (seed 77, Shape(height=4, rounds=3, batch=16))" in out
    assert _last(out).endswith("memory=match")


def test_a_memory_image_that_is_not_a_tree_hash_problem_is_compared_only(
    no_rtl: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prog = tmp_path / "store.json"
    prog.write_text(json.dumps([{"load": [["const", 0, 3], ["const", 1, 42]]}, {"store": [["store", 0, 1]]}]))
    mem = tmp_path / "m.json"
    write_memory(mem, [0] * 8)
    assert sim_tool.main(["--program", str(prog), "--mem", str(mem)]) == 0
    out = capsys.readouterr().out
    assert "values vs reference_run  not checked (no tree-hash problem)" in out
    assert _last(out) == "program=store cycles_model=2 cycles_rtl=2 memory=match"


def test_an_imported_program_may_write_one_word_twice_in_a_bundle(
    no_rtl: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The reference machine runs such bundles (the later slot wins); only the assembler refuses them.
    data = [{"load": [["const", 0, 3], ["const", 1, 5]]}, {"alu": [["+", 1, 0, 0], ["^", 1, 0, 0]]},
            {"load": [["const", 2, 7], ["const", 2, 9]]}, {"store": [["store", 0, 2]]}]  # fmt: skip
    prog = tmp_path / "twice.json"
    prog.write_text(json.dumps(data))
    mem = tmp_path / "m.json"
    write_memory(mem, [0] * 8)
    from kernels.validate import ValidationError, validate
    from pymodel.formats import read_program

    with pytest.raises(ValidationError, match="two writes to one word"):
        validate(read_program(prog))
    assert sim_tool.main(["--program", str(prog), "--mem", str(mem)]) == 0
    assert _last(capsys.readouterr().out) == "program=twice cycles_model=4 cycles_rtl=4 memory=match"
    from cocotb_tests.model_side import run_model
    from pymodel.isa import DEFAULT_PARAMS

    for engine in ("fast", "reference"):
        final = run_model(read_program(prog), [0] * 8, DEFAULT_PARAMS, engine, max_cycles=100)
        assert final.mem[3] == 9 and final.scratch[1] == 3 ^ 3  # the later slot won


def test_wrong_values_name_the_first_wrong_item(
    no_rtl: None, files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prog, mem_path = files
    mem = json.loads(mem_path.read_text())
    shape = Shape(4, 3, 16)
    short = tmp_path / "short.json"
    prog_data = json.loads(prog.read_text())
    # drop the kernel's final stores: values stay as they came in
    kept = [b for b in prog_data if "store" not in b]
    short.write_text(json.dumps(kept))
    assert sim_tool.main(["--program", str(short), "--mem", str(mem_path)]) == 1
    out = capsys.readouterr().out
    want = values_region(reference_run(mem), shape)[0]
    got = values_region(Problem.generate(shape, 5).memory_image(), shape)[0]
    assert f"wrong: item 0 (memory word {shape.values_p}): expected {want} (after round 2), got {got} " in out
    assert "(the input value: no round reached it)" in out
    assert _last(out).startswith("program=short ") and _last(out).endswith("memory=MISMATCH")


@pytest.mark.parametrize(
    "args,part",
    [
        (["--program", "/nonexistent.json"], "error: /nonexistent.json: cannot read: No such file or directory"),
        (["--mem", "m.json"], "error: --mem (MEM=) goes with --program (PROGRAM=)"),
    ],
)
def test_missing_files_and_misuse(args: list[str], part: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert sim_tool.main(args) == 2
    assert capsys.readouterr().err.strip() == part


def test_unreadable_program_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_bytes(b"[{\"alu\": [[\"+\", 1, 2,]]}]")
    assert sim_tool.main(["--program", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {bad}:1:") and "malformed JSON" in err and len(err.splitlines()) == 1


def test_an_op_the_machine_lacks_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"alu": [["+", 1, 2, 3]]}, {"valu": [["fma", 8, 16, 24]]}]))
    assert sim_tool.main(["--program", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert "unknown op 'fma' on engine valu" in err and "bundle 1, engine valu, slot 0" in err


def test_a_memory_image_that_does_not_match_the_shape(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    prog, mem = files
    assert sim_tool.main(["--program", str(prog), "--mem", str(mem), "--height", "5", "--rounds", "3", "--batch", "16"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"error: {mem}: the memory image has 70 words, but height 5, batch 16 need 102"


def test_a_program_touching_memory_outside_the_image_is_refused_before_running(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prog = tmp_path / "far.json"
    prog.write_text(json.dumps([{"load": [["const", 0, 5000]]}, {"load": [["load", 1, 0]]}]))
    mem = tmp_path / "m.json"
    write_memory(mem, [0] * 16)
    assert sim_tool.main(["--program", str(prog), "--mem", str(mem)]) == 2
    err = capsys.readouterr().err.strip()
    assert "bundle 1, engine load, slot 0" in err and "outside memory 0..15" in err


def test_make_sim_passes_its_variables_to_the_tool() -> None:
    import subprocess

    repo = Path(__file__).resolve().parent.parent
    # -W: print the install step too, never run it; --no-print-directory: also under `make test`
    make = ["make", "-n", "--no-print-directory", "-W", "pyproject.toml", "sim"]
    variables = ["PROGRAM=p.json", "MEM=m.json", "SEEDS=3", "HEIGHT=4", "ROUNDS=5", "BATCH=32", "TRACE=1",
                 "DEBUG=1", "MAX_CYCLES=999"]  # fmt: skip
    out = subprocess.run(make + variables, cwd=repo, capture_output=True, text=True, timeout=60).stdout
    line = out.strip().splitlines()[-1]
    assert "-m tools.sim --kernel default --seed 123" in line
    assert line.endswith("--program p.json --mem m.json --seeds 3 --height 4 --rounds 5 --batch 32 --trace 1 "
                         "--debug 1 --max-cycles 999")  # fmt: skip
    out = subprocess.run(make + ["TAKEHOME=tests/fixtures/takehome"], cwd=repo, capture_output=True, text=True,
                         timeout=60).stdout  # fmt: skip
    assert out.strip().splitlines()[-1].endswith("--takehome tests/fixtures/takehome")
    plain = subprocess.run(make, cwd=repo, capture_output=True, text=True, timeout=60).stdout
    assert "--program" not in plain and "--takehome" not in plain


@pytest.mark.parametrize("module,status", [("perf_takehome_vector.py", 0), ("perf_takehome_wrong.py", 1)])
def test_debug_keys_that_went_through_json_check_as_in_the_takehome(
    no_rtl: None, module: str, status: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pymodel.formats import write_program
    from tests.takehome_support import TAKEHOME
    from tools.takehome import load_takehome

    shape = Shape(3, 2, 16)
    prog = tmp_path / "th.json"
    write_program(prog, load_takehome(TAKEHOME / module, shape).program)
    assert '[0, 0, "hash_stage", 3]' in prog.read_text()  # keys are lists once in JSON
    argv = ["--program", str(prog), "--height", "3", "--rounds", "2", "--batch", "16", "--seed", "8", "--debug"]
    assert sim_tool.main(argv) == status
    out = capsys.readouterr().out
    if status == 0:
        assert "compare slots checked against the reference trace, all equal" in out
        assert _last(out).endswith("memory=match")
    else:
        assert "debug compare failed at cycle" in out and "key (0, 0, 'hash_stage', 3): expected" in out
        assert _last(out) == "program=th cycles_model=" + out.split("debug compare failed at cycle ")[1].split(",")[0] \
            + " cycles_rtl=- memory=not-run"


def test_a_program_that_never_halts_stops_at_the_cycle_limit(
    no_rtl: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prog = tmp_path / "loop.json"
    prog.write_text(json.dumps([{"alu": [["+", 1, 1, 2]]}, {"flow": [["jump", 0]]}]))
    assert sim_tool.main(["--program", str(prog), "--height", "2", "--rounds", "1", "--batch", "8",
                          "--max-cycles", "777"]) == 1  # fmt: skip
    out = capsys.readouterr().out
    assert "error: the kernel did not halt: stopped at the cycle limit of 777 cycles, still running at pc 1" in out
    assert _last(out) == "program=loop cycles_model=777 cycles_rtl=- memory=not-run"


def test_a_folder_as_program_and_a_memory_image_too_big_for_the_rtl(
    files: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from dataclasses import replace

    import tools.sim_user as sim_user
    from pymodel.isa import DEFAULT_PARAMS

    assert sim_tool.main(["--program", str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip() == f"error: {tmp_path}: cannot read: Is a directory"
    prog, mem = files
    monkeypatch.setattr(sim_user, "_params", lambda args: replace(DEFAULT_PARAMS, mem_depth=64))
    assert sim_tool.main(["--program", str(prog), "--mem", str(mem)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"error: {mem}: the memory image of 70 words exceeds the RTL data memory (mem_depth 64)"
