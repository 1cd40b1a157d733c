"""The bulk (numpy) hardware image equals the slot-by-slot one, and bad
programs get the slot-by-slot path's message (the bulk path steps aside)."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from cocotb_tests.strategies import Case, cases
from pymodel import encoding
from pymodel.encoding import EncodingError, to_hardware
from pymodel.flat import FlatProgram
from pymodel.program import Bundle, Program, Slot
from pymodel.isa import Engine


def _slot_by_slot(program, params=None):
    orig = encoding._to_hardware_bulk

    def refuse(*a):
        raise encoding._NotBulk

    encoding._to_hardware_bulk = refuse
    try:
        return to_hardware(program) if params is None else to_hardware(program, params)
    finally:
        encoding._to_hardware_bulk = orig


def _same_image(program, params=None):
    try:
        want = _slot_by_slot(program, params)
    except EncodingError as e:
        with pytest.raises(EncodingError) as got:
            to_hardware(program) if params is None else to_hardware(program, params)
        assert str(got.value) == str(e)
        return "refused"
    got = to_hardware(program) if params is None else to_hardware(program, params)
    assert got.words == want.words and got.pc_map == want.pc_map and got.program == want.program
    assert got.hex_text() == want.hex_text()
    cached = got.program.__dict__.get("_flat")  # the arrays the bulk path made for the canonical program
    if cached is not None:
        del got.program.__dict__["_flat"]
        fresh = FlatProgram.from_program(got.program)
        for name in ("engine", "op", "args", "index", "bundle_first", "bundle_cost", "plain"):
            assert np.array_equal(getattr(cached, name), getattr(fresh, name)), name
    return "encoded"


DIRECTED = [
    [{"alu": [("+", 1, 2, 3)]}],
    [{"flow": [("halt",)], "alu": [("+", 1, 2, 3)]}],  # engines out of HW order, no conflict
    [{"debug": [("comment", "x")]}, {"load": []}, {"flow": [("jump", 0)]}],  # a dropped bundle, renumbered jump
    [{"load": [("const", 1, -5)]}, {"flow": [("cond_jump_rel", 1, -2)]}, {"debug": []}, {"flow": [("jump", 9)]}],
    [{"alu": [("+", 1, 2, 4000)]}],  # an address past the field: refused
    [{"load": [("const", 1, 1 << 33)]}],  # an immediate past 32 bits: refused
    [{"flow": [("jump", 1 << 40)]}],
    [{"flow": [("add_imm", 5, 6, 1)], "alu": [("+", 5, 1, 1)]}],  # write order differs: refused
    [{"debug": [("comment", "a")]}, {"flow": [("jump_indirect", 3)]}],  # jump_indirect after a dropped bundle
    [],
]


@pytest.mark.parametrize("raw", DIRECTED)
def test_directed(raw):
    _same_image(Program.from_tuples(raw))


def test_hand_built_bundles_take_the_slot_by_slot_path():
    bad = Program((Bundle(((Engine.VALU, (Slot(Engine.ALU, "+", (1, 2, 3)),)),)),))  # an alu slot under valu
    assert _same_image(bad) == "refused"
    twice = Program((Bundle(((Engine.ALU, (Slot(Engine.ALU, "+", (1, 2, 3)),)), (Engine.ALU, ()))),))
    assert _same_image(twice) == "refused"
    boolean = Program((Bundle(((Engine.ALU, (Slot(Engine.ALU, "+", (True, 2, 3)),)),)),))
    assert _same_image(boolean) == "refused"


@settings(max_examples=150, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
@given(case=cases())
def test_random_programs(case: Case):
    _same_image(Program.from_tuples(case.program, case.params), case.params)


def test_kernels():
    from kernels.tree_hash import build

    for variant in ("vector", "optimized"):
        assert _same_image(build(variant).program) == "encoded"
