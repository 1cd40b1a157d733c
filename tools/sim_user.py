"""`make sim PROGRAM=...` and `make sim TAKEHOME=...`: the user's own kernel on the model and the RTL.

    python -m tools.sim --program prog.json [--mem mem.json]
    python -m tools.sim --takehome path/to/perf_takehome.py [--model-seeds 8] [--seeds 1] [--debug]

A program file runs on the model and on the RTL and ends with
``program=NAME cycles_model=N cycles_rtl=N memory=match``.  Without a memory
image the tree-hash problem is generated from --seed and the shape, and the
values region is checked against the reference too.  A take-home
``KernelBuilder`` is built in a child process (``tools.takehome``), run on the
model for several seeds (values checked), cross-checked on the RTL for
--seeds of them, and the run ends with
``takehome=NAME correct=K/N cycles_model=N cycles_rtl=N memory=match``.

Exit status: 0 all good; 1 a wrong value, a failed debug compare, a trap, a
kernel that did not halt, or a model/RTL mismatch; 2 bad input or a missing
tool (one line on stderr naming the file and place).
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cocotb_tests.job import RunMode
from cocotb_tests.simbuild import SimBuildError, SimulatorUnavailable, check_simulator
from cocotb_tests.simrun import SimRunError
from cocotb_tests.xcheck import XCheckReport, XCheckSetupError
from kernels.tree_hash.reference_trace import debug_values
from kernels.validate import validate
from pymodel import formats
from pymodel.benchmark import BENCHMARK_SHAPE, FOREST_P, HEADER_WORDS, Problem, Shape, hash_value, values_region
from pymodel.encoding import to_hardware
from pymodel.events import Trap
from pymodel.isa import DEFAULT_PARAMS, Engine, MachineParams, RunState, TrapCause
from pymodel.program import Program, ProgramError
from pymodel.utilization import Utilization
from tools import sim as sim_tool
from tools.takehome import TakehomeError, TakehomeKernel, UserCodeError, load_takehome

DEFAULT_MAX_CYCLES = 10_000_000
DEFAULT_MODEL_SEEDS = 8  # like the take-home's own submission check
TRACE_DIR = Path("build/traces")


class BadInput(Exception):
    """One line for stderr, exit status 2."""


def add_arguments(ap: argparse.ArgumentParser) -> None:
    g = ap.add_argument_group("your own kernel (instead of --kernel)")
    g.add_argument("--program", metavar="PROG.json", help="a program in the interchange JSON format")
    g.add_argument("--mem", metavar="MEM.json", help="its memory image (default: the tree-hash problem of --seed)")
    g.add_argument("--takehome", metavar="PATH", help="a take-home perf_takehome.py with a KernelBuilder, or its folder")
    g.add_argument("--height", type=int, help=f"tree height (default {BENCHMARK_SHAPE.height})")
    g.add_argument("--rounds", type=int, help=f"rounds (default {BENCHMARK_SHAPE.rounds})")
    g.add_argument("--batch", type=int, help=f"batch size (default {BENCHMARK_SHAPE.batch})")
    g.add_argument("--model-seeds", type=int, default=DEFAULT_MODEL_SEEDS, metavar="N",
                   help=f"take-home: problems checked on the model (default {DEFAULT_MODEL_SEEDS}: seeds S..S+N-1)")
    g.add_argument("--seeds", type=int, default=1, metavar="N", help="problems cross-checked on the RTL (default 1)")
    g.add_argument("--debug", type=int, nargs="?", const=1, default=0, choices=(0, 1),
                   help="check the kernel's debug compare/vcompare slots against the reference trace")
    g.add_argument("--trace", type=int, nargs="?", const=1, default=0, choices=(0, 1),
                   help=f"write Perfetto traces of the model run and of the RTL's retire port under {TRACE_DIR}/")
    g.add_argument("--trace-dir", default=str(TRACE_DIR), metavar="DIR", help=f"where --trace writes (default {TRACE_DIR})")
    g.add_argument("--max-cycles", type=int, default=DEFAULT_MAX_CYCLES, metavar="N",
                   help=f"stop a kernel that has not halted after N cycles (default {DEFAULT_MAX_CYCLES})")  # fmt: skip


def _params(args: argparse.Namespace) -> MachineParams:
    name = getattr(args, "config", "default")
    if name == "default":
        return DEFAULT_PARAMS
    from pymodel.configs import get_config

    return get_config(name).params


def _shape(args: argparse.Namespace) -> Shape:
    d = BENCHMARK_SHAPE
    try:
        return Shape(
            d.height if args.height is None else args.height,
            d.rounds if args.rounds is None else args.rounds,
            d.batch if args.batch is None else args.batch,
        )
    except ValueError as e:
        raise BadInput(f"bad shape: {e}") from None


def _shape_given(args: argparse.Namespace) -> bool:
    return any(v is not None for v in (args.height, args.rounds, args.batch))


# --------------------------------------------------------------------------
# The tree-hash problem a memory image holds


def shape_of_image(mem: list[int]) -> Shape | None:
    """The shape a memory image's header describes, if it is a tree-hash image."""
    if len(mem) < HEADER_WORDS:
        return None
    rounds, n_nodes, batch, height, forest_p, indices_p, values_p = mem[:HEADER_WORDS]
    try:
        shape = Shape(height, rounds, batch)
    except ValueError:
        return None
    want = [shape.n_nodes, FOREST_P, shape.indices_p, shape.values_p, shape.mem_len]
    return shape if [n_nodes, forest_p, indices_p, values_p, len(mem)] == want else None


