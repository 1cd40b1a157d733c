"""Binary bundles for the RTL's instruction memory (layout: ``isa.Encoding``).

A slot word holds the engine-local opcode (0 = empty position) in the low
bits, then DST and SRC1 (scratch addresses), then a 32-bit region holding
either SRC2 and SRC3 (scratch addresses, or load_offset's offset in SRC2) or
IMM.  Operand kinds map to field values as follows:

- SCALAR, VECTOR, OFFSET: unsigned, below 2^addr_bits.
- IMM: -2^31 .. 2^32-1, stored mod 2^32 (every IMM op takes k mod 2^32);
  decodes to the unsigned value.
- TARGET and REL: signed 32-bit, two's complement.  The hardware reads both
  as signed, so a jump to a negative bundle traps JUMP_NEGATIVE exactly as
  in the model; ``to_hardware`` maps targets past the end to the program
  length, so every stop-by-jumping-off-the-end target fits.

Every bit the op does not use must be zero, and an engine's used positions
must come first (slot i of a bundle is hardware position i), so decoding is
the exact inverse of encoding.  Debug ops have no encoding.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from functools import lru_cache
from typing import Callable, Iterable

from .isa import (
    DEFAULT_PARAMS,
    WORD_MASK,
    MachineParams,
    Encoding,
    Engine,
    HW_ENGINES,
    OPS,
    OperandKind,
    OperandSpec,
    OpSpec,
    UnknownOp,
    by_opcode,
    signed,
)
from .configs import check_program_ops
from .program import Bundle, Program, ProgramError, Slot, place

INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1


class EncodingError(ProgramError):
    """A value, op or bundle with no hardware encoding; names bundle, engine, slot."""


def _at(where: str) -> str:
    return f" at {where}" if where else ""


@dataclass(frozen=True)
class _OpLayout:
    spec: OpSpec
    fields: tuple[tuple[OperandSpec, int, int], ...]  # (operand, lsb, width)
    used_mask: int  # bits the op may set
    has_immediate: bool  # an IMM, TARGET or REL operand


@dataclass(frozen=True)
class _Layout:
    """``Encoding``'s numbers, computed once (encoding a long program is hot)."""

    slot_bits: int
    opcode_mask: int
    addr_bits: int
    engine_lsb: dict[Engine, int]
    engine_slots: dict[Engine, int]
    ops: dict[tuple[Engine, str], _OpLayout]


@lru_cache(maxsize=16)
def _layout(enc: Encoding) -> _Layout:
    ops = {}
    for spec in OPS:
        if spec.engine is Engine.DEBUG:
            continue
        fields = tuple((o, enc.field_lsb(o.field), enc.field_width(o.field)) for o in spec.operands)
        mask = (1 << enc.opcode_bits) - 1
        for _o, lsb, width in fields:
            mask |= ((1 << width) - 1) << lsb
        immediate = any(o.kind in (OperandKind.IMM, OperandKind.TARGET, OperandKind.REL) for o in spec.operands)
        ops[(spec.engine, spec.name)] = _OpLayout(spec, fields, mask, immediate)
    return _Layout(
        slot_bits=enc.slot_bits,
        opcode_mask=(1 << enc.opcode_bits) - 1,
        addr_bits=enc.addr_bits,
        engine_lsb={e: enc.position_lsb(e, 0) for e in HW_ENGINES},
        engine_slots={e: enc.params.slot_limit(e) for e in HW_ENGINES},
        ops=ops,
    )


