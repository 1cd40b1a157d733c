"""``vliwsim``: one command for the whole tool (the ``python -m`` entries and make targets remain).

    vliwsim COMMAND [ARGS...]       vliwsim COMMAND --help

Each command hands its arguments to the module that implements it
(``kernels.cli``, ``pymodel.cli``, ``tools.sim``, ``tools.fuzz``,
``tools.mutate``, ``tools.bench``), so their options, messages and exit
statuses are the same whichever way they are called.
"""

from __future__ import annotations

import inspect
import sys
from dataclasses import dataclass
from typing import Callable, Sequence

PROG = "vliwsim"


@dataclass(frozen=True)
class Command:
    summary: str
    examples: tuple[str, ...]
    run: Callable[[list[str]], int]
    also: str  # the older spelling


def _kernels(name: str) -> Callable[[list[str]], int]:
    def run(argv: list[str]) -> int:
        from kernels.cli import main

        return main([name, *argv])

    return run


def _pymodel(name: str) -> Callable[[list[str]], int]:
    def run(argv: list[str]) -> int:
        from pymodel.cli import main

        return main([name, *argv])

    return run


def _tool(module: str) -> Callable[[list[str]], int]:
    def run(argv: list[str]) -> int:
        import importlib

        main = importlib.import_module(module).main
        if inspect.signature(main).parameters:
            return main(argv) or 0
        if argv and argv not in (["-h"], ["--help"]):
            print(f"{PROG}: error: {module} takes no arguments, got {' '.join(argv)}", file=sys.stderr)
            return 2
        if argv:
            doc = (inspect.getdoc(importlib.import_module(module)) or "").splitlines()
            print(f"usage: {PROG} {module.rsplit('.', 1)[-1]}\n\n{doc[0] if doc else ''}")
            return 0
        return main() or 0

    return run


def _trace(argv: list[str]) -> int:
    """``vliwsim trace``: ``run`` with a Perfetto trace, spelled as its own command."""
    import argparse

    from pymodel.cli import main

    ap = argparse.ArgumentParser(prog=f"{PROG} trace", description="run a program on the reference model and write "
                                 "a Chrome/Perfetto trace (open it in https://ui.perfetto.dev)")  # fmt: skip
    ap.add_argument("program", metavar="PROGRAM.json")
    ap.add_argument("--mem", required=True, metavar="MEM.json")
    ap.add_argument("--out", required=True, metavar="TRACE.json", help="the trace file to write")
    ap.add_argument("--symbols", metavar="S.json", help="scratch names for counters: {name: [addr, width]}")
    ap.add_argument("--max-cycles", metavar="N")
    try:
        args = ap.parse_args(argv)
    except SystemExit as e:
        return int(e.code or 0)
    run = ["run", args.program, "--mem", args.mem, "--trace", args.out, "--engine", "reference"]
    if args.symbols:
        run += ["--symbols", args.symbols]
    if args.max_cycles:
        run += ["--max-cycles", args.max_cycles]
    return main(run)


def _sim(argv: list[str]) -> int:
    from tools.sim import main

    return main(argv)