def check_image_shape(mem: list[int], shape: Shape, source: str) -> None:
    if len(mem) != shape.mem_len:
        raise BadInput(
            f"{source}: the memory image has {len(mem)} words, but height {shape.height}, batch {shape.batch} "
            f"need {shape.mem_len}"
        )
    want = [shape.rounds, shape.n_nodes, shape.batch, shape.height, FOREST_P, shape.indices_p, shape.values_p]
    if mem[:HEADER_WORDS] != want:
        raise BadInput(
            f"{source}: header words {mem[:HEADER_WORDS]} do not match height {shape.height}, rounds {shape.rounds}, "
            f"batch {shape.batch}: {want}"
        )


def value_history(mem: list[int]) -> list[list[int]]:
    """The values region before round 0 and after each round of the reference."""
    rounds, n_nodes, batch, _h, forest_p, indices_p, values_p = mem[:HEADER_WORDS]
    idx = list(mem[indices_p : indices_p + batch])
    val = list(mem[values_p : values_p + batch])
    out = [list(val)]
    for _ in range(rounds):
        for i in range(batch):
            val[i] = hash_value(val[i] ^ mem[forest_p + idx[i]])
            nxt = 2 * idx[i] + (1 if val[i] % 2 == 0 else 2)
            idx[i] = 0 if nxt >= n_nodes else nxt
        out.append(list(val))
    return out


def first_wrong_value(mem: list[int], final: list[int], shape: Shape) -> str | None:
    """None if the values region matches the reference; else the first wrong item, which
    round's value it holds (if any), expected vs got."""
    got = values_region(final, shape)
    history = value_history(mem)
    want = history[-1]
    for i, (w, g) in enumerate(zip(want, got)):
        if w == g:
            continue
        rounds = [r for r, vals in enumerate(history) if vals[i] == g]
        if not rounds:
            what = "not the value of any round"
        elif rounds[0] == 0:
            what = "the input value: no round reached it"
        else:
            what = f"the value after round {rounds[0] - 1}"
        wrong = sum(a != b for a, b in zip(want, got))
        return (
            f"item {i} (memory word {shape.values_p + i}): expected {w} (after round {shape.rounds - 1}), "
            f"got {g} ({what}); {wrong} of {shape.batch} items wrong"
        )
    return None


