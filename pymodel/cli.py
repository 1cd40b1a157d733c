"""``python -m pymodel``: run, check, disassemble and encode interchange-format programs.

    python -m pymodel run PROGRAM.json --mem MEM.json [--final-mem OUT.json] [--trace trace.json]
                          [--engine fast|reference] [--no-pause] [--max-cycles N] [--util] [--symbols S.json]
    python -m pymodel check PROGRAM.json --mem MEM.json --height H --rounds R --batch B
    python -m pymodel disasm PROGRAM.json [--symbols S.json] [--hex]
    python -m pymodel encode PROGRAM.json --hex OUT.hex [--json HW.json]
    python -m pymodel util PROGRAM.json --mem MEM.json

Exit status: 0 success; 1 the program trapped, hit --max-cycles, or (check)
computed a wrong value; 2 bad input (one line on stderr naming file and place).
``run``, ``check`` and ``util`` print ``cycles=N`` as their last line.
Debug slots are skipped (the command line has no recorded reference values).
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any, Sequence

from . import formats
from .benchmark import HEADER_WORDS, Shape, reference_run, values_region
from .disasm import disassemble
from .encoding import decode_bundle, read_hex, to_hardware
from .events import RetireRecord
from .isa import DEFAULT_PARAMS, Encoding, MachineParams, RunState
from .machine import Machine
from .program import Program, ProgramError
from .tracing import TraceRecorder
from .utilization import Utilization

if TYPE_CHECKING:
    from .flat import FlatProgram

EXIT_OK, EXIT_FAIL, EXIT_BAD_INPUT = 0, 1, 2


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, not usage + message
        raise UsageError(f"{self.prog}: {message}")


def fast_available() -> bool:
    try:
        from pymodel.fast_native import kernels

        kernels()  # the compiled module (built on first use), or numba's JIT
    except Exception:  # ImportError, or numba failing to initialise
        return False
    return True


def _err(message: str) -> None:
    print(" ".join(str(message).split("\n")), file=sys.stderr)


# --------------------------------------------------------------------------
# Running


def run_machine(
    program: Program | FlatProgram,
    mem: list[int],
    engine: str | None,
    *,
    enable_pause: bool = True,
    max_cycles: int | None = None,
    records: list[RetireRecord] | None = None,
    source: str = "program",
    params: MachineParams = DEFAULT_PARAMS,
) -> Machine | Any:
    """A machine run to the end on ``engine`` (None: fast if numba works and the
    fast engine takes the program, else reference).  ``records`` collects the
    reference engine's retire records; ``source`` names the program in errors.
    A ``FlatProgram`` (``flat.read_flat_program``) is typed only if the reference runs it."""
    kw: dict[str, Any] = {"enable_pause": enable_pause, "enable_debug": False}
    machine: Any = None
    if engine == "fast" or (engine is None and fast_available()):
        from .fast import FastMachine

        try:
            machine = FastMachine(program, mem, params, **kw)
        except ProgramError:
            raise  # the program does not fit this machine: no engine runs it
        except (ValueError, KeyError) as e:  # KeyError: an extension op the fast engine has no form for yet
            if engine is not None:
                hint = str(e).replace("engine='reference'", "--engine reference")  # the command-line spelling
                raise ProgramError(f"{source}: {hint}") from None
            _err(f"note: using the reference engine: {e}")
    if machine is None:
        typed = program if isinstance(program, Program) else program.to_program(params)
        machine = Machine(typed, mem, params, **kw)
        machine.run_to_end(max_cycles, None if records is None else records.append)
    else:
        machine.run_to_end(max_cycles)
    return machine


def _utilization(program: Program, machine: Any, records: list[RetireRecord]) -> Utilization:
    if isinstance(machine, Machine):
        return Utilization.from_records(program, records)
    counts = machine.bundle_counts  # the fast engine's profile: committed bundles per pc
    return Utilization.from_visits(program, {pc: int(n) for pc, n in enumerate(counts) if n})


def _report_stop(machine: Any, max_cycles: int | None) -> int:
    """Print why a run did not end normally; the exit status."""
    if machine.trap is not None:
        _err(str(machine.trap))
        return EXIT_FAIL
    if machine.state is RunState.RUNNING:
        pcs = ", ".join(str(c.pc) for c in machine.cores)
        _err(f"stopped at the --max-cycles limit of {max_cycles} cycles, still running (pc {pcs})")
        return EXIT_FAIL
    return EXIT_OK


def _read_program(path: str, engine: str | None, params: MachineParams) -> Program | FlatProgram:
    """The fast engine's programs go straight into arrays (no Python object per
    slot); a bad file gets the same error as ``formats.read_program`` either way."""
    if engine != "reference" and fast_available():
        from .flat import read_flat_program

        return read_flat_program(path, params)
    return formats.read_program(path, params)


def cmd_run(args: argparse.Namespace) -> int:
    for path in (args.final_mem, args.trace):
        formats.check_writable(path)
    engine = "reference" if args.trace else args.engine
    program = _read_program(args.program, "reference" if args.util else engine, args.params)
    mem = formats.read_memory(args.mem)
    symbols = formats.read_symbols(args.symbols) if args.symbols else None
    recorder = TraceRecorder(program, symbols) if args.trace or args.util else None  # type: ignore[arg-type]
    if args.trace and args.engine == "fast":
        _err("note: --trace uses the reference engine")
    machine = run_machine(program, mem, engine, enable_pause=not args.no_pause, max_cycles=args.max_cycles,
                          records=recorder.records if recorder is not None else None,
                          source=args.program, params=args.params)  # fmt: skip
    status = _report_stop(machine, args.max_cycles)
    if args.final_mem:
        formats.write_memory(args.final_mem, machine.mem)
    if args.trace and recorder is not None:
        try:
            recorder.write(args.trace)
        except OSError as e:
            raise formats.FormatError(f"{args.trace}: cannot write: {e.strerror or e}") from None
    if args.util and recorder is not None:
        print(_utilization(program, machine, recorder.records).format_report())  # type: ignore[arg-type]
    print(f"cycles={machine.cycle}")
    return status


def _check_shape(mem: list[int], shape: Shape, source: str) -> None:
    if len(mem) != shape.mem_len:
        raise formats.FormatError(
            f"{source}: the memory image has {len(mem)} words, but height {shape.height}, batch {shape.batch} "
            f"need {shape.mem_len}"
        )
    want = [shape.rounds, shape.n_nodes, shape.batch, shape.height, HEADER_WORDS, shape.indices_p, shape.values_p]
    if mem[:HEADER_WORDS] != want:
        raise formats.FormatError(f"{source}: header words {mem[:HEADER_WORDS]} do not match the shape: {want}")


def cmd_check(args: argparse.Namespace) -> int:
    program = _read_program(args.program, args.engine, args.params)
    mem = formats.read_memory(args.mem)
    shape = Shape(args.height, args.rounds, args.batch)
    _check_shape(mem, shape, args.mem)
    expected = values_region(reference_run(mem), shape)
    machine = run_machine(program, mem, args.engine, enable_pause=not args.no_pause, max_cycles=args.max_cycles,
                          source=args.program, params=args.params)  # fmt: skip
    if _report_stop(machine, args.max_cycles) != EXIT_OK:
        print(f"wrong: the run did not finish (cycles={machine.cycle})")
        return EXIT_FAIL
    got = values_region(machine.mem, shape)
    for i, (want, have) in enumerate(zip(expected, got)):
        if want != have:
            print(f"wrong: item {i} expected {want} got {have} (cycles={machine.cycle})")
            return EXIT_FAIL
    print(f"correct cycles={machine.cycle}")
    return EXIT_OK


def cmd_util(args: argparse.Namespace) -> int:
    program = formats.read_program(args.program, args.params)
    mem = formats.read_memory(args.mem)
    records: list[RetireRecord] = []
    machine = run_machine(program, mem, args.engine, enable_pause=not args.no_pause, max_cycles=args.max_cycles,
                          records=records, source=args.program, params=args.params)  # fmt: skip
    status = _report_stop(machine, args.max_cycles)
    print(_utilization(program, machine, records).format_report())
    print(f"cycles={machine.cycle}")
    return status


# --------------------------------------------------------------------------
# Static tools


def cmd_disasm(args: argparse.Namespace) -> int:
    if args.hex:
        enc = Encoding(args.params)
        words = read_hex(args.program, enc)
        where = [f"{args.program}:{n + 1}, bundle {n}" for n in range(len(words))]  # file line, bundle index
        program = Program(tuple(decode_bundle(w, enc, at) for w, at in zip(words, where)))
    else:
        program = formats.read_program(args.program, args.params)
    symbols = formats.read_symbols(args.symbols) if args.symbols else None
    for line in disassemble(program, symbols):
        print(line)
    return EXIT_OK


def cmd_encode(args: argparse.Namespace) -> int:
    for path in (args.hex, args.json):
        formats.check_writable(path)
    program = formats.read_program(args.program, args.params)
    try:
        image = to_hardware(program, args.params)
    except ProgramError as e:
        raise formats.FormatError(f"{args.program}: {e}") from None
    image.write_hex(args.hex)
    if args.json:
        formats.write_program(args.json, image.program, args.params)
    dropped = len(program) - len(image.program)
    print(f"{args.hex}: {len(image.words)} bundles of {image.encoding.bundle_bits} bits ({dropped} zero-cost dropped)")
    return EXIT_OK


# --------------------------------------------------------------------------


def _non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be at least 0, got {value}")
    return value


def _run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("program", metavar="PROGRAM.json")
    p.add_argument("--mem", required=True, metavar="MEM.json", help="memory image (JSON array of words)")
    p.add_argument("--engine", choices=("fast", "reference"), help="default: fast if numba works, else reference")
    p.add_argument("--no-pause", action="store_true", help="pause does nothing (still costs its cycle)")
    p.add_argument("--max-cycles", type=_non_negative, metavar="N", help="stop (exit 1) after N cycles")


def _config(name: str) -> MachineParams:
    from .configs import UnknownConfig, get_config

    try:
        return get_config(name).params
    except UnknownConfig as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def build_parser() -> argparse.ArgumentParser:
    ap = _Parser(prog="python -m pymodel", description=__doc__.splitlines()[0])
    # The machine the program is for (pymodel.configs); its ops, slot limits and encoding.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", dest="params", type=_config, default=DEFAULT_PARAMS, metavar="NAME",
                        help="machine config (default: the spec's machine; others: vgather, valu8, ...)")  # fmt: skip
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add = sub.add_parser
    sub.add_parser = lambda *a, **kw: _add(*a, parents=[common], **kw)  # type: ignore[method-assign]
    p = sub.add_parser("run", help="run a program to the end; prints cycles=N")
    _run_options(p)
    p.add_argument("--final-mem", metavar="OUT.json", help="write the final memory image")
    p.add_argument("--trace", metavar="TRACE.json", help="write a Chrome trace (uses the reference engine)")
    p.add_argument("--util", action="store_true", help="print slot utilization per engine")
    p.add_argument("--symbols", metavar="S.json", help="scratch names for trace counters: {name: [addr, width]}")
    p.set_defaults(func=cmd_run)
    p = sub.add_parser("check", help="run the tree-hash kernel and compare with the reference")
    _run_options(p)
    for name in ("height", "rounds", "batch"):
        p.add_argument(f"--{name}", type=_non_negative, required=True)
    p.set_defaults(func=cmd_check)
    p = sub.add_parser("util", help="run and print slot utilization per engine")
    _run_options(p)
    p.set_defaults(func=cmd_util)
    p = sub.add_parser("disasm", help="one line per bundle")
    p.add_argument("program", metavar="PROGRAM.json")
    p.add_argument("--symbols", metavar="S.json", help="name scratch addresses: {name: [addr, width]}")
    p.add_argument("--hex", action="store_true", help="PROGRAM is a $readmemh hardware image")
    p.set_defaults(func=cmd_disasm)
    p = sub.add_parser("encode", help="write the hardware image ($readmemh)")
    p.add_argument("program", metavar="PROGRAM.json")
    p.add_argument("--hex", required=True, metavar="OUT.hex")
    p.add_argument("--json", metavar="HW.json", help="also write the hardware program as JSON")
    p.set_defaults(func=cmd_encode)
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return args.func(args)
    except UsageError as e:
        _err(str(e))
    except (ProgramError, ValueError, OSError) as e:  # FormatError, EncodingError, bad shape, unwritable file
        _err(f"error: {e}")
    except KeyboardInterrupt:
        _err("interrupted")
        return 130
    return EXIT_BAD_INPUT
