"""Model speed as a user sees it: the whole process (part of `make bench`).

    python -m tools.bench_process [--old-tree DIR] [--record-old]

Times ``python -m pymodel run PROG --mem MEM --final-mem OUT`` as a
subprocess (interpreter start-up, imports, JSON, validation, decoding, the
run, writing the memory image) and reads its peak RSS from ``wait4``, on two
files:

* ``baseline-64``: the tree-hash baseline kernel at 64 rounds
  (``python -m kernels build tree_hash --variant baseline --rounds 64``),
  ~590k one-slot bundles, ~17.6 MB of JSON;
* ``dense-20k``: 20000 random straight-line bundles, every engine's slots
  full (12 alu, 6 valu, 2 load, 2 store, 1 flow: 460k slots, 11.9 MB),
  ``dense_random_program``.

Children run without PYTHONDONTWRITEBYTECODE (a user's default: Python caches
the modules' bytecode); the figures are wall seconds with the process's CPU
seconds beside them, since this machine may be shared.

Next to it, in-process: the inner loop alone (cycles/s of the compiled run,
program already decoded) and load+validate+decode per slot, so the two
figures are never confused.  The fast engine's numba cache is warm (the
second run); the first-run cost (empty numba cache) and the start-up alone
(a one-bundle program) are reported too.

The figures of the tree before issue 11 are in ``tools/bench_process_old.json``
(``--old-tree DIR --record-old`` re-measures them against a ``git worktree``
of that commit) and are printed side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "build" / "bench"
OLD_FIGURES = Path(__file__).with_name("bench_process_old.json")
PYTHON = sys.executable
REPEATS = 3  # whole-process runs per figure; the best is reported

TARGETS = {"baseline-64": 1.0, "dense-20k": 0.5}  # whole process, fast engine, s
RSS_TARGET_MB = 200
DECODE_TARGET_US = 1.0


# --------------------------------------------------------------------------
# Workload files


def dense_random_program(n_bundles: int = 20000, seed: int = 11, vlen: int = 8, scratch: int = 1536) -> tuple[list, list]:
    """(program as JSON data, memory image): every engine's slots full, no traps, then halt."""
    rng = random.Random(seed)
    ops = ["+", "-", "*", "//", "cdiv", "^", "&", "|", "<<", ">>", "%", "<", "=="]
    pool = range(16, 16 + 8 * vlen)  # non-zero constants: divisors, never written
    work = range(pool.stop, scratch)
    mem = [rng.randrange(1 << 32) for _ in range(256)]
    pro: list[dict[str, list]] = []
    inits = [(0, 5), (1, 16), (2, 128), (3, 200)] + [(a, rng.randrange(1, 1 << 32)) for a in pool]
    for k in range(0, len(inits), 2):
        pro.append({"load": [["const", d, v] for d, v in inits[k : k + 2]]})

    def src(width: int) -> int:
        return rng.randrange(pool.start, scratch - width + 1)

    def dst(width: int) -> int:
        return rng.randrange(work.start, scratch - width + 1)

    def binop(width: int) -> list:
        op = rng.choice(ops)
        b = rng.randrange(pool.start, pool.stop - width + 1) if op in ("//", "cdiv", "%") else src(width)
        return [op, dst(width), src(width), b]

    body = []
    for b in range(n_bundles):
        valu = [binop(vlen) for _ in range(5)] + [["multiply_add", dst(vlen), src(vlen), src(vlen), src(vlen)]]
        flow = (
            ["select", dst(1), src(1), src(1), src(1)] if b % 2 else ["add_imm", dst(1), src(1), rng.randrange(1 << 32)]
        )
        body.append(
            {
                "alu": [binop(1) for _ in range(12)],
                "valu": valu,
                "load": [["vload", dst(vlen), 1], ["load", dst(1), 0]],
                "store": [["vstore", 2, src(vlen)], ["store", 3, src(1)]],
                "flow": [flow],
            }
        )
    return pro + body + [{"flow": [["halt"]]}], mem


def _write_json_lines(path: Path, items: list) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text("[\n" + ",\n".join(json.dumps(x) for x in items) + "\n]\n")
    tmp.replace(path)


