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


class HardwareImage:
    """What the RTL runs, and how it relates to the model program it came from.

    ``program`` is canonical (engines in HW_ENGINES order, no debug, no
    zero-cost bundles, jump targets renumbered) and equals
    ``decode_bundle(w)`` for each of ``words``.  ``pc_map[p]`` is the hardware
    pc of model pc ``p`` (a dropped bundle maps to the next kept one), for
    ``p`` in 0..len(model program) inclusive, the last entry being the end.

    ``to_hardware`` encodes in bulk and keeps the hex text; ``program`` and
    ``words`` are then made when first asked for.
    """

    def __init__(self, program: Program | None, words: list[int] | None, pc_map: list[int], encoding: Encoding,
                 *, hex_text: bytes | None = None, make_program: Callable[[], Program] | None = None) -> None:  # fmt: skip
        self._program = program
        self._words = words
        self.pc_map = pc_map
        self.encoding = encoding
        self._hex_text = hex_text  # ASCII: one line per bundle, each ending in a newline
        self._make_program = make_program

    @property
    def program(self) -> Program:
        if self._program is None:
            assert self._make_program is not None
            self._program = self._make_program()
        return self._program

    @property
    def words(self) -> list[int]:
        if self._words is None:
            self._words = [int(line, 16) for line in self.hex_text().splitlines()]
        return self._words

    def hex_text(self) -> bytes:
        """One line per bundle, bundle_bits/4 hex digits, each ending in a newline (ASCII)."""
        if self._hex_text is None:
            digits = self.encoding.bundle_bits // 4
            self._hex_text = "".join(f"{w:0{digits}x}\n" for w in self.words).encode()
        return self._hex_text

    def write_hex(self, path: str | os.PathLike[str]) -> None:
        """``$readmemh`` file: a header comment naming the ISA version and machine
        config (``image_header``), then one bundle per line, bundle_bits/4 hex digits."""
        try:
            with open(path, "wb") as f:
                f.write((image_header(self.encoding) + "\n").encode())
                f.write(self.hex_text())
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
        return _to_hardware_bulk(program, params, enc)
    except _NotBulk:
        pass  # something the bulk path does not vouch for: slot by slot, which names the problem
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


# --------------------------------------------------------------------------
# Encoding in bulk (numpy): the same image as the slot-by-slot loop above, which
# stays the reference and the source of every error message.


class _NotBulk(Exception):
    """The bulk path cannot vouch for this program (an error, or an unusual shape)."""


_ADDR, _IMM, _TARGET, _REL = 1, 2, 3, 4


