"""Generates the tables of docs/ISA.md from the ISA definition (pymodel/isa.py).

The manual is hand-written prose with generated tables between marker lines:

    <!-- BEGIN GENERATED: ops -->
    ...
    <!-- END GENERATED: ops -->

``python -m pymodel.docgen --write docs/ISA.md`` replaces what sits between
each marker pair and keeps everything else; ``--check`` exits 1 when the file
is out of date.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import sys
from pathlib import Path
from typing import Callable

from . import isa
from .isa import DEFAULT_PARAMS, HW_ENGINES, Encoding, Engine, Field, MachineParams, RunState, TrapCause

PARAM_MEANINGS = {
    "vlen": "lanes of a vector slot (VLEN)",
    "scratch_size": "scratch words per core (the register file)",
    "n_cores": "cores sharing one memory",
    "alu_slots": "most alu slots in one bundle",
    "valu_slots": "most valu slots in one bundle",
    "load_slots": "most load slots in one bundle",
    "store_slots": "most store slots in one bundle",
    "flow_slots": "most flow slots in one bundle (must be 1)",
    "debug_slots": "most debug slots in one bundle",
    "mem_depth": "data memory words the RTL provides (the model uses the image's length)",
    "imem_depth": "bundles the RTL instruction memory holds",
    "trace_depth": "trace buffer entries; one more traps TRACE_FULL",
    "extensions": "ISA extensions the machine has (see \"ISA extensions\"); none on the spec's machine",
}

RUN_STATE_MEANINGS = {
    RunState.RUNNING: "executing bundles",
    RunState.PAUSED: "executed `pause` with pausing enabled; resuming continues at the next bundle",
    RunState.HALTED: "executed `halt`, or pc ran past the last bundle (also the state after reset)",
    RunState.TRAPPED: "a slot trapped; the trapping bundle committed nothing",
}

TRAP_MEANINGS = {
    TrapCause.NONE: "no trap",
    TrapCause.DIV_ZERO: "`//`, `cdiv` or `%` with a zero divisor (lowest lane first)",
    TrapCause.SCRATCH_RANGE: "a scratch address at or past scratch_size (checked first, in operand order)",
    TrapCause.MEM_RANGE: "a memory address at or past the memory image's length (lowest lane first)",
    TrapCause.JUMP_NEGATIVE: "a jump to a bundle before bundle 0",
    TrapCause.TRACE_FULL: "`trace_write` with the trace buffer already holding trace_depth entries",
    TrapCause.DEBUG_MISMATCH: "model only: a debug compare failed or named a key with no recorded value",
    TrapCause.ILLEGAL_OP: "RTL only: a slot word with an opcode its engine does not define (the encoder never makes one)",
}
UNDOCUMENTED = "(undocumented: add it to pymodel/docgen.py)"

ACCESS_TEXT = {isa.Access.READ: "read", isa.Access.WRITE: "write", isa.Access.NONE: "-"}


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _code(text: str) -> str:
    return f"`{text}`"


def params_section(params: MachineParams) -> str:
    rows = [
        [_code(f.name), str(getattr(params, f.name)), PARAM_MEANINGS.get(f.name, UNDOCUMENTED)] for f in dataclasses.fields(params)
    ]
    enc = Encoding(params)
    derived = [
        ["addr_bits", str(params.addr_bits), "width of a scratch-address field in the encoding"],
        ["slot_bits", str(enc.slot_bits), "width of one encoded slot"],
        ["bundle_bits", str(enc.bundle_bits), "width of one encoded bundle (an instruction-memory word)"],
        ["IA", str((params.imem_depth - 1).bit_length()), "RTL instruction-memory address bits"],
        ["DA", str((params.mem_depth - 1).bit_length()), "RTL data-memory address bits"],
        ["TA", str((params.trace_depth - 1).bit_length()), "RTL trace-buffer address bits"],
    ]
    return (
        _table(["parameter", "default", "meaning"], rows)
        + "\n\nDerived sizes:\n\n"
        + _table(["name", "value", "meaning"], [[_code(r[0]), r[1], r[2]] for r in derived])
    )


def _operands(op: isa.OpSpec) -> str:
    if not op.operands:
        return "-"
    return ", ".join(f"{o.name}: {o.kind.value} ({ACCESS_TEXT[o.access]})" for o in op.operands)


def _flags(op: isa.OpSpec) -> str:
    names = [n for n in ("reads_mem", "writes_mem", "control", "side_effect") if getattr(op, n)]
    return ", ".join(names) or "-"


def ops_section(params: MachineParams) -> str:
    out = []
    for engine in Engine:
        limit = params.slot_limit(engine)
        rows = [
            [_code(op.name), _operands(op), op.summary, _flags(op), _code(json.dumps(list(op.example)))]
            for op in isa.ops_of(engine)
        ]
        out.append(f"### Engine `{engine}` (up to {limit} slot{'s' if limit != 1 else ''} per bundle)\n")
        out.append(_table(["op", "operands", "semantics", "flags", "example"], rows))
        out.append("")
    return "\n".join(out).rstrip()


def binops_section(params: MachineParams) -> str:
    rows = [[_code(name), text] for name, _fn, text in isa.ALU_BINOPS]
    return _table(["op", "result on unsigned 32-bit values"], rows)


def encoding_section(params: MachineParams) -> str:
    enc = Encoding(params)
    rows = [["opcode", "0", str(enc.opcode_bits), str(enc.opcode_bits - 1), "engine-local opcode; 0 = empty"]]
    uses = {
        Field.DST: "scratch address (destination)",
        Field.SRC1: "scratch address",
        Field.SRC2: "scratch address, or load_offset's offset",
        Field.SRC3: "scratch address",
        Field.IMM: "imm (mod 2^32), target or rel (signed 32-bit); overlaps src2/src3",
    }
    for f, use in uses.items():
        lsb, width = enc.field_lsb(f), enc.field_width(f)
        rows.append([f.value, str(lsb), str(width), str(lsb + width - 1), use])
    fields = _table(["field", "lsb", "width", "msb", "holds"], rows)
    positions = []
    for engine in HW_ENGINES:
        n = params.slot_limit(engine)
        lsb = enc.position_lsb(engine, 0)
        positions.append([_code(str(engine)), f"0..{n - 1}", str(lsb), str(lsb + n * enc.slot_bits - 1)])
    layout = _table(["engine", "slot positions", "lsb", "msb"], positions)
    return (
        f"Slot word: {enc.slot_bits} bits.\n\n{fields}\n\n"
        f"Bundle word: {enc.bundle_bits} bits, slot position *i* of an engine at bit "
        f"`engine lsb + i * {enc.slot_bits}`.\n\n{layout}"
    )


def opcodes_section(params: MachineParams) -> str:
    out = []
    for engine in HW_ENGINES:
        rows = []
        for op in isa.ops_of(engine):
            fields = ", ".join(f"{o.field.value}={o.name}" for o in op.operands) or "-"
            rows.append([str(op.opcode), _code(op.name), fields])
        out.append(f"Engine `{engine}`:\n\n" + _table(["opcode", "op", "fields"], rows) + "\n")
    out.append("Engine `debug` has no encoding: `to_hardware` drops its slots.")
    return "\n".join(out)


def states_section(params: MachineParams) -> str:
    states = _table(["code", "state", "meaning"], [[str(s.value), s.name, RUN_STATE_MEANINGS.get(s, UNDOCUMENTED)] for s in RunState])
    traps = _table(["code", "cause", "meaning"], [[str(t.value), t.name, TRAP_MEANINGS.get(t, UNDOCUMENTED)] for t in TrapCause])
    return f"Run states (the RTL's `state` port):\n\n{states}\n\nTrap causes (the RTL's `trap_cause` port):\n\n{traps}"


def extensions_section(params: MachineParams) -> str:
    """One subsection per ISA extension: its ops (opcode, operands, semantics) and the configs that have it."""
    from .configs import describe_extensions

    out = []
    for name, summary, ops in describe_extensions():
        from .configs import CONFIGS

        users = [c.name for c in CONFIGS.values() if name in c.extensions]
        rows = [
            [_code(op.name), str(op.engine), str(op.opcode), _operands(op), op.summary, _code(json.dumps(list(op.example)))]
            for op in ops
        ]
        out.append(f"### Extension `{name}`\n\n{summary}.  Configs with it: {', '.join(_code(u) for u in users) or 'none'}.\n")
        out.append(_table(["op", "engine", "opcode", "operands", "semantics", "example"], rows))
        out.append("")
    return "\n".join(out).rstrip()


def configs_section(params: MachineParams) -> str:
    from .configs import CONFIGS

    rows = []
    for c in CONFIGS.values():
        diff = [f"{f.name}={getattr(c.params, f.name)}" for f in dataclasses.fields(c.params)
                if f.name != "extensions" and getattr(c.params, f.name) != getattr(DEFAULT_PARAMS, f.name)]  # fmt: skip
        rows.append([_code(c.name), c.summary, ", ".join(diff) or "-", ", ".join(c.extensions) or "-", _code(c.kernel)])
    return _table(["config", "machine", "params (vs the spec)", "extensions", "best kernel"], rows)


SECTIONS: dict[str, Callable[[MachineParams], str]] = {
    "params": params_section,
    "ops": ops_section,
    "binops": binops_section,
    "encoding": encoding_section,
    "opcodes": opcodes_section,
    "states": states_section,
    "extensions": extensions_section,
    "configs": configs_section,
}

_MARKER = re.compile(r"<!-- (BEGIN|END) GENERATED: ([\w-]+)[^>]*-->")


class DocError(ValueError):
    pass


def update(text: str, params: MachineParams = DEFAULT_PARAMS, source: str = "docs/ISA.md") -> str:
    """``text`` with every generated section rewritten; DocError on bad markers."""
    out, pos, open_name, seen = [], 0, None, set()
    for m in _MARKER.finditer(text):
        kind, name = m.group(1), m.group(2)
        line = text.count("\n", 0, m.start()) + 1
        if name not in SECTIONS:
            raise DocError(f"{source}:{line}: unknown generated section {name!r} (known: {', '.join(SECTIONS)})")
        if kind == "BEGIN":
            if open_name is not None:
                raise DocError(f"{source}:{line}: BEGIN {name} inside section {open_name}")
            out.append(text[pos : m.end()])
            open_name = name
        else:
            if open_name != name:
                raise DocError(f"{source}:{line}: END {name} without its BEGIN")
            out.append("\n" + SECTIONS[name](params) + "\n")
            pos = m.start()
            open_name = None
            seen.add(name)
    if open_name is not None:
        raise DocError(f"{source}: section {open_name} has no END marker")
    missing = set(SECTIONS) - seen
    if missing:
        raise DocError(f"{source}: no generated section for {', '.join(sorted(missing))}")
    out.append(text[pos:])
    return "".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m pymodel.docgen", description=__doc__.splitlines()[0])
    group = ap.add_mutually_exclusive_group(required=True)
    group.add_argument("--write", metavar="FILE", help="rewrite the generated sections of FILE in place")
    group.add_argument("--check", metavar="FILE", help="exit 1 if FILE's generated sections are out of date")
    args = ap.parse_args(argv)
    path = Path(args.write or args.check)
    try:
        text = path.read_text(encoding="utf-8")
        new = update(text, source=str(path))
    except (OSError, DocError) as e:
        print(f"docgen: {e}", file=sys.stderr)
        return 2
    if args.check:
        if new != text:
            print(f"{path} is out of date: run python -m pymodel.docgen --write {path}", file=sys.stderr)
            return 1
        return 0
    if new != text:
        path.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