def _field_value(o: OperandSpec, value: int, addr_bits: int, op: str) -> int:
    """The unsigned bits that ``value`` puts into ``o``'s field."""
    kind = o.kind
    if type(value) is not int:  # bool is not an operand either
        raise EncodingError(f"{op} operand {o.name} must be an integer, got {value!r}")
    if kind in (OperandKind.SCALAR, OperandKind.VECTOR, OperandKind.OFFSET):
        if not 0 <= value < 1 << addr_bits:
            what = "offset" if kind is OperandKind.OFFSET else "scratch address"
            raise EncodingError(
                f"{op} operand {o.name}: {what} {value} does not fit the {addr_bits}-bit field"
                f" (0..{(1 << addr_bits) - 1})"
            )
        return value
    if kind is OperandKind.IMM:
        if not INT32_MIN <= value <= WORD_MASK:
            raise EncodingError(f"{op} operand {o.name}: immediate {value} is outside -2^31..2^32-1")
        return value & WORD_MASK
    if kind in (OperandKind.TARGET, OperandKind.REL):
        if not INT32_MIN <= value <= INT32_MAX:
            what = "jump target" if kind is OperandKind.TARGET else "relative offset"
            raise EncodingError(f"{op} operand {o.name}: {what} {value} is outside signed 32-bit")
        return value & WORD_MASK
    raise EncodingError(f"{op} operand {o.name} ({kind.value}) has no hardware encoding")


def _encode_slot(slot: Slot, layout: _Layout) -> int:
    op = layout.ops.get((slot.engine, slot.op))
    if op is None:
        if slot.engine is Engine.DEBUG:
            raise EncodingError(f"debug op {slot.op} has no hardware encoding (to_hardware drops debug slots)")
        try:
            slot.spec
        except UnknownOp as e:
            raise EncodingError(e.args[0]) from None
        raise EncodingError(f"{slot.op} has no hardware encoding")
    if len(slot.args) != len(op.fields):
        raise EncodingError(f"{slot.op} takes {len(op.fields)} operand(s), got {len(slot.args)}")
    word = op.spec.opcode
    for (o, lsb, _width), value in zip(op.fields, slot.args):
        word |= _field_value(o, value, layout.addr_bits, slot.op) << lsb
    return word


def encode_slot(slot: Slot, enc: Encoding, where: str = "") -> int:
    """The ``enc.slot_bits``-wide word of one slot; EncodingError if it has none."""
    try:
        return _encode_slot(slot, _layout(enc))
    except EncodingError as e:
        raise EncodingError(f"{e}{_at(where)}") from None


def decode_slot(engine: Engine, word: int, enc: Encoding, where: str = "") -> Slot | None:
    """The slot a word encodes, or None for an empty position (opcode 0)."""
    engine = Engine(engine)
    layout = _layout(enc)
    if not 0 <= word < 1 << layout.slot_bits:
        raise EncodingError(f"slot word {word:#x} is not {layout.slot_bits} bits wide{_at(where)}")
    opcode = word & layout.opcode_mask
    if opcode == 0:
        if word:
            raise EncodingError(f"empty slot (opcode 0) with other bits set: {word:#x}{_at(where)}")
        return None
    if engine is Engine.DEBUG:
        raise EncodingError(f"engine debug has no hardware encoding{_at(where)}")
    try:
        op = layout.ops[(engine, by_opcode(engine, opcode).name)]
    except UnknownOp as e:
        raise EncodingError(f"{e.args[0]}{_at(where)}") from None
    stray = word & ~op.used_mask
    if stray:
        raise EncodingError(f"{op.spec.name}: bits {stray:#x} are set outside its fields{_at(where)}")
    args = tuple(_decoded_value(o, (word >> lsb) & ((1 << width) - 1)) for o, lsb, width in op.fields)
    return Slot(engine, op.spec.name, args)


def _decoded_value(o: OperandSpec, bits: int) -> int:
    return signed(bits, 32) if o.kind in (OperandKind.TARGET, OperandKind.REL) else bits


def check_write_order(bundle: Bundle, params: MachineParams = DEFAULT_PARAMS, where: str = "") -> None:
    """EncodingError if a scratch word written by two engines would get its
    final value from a different engine in HW_ENGINES order than in the
    bundle's own order (the later engine wins).

    Within an engine the order is kept, so only cross-engine conflicts matter;
    memory (store only) and the trace buffer (flow only) cannot conflict.
    """
    problem = _write_order_problem(bundle, params)
    if problem:
        raise EncodingError(f"{problem}{_at(where)}")


