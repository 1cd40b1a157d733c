"""Slot and bundle encoding: exact round trips, field layout, and every error."""

import random

import pytest

from pymodel import isa
from pymodel.encoding import (
    EncodingError,
    check_write_order,
    decode_bundle,
    decode_slot,
    encode_bundle,
    encode_slot,
)
from pymodel.isa import DEFAULT_PARAMS, HW_ENGINES, Encoding, Engine, Field, OperandKind
from pymodel.program import Bundle, Program, ProgramError, Slot

ENC = Encoding(DEFAULT_PARAMS)
HW_OPS = [op for op in isa.OPS if op.engine is not Engine.DEBUG]
ADDR_MAX = (1 << ENC.addr_bits) - 1


def random_operand(kind: OperandKind, rng: random.Random) -> int:
    if kind in (OperandKind.SCALAR, OperandKind.VECTOR, OperandKind.OFFSET):
        return rng.choice([0, ADDR_MAX, rng.randrange(ADDR_MAX + 1)])
    if kind is OperandKind.IMM:
        return rng.choice([0, 2**32 - 1, rng.randrange(2**32)])  # the decoded (unsigned) form
    return rng.choice([-(2**31), 2**31 - 1, rng.randrange(-(2**31), 2**31)])  # TARGET, REL


def random_slot(op: isa.OpSpec, rng: random.Random) -> Slot:
    return Slot(op.engine, op.name, tuple(random_operand(o.kind, rng) for o in op.operands))


def random_bundle(rng: random.Random) -> Bundle:
    groups = []
    for engine in HW_ENGINES:
        ops = list(isa.ops_of(engine))
        n = rng.randrange(DEFAULT_PARAMS.slot_limit(engine) + 1)
        if n:
            groups.append((engine, tuple(random_slot(rng.choice(ops), rng) for _ in range(n))))
    return Bundle(tuple(groups) or ((Engine.ALU, ()),))


@pytest.mark.parametrize("op", HW_OPS, ids=lambda op: f"{op.engine.value}:{op.name}")
def test_every_op_round_trips(op):
    rng = random.Random(op.opcode)
    slots = [Slot(op.engine, op.name, tuple(op.example[1:]))] + [random_slot(op, rng) for _ in range(20)]
    for slot in slots:
        if any(o.kind is OperandKind.IMM and v < 0 for o, v in zip(op.operands, slot.args)):
            continue
        word = encode_slot(slot, ENC)
        assert 0 < word < 1 << ENC.slot_bits
        assert word & ((1 << ENC.opcode_bits) - 1) == op.opcode
        assert decode_slot(op.engine, word, ENC) == slot
        for o, value in zip(op.operands, slot.args):
            bits = (word >> ENC.field_lsb(o.field)) & ((1 << ENC.field_width(o.field)) - 1)
            assert bits == value & 0xFFFFFFFF


def test_field_layout_of_a_known_slot():
    # select d=1 c=2 a=3 b=4: opcode 1 at bit 0, dst at 6, src1 at 17, src2 at 28, src3 at 39
    word = encode_slot(Slot(Engine.FLOW, "select", (1, 2, 3, 4)), ENC)
    assert word == 1 | 1 << 6 | 2 << 17 | 3 << 28 | 4 << 39
    # jump's target sits in the 32-bit immediate region at bit 28
    assert encode_slot(Slot(Engine.FLOW, "jump", (-1,)), ENC) == isa.lookup("flow", "jump").opcode | 0xFFFFFFFF << 28
    assert ENC.field_lsb(Field.IMM) == 28 and ENC.slot_bits == 64


def test_negative_immediates_are_stored_mod_2_32():
    word = encode_slot(Slot(Engine.LOAD, "const", (5, -(2**31))), ENC)
    assert decode_slot(Engine.LOAD, word, ENC) == Slot(Engine.LOAD, "const", (5, 2**31))
    assert decode_slot(Engine.FLOW, encode_slot(Slot(Engine.FLOW, "cond_jump_rel", (1, -3)), ENC), ENC).args == (1, -3)


