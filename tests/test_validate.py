"""The static validator: every rule, and that its message names the place."""

from __future__ import annotations

from typing import Any

import pytest

from kernels.validate import ValidationError, validate
from pymodel.isa import Engine, MachineParams
from pymodel.program import Bundle, Program, ProgramError, Slot

PARAMS = MachineParams(scratch_size=64)


def program(*bundles: dict[str, list[tuple[Any, ...]]]) -> Program:
    """A Program built without Program.from_tuples' checks, so bad slots get through."""
    return Program(
        tuple(
            Bundle(tuple((Engine(e), tuple(Slot(Engine(e), s[0], tuple(s[1:])) for s in ss)) for e, ss in bu.items()))
            for bu in bundles
        )
    )


def rejects(p: Program, pattern: str, mem_len: int | None = None) -> None:
    with pytest.raises(ValidationError, match=pattern):
        validate(p, PARAMS, mem_len)


def test_a_valid_program_passes() -> None:
    p = program(
        {"load": [("const", 0, 5), ("vload", 56, 0)], "alu": [("+", 1, 2, 3)]},
        {"flow": [("cond_jump", 1, 0)], "store": [("vstore", 0, 8)]},
        {"flow": [("jump", 3)]},  # to the end: a normal stop
        {"debug": [("vcompare", 8, [("k", i) for i in range(8)]), ("comment", "ok")]},
    )
    validate(p, PARAMS, mem_len=64)
    assert issubclass(ValidationError, ProgramError)


def test_slot_limit() -> None:
    p = program({"load": [("const", i, 0) for i in range(3)]})
    rejects(p, r"^bundle 0, engine load: 3 slots exceed the limit of 2$")


def test_engine_listed_twice() -> None:
    p = Program((Bundle(((Engine.ALU, ()), (Engine.ALU, ()))),))
    rejects(p, r"^bundle 0, engine alu: engine listed twice")


def test_unknown_op() -> None:
    rejects(program({}, {"alu": [("vload", 0, 1)]}), r"^bundle 1, engine alu, slot 0: unknown op 'vload' on engine alu")


def test_operand_count() -> None:
    rejects(program({"alu": [("+", 0, 1, 2), ("+", 0, 1)]}), r"^bundle 0, engine alu, slot 1: \+ takes 3 operand\(s\)")


@pytest.mark.parametrize(
    "slot, pattern",
    [
        (("+", 0, "1", 2), r"\+ operand a='1' \(scalar\) must be an integer"),
        (("+", 0, True, 2), r"\+ operand a=True \(scalar\) must be an integer"),
        (("+", 0, 1.0, 2), r"\+ operand a=1.0 \(scalar\) must be an integer"),
    ],
)
def test_operand_kind(slot: tuple, pattern: str) -> None:
    rejects(program({"alu": [slot]}), r"^bundle 0, engine alu, slot 0: " + pattern)


def test_scratch_range_scalar_and_vector_last_lane() -> None:
    rejects(program({"alu": [("+", 64, 0, 0)]}), r"slot 0: \+ operand d=64 is outside scratch 0..63")
    rejects(program({"alu": [("+", 0, -1, 0)]}), r"\+ operand a=-1 is outside scratch")
    p = program({"valu": [("^", 0, 57, 0)]})
    rejects(p, r"bundle 0, engine valu, slot 0: \^ operand a=57 \(last lane 64\) is outside")
    validate(program({"valu": [("^", 0, 56, 0)]}), PARAMS)  # last lane 63: fine


def test_load_offset_checks_d_plus_k_and_a_plus_k() -> None:
    rejects(program({"load": [("load_offset", 60, 0, 4)]}), r"load_offset operand d=60 \+ k=4 = 64 is outside scratch")
    rejects(program({"load": [("load_offset", 0, 62, 2)]}), r"load_offset operand a=62 \+ k=2 = 64 is outside scratch")
    rejects(program({"load": [("load_offset", 0, 0, -1)]}), r"load_offset offset k=-1 must not be negative")
    validate(program({"load": [("load_offset", 56, 56, 7)]}), PARAMS)


