"""The `vliwsim` console script: every subcommand, its --help with an example, and the
hand-over to the modules behind it (their options and exit statuses unchanged)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.takehome_support import TAKEHOME, no_rtl  # noqa: F401 (fixture)
from tools import cli

SUBCOMMANDS = ["build", "list", "run", "check", "disasm", "encode", "trace", "util", "sim", "fuzz", "mutate", "coverage", "dse",
               "bench"]
SHAPE = ["--height", "3", "--rounds", "2", "--batch", "16"]


def test_help_lists_every_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in SUBCOMMANDS:
        assert f"\n  {name} " in out
        assert f"  vliwsim {name}" in out  # an example each
    assert cli.main([]) == 2


def test_the_console_script_is_installed() -> None:
    exe = shutil.which("vliwsim", path=str(Path(sys.executable).parent))
    assert exe is not None, "pip install -e . exposes vliwsim ([project.scripts] in pyproject.toml)"
    out = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "commands:" in out.stdout and "sim" in out.stdout


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_each_subcommand_help_has_an_example(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([name, "--help"]) == 0
    out = capsys.readouterr().out
    assert "usage:" in out and "examples:" in out and f"vliwsim {name}" in out


def test_unknown_command_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["simulate"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("vliwsim: error: unknown command 'simulate' (commands: build, list, run")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    d = tmp_path_factory.mktemp("cli")
    prog, mem, sym = d / "p.json", d / "m.json", d / "s.json"
    argv = ["build", "tree_hash", "--variant", "vector", *SHAPE, "--out", str(prog), "--mem-out", str(mem),
            "--symbols-out", str(sym)]  # fmt: skip
    assert cli.main(argv) == 0
    return prog, mem, sym


def test_build_run_check_util_disasm_encode(built: tuple[Path, Path, Path], tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    prog, mem, _ = built
    capsys.readouterr()
    assert cli.main(["run", str(prog), "--mem", str(mem), "--final-mem", str(tmp_path / "out.json")]) == 0
    cycles = capsys.readouterr().out.strip().splitlines()[-1]
    assert cycles.startswith("cycles=") and int(cycles[7:]) > 0
    assert cli.main(["check", str(prog), "--mem", str(mem), *SHAPE]) == 0
    assert capsys.readouterr().out.strip() == f"correct {cycles}"
    assert cli.main(["util", str(prog), "--mem", str(mem)]) == 0
    assert "busiest engine" in capsys.readouterr().out
    assert cli.main(["disasm", str(prog)]) == 0
    assert len(capsys.readouterr().out.splitlines()) == len(json.loads(prog.read_text()))
    assert cli.main(["encode", str(prog), "--hex", str(tmp_path / "p.hex")]) == 0
    assert (tmp_path / "p.hex").read_text().count("\n") > 0
    assert cli.main(["list"]) == 0
    assert "tree_hash" in capsys.readouterr().out
    assert cli.main(["run", str(prog)]) == 2  # pymodel.cli's usage error, its exit status
    assert "--mem" in capsys.readouterr().err


def test_trace_writes_a_perfetto_file(built: tuple[Path, Path, Path], tmp_path: Path) -> None:
    prog, mem, sym = built
    out = tmp_path / "t.json"
    assert cli.main(["trace", str(prog), "--mem", str(mem), "--out", str(out), "--symbols", str(sym)]) == 0
    events = json.loads(out.read_text())["traceEvents"]
    assert any(e.get("ph") == "X" for e in events) and any(e.get("name") == "pc" for e in events)


def test_sim_goes_to_tools_sim(no_rtl: None, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["sim", "--takehome", str(TAKEHOME / "perf_takehome_vector.py"), *SHAPE, "--model-seeds", "1"]
    assert cli.main(argv) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1].startswith("takehome=perf_takehome_vector correct=1/1")


@pytest.mark.parametrize("name,module", [("fuzz", "tools.fuzz"), ("mutate", "tools.mutate"), ("coverage", "tools.rtl_coverage"),
                                       ("dse", "tools.dse"), ("bench", "tools.bench")])
def test_campaign_tools_get_the_arguments_as_given(name: str, module: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    mod = importlib.import_module(module)
    seen: list[Any] = []
    if name == "bench":
        monkeypatch.setattr(mod, "main", lambda: seen.append("ran") or 3)
        assert cli.main([name]) == 3 and seen == ["ran"]
        assert cli.main([name, "--fast"]) == 2  # takes no arguments: said, not ignored
    else:
        monkeypatch.setattr(mod, "main", lambda argv=None: seen.append(argv) or 1)
        assert cli.main([name, "--n", "5", "--seed", "2"]) == 1
        assert seen == [["--n", "5", "--seed", "2"]]