def workload_files() -> dict[str, tuple[Path, Path]]:
    """name -> (program, memory image), made once under build/bench/."""
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    out: dict[str, tuple[Path, Path]] = {}
    prog, mem = BENCH_DIR / "baseline64.json", BENCH_DIR / "baseline64_mem.json"
    if not (prog.exists() and mem.exists()):
        print("  (making baseline-64 once: ~40 s)", flush=True)
        cmd = [PYTHON, "-m", "kernels", "build", "tree_hash", "--variant", "baseline", "--rounds", "64",
               "--out", str(prog), "--mem-out", str(mem)]  # fmt: skip
        subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    out["baseline-64"] = (prog, mem)
    prog, mem = BENCH_DIR / "dense20k.json", BENCH_DIR / "dense20k_mem.json"
    if not (prog.exists() and mem.exists()):
        data, image = dense_random_program()
        _write_json_lines(prog, data)
        mem.write_text(json.dumps(image) + "\n")
    out["dense-20k"] = (prog, mem)
    tiny, tiny_mem = BENCH_DIR / "tiny.json", BENCH_DIR / "tiny_mem.json"
    tiny.write_text('[{"flow": [["halt"]]}]\n')
    tiny_mem.write_text("[0]\n")
    out["start-up"] = (tiny, tiny_mem)
    return out


# --------------------------------------------------------------------------
# Measuring