def _to_hardware_bulk(program: Program, params: MachineParams, enc: Encoding) -> HardwareImage:
    import numpy as np

    from .flat import DEBUG, ENGINE_INDEX, FlatProgram

    layout = _layout(enc)
    if layout.slot_bits > 64:
        raise _NotBulk
    # Per bundle: the group shape the canonical form keeps as it is (non-debug engines
    # with slots, in HW order); any other shape is checked and canonicalised bundle by bundle.
    try:
        flat = FlatProgram.from_program(program)
    except KeyError:
        raise _NotBulk from None
    if flat.huge or not flat.well_formed:
        raise _NotBulk  # hand-built slots: checked one by one
    from .fast_decode import first_missing_op

    if first_missing_op(flat, params) is not None:
        raise _NotBulk  # an op of another config: the slot-by-slot path names it
    # Bundles with several engine groups: checked, and canonicalised one by one unless already
    # in the canonical shape (non-debug engines with slots, in HW order).
    assert flat.plain is not None and [ENGINE_INDEX[e] for e in HW_ENGINES] == list(range(len(HW_ENGINES)))
    for i in np.flatnonzero(~flat.plain & flat.bundle_cost.astype(bool)).tolist():
        groups = program.bundles[i].groups
        engines = [e for e, _ in groups]
        if len(set(engines)) != len(engines) or _write_order_problem(program.bundles[i], params):
            raise _NotBulk
    n = flat.n_bundles
    cost = flat.bundle_cost.astype(bool)
    n_kept = int(cost.sum())
    if n_kept > params.imem_depth:
        raise _NotBulk
    pc_map = np.zeros(n + 1, np.int64)
    np.cumsum(cost, out=pc_map[1:])
    kept = np.flatnonzero(cost)
    if n_kept and not cost[: kept[-1]].all():
        indirect = [j for j, spec in enumerate(flat.ops) if spec.engine is Engine.FLOW and spec.name == "jump_indirect"]
        if np.isin(flat.op, indirect).any():
            _check_indirect_jumps(program, kept.tolist())  # a dropped bundle before a kept one

    # Per op of the table: opcode, field lsb and operand kind.
    n_ops = len(flat.ops)
    opcode = np.zeros(n_ops, np.uint64)
    lsb = np.zeros((n_ops, 4), np.uint64)
    kind = np.zeros((n_ops, 4), np.int64)
    encodable = np.zeros(n_ops, bool)
    for j, spec in enumerate(flat.ops):
        op = layout.ops.get((spec.engine, spec.name))
        if op is None:
            continue
        encodable[j] = True
        opcode[j] = spec.opcode
        for k, (o, field_lsb, _width) in enumerate(op.fields):
            lsb[j, k] = field_lsb
            kind[j, k] = {OperandKind.IMM: _IMM, OperandKind.TARGET: _TARGET, OperandKind.REL: _REL}.get(o.kind, _ADDR)
    rows = np.flatnonzero(flat.engine != DEBUG)
    op = flat.op[rows]
    if not encodable[op].all():
        raise _NotBulk
    bundle = np.repeat(np.arange(n), np.diff(flat.bundle_first))[rows]
    args = flat.args[rows]
    index = flat.index[rows].astype(np.int64)
    engine = flat.engine[rows]
    first_position = np.zeros(len(ENGINE_INDEX), np.int64)
    limit = np.zeros(len(ENGINE_INDEX), np.int64)
    for e in HW_ENGINES:
        first_position[ENGINE_INDEX[e]] = layout.engine_lsb[e] // layout.slot_bits
        limit[ENGINE_INDEX[e]] = layout.engine_slots[e]
    if (index >= limit[engine]).any():
        raise _NotBulk
    word = opcode[op].copy()
    changed = np.zeros(len(rows), bool)  # an operand the canonical form rewrites
    hw_args = args.copy()  # the canonical form's operands
    addr_limit = 1 << layout.addr_bits
    for k in range(4):
        kk = kind[op, k]
        v = args[:, k]
        if not kk.any():
            continue
        out = v.copy()
        a = kk == _ADDR
        if ((v < 0) | (v >= addr_limit))[a].any():
            raise _NotBulk
        m = kk == _IMM
        if ((v < INT32_MIN) | (v > WORD_MASK))[m].any():
            raise _NotBulk
        changed |= m & (v < 0)
        out = np.where(m & (v < 0), v & WORD_MASK, out)  # as decoding gives it back
        for kd in (_TARGET, _REL):
            m = kk == kd
            if not m.any():
                continue
            t = v if kd == _TARGET else bundle + 1 + v
            hw = np.where(t < 0, t, pc_map[np.clip(t, 0, n)])
            if kd == _REL:
                hw = hw - (pc_map[bundle] + 1)
            out = np.where(m, hw, out)
            changed |= m & (hw != v)
            if ((hw < INT32_MIN) | (hw > INT32_MAX))[m].any():
                raise _NotBulk
        hw_args[:, k] = np.where(kk != 0, out, v)
        bits = (out & WORD_MASK).astype(np.uint64)
        word |= np.where(kk != 0, bits << lsb[op, k], np.uint64(0))
    n_positions = sum(layout.engine_slots.values())
    matrix = np.zeros((n_kept, n_positions), np.uint64)
    matrix[pc_map[bundle], first_position[engine] + index] = word
    slot_bytes = layout.slot_bits // 8
    raw = matrix[:, ::-1].astype(">u8").view(np.uint8).reshape(n_kept, n_positions, 8)[:, :, 8 - slot_bytes :]
    raw = raw.reshape(n_kept, n_positions * slot_bytes)
    width = raw.shape[1] * 2
    hexdigit = np.frombuffer(b"0123456789abcdef", np.uint8)
    out = np.empty((n_kept, width + 1), np.uint8)
    out[:, 0:width:2] = hexdigit[raw >> 4]
    out[:, 1:width:2] = hexdigit[raw & 15]
    out[:, width] = ord("\n")
    text = out.tobytes()

    rewritten = np.zeros(n, bool)
    rewritten[bundle[changed]] = True
    reuse = flat.plain & ~rewritten
    pc_list = pc_map.tolist()

    def make_program() -> Program:
        hw_program = Program(
            tuple(program[i] if reuse[i] else _canonical(program[i], pc_list, i, layout) for i in kept.tolist())
        )
        # Its arrays too (the model runs it), from these: HW engine order, renumbered operands.
        hw_pc = pc_map[bundle]
        order = np.lexsort((index, engine, hw_pc))
        counts = np.bincount(hw_pc, minlength=n_kept)
        first = np.zeros(n_kept + 1, np.int64)
        np.cumsum(counts, out=first[1:])
        hw_flat = FlatProgram(
            engine[order], op[order], hw_args[order], index[order].astype(np.int16), first,
            np.ones(n_kept, np.uint8), flat.ops, {}, None, hw_program, True, counts > 0,
        )  # fmt: skip
        hw_program.__dict__["_flat"] = hw_flat  # as FlatProgram.from_program caches it
        return hw_program

    return HardwareImage(None, None, pc_list, enc, hex_text=text, make_program=make_program)