COMMANDS: dict[str, Command] = {
    "build": Command(
        "assemble a kernel into a program JSON and its memory image",
        ("vliwsim build tree_hash --variant vector --seed 123 --out prog.json --mem-out mem.json",),
        _kernels("build"),
        "python -m kernels build",
    ),
    "list": Command("list the kernels and their variants", ("vliwsim list",), _kernels("list"), "python -m kernels list"),
    "run": Command(
        "run a program on the golden model; prints cycles=N",
        ("vliwsim run prog.json --mem mem.json --final-mem out.json", "vliwsim run prog.json --mem mem.json --util"),
        _pymodel("run"),
        "python -m pymodel run",
    ),
    "check": Command(
        "run a tree-hash program on the model and check the values against the reference",
        ("vliwsim check prog.json --mem mem.json --height 10 --rounds 16 --batch 256",),
        _pymodel("check"),
        "python -m pymodel check",
    ),
    "disasm": Command(
        "print a program one bundle per line",
        ("vliwsim disasm prog.json", "vliwsim disasm image.hex --hex"),
        _pymodel("disasm"),
        "python -m pymodel disasm",
    ),
    "encode": Command(
        "write a program's hardware image ($readmemh)",
        ("vliwsim encode prog.json --hex prog.hex",),
        _pymodel("encode"),
        "python -m pymodel encode",
    ),
    "trace": Command(
        "run on the reference model and write a Perfetto trace",
        ("vliwsim trace prog.json --mem mem.json --out trace.json",),
        _trace,
        "python -m pymodel run --trace",
    ),
    "util": Command(
        "run on the model and print slot utilization per engine",
        ("vliwsim util prog.json --mem mem.json",),
        _pymodel("util"),
        "python -m pymodel util",
    ),
    "sim": Command(
        "a kernel, a program file or a take-home KernelBuilder on the model and the RTL, compared",
        (
            "vliwsim sim",
            "vliwsim sim --program prog.json --mem mem.json",
            "vliwsim sim --takehome path/to/perf_takehome.py --debug --trace",
        ),
        _sim,
        "make sim, python -m tools.sim",
    ),
    "fuzz": Command(
        "constrained-random programs, model vs RTL",
        ("vliwsim fuzz --n 2000 --seed 0",),
        _tool("tools.fuzz"),
        "make fuzz, python -m tools.fuzz",
    ),
    "mutate": Command(
        "deliberately wrong RTL variants: shows the suite kills each",
        ("vliwsim mutate",),
        _tool("tools.mutate"),
        "make mutate, python -m tools.mutate",
    ),
    "coverage": Command(
        "RTL code coverage (Verilator line + toggle) of the cross-check programs and a fuzz sample",
        ("vliwsim coverage --fuzz 50",),
        _tool("tools.rtl_coverage"),
        "make coverage, python -m tools.rtl_coverage",
    ),
    "dse": Command(
        "machine configs x kernel cycles (model and RTL), Verilog size, build time, Yosys cell counts",
        ("vliwsim dse", "vliwsim dse --model-only vlen16"),
        _tool("tools.dse"),
        "make dse, python -m tools.dse",
    ),
    "bench": Command(
        "speed of the model engines and the RTL simulators",
        ("vliwsim bench",),
        _tool("tools.bench"),
        "make bench, python -m tools.bench",
    ),
}


def usage() -> str:
    width = max(len(n) for n in COMMANDS)
    lines = [f"usage: {PROG} COMMAND [ARGS...]   ({PROG} COMMAND --help for its options)", "",
             "A VLIW SIMD machine: golden model, assembler and RTL, cross-checked.", "", "commands:"]  # fmt: skip
    lines += [f"  {name:<{width}}  {c.summary}" for name, c in COMMANDS.items()]
    lines += ["", "examples:"] + [f"  {c.examples[0]}" for c in COMMANDS.values()]
    return "\n".join(lines)


def _examples(name: str) -> str:
    c = COMMANDS[name]
    return "\n".join(["", "examples:", *(f"  {e}" for e in c.examples), f"(also: {c.also})"])


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(usage())
        return 0 if args else 2
    name, rest = args[0], args[1:]
    command = COMMANDS.get(name)
    if command is None:
        print(f"{PROG}: error: unknown command {name!r} (commands: {', '.join(COMMANDS)})", file=sys.stderr)
        return 2
    wants_help = "-h" in rest or "--help" in rest
    try:
        status = command.run(rest)
    except SystemExit as e:  # argparse's --help and usage errors
        status = e.code if isinstance(e.code, int) else (0 if e.code is None else 2)
        if e.code is not None and not isinstance(e.code, int):
            print(e.code, file=sys.stderr)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    if wants_help and status == 0 and name != "sim":  # tools.sim's help ends with its own examples
        print(_examples(name))
    return int(status or 0)


if __name__ == "__main__":
    sys.exit(main())
