"""``python -m kernels``: assemble a kernel into interchange files, or list kernels.

    python -m kernels build tree_hash --variant vector --seed 123 --height 10 --rounds 16 --batch 256 \\
        --out program.json --mem-out mem.json [--symbols-out symbols.json]
    python -m kernels build tree_hash --variant vgather --config vgather --out program.json
    python -m kernels list
"""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn, Sequence

from pymodel.benchmark import BENCHMARK_SHAPE, Problem, Shape
from pymodel.configs import CONFIGS, UnknownConfig, get_config
from pymodel.formats import check_writable, write_memory, write_program, write_symbols
from pymodel.program import ProgramError

from .registry import ALIASES, KERNELS, UnknownKernel, get_kernel

PROG = "python -m kernels"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, not usage + traceback-like noise
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog=PROG, description="Assemble kernels for the VLIW SIMD machine.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    b = sub.add_parser("build", help="write a kernel's program and its input memory image as JSON")
    b.add_argument("kernel", help=f"kernel name ({', '.join(KERNELS)})")
    b.add_argument("--variant", default=None, help="variant (default: the kernel's best)")
    b.add_argument("--seed", type=int, default=123, help="problem seed (default 123)")
    b.add_argument("--height", type=int, default=BENCHMARK_SHAPE.height, help="tree height H (default 10)")
    b.add_argument("--rounds", type=int, default=BENCHMARK_SHAPE.rounds, help="rounds R (default 16)")
    b.add_argument("--batch", type=int, default=BENCHMARK_SHAPE.batch, help="batch size B (default 256)")
    b.add_argument("--config", default="default", help=f"machine config ({', '.join(CONFIGS)}; default: the spec's)")
    b.add_argument("--out", required=True, help="program JSON to write")
    b.add_argument("--mem-out", help="input memory image JSON to write")
    b.add_argument("--symbols-out", help="scratch symbol table JSON to write (name: [address, width])")
    sub.add_parser("list", help="list kernels and variants")
    return p


def _list() -> None:
    for k in KERNELS.values():
        variants = ", ".join(f"{v}{' (default)' if v == k.default_variant else ''}" for v in k.variants)
        print(f"{k.name}: {k.summary}\n  variants: {variants}")
        for name, text in k.variant_summaries.items():
            print(f"    {name}: {text}")
    print("make sim KERNEL= names: " + ", ".join(f"{a} = {k}/{v}" for a, (k, v) in ALIASES.items()))


def _build(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    try:
        kernel = get_kernel(args.kernel)
    except UnknownKernel as e:
        parser.error(str(e))
    variant = args.variant or kernel.default_variant
    if variant not in kernel.variants:
        parser.error(f"kernel {kernel.name} has no variant {variant!r} (variants: {', '.join(kernel.variants)})")
    try:
        shape = Shape(args.height, args.rounds, args.batch)
    except ValueError as e:
        parser.error(str(e))
    try:
        config = get_config(args.config)
    except UnknownConfig as e:
        parser.error(str(e))
    for path in (args.out, args.mem_out, args.symbols_out):
        check_writable(path)  # before the build: no half-written set of outputs
    shape_text = f"H={shape.height} R={shape.rounds} B={shape.batch}"
    if config.name != "default":
        shape_text += f" config={config.name}"
    try:
        built = kernel.build(variant, shape, config.params)
    except ProgramError as e:  # e.g. out of scratch for this shape
        raise ProgramError(f"{kernel.name}/{variant} {shape_text}: {e}") from None
    write_program(args.out, built.program, config.params)
    outputs = [f"program {len(built.program)} bundles -> {args.out}"]
    if args.mem_out:
        mem = Problem.generate(shape, args.seed).memory_image()
        write_memory(args.mem_out, mem)
        outputs.append(f"memory {len(mem)} words (seed {args.seed}) -> {args.mem_out}")
    if args.symbols_out:
        write_symbols(args.symbols_out, built.symbols)
        outputs.append(f"{len(built.symbols)} symbols -> {args.symbols_out}")
    print(f"{built.name}/{built.variant} {shape_text}: " + "; ".join(outputs))


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "list":
            _list()
        else:
            _build(parser, args)
    except (ProgramError, OSError) as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 1
    return 0