def problem_of_image(mem: list[int], shape: Shape) -> Problem | None:
    """The Problem behind a tree-hash image (debug compares need it); None if the
    indices do not start at 0 as the reference trace assumes."""
    if any(mem[shape.indices_p : shape.indices_p + shape.batch]):
        return None
    nodes = tuple(mem[FOREST_P : FOREST_P + shape.n_nodes])
    return Problem(shape, -1, nodes, tuple(values_region(mem, shape)))


# --------------------------------------------------------------------------
# The model side


@dataclass
class ModelRun:
    cycle: int
    pc: int
    state: RunState
    trap: Trap | None
    mem: list[int]
    visits: dict[int, int]
    engine: str
    seconds: float


def run_model(program: Program, mem: list[int], params: MachineParams, max_cycles: int,
              debug: dict[Any, int] | None = None) -> ModelRun:  # fmt: skip
    """Fast engine when it takes the program and no debug compare is asked; else the reference."""
    from pymodel.machine import Machine

    t0 = time.perf_counter()
    machine: Any = None
    if debug is None:
        try:
            from pymodel.fast import FastMachine

            machine = FastMachine(program, mem, params, enable_debug=False)
        except Exception:  # noqa: BLE001 -- numba missing or a program it cannot take: the reference runs it
            machine = None
    visits: Counter[int] = Counter()
    if machine is not None:
        machine.run_to_end(max_cycles)
        visits.update({pc: int(n) for pc, n in enumerate(machine.bundle_counts) if n})
        engine = "fast"
    else:
        machine = Machine(program, mem, params, enable_debug=debug is not None, debug_values=debug)

        def count(record: Any) -> None:
            if record.trap is None:
                visits[record.pc] += 1

        machine.run_to_end(max_cycles, count)
        engine = "reference"
    return ModelRun(machine.cycle, machine.cores[0].pc, machine.state, machine.trap, list(machine.mem), dict(visits), engine,
                    time.perf_counter() - t0)  # fmt: skip


def _debug_failure(trap: Trap, program: Program, expected: dict[Any, int], kernel: TakehomeKernel | None) -> str:
    """cycle, pc, slot, key, expected and actual (and the scratch name) of a failed compare."""
    slot = program[trap.pc].slots(Engine.DEBUG)[trap.slot or 0]
    m = re.search(r"S\[(\d+)\]=(\d+)", trap.detail)
    addr, actual = (int(m.group(1)), int(m.group(2))) if m else (slot.args[0], trap.value)
    key = slot.args[1] if slot.op == "compare" else slot.args[1][addr - slot.args[0]]
    where = f"cycle {trap.cycle}, pc {trap.pc}, debug slot {trap.slot} ({slot.op}"
    where += f" lane {addr - slot.args[0]})" if slot.op == "vcompare" else ")"
    name = kernel.scratch_name(addr) if kernel is not None else None
    scratch = f"S[{addr}]" + (f" {name!r}" if name else "")
    try:
        want = expected.get(key)
    except TypeError:
        want = None
    if want is None:
        return (
            f"debug compare at {where}: key {key!r} is not in the reference trace (it compares {scratch} = {actual}); "
            "keys are (round, item, name) with name idx, val, node_val, hashed_val, next_idx or wrapped_idx, "
            "or (round, item, 'hash_stage', stage)"
        )
    return f"debug compare failed at {where}: key {key!r}: expected {want}, got {actual} in {scratch}"


def model_failure(run: ModelRun, program: Program, max_cycles: int, expected: dict[Any, int] | None,
                  kernel: TakehomeKernel | None) -> str | None:  # fmt: skip
    """Why a model run did not end with a normal halt, in one line (None: it did)."""
    if run.state is RunState.RUNNING:
        return (
            f"the kernel did not halt: stopped at the cycle limit of {max_cycles} cycles, still running at pc {run.pc} "
            "(raise it with MAX_CYCLES= / --max-cycles if it needs longer)"
        )
    if run.trap is not None:
        if run.trap.cause is TrapCause.DEBUG_MISMATCH and expected is not None:
            return _debug_failure(run.trap, program, expected, kernel)
        return str(run.trap)
    return None