@pytest.mark.parametrize(
    "slot, message",
    [
        (("alu", "+", (2048, 0, 0)), "+ operand d: scratch address 2048 does not fit the 11-bit field (0..2047)"),
        (("valu", "vbroadcast", (0, -1)), "vbroadcast operand a: scratch address -1 does not fit"),
        (("load", "load_offset", (0, 0, 2048)), "load_offset operand k: offset 2048 does not fit the 11-bit field"),
        (("load", "const", (0, 2**32)), "const operand k: immediate 4294967296 is outside -2^31..2^32-1"),
        (("flow", "add_imm", (0, 0, -(2**31) - 1)), "add_imm operand k: immediate -2147483649 is outside"),
        (("flow", "cond_jump_rel", (0, 2**31)), "cond_jump_rel operand k: relative offset 2147483648 is outside signed"),
        (("flow", "jump", (2**31,)), "jump operand t: jump target 2147483648 is outside signed 32-bit"),
        (("debug", "comment", ("hi",)), "debug op comment has no hardware encoding"),
    ],
)
def test_unencodable_slots(slot, message):
    engine, op, args = slot
    with pytest.raises(EncodingError) as e:
        encode_slot(Slot(Engine(engine), op, args), ENC, "bundle 7, engine x, slot 1")
    assert str(e.value).startswith(message) and str(e.value).endswith("at bundle 7, engine x, slot 1")
    assert isinstance(e.value, ProgramError)


def test_decode_rejects_words_that_no_slot_encodes():
    add = encode_slot(Slot(Engine.ALU, "+", (1, 2, 3)), ENC)
    halt = encode_slot(Slot(Engine.FLOW, "halt", ()), ENC)
    with pytest.raises(EncodingError, match="bits 0x40 are set outside its fields"):
        decode_slot(Engine.FLOW, halt | 1 << 6, ENC)
    with pytest.raises(EncodingError, match=r"\+: bits .* outside its fields"):
        decode_slot(Engine.ALU, add | 1 << 60, ENC)
    with pytest.raises(EncodingError, match="engine store has no opcode 9"):
        decode_slot(Engine.STORE, 9, ENC)
    with pytest.raises(EncodingError, match="empty slot .opcode 0. with other bits set"):
        decode_slot(Engine.ALU, 1 << 6, ENC)
    with pytest.raises(EncodingError, match="not 64 bits wide"):
        decode_slot(Engine.ALU, 1 << 64, ENC)
    assert decode_slot(Engine.ALU, 0, ENC) is None


def test_random_bundles_round_trip_both_ways():
    rng = random.Random(1)
    for _ in range(300):
        bundle = random_bundle(rng)
        word = encode_bundle(bundle, ENC)
        assert 0 <= word < 1 << ENC.bundle_bits
        assert decode_bundle(word, ENC) == bundle
        assert encode_bundle(decode_bundle(word, ENC), ENC) == word


def test_bundle_layout_and_canonical_decode():
    add = Slot(Engine.ALU, "+", (1, 2, 3))
    halt = Slot(Engine.FLOW, "halt", ())
    # listed in a non-canonical order without conflicts: encoded (and decoded) in HW order
    bundle = Bundle(((Engine.FLOW, (halt,)), (Engine.DEBUG, ()), (Engine.ALU, (add,))))
    word = encode_bundle(bundle, ENC)
    assert word & ((1 << 64) - 1) == encode_slot(add, ENC)  # alu slot 0 in the low bits
    assert word >> ENC.position_lsb(Engine.FLOW, 0) == encode_slot(halt, ENC)  # flow on top
    assert ENC.bundle_bits == 64 * 23
    assert decode_bundle(word, ENC) == Bundle(((Engine.ALU, (add,)), (Engine.FLOW, (halt,))))
    # an all-empty word is a bundle that still costs its cycle
    empty = decode_bundle(0, ENC)
    assert empty.to_dict() == {"alu": []} and empty.costs_cycle
    assert encode_bundle(Bundle(((Engine.STORE, ()),)), ENC) == 0


