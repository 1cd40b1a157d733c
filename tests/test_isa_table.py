"""The ISA table is consistent: unique opcodes, fields that fit, semantics for every op."""

import pytest

from pymodel import isa
from pymodel.isa import DEFAULT_PARAMS, Encoding, Engine, Field, OperandKind


def test_opcodes_unique_per_engine_and_nonzero():
    seen = set()
    for op in isa.OPS:
        assert op.opcode >= 1, op
        key = (op.engine, op.opcode)
        assert key not in seen, op
        seen.add(key)


def test_spec_op_lists_are_complete():
    """The default machine has exactly the spec's ops (the conformance oracle's lists);
    every other op of the table belongs to an ISA extension."""
    from cocotb_tests.conformance import SPEC_OPS

    for e in Engine:
        assert sorted(op.name for op in isa.ops_of(e)) == sorted(SPEC_OPS[e.value]), e
        extra = {op.name for op in isa.all_ops_of(e)} - set(SPEC_OPS[e.value])
        assert all(isa.lookup(e, name).extension in isa.EXTENSIONS for name in extra), e


def test_every_hardware_op_fits_the_slot_encoding():
    enc = Encoding(DEFAULT_PARAMS)
    assert enc.slot_bits == 64 and enc.bundle_bits == 64 * 23
    for op in isa.OPS:
        if op.engine is Engine.DEBUG:
            continue
        fields = [o.field for o in op.operands]
        assert Field.NONE not in fields, op
        assert len(set(fields)) == len(fields), op
        # IMM overlaps SRC2/SRC3: no op may use both.
        assert not (Field.IMM in fields and (Field.SRC2 in fields or Field.SRC3 in fields)), op
        for f in fields:
            assert enc.field_lsb(f) + enc.field_width(f) <= enc.slot_bits


def test_example_of_every_op_matches_its_arity():
    for op in isa.OPS:
        assert op.example[0] == op.name
        assert len(op.example) - 1 == op.arity, op.name


@pytest.mark.parametrize(
    "name,a,b,expected",
    [
        ("-", 0, 1, 0xFFFFFFFF),
        ("*", 0xFFFFFFFF, 0xFFFFFFFF, 1),
        ("//", 7, 2, 3),
        ("cdiv", 7, 2, 4),
        ("cdiv", 0, 5, 0),
        ("cdiv", 0xFFFFFFFF, 1, 0xFFFFFFFF),
        ("%", 7, 3, 1),
        ("<<", 1, 31, 1 << 31),
        ("<<", 1, 32, 0),
        ("<<", 1, 1 << 31, 0),  # must not compute 1 << 2^31
        (">>", 0xFFFFFFFF, 32, 0),
        (">>", 0xFFFFFFFF, 0xFFFFFFFF, 0),
        ("<", 1, 2, 1),
        ("==", 3, 3, 1),
    ],
)
def test_alu_semantics_corner_values(name, a, b, expected):
    assert isa.lookup(Engine.ALU, name).binop(a, b) == expected


@pytest.mark.parametrize("name", ["//", "cdiv", "%"])
def test_division_by_zero_raises(name):
    with pytest.raises(isa.DivideByZero):
        isa.lookup(Engine.ALU, name).binop(5, 0)


def test_unknown_op_and_engine_messages():
    with pytest.raises(isa.UnknownOp, match="unknown op 'nope' on engine alu"):
        isa.lookup("alu", "nope")
    with pytest.raises(isa.UnknownOp, match="unknown engine 'gpu'"):
        isa.lookup("gpu", "+")


def test_scratch_footprints():
    p = DEFAULT_PARAMS
    assert isa.lookup("load", "load_offset").scratch_writes((16, 24, 3), p) == [19]
    assert isa.lookup("load", "load_offset").scratch_reads((16, 24, 3), p) == [27]
    assert isa.lookup("valu", "multiply_add").scratch_reads((0, 8, 16, 24), p) == list(range(8, 32))
    assert isa.lookup("store", "vstore").scratch_reads((3, 16), p) == [3] + list(range(16, 24))
    assert isa.lookup("valu", "vbroadcast").scratch_reads((16, 3), p) == [3]
    assert all(o.kind is not OperandKind.VECTOR for o in isa.lookup("flow", "select").operands)