def _debug_slots(program: Program) -> int:
    return sum(1 for b in program for e, _, s in b if e is Engine.DEBUG and s.op in ("compare", "vcompare"))


# --------------------------------------------------------------------------
# The RTL side


def _cross_check(args: argparse.Namespace, params: MachineParams, program: Program, mem: list[int], name: str,
                 build_note: str, values_ok: bool | None) -> tuple[XCheckReport, Any, float]:  # fmt: skip
    """Build (cached) and cross-check; print the table of make sim."""
    t1 = time.perf_counter()
    build = sim_tool.build_simulator(args.sim, params, waves=bool(args.waves))
    build_s = time.perf_counter() - t1
    mode = RunMode.LOCKSTEP if args.lockstep else RunMode.FAST
    report = sim_tool.cross_check(build, program, mem, name=name, mode=mode, keep=bool(args.waves),
                                  max_cycles=args.max_cycles)  # fmt: skip
    n_slots = sum(len(s) for b in program for _, s in b.groups)
    rtl = getattr(build, "rtl", None)
    verilog_note = f"Verilog {rtl.seconds:.1f} s" if rtl is not None and rtl.seconds else "Verilog cached"
    compile_note = "compile cached" if build.cached else f"compile {build.seconds:.1f} s"
    values = {None: "not checked (no tree-hash problem)", True: "match", False: "MISMATCH"}[values_ok]
    print(
        sim_tool._table(
            [
                ("", "model", f"RTL ({args.sim})"),
                ("cycles", str(report.model.cycle), str(report.rtl.cycle)),
                ("final state", report.model.state.name, report.rtl_state_name),
                ("bundles / slots", f"{len(program)} / {n_slots}", f"{report.hw_bundles} in the image"),
                ("build", build_note, f"{build_s:.1f} s ({verilog_note}, {compile_note})"),
                ("run", f"{report.model.seconds:.2f} s ({report.model.engine} engine)", sim_tool._rtl_times(report)),
                ("values vs reference_run", values, ""),
            ]
        ),
        flush=True,
    )
    if not report.ok:
        print(report.summary())
    if report.waves is not None:
        print(f"waves: {report.waves}")
    return report, build, build_s


def write_traces(args: argparse.Namespace, build: Any, program: Program, mem: list[int], name: str,
            symbols: dict[str, tuple[int, int]] | None) -> bool:  # fmt: skip
    from tools.rtl_trace import write_trace_pair

    pair = write_trace_pair(build, program, mem, Path(args.trace_dir), name, symbols, args.max_cycles)
    print(pair.summary())
    if pair.divergence is not None or pair.rtl_result.error:
        print(f"RTL trace run: {pair.rtl_result.error or 'diverged'}")
    return pair.ok


def _utilization_report(program: Program, visits: dict[int, int], params: MachineParams, label: str) -> None:
    util = Utilization.from_visits(program, visits, params).format_report()
    print(f"slot utilization ({label}):\n" + "\n".join("  " + line for line in util.splitlines()))


def _icarus_guard(args: argparse.Namespace, cycles: int) -> None:
    if args.sim != "icarus":
        return
    minutes = cycles / sim_tool.ICARUS_CYCLES_PER_S / 60
    speed = sim_tool.ICARUS_CYCLES_PER_S
    estimate = f"Icarus simulates this core at about {speed} cycles/s: {cycles} cycles take ~{minutes:.0f} min"
    if minutes > sim_tool.ICARUS_MAX_MINUTES and not args.force:
        raise BadInput(f"{estimate}; use --sim verilator (or --force)")
    print(f"note: {estimate}", flush=True)


def _fits_rtl(program: Program, params: MachineParams, mem: list[int], source: str, mem_source: str) -> None:
    try:
        to_hardware(program, params)
    except ProgramError as e:
        raise BadInput(f"{source}: does not fit the RTL's instruction memory or encoding: {e}") from None
    if len(mem) > params.mem_depth:
        raise BadInput(f"{mem_source}: the memory image of {len(mem)} words exceeds the RTL data memory "
                       f"(mem_depth {params.mem_depth})")  # fmt: skip


