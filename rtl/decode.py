"""Slot decoder: one encoded slot word -> a typed record.

Field positions, widths and opcodes come from ``isa.Encoding`` and
``isa.OPS``; the per-engine op enums are generated from the same table, so a
new op in the ISA shows up here without editing this file (its HDL semantics
still has to be written in the engine's unit, which checks that at
elaboration).
"""

from __future__ import annotations

import types
from functools import cache

from amaranth.hdl import Module, Mux, Value
from amaranth.lib import data, enum, wiring
from amaranth.lib.wiring import In, Out

from pymodel.isa import Engine, Field, OpSpec, all_ops_of, lookup, ops_of

from .geometry import CoreGeometry, offset_operand

# Op names that are not identifiers get a readable enum member name.
_SYMBOL_NAMES = {
    "+": "ADD",
    "-": "SUB",
    "*": "MUL",
    "//": "FLOORDIV",
    "^": "XOR",
    "&": "AND",
    "|": "OR",
    "<<": "SHL",
    ">>": "SHR",
    "%": "MOD",
    "<": "LT",
    "==": "EQ",
}

EMPTY = "NONE"  # member for opcode 0, the empty slot


def member_name(op_name: str) -> str:
    name = _SYMBOL_NAMES.get(op_name, op_name.upper())
    if not name.isidentifier():
        raise ValueError(f"op {op_name!r} needs an enum member name in rtl.decode._SYMBOL_NAMES")
    return name


@cache
def op_enum(engine: Engine, opcode_bits: int) -> type[enum.Enum]:
    """amaranth enum of ``engine``'s opcodes (``NONE`` = 0 = empty slot)."""
    members = {EMPTY: 0}
    for op in all_ops_of(engine):  # every table op has a member; a machine decodes only its own
        name = member_name(op.name)
        if name in members:
            raise ValueError(f"two ops of engine {engine} map to enum member {name}")
        members[name] = op.opcode

    def body(ns: dict) -> None:
        for k, v in members.items():
            ns[k] = v

    return types.new_class(f"{engine.value.capitalize()}Op", (enum.Enum,), {"shape": opcode_bits}, body)


def op_member(engine: Engine, op_name: str, opcode_bits: int) -> enum.Enum:
    lookup(engine, op_name)  # clear error for an unknown op
    return op_enum(engine, opcode_bits)[member_name(op_name)]


def slot_layout(geom: CoreGeometry, engine: Engine) -> data.StructLayout:
    a = geom.addr_bits
    return data.StructLayout(
        {
            "op": op_enum(engine, geom.encoding.opcode_bits),
            "illegal": 1,  # opcode not defined for this engine (op reads NONE)
            "dst": a,
            "src1": a,
            "src2": a,
            "src3": a,
            "imm": geom.encoding.field_width(Field.IMM),
        }
    )


class SlotDecoder(wiring.Component):
    """Splits one slot word of ``engine`` into its fields."""

    def __init__(self, geom: CoreGeometry, engine: Engine) -> None:
        self._geom = geom
        self._engine = engine
        super().__init__(
            {
                "word": In(geom.encoding.slot_bits),
                "slot": Out(slot_layout(geom, engine)),
            }
        )

    def elaborate(self, platform) -> Module:
        m = Module()
        enc = self._geom.encoding
        word = self.word

        def bits(f: Field) -> Value:
            lsb = enc.field_lsb(f)
            return word[lsb : lsb + enc.field_width(f)]

        opcode = word[: enc.opcode_bits]
        ops = op_enum(self._engine, enc.opcode_bits)
        # Ops of ISA extensions this machine lacks decode as illegal (ILLEGAL_OP trap).
        has = {EMPTY} | {member_name(op.name) for op in ops_of(self._engine, self._geom.params)}
        with m.Switch(opcode):
            for member in ops:
                if member.name not in has:
                    continue
                with m.Case(member.value):
                    m.d.comb += self.slot.op.eq(member)
            with m.Default():
                m.d.comb += [self.slot.op.eq(ops[EMPTY]), self.slot.illegal.eq(1)]
        m.d.comb += [
            self.slot.dst.eq(bits(Field.DST)),
            self.slot.src1.eq(bits(Field.SRC1)),
            self.slot.src2.eq(bits(Field.SRC2)),
            self.slot.src3.eq(bits(Field.SRC3)),
            self.slot.imm.eq(bits(Field.IMM)),
        ]
        return m


def _field(slot: data.View, f: Field) -> Value:
    return getattr(slot, f.value)


def offset_ops(engine: Engine) -> list[tuple[OpSpec, Field]]:
    return [(op, f) for op in all_ops_of(engine) if (f := offset_operand(op)) is not None]


def operand_base(geom: CoreGeometry, engine: Engine, slot: data.View, f: Field) -> Value:
    """Scratch address of lane 0 of operand field ``f``: the field plus the
    op's OFFSET immediate, if it has one (A+1 bits, never wrapped)."""
    base = _field(slot, f)
    offset: Value = Value.cast(0)
    for op, off_field in offset_ops(engine):
        is_op = slot.op == op_member(engine, op.name, geom.encoding.opcode_bits)
        offset = offset | Mux(is_op, _field(slot, off_field), 0)
    return base + offset