def test_two_writes_to_one_word_in_one_bundle() -> None:
    p = program({"alu": [("+", 3, 0, 0)], "valu": [("*", 0, 8, 8)]})  # the vector's lanes 0..7 include word 3
    where = r"^bundle 0, engine valu, slot 0: "
    rejects(p, where + r"\* writes scratch word 3, already written in this bundle by \+ at engine alu, slot 0 \(two")
    validate(program({"alu": [("+", 3, 0, 0)]}, {"alu": [("+", 3, 0, 0)]}), PARAMS)  # different bundles: fine


def test_load_offset_writes_d_plus_k() -> None:
    p = program({"load": [("load_offset", 0, 8, 3), ("const", 3, 1)]})
    rejects(p, r"bundle 0, engine load, slot 1: const writes scratch word 3, already written .* load_offset")


def test_jump_targets() -> None:
    p = program({"flow": [("jump", 2)]})
    rejects(p, r"^bundle 0, engine flow, slot 0: jump operand t=2: jump target outside bundles 0..1")
    rejects(program({"flow": [("cond_jump", 0, -1)]}), r"cond_jump operand t=-1: jump target outside")
    p = program({}, {"flow": [("cond_jump_rel", 0, -3)]})
    rejects(p, r"^bundle 1, engine flow, slot 0: .*relative jump to bundle -1, outside bundles 0..2")
    rejects(program({"flow": [("cond_jump_rel", 0, 1)]}), r"relative jump to bundle 2, outside bundles 0..1")
    validate(program({"flow": [("jump", 1)]}, {"flow": [("cond_jump_rel", 0, -2)]}), PARAMS)  # end, and bundle 0


def test_immediate_range() -> None:
    p = program({"load": [("const", 0, 1 << 32)]})
    rejects(p, r"^bundle 0, engine load, slot 0: const operand k=4294967296 is outside the 32-bit immediate range")
    rejects(program({"flow": [("add_imm", 0, 0, -(1 << 31) - 1)]}), r"add_imm operand k=-2147483649 is outside")
    validate(program({"load": [("const", 0, (1 << 32) - 1), ("const", 1, -(1 << 31))]}), PARAMS)


def test_debug_keys_must_be_vlen_long() -> None:
    p = program({"debug": [("vcompare", 0, [1, 2])]})
    rejects(p, r"engine debug, slot 0: vcompare operand keys=\[1, 2\] must be a list of 8")


def test_slot_under_the_wrong_engine() -> None:
    p = Program((Bundle(((Engine.ALU, (Slot(Engine.VALU, "+", (0, 0, 0)),)),)),))
    rejects(p, r"bundle 0, engine alu, slot 0: slot \+ 0 0 0 belongs to engine valu")


def test_known_memory_addresses_are_checked_with_mem_len() -> None:
    setup = ({"load": [("const", 0, 10)]}, {"alu": [("+", 1, 0, 2)], "load": [("const", 2, 1)]})
    p = program(*setup, {"load": [("vload", 8, 0)]})
    validate(p, PARAMS)  # without mem_len: not checked
    validate(p, PARAMS, mem_len=18)
    rejects(p, r"^bundle 2, engine load, slot 0: vload 8 0 touches memory 10..17, outside memory 0..16", mem_len=17)
    # The add's operand word 2 is only set in the add's own bundle: its result is unknown.
    q = program(*setup, {"load": [("load", 8, 1)]})
    validate(q, PARAMS, mem_len=11)


def test_known_addresses_are_forgotten_at_jump_targets() -> None:
    p = program(
        {"load": [("const", 0, 99)]},
        {"flow": [("cond_jump", 1, 3)]},
        {"load": [("load", 8, 0)]},  # known: 99
        {"store": [("store", 0, 8)]},  # a jump target: word 0 may hold anything here
    )
    rejects(p, r"^bundle 2, engine load, slot 0: load 8 0 touches memory 99..99", mem_len=50)
    landing = program({"load": [("const", 0, 99)]}, {"flow": [("cond_jump", 1, 2)]}, {"store": [("store", 0, 8)]})
    validate(landing, PARAMS, mem_len=50)
    after_jump = program({"load": [("const", 0, 99)]}, {"flow": [("jump", 3)]}, {"store": [("store", 0, 8)]})
    validate(after_jump, PARAMS, mem_len=50)  # unreachable code is not flagged