# --------------------------------------------------------------------------
# PROGRAM=


def program_flow(args: argparse.Namespace) -> int:
    params = _params(args)
    program = formats.read_program(args.program, params)
    name = Path(args.program).stem
    shape: Shape | None
    if args.mem:
        mem = formats.read_memory(args.mem)
        source = args.mem
        if _shape_given(args):
            shape = _shape(args)
            check_image_shape(mem, shape, args.mem)
        else:
            shape = shape_of_image(mem)
        problem = problem_of_image(mem, shape) if shape is not None else None
    else:
        shape = _shape(args)
        problem = Problem.generate(shape, args.seed)
        mem = problem.memory_image()
        source = f"the tree-hash problem (seed {args.seed}, {shape})"
    try:
        validate(program, params, mem_len=len(mem), same_word_writes=True)
    except ProgramError as e:
        raise BadInput(f"{args.program}: {e}") from None
    _fits_rtl(program, params, mem, args.program, args.mem or "the generated problem")
    if args.debug and problem is None:
        raise BadInput("--debug needs a known tree-hash problem: leave out --mem, or give a tree-hash memory image "
                       "(indices all 0)")  # fmt: skip
    check_simulator(args.sim)
    print(f"program {args.program} ({len(program)} bundles), memory: {source} ({len(mem)} words), "
          f"simulator {args.sim}", flush=True)  # fmt: skip

    expected = debug_values(problem) if args.debug and problem is not None else None
    t0 = time.perf_counter()
    run = run_model(program, mem, params, args.max_cycles, expected)
    failure = model_failure(run, program, args.max_cycles, expected, None)
    if failure:
        print(f"error: {failure}")
        print(f"program={name} cycles_model={run.cycle} cycles_rtl=- memory=not-run")
        return 1
    if expected is not None:
        print(f"debug: {_debug_slots(program)} compare slots checked against the reference trace, all equal "
              f"({time.perf_counter() - t0:.2f} s)")  # fmt: skip
    wrong = first_wrong_value(mem, run.mem, shape) if shape is not None else None
    if wrong:
        print(f"wrong: {wrong}")
    _icarus_guard(args, run.cycle)
    report, build, _ = _cross_check(args, params, program, mem, name, f"{time.perf_counter() - t0:.2f} s checks + run",
                                    None if shape is None else not wrong)  # fmt: skip
    if report.model.visits:
        _utilization_report(report.image.program if report.image else program, report.model.visits, params, "model")
    ok = report.ok and not wrong
    if args.trace:
        ok = write_traces(args, build, program, mem, name, None) and ok
    verdict = "match" if ok else "MISMATCH"
    print(f"program={name} cycles_model={report.model.cycle} cycles_rtl={report.rtl.cycle} memory={verdict}")
    return 0 if ok else 1


# --------------------------------------------------------------------------
# TAKEHOME=


