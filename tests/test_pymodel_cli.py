"""python -m pymodel: the command forms other tools call, their output and exit codes."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pymodel import cli, formats
from pymodel.benchmark import Problem, Shape, reference_run, values_region
from pymodel.encoding import read_hex
from pymodel.isa import Encoding
from pymodel.program import Program

ROOT = Path(__file__).resolve().parent.parent
ENGINES = ["reference"] + (["fast"] if cli.fast_available() else [])

# S[1] = 3; loop: S[1] -= 1, M[S[2]] = S[1]; while S[1]; pause; halt  -> 1 + 3*2 + 2 = 9 cycles
COUNTDOWN = [
    {"load": [["const", 1, 3], ["const", 3, 1]]},
    {"alu": [["-", 1, 1, 3]], "debug": [["comment", "free"]]},
    {"store": [["store", 2, 1]], "flow": [["cond_jump", 1, 1]]},
    {"flow": [["pause"]]},
    {"flow": [["halt"]]},
]


def write(tmp_path: Path, name: str, data) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return str(path)


def run_cli(args: list[str], capsys) -> tuple[int, list[str], list[str]]:
    code = cli.main(args)
    out, err = capsys.readouterr()
    return code, out.splitlines(), err.splitlines()


@pytest.fixture
def files(tmp_path):
    return write(tmp_path, "p.json", COUNTDOWN), write(tmp_path, "m.json", [7, 8, 9])


@pytest.mark.parametrize("engine", ENGINES)
def test_run_prints_cycles_last_and_writes_final_memory(files, tmp_path, capsys, engine):
    program, mem = files
    out_mem = tmp_path / "out.json"
    code, out, err = run_cli(["run", program, "--mem", mem, "--final-mem", str(out_mem), "--engine", engine], capsys)
    assert (code, out, err) == (0, ["cycles=9"], [])
    assert formats.read_memory(out_mem) == [0, 8, 9]  # M[S[2]] = M[0] got the last count
    code, out, _ = run_cli(["run", program, "--mem", mem, "--engine", engine, "--no-pause", "--util"], capsys)
    assert code == 0 and out[-1] == "cycles=9" and out[0].split()[0] == "engine"
    assert out[-2].startswith("cycles 9; busiest engine flow")


def test_run_trap_is_one_line_on_stderr(tmp_path, capsys):
    program = write(tmp_path, "p.json", [{"alu": [["+", 1, 1, 1]]}, {"load": [["load", 2, 5]], "alu": [["//", 3, 1, 4]]}])
    mem = write(tmp_path, "m.json", [0])
    for engine in ENGINES:
        code, out, err = run_cli(["run", program, "--mem", mem, "--engine", engine], capsys)
        assert code == 1 and out == ["cycles=1"] and len(err) == 1
        assert err[0].startswith("trap DIV_ZERO") and "cycle 1, pc 1, engine alu, slot 0" in err[0]


def test_run_cycle_limit(tmp_path, capsys):
    program = write(tmp_path, "p.json", [{"flow": [["jump", 0]]}])
    code, out, err = run_cli(["run", program, "--mem", write(tmp_path, "m.json", []), "--max-cycles", "50"], capsys)
    assert code == 1 and out == ["cycles=50"]
    assert err == ["stopped at the --max-cycles limit of 50 cycles, still running (pc 0)"]


def test_run_trace_uses_the_reference_engine(files, tmp_path, capsys):
    program, mem = files
    symbols = write(tmp_path, "s.json", {"count": [1, 1]})
    trace = tmp_path / "t.json"
    code, out, _ = run_cli(["run", program, "--mem", mem, "--trace", str(trace), "--symbols", symbols], capsys)
    assert code == 0 and out == ["cycles=9"]
    events = json.loads(trace.read_text())["traceEvents"]
    assert [e["args"]["count"] for e in events if e["name"] == "count"] == [3, 2, 1, 0]
    assert sum(e["ph"] == "X" for e in events) == 2 + 3 * (1 + 2) + 2


def test_check_correct_and_wrong(tmp_path, capsys):
    shape = Shape(height=1, rounds=0, batch=4)
    mem = Problem.generate(shape, seed=5).memory_image()
    mem_path = write(tmp_path, "m.json", mem)
    dims = ["--height", "1", "--rounds", "0", "--batch", "4"]
    halt = write(tmp_path, "halt.json", [{"flow": [["halt"]]}])
    assert run_cli(["check", halt, "--mem", mem_path, *dims], capsys)[:2] == (0, ["correct cycles=1"])
    # overwrite item 2 with 0
    clobber = [{"load": [["const", 1, shape.values_p + 2]]}, {"store": [["store", 1, 9]]}]
    code, out, _ = run_cli(["check", write(tmp_path, "w.json", clobber), "--mem", mem_path, *dims], capsys)
    assert (code, out) == (1, [f"wrong: item 2 expected {mem[shape.values_p + 2]} got 0 (cycles=2)"])
    # the image must fit the shape
    code, _, err = run_cli(["check", halt, "--mem", mem_path, "--height", "2", "--rounds", "0", "--batch", "4"], capsys)
    assert code == 2 and err == [f"error: {mem_path}: the memory image has 18 words, but height 2, batch 4 need 22"]


def test_check_a_real_kernel(tmp_path, capsys):
    tree_hash = pytest.importorskip("kernels.tree_hash")
    shape = Shape(height=3, rounds=2, batch=16)
    kernel = tree_hash.build("vector", shape)
    mem = Problem.generate(shape, seed=9).memory_image()
    program = tmp_path / "k.json"
    formats.write_program(program, kernel.program)
    mem_path = write(tmp_path, "m.json", mem)
    code, out, _ = run_cli(["check", str(program), "--mem", mem_path, "--height", "3", "--rounds", "2", "--batch", "16"], capsys)
    assert code == 0 and out[0].startswith("correct cycles=")
    assert values_region(reference_run(mem), shape) != values_region(mem, shape)  # the check compared real work


def test_disasm_encode_and_util(files, tmp_path, capsys):
    program, mem = files
    code, out, _ = run_cli(["disasm", program], capsys)
    assert code == 0 and out[0] == "0000: load[0] const 1 3 | load[1] const 3 1" and len(out) == len(COUNTDOWN)
    symbols = write(tmp_path, "s.json", {"count": [1, 1]})
    assert run_cli(["disasm", program, "--symbols", symbols], capsys)[1][1].startswith("0001: alu[0] - count count 3")
    hex_path, hw_json = tmp_path / "p.hex", tmp_path / "hw.json"
    code, out, _ = run_cli(["encode", program, "--hex", str(hex_path), "--json", str(hw_json)], capsys)
    assert code == 0 and out == [f"{hex_path}: 5 bundles of 1472 bits (0 zero-cost dropped)"]
    assert len(read_hex(hex_path, Encoding())) == 5
    assert formats.read_program(hw_json)[1].to_dict() == {"alu": [("-", 1, 1, 3)]}  # debug dropped
    code, out, _ = run_cli(["disasm", "--hex", str(hex_path)], capsys)
    assert code == 0 and out[2] == "0002: store[0] store 2 1 | flow cond_jump 1 1"
    code, out, _ = run_cli(["util", program, "--mem", mem], capsys)
    assert code == 0 and out[-1] == "cycles=9" and out[1].split()[:2] == ["alu", "3"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["run", "{p}", "--mem", "{dir}/none.json"], "error: {dir}/none.json: cannot read: No such file or directory"),
        (["run", "{bad}", "--mem", "{m}"], "error: {bad}:2:1: malformed JSON: Expecting value"),
        (["run", "{p}", "--mem", "{p}"], "error: {p}: word 0 must be an integer 0..2^32-1, got {{\"load\""),
        (["run", "{p}"], "python -m pymodel run: the following arguments are required: --mem"),
        (["run", "{p}", "--mem", "{m}", "--max-cycles", "-3"], "python -m pymodel run: argument --max-cycles: must be"),
        (["frobnicate"], "python -m pymodel: argument COMMAND: invalid choice: 'frobnicate'"),
        (["encode", "{unenc}", "--hex", "{dir}/x.hex"], "error: {unenc}: + operand d: scratch address 5000 does not fit"),
        (["check", "{p}", "--mem", "{m}", "--height", "99", "--rounds", "1", "--batch", "1"], "error: height must be"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, message, tmp_path, capsys):
    names = {
        "dir": str(tmp_path),
        "p": write(tmp_path, "p.json", COUNTDOWN),
        "m": write(tmp_path, "m.json", [0]),
        "unenc": write(tmp_path, "u.json", [{}, {"alu": [["+", 5000, 1, 2]]}]),
    }
    (tmp_path / "bad.json").write_text("[\n")
    names["bad"] = str(tmp_path / "bad.json")
    code, out, err = run_cli([a.format(**names) for a in args], capsys)
    assert code == 2 and out == [] and len(err) == 1
    assert err[0].startswith(message.format(**names)), err[0]
    if args[0] == "encode":
        assert "at bundle 1, engine alu, slot 0" in err[0]


def test_real_command_line(files, tmp_path):
    program, mem = files
    env_cmd = [sys.executable, "-m", "pymodel", "run", program, "--mem", mem, "--engine", "reference"]
    done = subprocess.run(env_cmd, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.splitlines()[-1] == "cycles=9"
    bad = subprocess.run([sys.executable, "-m", "pymodel", "disasm", str(tmp_path / "no.json")], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)  # fmt: skip
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and len(bad.stderr.splitlines()) == 1
    as_module = subprocess.run([sys.executable, "-m", "pymodel.disasm", program], cwd=ROOT, capture_output=True,
                               text=True, timeout=60)  # fmt: skip
    assert as_module.returncode == 0 and len(as_module.stdout.splitlines()) == len(Program.from_tuples(COUNTDOWN))
