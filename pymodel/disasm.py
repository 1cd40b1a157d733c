"""One readable line per bundle:

    0012: alu[0] + 20 21 22 | load[1] vload 16 3 | flow halt

Slots appear in execution order (engines as the bundle lists them); engines
with more than one slot position show the slot index.  With a symbol table
(``BuiltKernel.symbols``: name -> (address, width)) scratch operands are
named: ``val`` for a variable's first word, ``val+3`` for a later one (a
name with spaces is shown in angle brackets).
"""

from __future__ import annotations

import json
import sys
from typing import Any, Mapping

from .isa import DEFAULT_PARAMS, MachineParams, OperandKind
from .program import Bundle, Program, Slot

SymbolTable = Mapping[str, tuple[int, int]]
HEX_FROM = 1 << 16  # immediates this large read better in hex (hash constants)


class ScratchNames:
    """Scratch address -> name, the narrowest symbol covering it winning."""

    def __init__(self, symbols: SymbolTable | None = None) -> None:
        self._names: dict[int, str] = {}
        widths: dict[int, int] = {}
        for name, (base, width) in (symbols or {}).items():
            if not name or any(c.isspace() for c in name):
                name = f"<{name}>"  # keep one operand one word
            for addr in range(base, base + width):
                if addr not in widths or width < widths[addr]:
                    widths[addr] = width
                    self._names[addr] = name if addr == base else f"{name}+{addr - base}"

    def __call__(self, addr: int) -> str:
        return self._names.get(addr, str(addr))


def format_operand(kind: OperandKind, value: Any, names: ScratchNames, next_pc: int | None = None) -> str:
    if kind.is_scratch:
        return names(value)
    if kind is OperandKind.IMM:
        return f"{value:#x}" if abs(value) >= HEX_FROM else str(value)
    if kind is OperandKind.REL and next_pc is not None:
        return f"{value} (->{next_pc + value})"
    if kind in (OperandKind.KEY, OperandKind.KEYS, OperandKind.TEXT):
        return json.dumps(_thaw(value), separators=(",", ":"), ensure_ascii=False)
    return str(value)


def _thaw(value: Any) -> Any:
    return [_thaw(v) for v in value] if isinstance(value, tuple) else value


def format_slot(slot: Slot, names: ScratchNames | None = None, next_pc: int | None = None) -> str:
    names = names or ScratchNames()
    spec = slot.spec
    operands = [format_operand(o.kind, v, names, next_pc) for o, v in zip(spec.operands, slot.args)]
    return " ".join([slot.op, *operands])


def format_bundle(
    bundle: Bundle,
    pc: int | None = None,
    names: ScratchNames | None = None,
    params: MachineParams = DEFAULT_PARAMS,
    pc_width: int = 4,
) -> str:
    names = names or ScratchNames()
    next_pc = None if pc is None else pc + 1
    parts = []
    for engine, slots in bundle.groups:
        indexed = params.slot_limit(engine) > 1
        if not slots:
            parts.append(f"{engine} -")  # present with no slots: still one cycle
        for i, slot in enumerate(slots):
            label = f"{engine}[{i}]" if indexed else str(engine)
            parts.append(f"{label} {format_slot(slot, names, next_pc)}")
    body = " | ".join(parts) if parts else "(no engines: 0 cycles)"
    return body if pc is None else f"{pc:0{pc_width}d}: {body}"


def disassemble(
    program: Program, symbols: SymbolTable | None = None, params: MachineParams = DEFAULT_PARAMS
) -> list[str]:
    names = ScratchNames(symbols)
    width = max(4, len(str(max(len(program) - 1, 0))))
    return [format_bundle(b, pc, names, params, width) for pc, b in enumerate(program)]


def main(argv: list[str] | None = None) -> int:
    from .cli import main as cli_main

    return cli_main(["disasm", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    raise SystemExit(main())