def measure_process(tree: Path, engine: str, prog: Path, mem: Path, env: dict[str, str] | None = None) -> dict[str, Any]:
    """One ``python -m pymodel run`` in ``tree``: wall s, peak RSS MB (the child
    is reaped with os.wait4, which gives its own rusage), cycles, final memory."""
    out = Path(tempfile.mkstemp(prefix="bench-final-", suffix=".json", dir=BENCH_DIR)[1])
    cmd = [PYTHON, "-m", "pymodel", "run", str(prog), "--mem", str(mem), "--final-mem", str(out), "--engine", engine]
    env = dict(env if env is not None else os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # a user's default: modules' bytecode cached
    with tempfile.TemporaryFile() as so, tempfile.TemporaryFile() as se:
        t0 = time.perf_counter()
        pid = subprocess.Popen(cmd, cwd=tree, stdout=so, stderr=se, env=env).pid
        _, status, usage = os.wait4(pid, 0)
        wall = time.perf_counter() - t0
        so.seek(0)
        se.seek(0)
        stdout, stderr = so.read().decode(), se.read().decode()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise RuntimeError(f"{' '.join(cmd)} (in {tree}) exited {code}: {stderr[-500:]}")
    cycles = int(stdout.strip().splitlines()[-1].split("=")[1])
    final = out.read_text()
    out.unlink()
    cpu = usage.ru_utime + usage.ru_stime
    return {"wall_s": wall, "cpu_s": cpu, "rss_mb": usage.ru_maxrss / 1024, "cycles": cycles, "final": final}


_INNER = """
import sys, time, json
from pymodel import formats
from pymodel.fast import FastMachine
FastMachine([{"alu": [("+", 0, 0, 0)]}], [0]).run()  # the compiled loop loaded first
prog = formats.read_program(sys.argv[1]); mem = formats.read_memory(sys.argv[2])
best = None
for _ in range(3):  # CPU seconds of the run alone, best of 3 (the machine may be shared)
    m = FastMachine(prog, mem, enable_debug=False)
    t0 = time.process_time(); m.run_to_end(); t = time.process_time() - t0
    best = t if best is None else min(best, t)
print(json.dumps({"cycles": m.cycle, "run_s": best}))
"""

_PHASES = """
import sys, json
from tools.bench_process import phases
print(json.dumps(phases(sys.argv[1], sys.argv[2])))
"""


def phases(prog: str, mem: str) -> dict[str, float]:
    """In-process, the new tree: seconds to load+validate+decode the file for
    the fast engine, slots, and the inner loop's run seconds."""
    from pymodel import formats
    from pymodel.fast import FastMachine

    FastMachine([{"alu": [("+", 0, 0, 0)]}], [0]).run()  # the compiled loop loaded before timing
    image = formats.read_memory(mem)
    t1, c1 = time.perf_counter(), time.process_time()
    machine = FastMachine.from_file(prog, image, enable_debug=False)
    t2, c2 = time.perf_counter(), time.process_time()
    machine.run_to_end()
    t3 = time.perf_counter()
    return {"slots": int(machine.decoded.n_slots), "cycles": machine.cycle, "decode_s": t2 - t1,
            "decode_cpu_s": c2 - c1, "run_s": t3 - t2}  # fmt: skip


def inner_loop(tree: Path, prog: Path, mem: Path) -> dict[str, Any]:
    out = subprocess.run([PYTHON, "-c", _INNER, str(prog), str(mem)], cwd=tree, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure_tree(tree: Path, files: dict[str, tuple[Path, Path]], *, reference: bool = True) -> dict[str, Any]:
    """Every whole-process figure of one tree."""
    res: dict[str, Any] = {}
    fresh_cache = tempfile.mkdtemp(prefix="bench-numba-", dir=BENCH_DIR)
    fresh_native = tempfile.mkdtemp(prefix="bench-native-", dir=BENCH_DIR)
    env = dict(os.environ, NUMBA_CACHE_DIR=fresh_cache, VLIWSIM_NATIVE_DIR=fresh_native)
    first = measure_process(tree, "fast", *files["dense-20k"], env=env)  # nothing compiled yet: compiles
    res["first_run_dense_s"] = first["wall_s"]
    res["first_run_dense_cpu_s"] = first["cpu_s"]
    shutil.rmtree(fresh_cache, ignore_errors=True)
    shutil.rmtree(fresh_native, ignore_errors=True)
    runs = [measure_process(tree, "fast", *files["start-up"]) for _ in range(REPEATS)]
    res["startup_s"] = min(r["wall_s"] for r in runs)
    res["startup_cpu_s"] = min(r["cpu_s"] for r in runs)
    res["startup_rss_mb"] = max(r["rss_mb"] for r in runs)
    for name in ("baseline-64", "dense-20k"):
        prog, mem = files[name]
        runs = [measure_process(tree, "fast", prog, mem) for _ in range(REPEATS)]
        best = min(runs, key=lambda r: r["wall_s"])
        row = {"fast_s": best["wall_s"], "fast_cpu_s": min(r["cpu_s"] for r in runs),
               "fast_rss_mb": max(r["rss_mb"] for r in runs), "cycles": best["cycles"]}  # fmt: skip
        if reference:
            ref = measure_process(tree, "reference", prog, mem)
            if (ref["cycles"], ref["final"]) != (best["cycles"], best["final"]):
                raise RuntimeError(f"{tree}: engines disagree on {name}")
            row.update(ref_s=ref["wall_s"], ref_cpu_s=ref["cpu_s"], ref_rss_mb=ref["rss_mb"])
        inner = inner_loop(tree, prog, mem)
        row["inner_cycles_per_s"] = inner["cycles"] / inner["run_s"]
        res[name] = row
    return res


# --------------------------------------------------------------------------
# Report


def _f(v: Any, fmt: str) -> str:
    return "-" if v is None else format(v, fmt)


def _pair(wall: Any, cpu: Any) -> str:
    """wall s (cpu s): the machine may be shared, so both."""
    if wall is None:
        return "-"
    return f"{wall:.2f}" + (f" ({cpu:.2f})" if cpu is not None else "")


def report(new: dict[str, Any], old: dict[str, Any] | None, new_phases: dict[str, dict[str, float]],
           generic: dict[str, float] | None = None) -> str:  # fmt: skip
    o = old or {}
    load = os.getloadavg()[0]
    lines = [
        "whole process: python -m pymodel run PROG --mem MEM --final-mem OUT, best of "
        f"{REPEATS}, compiled code cached (2nd run);",
        f"seconds as wall (cpu = user+sys of the process); load average now {load:.1f} on {os.cpu_count()} cores",
    ]
    head = f"{'program':<12} {'figure':<40} {'before':>14} {'now':>14} {'target':>8}"
    lines += [head, "-" * len(head)]

    def get(d: dict[str, Any], prog: str, key: str) -> Any:
        return d.get(prog, {}).get(key) if prog else d.get(key)

    def row(prog: str, label: str, before: str, now: str, target: str = "") -> None:
        lines.append(f"{prog or '-':<12} {label:<40} {before:>14} {now:>14} {target:>8}")

    for prog in ("baseline-64", "dense-20k"):
        for engine, key in (("fast", "fast"), ("reference", "ref")):
            t = f"<= {TARGETS[prog]}" if engine == "fast" else ""
            row(prog, f"{engine} engine, whole process s", _pair(get(o, prog, f"{key}_s"), get(o, prog, f"{key}_cpu_s")),
                _pair(get(new, prog, f"{key}_s"), get(new, prog, f"{key}_cpu_s")), t)  # fmt: skip
            t = f"<= {RSS_TARGET_MB}" if engine == "fast" and prog == "baseline-64" else ""
            row(prog, f"{engine} engine, peak RSS MB", _f(get(o, prog, f"{key}_rss_mb"), ".0f"),
                _f(get(new, prog, f"{key}_rss_mb"), ".0f"), t)  # fmt: skip
        row(prog, "inner loop only (fast), Mcycles/s (cpu)", _f(_scale(get(o, prog, "inner_cycles_per_s")), ".1f"),
            _f(_scale(get(new, prog, "inner_cycles_per_s")), ".1f"))  # fmt: skip
        ph = new_phases.get(prog)
        if ph:
            per_slot, cpu = (ph[k] / max(1, ph["slots"]) * 1e6 for k in ("decode_s", "decode_cpu_s"))
            row(prog, f"load+validate+decode us/slot ({ph['slots']} slots)", "-", f"{per_slot:.2f} ({cpu:.2f})",
                "<= 1.0")  # fmt: skip
    row("", "start-up alone (1-bundle program) s", _pair(o.get("startup_s"), o.get("startup_cpu_s")),
        _pair(new.get("startup_s"), new.get("startup_cpu_s")))  # fmt: skip
    row("", "first run, nothing compiled yet (dense) s", _pair(o.get("first_run_dense_s"), o.get("first_run_dense_cpu_s")),
        _pair(new.get("first_run_dense_s"), new.get("first_run_dense_cpu_s")))  # fmt: skip
    if generic:
        lines.append(
            f"generic path (ops with no compiled form run on OpSpec.execute): tree_hash:vgather, "
            f"{generic['generic_bundles']} of {generic['bundles']} bundles generic, {generic['cycles']} cycles: "
            f"fast {generic['fast_s'] * 1e3:.1f} ms ({generic['us_per_generic']:.0f} us per generic bundle run), "
            f"reference {generic['ref_s'] * 1e3:.1f} ms"
        )
    return "\n".join(lines)


def _scale(v: Any) -> Any:
    return None if v is None else v * 1e-6


def generic_cost() -> dict[str, float] | None:
    """What the generic path costs: the vgather kernel, whose vgather slots have no compiled form."""
    from dataclasses import replace

    from pymodel.fast import FastMachine
    from pymodel.isa import DEFAULT_PARAMS
    from pymodel.machine import Machine

    try:
        from kernels.tree_hash import build
        from pymodel.benchmark import BENCHMARK_SHAPE, Problem

        params = replace(DEFAULT_PARAMS, extensions=("vgather",))
        kernel = build("vgather", BENCHMARK_SHAPE, params)
    except Exception as e:  # noqa: BLE001 - no vgather kernel in this tree
        print(f"  (generic-path figure skipped: {type(e).__name__}: {e})")
        return None
    mem = Problem.generate(seed=123).memory_image()
    FastMachine([{"alu": [("+", 0, 0, 0)]}], [0]).run()
    fast = FastMachine(kernel.program, mem, params, enable_debug=False)
    t0 = time.perf_counter()
    fast.run_to_end()
    fast_s = time.perf_counter() - t0
    ref = Machine(kernel.program, mem, params, enable_debug=False)
    t0 = time.perf_counter()
    ref.run_to_end()
    ref_s = time.perf_counter() - t0
    if (ref.cycle, ref.mem) != (fast.cycle, fast.mem):
        raise RuntimeError("engines disagree on the vgather kernel")
    d = fast.decoded
    runs = int(fast.bundle_counts[d.bundle_generic.astype(bool)].sum())
    return {"bundles": d.n_bundles, "generic_bundles": int(d.bundle_generic.sum()), "cycles": fast.cycle,
            "fast_s": fast_s, "ref_s": ref_s, "us_per_generic": fast_s / max(1, runs) * 1e6}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.bench_process", description=__doc__.splitlines()[0])
    ap.add_argument("--old-tree", type=Path, help="also measure this tree (a git worktree of the old commit)")
    ap.add_argument("--record-old", action="store_true", help=f"store the --old-tree figures in {OLD_FIGURES.name}")
    ap.add_argument("--no-reference", action="store_true", help="skip the reference engine's runs")
    args = ap.parse_args(argv)
    files = workload_files()
    old = json.loads(OLD_FIGURES.read_text()) if OLD_FIGURES.exists() else None
    if args.old_tree:
        old = measure_tree(args.old_tree.resolve(), files, reference=not args.no_reference)
        if args.record_old:
            OLD_FIGURES.write_text(json.dumps(old, indent=1) + "\n")
    new = measure_tree(ROOT, files, reference=not args.no_reference)
    new_phases: dict[str, dict[str, float]] = {}
    for name in ("baseline-64", "dense-20k"):
        out = subprocess.run([PYTHON, "-c", _PHASES, *map(str, files[name])], cwd=ROOT, capture_output=True, text=True)
        if out.returncode == 0:
            new_phases[name] = json.loads(out.stdout.strip().splitlines()[-1])
    print(report(new, old, new_phases, generic_cost()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