def takehome_flow(args: argparse.Namespace) -> int:
    params = _params(args)
    shape = _shape(args)
    if args.model_seeds < 1 or args.seeds < 1:
        raise BadInput("--model-seeds and --seeds must be at least 1")
    check_simulator(args.sim)
    kernel = load_takehome(args.takehome, shape, params)
    program = kernel.program
    call = f"KernelBuilder().build_kernel({shape.height}, {shape.n_nodes}, {shape.batch}, {shape.rounds})"
    names = f", {len(kernel.symbols)} scratch names" if kernel.symbols else ""
    print(f"take-home kernel {kernel.path}: {call} -> {len(program)} bundles in {kernel.build_seconds:.1f} s{names}")
    for note in kernel.notes:
        print(f"note: {note}")
    n_debug = _debug_slots(program)
    if n_debug and not args.debug:
        print(f"note: {n_debug} debug compare slots not checked (DEBUG=1 / --debug checks them against the reference trace)")
    _fits_rtl(program, params, Problem.generate(shape, args.seed).memory_image(), str(kernel.path),
              f"the problem's memory image ({shape})")

    n_model = max(args.model_seeds, args.seeds)
    seeds = list(range(args.seed, args.seed + n_model))
    correct = 0
    wrong_at: dict[int, str | None] = {}
    first: ModelRun | None = None
    engine = ""
    print(f"model: {n_model} problems, seeds {seeds[0]}..{seeds[-1]}, values region vs the reference"
          + (", debug compares on" if args.debug else ""), flush=True)  # fmt: skip
    for seed in seeds:
        problem = Problem.generate(shape, seed)
        mem = problem.memory_image()
        expected = debug_values(problem) if args.debug else None
        run = run_model(program, mem, params, args.max_cycles, expected)
        engine = run.engine
        first = first or run
        failure = model_failure(run, program, args.max_cycles, expected, kernel)
        if failure:
            print(f"  seed {seed}: {failure}")
            print(f"takehome={kernel.name} correct={correct}/{n_model} cycles_model={run.cycle} cycles_rtl=- "
                  "memory=not-run")  # fmt: skip
            return 1
        wrong = wrong_at[seed] = first_wrong_value(mem, run.mem, shape)
        correct += wrong is None
        print(f"  seed {seed}: cycles {run.cycle}, " + (f"WRONG: {wrong}" if wrong else "correct"), flush=True)
    assert first is not None
    print(f"correct {correct}/{n_model} ({engine} engine)")
    _utilization_report(program, first.visits, params, f"model, seed {seeds[0]}")
    _icarus_guard(args, first.cycle)

    ok = correct == n_model
    match = True
    reports = []
    build = None
    for seed in seeds[: args.seeds]:
        mem = Problem.generate(shape, seed).memory_image()
        print(f"RTL ({args.sim}), seed {seed}:", flush=True)
        values_ok = wrong_at[seed] is None
        report, build, _ = _cross_check(args, params, program, mem, f"{kernel.name}-{seed}",
                                        f"{kernel.build_seconds:.1f} s build_kernel", values_ok)  # fmt: skip
        reports.append(report)
        match = match and report.ok
        print(f"  seed={seed} cycles_model={report.model.cycle} cycles_rtl={report.rtl.cycle} "
              f"memory={'match' if report.ok else 'MISMATCH'}")  # fmt: skip
    if args.trace and build is not None:
        mem = Problem.generate(shape, seeds[0]).memory_image()
        match = write_traces(args, build, program, mem, kernel.name, kernel.symbols) and match
    r = reports[0]
    print(f"takehome={kernel.name} correct={correct}/{n_model} cycles_model={r.model.cycle} cycles_rtl={r.rtl.cycle} "
          f"memory={'match' if match else 'MISMATCH'}")  # fmt: skip
    return 0 if ok and match else 1


# --------------------------------------------------------------------------


def main_user(args: argparse.Namespace) -> int:
    if args.program and args.takehome:
        print("error: give either --program (PROGRAM=) or --takehome (TAKEHOME=), not both", file=sys.stderr)
        return 2
    if args.mem and not args.program:
        print("error: --mem (MEM=) goes with --program (PROGRAM=)", file=sys.stderr)
        return 2
    if args.max_cycles < 1:
        print("error: --max-cycles must be at least 1", file=sys.stderr)
        return 2
    try:
        return program_flow(args) if args.program else takehome_flow(args)
    except UserCodeError as e:
        print(e.traceback.rstrip(), file=sys.stderr)
        print(f"error: {e}", file=sys.stderr)
    except (BadInput, TakehomeError, SimulatorUnavailable, SimBuildError, SimRunError, XCheckSetupError) as e:
        print(f"error: {e}", file=sys.stderr)
    except (ProgramError, OSError) as e:  # FormatError: a file that is not an interchange file
        print(f"error: {' '.join(str(e).split())}", file=sys.stderr)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 2