def _write_order_problem(bundle: Bundle, params: MachineParams) -> str | None:
    listed_order = [e for e, slots in bundle.groups if slots and e is not Engine.DEBUG]
    if len(listed_order) < 2 or listed_order == [e for e in HW_ENGINES if e in listed_order]:
        return None

    def last_writers(order: Iterable[Engine]) -> dict[int, Engine]:
        last: dict[int, Engine] = {}
        for engine in order:
            for slot in bundle.slots(engine):
                for addr in slot.spec.scratch_writes(slot.args, params):
                    last[addr] = engine
        return last

    listed, hw = last_writers(listed_order), last_writers(HW_ENGINES)
    for addr in sorted(listed):
        if listed[addr] is not hw[addr]:
            hw_order = ", ".join(e.value for e in HW_ENGINES if e in listed_order)
            pair = " and ".join(e.value for e in HW_ENGINES if e in (hw[addr], listed[addr]))
            return (
                f"scratch word {addr} is written by engines {pair}: in the order the bundle "
                f"lists them {listed[addr]} wins, but the hardware runs engines in the order "
                f"{', '.join(e.value for e in HW_ENGINES)}, where {hw[addr]} wins; reorder the bundle's keys to "
                f"{hw_order} (or drop one of the writes)"
            )
    return None


def encode_bundle(bundle: Bundle, enc: Encoding, where: str = "") -> int:
    """The ``enc.bundle_bits``-wide word: engines in HW_ENGINES order, slot 0 of
    alu in the least significant bits.  Debug slots and zero-cost bundles have
    no encoding (``to_hardware`` drops them)."""
    if not bundle.costs_cycle:
        raise EncodingError(f"a bundle with no engine key but debug costs no cycle and has no encoding{_at(where)}")
    problem = _group_problem(bundle)
    if problem:
        raise EncodingError(f"{problem}{_at(where)}")
    check_write_order(bundle, enc.params, where)
    return _encode_bundle(bundle, _layout(enc), lambda: where)


def _encode_bundle(bundle: Bundle, layout: _Layout, where: Callable[[], str]) -> int:
    """``where`` gives the place for messages (built only on an error)."""
    word = 0
    slot_bits = layout.slot_bits
    for engine, slots in bundle.groups:
        if engine is Engine.DEBUG:
            if slots:
                raise EncodingError(f"debug slots have no hardware encoding (to_hardware drops them){_at(where())}")
            continue
        limit = layout.engine_slots[engine]
        if len(slots) > limit:
            raise EncodingError(f"{len(slots)} {engine} slots exceed the limit of {limit}{_at(where())}")
        shift = layout.engine_lsb[engine]
        for i, slot in enumerate(slots):
            if slot.engine is not engine:  # its opcode would mean another op in this position
                at = _at(_join(where(), engine, i))
                raise EncodingError(f"a {slot.engine} slot ({slot}) is listed under {engine}{at}")
            try:
                word |= _encode_slot(slot, layout) << shift
            except EncodingError as e:
                raise EncodingError(f"{e}{_at(_join(where(), engine, i))}") from None
            shift += slot_bits
    return word


def decode_bundle(word: int, enc: Encoding, where: str = "") -> Bundle:
    """Groups in HW_ENGINES order, only engines with slots; all-empty gives {"alu": []}."""
    if not 0 <= word < 1 << enc.bundle_bits:
        raise EncodingError(f"bundle word is not {enc.bundle_bits} bits wide{_at(where)}")
    layout = _layout(enc)
    slot_mask = (1 << layout.slot_bits) - 1
    groups = []
    for engine in HW_ENGINES:
        base = layout.engine_lsb[engine]
        slots: list[Slot] = []
        for i in range(layout.engine_slots[engine]):
            bits = (word >> (base + i * layout.slot_bits)) & slot_mask
            if not bits:
                continue
            if len(slots) != i:
                raise EncodingError(f"{engine} position {i} is used after an empty position{_at(where)}")
            slots.append(decode_slot(engine, bits, enc, _join(where, engine, i)))  # type: ignore[arg-type]
        if slots:
            groups.append((engine, tuple(slots)))
    return Bundle(tuple(groups) or ((Engine.ALU, ()),))


def _join(where: str, engine: Engine, slot: int) -> str:
    return f"{where}, {place(engine=engine, slot=slot)}" if where else place(engine=engine, slot=slot)