def test_bundle_errors():
    add = encode_slot(Slot(Engine.ALU, "+", (1, 2, 3)), ENC)
    with pytest.raises(EncodingError, match=r"alu position 1 is used after an empty position at bundle 4"):
        decode_bundle(add << 64, ENC, "bundle 4")
    with pytest.raises(EncodingError, match=r"\+: bits .* at bundle 4, engine valu, slot 0"):
        decode_bundle((add | 1 << 63) << ENC.position_lsb(Engine.VALU, 0), ENC, "bundle 4")
    with pytest.raises(EncodingError, match="no engine key but debug costs no cycle"):
        encode_bundle(Bundle(((Engine.DEBUG, ()),)), ENC)
    with pytest.raises(EncodingError, match="debug slots have no hardware encoding"):
        encode_bundle(Program.from_tuples([{"alu": [], "debug": [("comment", "x")]}])[0], ENC)
    with pytest.raises(EncodingError, match=r"const operand k: immediate .* at bundle 2, engine load, slot 1"):
        encode_bundle(Program.from_tuples([{"load": [("const", 1, 0), ("const", 1, 2**40)]}])[0], ENC, "bundle 2")
    too_many = Bundle(((Engine.FLOW, (Slot(Engine.FLOW, "halt", ()),) * 2),))
    with pytest.raises(EncodingError, match="2 flow slots exceed the limit of 1"):
        encode_bundle(too_many, ENC)


def conflict(groups: dict) -> Bundle:
    return Program.from_tuples([groups])[0]


def test_write_order_conflicts():
    # alu and load both write word 5; listed with load first, the HW order agrees: fine
    check_write_order(conflict({"alu": [("+", 5, 1, 2)], "load": [("const", 5, 1)]}))
    # listed load-then-alu: alu wins in the listed order, load in hardware order
    with pytest.raises(EncodingError) as e:
        check_write_order(conflict({"load": [("const", 5, 1)], "alu": [("+", 5, 1, 2)]}), DEFAULT_PARAMS, "bundle 3")
    msg = str(e.value)
    assert msg.startswith("scratch word 5 is written by engines alu and load") and "reorder the bundle's keys to alu, load" in msg
    assert msg.endswith("at bundle 3")
    # a vector lane overlap counts; the conflict is reported at its lowest word
    with pytest.raises(EncodingError, match="scratch word 20 is written by engines valu and flow"):
        encode_bundle(conflict({"flow": [("add_imm", 20, 0, 1)], "valu": [("vbroadcast", 16, 0)]}), ENC)
    # non-canonical order without a shared word is fine, and so is a conflict inside one engine
    check_write_order(conflict({"flow": [("add_imm", 30, 0, 1)], "valu": [("vbroadcast", 16, 0)]}))
    check_write_order(conflict({"flow": [("halt",)], "alu": [("+", 5, 1, 2), ("-", 5, 1, 2)]}))
    # load_offset writes d+k
    with pytest.raises(EncodingError, match="scratch word 13 is written"):
        check_write_order(conflict({"load": [("load_offset", 10, 0, 3)], "alu": [("+", 13, 1, 2)]}))


@pytest.mark.parametrize("op", [op for op in isa.OPS if op.engine is Engine.DEBUG], ids=lambda op: op.name)
def test_debug_ops_have_no_encoding(op):
    with pytest.raises(EncodingError, match=f"debug op {op.name} has no hardware encoding"):
        encode_slot(Slot(Engine.DEBUG, op.name, tuple(op.example[1:])), ENC)
    with pytest.raises(EncodingError, match="engine debug has no hardware encoding"):
        decode_slot(Engine.DEBUG, op.opcode, ENC)


def test_hand_made_slots_that_no_parser_checked():
    for slot, message in [
        (Slot(Engine.ALU, "nop", ()), "unknown op 'nop' on engine alu"),
        (Slot(Engine.ALU, "+", (1, 2)), r"\+ takes 3 operand\(s\), got 2"),
        (Slot(Engine.LOAD, "const", (1, "7")), "const operand k must be an integer, got '7'"),
        (Slot(Engine.LOAD, "const", (1, True)), "const operand k must be an integer, got True"),
    ]:
        with pytest.raises(EncodingError, match=message):
            encode_slot(slot, ENC, "bundle 0")
