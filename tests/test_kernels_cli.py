"""``python -m kernels`` and the kernel registry."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kernels.cli import main
from kernels.registry import KERNELS, UnknownKernel, get_kernel, resolve
from pymodel.benchmark import Problem, Shape, reference_run, values_region
from pymodel.formats import read_memory, read_program, read_symbols
from pymodel.isa import RunState
from pymodel.machine import Machine

ROOT = Path(__file__).resolve().parent.parent


def test_build_writes_program_memory_and_symbols(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, mem_out, sym_out = tmp_path / "p.json", tmp_path / "m.json", tmp_path / "s.json"
    args = ["build", "tree_hash", "--variant", "vector", "--seed", "5"]
    args += ["--height", "3", "--rounds", "6", "--batch", "13"]
    assert main([*args, "--out", str(out), "--mem-out", str(mem_out), "--symbols-out", str(sym_out)]) == 0
    assert "tree_hash/vector H=3 R=6 B=13" in capsys.readouterr().out
    shape = Shape(3, 6, 13)
    mem = read_memory(mem_out)
    assert mem == Problem.generate(shape, 5).memory_image()
    m = Machine(read_program(out), mem)
    assert m.run_to_end() is RunState.HALTED
    assert values_region(m.mem, shape) == values_region(reference_run(mem), shape)
    assert read_symbols(sym_out)["val[0:]"][1] == 16


def test_build_defaults_are_the_benchmark(tmp_path: Path) -> None:
    out, mem_out = tmp_path / "p.json", tmp_path / "m.json"
    assert main(["build", "tree_hash", "--out", str(out), "--mem-out", str(mem_out)]) == 0
    mem = read_memory(mem_out)
    assert len(mem) == 2566 and mem[:8] == [16, 2047, 256, 10, 7, 2054, 2310, 112449971]
    m = Machine(read_program(out), mem)  # the default variant: vector
    assert m.run_to_end() is RunState.HALTED
    assert values_region(m.mem, Shape())[:4] == [677941075, 2166718950, 1850294448, 228067758]


def test_build_the_second_kernel(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """hash_values: listed, built from the command line, right on the model."""
    from kernels import hash_values

    out, mem_out = tmp_path / "p.json", tmp_path / "m.json"
    args = ["build", "hash_values", "--seed", "4", "--rounds", "3", "--batch", "21"]
    assert main([*args, "--out", str(out), "--mem-out", str(mem_out)]) == 0
    assert "hash_values/dataflow H=10 R=3 B=21" in capsys.readouterr().out
    shape = Shape(10, 3, 21)
    mem = read_memory(mem_out)
    m = Machine(read_program(out), mem)
    assert m.run_to_end() is RunState.HALTED
    assert values_region(m.mem, shape) == hash_values.reference(mem, shape)
    assert main(["list"]) == 0
    listing = capsys.readouterr().out
    assert "hash_values:" in listing and "dataflow (default)" in listing


def test_build_for_a_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--config builds the config's variant; the file runs on that machine and is refused on the spec's."""
    from cocotb_tests.model_side import run_model
    from pymodel.benchmark import reference_run
    from pymodel.configs import get_config

    out, mem_out = tmp_path / "p.json", tmp_path / "m.json"
    args = ["build", "tree_hash", "--variant", "vgather", "--rounds", "3", "--batch", "16", "--height", "4"]
    assert main([*args, "--config", "vgather", "--out", str(out), "--mem-out", str(mem_out)]) == 0
    assert "tree_hash/vgather H=4 R=3 B=16 config=vgather" in capsys.readouterr().out
    mem, shape = read_memory(mem_out), Shape(4, 3, 16)
    vgather = get_config("vgather").params
    final = run_model(read_program(out, vgather), mem, vgather, "fast", max_cycles=1 << 20)  # tagged: vgather only
    assert values_region(final.mem, shape) == values_region(reference_run(mem), shape)
    assert main([*args, "--out", str(out)]) == 1  # the spec's machine has no vgather
    assert "needs a machine with the vgather extension" in capsys.readouterr().err


def one_line_error(capsys: pytest.CaptureFixture[str], argv: list[str], code: int = 2) -> str:
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == code
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("python -m kernels"), err
    return err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["build", "tree_hash", "--variant", "nope", "--out", "x"], "no variant 'nope' (variants: baseline, vector, optimized, dataflow"),
        (["build", "tree_hash", "--height", "30", "--out", "x"], "height must be 0..20, got 30"),
        (["build", "tree_hash", "--batch", "many", "--out", "x"], "argument --batch: invalid int value: 'many'"),
        (["build", "treehash", "--out", "x"], "unknown kernel 'treehash' (kernels: tree_hash, hash_values)"),
        (["build", "tree_hash"], "the following arguments are required: --out"),
        (["build", "tree_hash", "--config", "nope", "--out", "x"], "unknown machine config 'nope' (configs: default, vgather"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        ([], "the following arguments are required: command"),
    ],
)
def test_argument_errors_are_one_line(capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    assert message in one_line_error(capsys, argv)


def test_unwritable_output_is_a_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "missing-dir" / "p.json"
    assert main(["build", "tree_hash", "--rounds", "1", "--batch", "8", "--out", str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "missing-dir" in err


def test_list_from_the_command_line() -> None:
    cmd = [sys.executable, "-m", "kernels", "list"]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "tree_hash:" in done.stdout and "baseline, vector, optimized (default)" in done.stdout
    assert "default = tree_hash/optimized" in done.stdout


def test_registry_resolves_make_sim_names() -> None:
    tree_hash = KERNELS["tree_hash"]
    assert get_kernel("tree_hash") is tree_hash
    assert resolve("default") == (tree_hash, "optimized")
    assert resolve("optimized") == (tree_hash, "optimized")
    assert resolve("baseline") == (tree_hash, "baseline")
    assert resolve("vector") == (tree_hash, "vector")
    assert resolve("tree_hash") == (tree_hash, "optimized")
    assert resolve("tree_hash:baseline") == (tree_hash, "baseline")
    assert resolve("tree_hash:dataflow") == (tree_hash, "dataflow")
    assert resolve("hash_values") == (KERNELS["hash_values"], "dataflow")
    with pytest.raises(UnknownKernel, match="unknown kernel 'fastest'"):
        resolve("fastest")
    with pytest.raises(UnknownKernel, match="kernel tree_hash has no variant 'scalar'"):
        resolve("tree_hash:scalar")
    with pytest.raises(UnknownKernel, match="unknown kernel 'x' \\(kernels: tree_hash, hash_values\\)"):
        get_kernel("x")
    built = tree_hash.build("vector", Shape(1, 2, 8))
    assert built.program and built.variant == "vector"