def _group_problem(bundle: Bundle) -> str | None:
    """An engine listed twice (only a hand-made Bundle can do that): the
    hardware has one set of positions per engine, so one group would be lost."""
    engines = bundle.engines()
    if len(set(engines)) != len(engines):
        twice = next(e for e in engines if engines.count(e) > 1)
        return f"engine {twice} is listed twice in one bundle"
    return None


# --------------------------------------------------------------------------
# Hardware images


@dataclass(frozen=True)
class HardwareImage:
    """What the RTL runs, and how it relates to the model program it came from.

    ``program`` is canonical (engines in HW_ENGINES order, no debug, no
    zero-cost bundles, jump targets renumbered) and equals
    ``decode_bundle(w)`` for each of ``words``.  ``pc_map[p]`` is the hardware
    pc of model pc ``p`` (a dropped bundle maps to the next kept one), for
    ``p`` in 0..len(model program) inclusive, the last entry being the end.
    """

    program: Program
    words: list[int]
    pc_map: list[int]
    encoding: Encoding

    def write_hex(self, path: str | os.PathLike[str]) -> None:
        """``$readmemh`` file: a header comment naming the ISA version and machine
        config (``image_header``), then one bundle per line, bundle_bits/4 hex digits."""
        digits = self.encoding.bundle_bits // 4
        text = image_header(self.encoding) + "\n" + "".join(f"{w:0{digits}x}\n" for w in self.words)
        try:
            Path(path).write_text(text)
        except OSError as e:
            raise EncodingError(f"{path}: cannot write: {e.strerror or e}") from None


IMAGE_HEADER_PREFIX = "//vliwsim-image:"


def image_header(enc: Encoding) -> str:
    """One token ($readmemh skips // comments): ISA version, config and bundle width.
    An image whose header differs from the machine's is stale and refused."""
    from .configs import image_tag

    return f"{IMAGE_HEADER_PREFIX}{image_tag(enc.params)}:{enc.bundle_bits}"


def _check_header(path: str | os.PathLike[str], line: str, enc: Encoding) -> None:
    want = image_header(enc)
    if line != want:
        got = line[len(IMAGE_HEADER_PREFIX) :] if line.startswith(IMAGE_HEADER_PREFIX) else line
        raise EncodingError(
            f"{path}:1: stale or foreign hardware image: written for {got}, this machine is "
            f"{want[len(IMAGE_HEADER_PREFIX):]} (ISA version:config:bundle bits); re-encode the program"
        )


def read_hex(path: str | os.PathLike[str], enc: Encoding) -> list[int]:
    """Words of a file written by ``HardwareImage.write_hex``.  A header (first
    line) naming another ISA version or config is refused; a file without one
    (plain hex from elsewhere) is read as it is."""
    digits = enc.bundle_bits // 4
    depth = enc.params.imem_depth
    max_bytes = depth * (digits + 2)  # a full instruction memory, CRLF line ends
    words = []
    try:
        with open(path, "rb") as f:  # fstat first: a huge file is refused unread (pipes report 0)
            too_big = os.fstat(f.fileno()).st_size > max_bytes
            data = b"" if too_big else f.read(max_bytes + 1)
        lines = data.decode("ascii").splitlines()
    except OSError as e:
        raise EncodingError(f"{path}: cannot read: {e.strerror or e}") from None
    except UnicodeDecodeError as e:
        raise EncodingError(f"{path}: not a hex file (byte {e.start} is not ASCII)") from None
    if too_big or len(data) > max_bytes or len(lines) > depth:
        raise EncodingError(
            f"{path}: larger than the instruction memory (imem_depth {depth} bundles of {digits} hex digits)"
        )
    first = 0
    if lines and lines[0].lstrip().startswith("//"):
        _check_header(path, lines[0].strip(), enc)
        first = 1
    for n, line in enumerate(lines[first:], start=first + 1):
        text = line.strip()
        if len(text) != digits or not all(c in "0123456789abcdefABCDEF" for c in text):
            raise EncodingError(f"{path}:{n}: expected {digits} hex digits")
        words.append(int(text, 16))
    return words


