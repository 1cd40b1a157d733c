"""The RTL's slot decoder and scratch range check against isa.Encoding."""

from __future__ import annotations

import pytest
from amaranth.hdl import Module
from amaranth.sim import Simulator

from pymodel.isa import DEFAULT_PARAMS, HW_ENGINES, Encoding, Engine, Field, MachineParams, OpSpec, lookup, ops_of
from rtl.decode import SlotDecoder, member_name, op_enum
from rtl.geometry import CoreGeometry
from rtl.trap import ScratchRangeCheck


def pack(enc: Encoding, spec: OpSpec, args: tuple[int, ...]) -> int:
    """A slot word built straight from the layout (not from pymodel.encoding)."""
    word = spec.opcode
    for o, value in zip(spec.operands, args):
        word |= (value & ((1 << enc.field_width(o.field)) - 1)) << enc.field_lsb(o.field)
    return word


def decode(geom: CoreGeometry, engine: Engine, words: list[int]) -> list[dict[str, int | str]]:
    dut = SlotDecoder(geom, engine)
    ops = op_enum(engine, geom.encoding.opcode_bits)
    out: list[dict[str, int | str]] = []

    async def bench(ctx) -> None:
        for w in words:
            ctx.set(dut.word, w)
            rec = {f: ctx.get(getattr(dut.slot, f)) for f in ("illegal", "dst", "src1", "src2", "src3", "imm")}
            rec["op"] = ops(ctx.get(dut.slot.op.as_value())).name
            out.append(rec)

    sim = Simulator(dut)
    sim.add_testbench(bench)
    sim.run()
    return out


@pytest.mark.parametrize("engine", HW_ENGINES, ids=str)
def test_every_op_example_decodes_to_its_fields(engine: Engine) -> None:
    geom = CoreGeometry(DEFAULT_PARAMS)
    enc = geom.encoding
    specs = list(ops_of(engine))
    got = decode(geom, engine, [pack(enc, s, s.example[1:]) for s in specs])
    for spec, rec in zip(specs, got):
        assert rec["op"] == member_name(spec.name) and rec["illegal"] == 0, spec.name
        for o, value in zip(spec.operands, spec.example[1:]):
            if o.field is Field.IMM:
                assert rec["imm"] == value & 0xFFFFFFFF, f"{spec.name} {o.name}"
            else:
                assert rec[o.field.value] == value, f"{spec.name} {o.name}"


def test_fields_sit_where_encoding_says_in_a_small_layout() -> None:
    geom = CoreGeometry(MachineParams(vlen=4, scratch_size=40, alu_slots=1, valu_slots=1, mem_depth=64, imem_depth=16))
    spec = lookup(Engine.FLOW, "vselect")
    (rec,) = decode(geom, Engine.FLOW, [pack(geom.encoding, spec, (33, 1, 62, 5))])
    assert (rec["op"], rec["dst"], rec["src1"], rec["src2"], rec["src3"]) == ("VSELECT", 33, 1, 62, 5)


def test_undefined_opcode_is_illegal_and_reads_as_empty() -> None:
    geom = CoreGeometry(DEFAULT_PARAMS)
    for engine in HW_ENGINES:
        top = max(op.opcode for op in ops_of(engine))
        recs = decode(geom, engine, [top + 1, (1 << geom.encoding.opcode_bits) - 1, 0])
        assert [(r["op"], r["illegal"]) for r in recs] == [("NONE", 1), ("NONE", 1), ("NONE", 0)], engine


# -- scratch range check ------------------------------------------------------

SMALL = CoreGeometry(MachineParams(vlen=4, scratch_size=48, alu_slots=1, valu_slots=1, mem_depth=64, imem_depth=16))


def range_bad(engine: Engine, slots: list[tuple]) -> list[int]:
    dut = ScratchRangeCheck(SMALL, engine)
    words = [pack(SMALL.encoding, lookup(engine, s[0]), s[1:]) for s in slots]
    dec = SlotDecoder(SMALL, engine)
    out: list[int] = []

    async def bench(ctx) -> None:
        for w in words:
            ctx.set(dec.word, w)
            out.append(ctx.get(dut.bad))

    m = Module()
    m.submodules.dec = dec
    m.submodules.check = dut
    m.d.comb += dut.slot.eq(dec.slot)
    sim = Simulator(m)
    sim.add_testbench(bench)
    sim.run()
    return out


def test_scalar_operands_past_the_end_trap() -> None:
    assert range_bad(Engine.ALU, [("+", 47, 0, 1), ("+", 48, 0, 1), ("+", 0, 48, 1), ("+", 0, 1, 63)]) == [0, 1, 1, 1]


def test_every_lane_of_a_vector_is_checked() -> None:
    # vlen 4, size 48: a vector at 44 ends at 47 (fine), at 45 ends at 48 (bad)
    slots = [("*", 44, 44, 44), ("*", 45, 0, 0), ("*", 0, 0, 45), ("vbroadcast", 0, 47)]
    assert range_bad(Engine.VALU, slots) == [0, 1, 1, 0]
    assert range_bad(Engine.VALU, [("multiply_add", 0, 0, 0, 45), ("vbroadcast", 45, 0)]) == [1, 1]
    assert range_bad(Engine.STORE, [("vstore", 47, 44), ("vstore", 47, 45), ("store", 47, 47)]) == [0, 1, 0]


def test_load_offset_checks_both_operands_plus_k() -> None:
    slots = [("load_offset", 40, 40, 7), ("load_offset", 41, 0, 7), ("load_offset", 0, 41, 7)]
    assert range_bad(Engine.LOAD, slots) == [0, 1, 1]
    assert range_bad(Engine.LOAD, [("const", 47, 0xFFFFFFFF), ("const", 48, 0), ("vload", 45, 0)]) == [0, 1, 1]


def test_ops_without_scratch_operands_never_trap_on_range() -> None:
    slots = [("jump", 60), ("halt",), ("cond_jump", 47, 63), ("cond_jump", 48, 0)]
    assert range_bad(Engine.FLOW, slots) == [0, 0, 0, 1]