def to_hardware(program: Program, params: MachineParams = DEFAULT_PARAMS) -> HardwareImage:
    """The hardware image of a model program; EncodingError names the model's
    bundle, engine and slot of anything the hardware cannot run the same way."""
    if not isinstance(program, Program):
        raise EncodingError(f"to_hardware needs a pymodel.program.Program, got {type(program).__name__}")
    if not isinstance(params, MachineParams):
        raise ValueError(f"params must be a pymodel.isa.MachineParams, got {type(params).__name__}")
    enc = Encoding(params)
    try:
        check_program_ops(program, params)  # an op of another config: refused, not encoded
    except ProgramError as e:
        raise EncodingError(str(e)) from None
    n = len(program)
    kept = [i for i, b in enumerate(program) if b.costs_cycle]
    if len(kept) > params.imem_depth:
        raise EncodingError(
            f"the hardware image has {len(kept)} bundles, more than the instruction memory holds"
            f" (imem_depth {params.imem_depth})"
        )
    pc_map = [0] * (n + 1)
    hw_pc = 0
    for p in range(n):
        pc_map[p] = hw_pc
        hw_pc += program[p].costs_cycle
    pc_map[n] = hw_pc
    _check_indirect_jumps(program, kept)

    layout = _layout(enc)
    words: list[int] = []
    bundles: list[Bundle] = []
    for i in kept:
        problem = _group_problem(program[i]) or _write_order_problem(program[i], params)
        if problem:
            raise EncodingError(f"{problem} at {place(i)}")
        bundle = _canonical(program[i], pc_map, i, layout)
        words.append(_encode_bundle(bundle, layout, lambda: place(i)))  # noqa: B023 (called at once)
        bundles.append(bundle)
    return HardwareImage(Program(tuple(bundles)), words, pc_map, enc)


def _check_indirect_jumps(program: Program, kept: list[int]) -> None:
    """jump_indirect's targets live in data, so they survive renumbering only
    if no bundle before a kept one is dropped."""
    if not kept:
        return
    first_dropped = next((p for p in range(kept[-1]) if not program[p].costs_cycle), None)
    if first_dropped is None:
        return
    for i in kept:
        for engine, s, slot in program[i]:
            if slot.op == "jump_indirect" and engine is Engine.FLOW:
                raise EncodingError(
                    f"{place(i, engine, s)}: jump_indirect takes its target from data, which cannot be renumbered, "
                    f"but bundle {first_dropped} costs no cycle (no engine key but debug) and would be dropped; "
                    "remove such bundles before the last cycle-costing one"
                )


def _canonical(bundle: Bundle, pc_map: list[int], model_pc: int, layout: _Layout) -> Bundle:
    """HW_ENGINES order, engines with slots only, jump targets in hardware pcs,
    operands as decoding gives them back."""
    groups = []
    for engine in HW_ENGINES:
        slots = bundle.slots(engine)
        if slots:
            groups.append((engine, tuple(_hw_slot(s, pc_map, model_pc, layout) for s in slots)))
    return Bundle(tuple(groups) or ((Engine.ALU, ()),))


def _hw_slot(slot: Slot, pc_map: list[int], model_pc: int, layout: _Layout) -> Slot:
    op = layout.ops.get((slot.engine, slot.op))
    if op is None or not op.has_immediate:
        return slot  # nothing to renumber or normalise (an unknown op fails in encoding)
    n = len(pc_map) - 1
    hw_next = pc_map[model_pc] + 1
    args = []
    for o, value in zip(op.spec.operands, slot.args):
        if o.kind is OperandKind.TARGET:
            value = _hw_target(value, pc_map, n)
        elif o.kind is OperandKind.REL:
            value = _hw_target(model_pc + 1 + value, pc_map, n) - hw_next
        elif o.kind is OperandKind.IMM and INT32_MIN <= value < 0:
            value &= WORD_MASK  # as decoding gives it back; the ops take k mod 2^32
        args.append(value)
    return Slot(slot.engine, slot.op, tuple(args))


def _hw_target(target: int, pc_map: list[int], n: int) -> int:
    """A jump to model pc ``target`` as a hardware pc: the first kept bundle at
    or after it; the end (or past it) is the end; before 0 stays before 0 so
    that it still traps."""
    if target < 0:
        return target
    return pc_map[min(target, n)]
