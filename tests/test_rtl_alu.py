"""The RTL's binop lane and ALU slot (Amaranth's simulator, small params)."""

from __future__ import annotations

import random

import pytest
from amaranth.sim import Simulator

from pymodel.isa import ALU_BINOPS, DivideByZero, Engine, MachineParams, TrapCause
from rtl.alu import AluSlot, BinopLane, binop_enum
from rtl.decode import member_name, op_member
from rtl.geometry import CoreGeometry

GEOM = CoreGeometry(MachineParams(vlen=2, scratch_size=64, alu_slots=2, valu_slots=1, mem_depth=64, imem_depth=16))
M32 = 0xFFFFFFFF
DIV0 = "div0"  # expected: the lane flags a zero divisor

# (op, a, b, expected) worked out by hand from MACHINE-SPEC.md.
DIRECTED = [
    ("+", 5, 7, 12),
    ("+", M32, 1, 0),
    ("+", M32, M32, M32 - 1),
    ("-", 10, 3, 7),
    ("-", 0, 1, M32),
    ("*", 6, 7, 42),
    ("*", 0x10000, 0x10000, 0),
    ("*", M32, M32, 1),
    ("//", 7, 2, 3),
    ("//", M32, 1, M32),
    ("//", 3, 7, 0),
    ("//", 5, 0, DIV0),
    ("cdiv", 7, 2, 4),
    ("cdiv", 8, 2, 4),
    ("cdiv", 0, 5, 0),
    ("cdiv", M32, 2, 0x80000000),
    ("cdiv", 1, M32, 1),
    ("cdiv", 1, 0, DIV0),
    ("^", 0xF0F0, 0xFF00, 0x0FF0),
    ("&", 0xF0F0, 0xFF00, 0xF000),
    ("|", 0xF0F0, 0xFF00, 0xFFF0),
    ("<<", 1, 31, 0x80000000),
    ("<<", M32, 4, 0xFFFFFFF0),
    ("<<", 1, 32, 0),
    ("<<", 1, 33, 0),  # low 5 bits say 1: the whole amount counts
    ("<<", 3, 0x80000000, 0),
    ("<<", 3, M32, 0),
    (">>", 0x80000000, 31, 1),
    (">>", 0x80000000, 32, 0),
    (">>", M32, M32, 0),
    (">>", 0xF0, 4, 0xF),
    ("%", 7, 3, 1),
    ("%", M32, 0x10, 15),
    ("%", 4, 0, DIV0),
    ("<", 1, 2, 1),
    ("<", 2, 1, 0),
    ("<", 2, 2, 0),
    ("<", 0x80000000, 1, 0),  # unsigned
    ("==", 5, 5, 1),
    ("==", 5, 6, 0),
    ("+", 0, 0, 0),  # b == 0 is no trap for a non-dividing op
]


def run_lane(vectors: list[tuple[str, int, int]]) -> list[tuple[int, int]]:
    """(result, div_zero) of the lane for each (op, a, b)."""
    dut = BinopLane(GEOM)
    ops = binop_enum(GEOM)
    out: list[tuple[int, int]] = []

    async def bench(ctx) -> None:
        for name, a, b in vectors:
            ctx.set(dut.op, ops[member_name(name)])
            ctx.set(dut.a, a)
            ctx.set(dut.b, b)
            out.append((ctx.get(dut.result), ctx.get(dut.div_zero)))

    sim = Simulator(dut)
    sim.add_testbench(bench)
    sim.run()
    return out


def test_every_alu_op_has_directed_vectors() -> None:
    assert {name for name, _, _ in ALU_BINOPS} == {v[0] for v in DIRECTED}


def test_binop_lane_directed() -> None:
    got = run_lane([(op, a, b) for op, a, b, _ in DIRECTED])
    for (op, a, b, want), (result, div_zero) in zip(DIRECTED, got):
        if want == DIV0:
            assert div_zero == 1, f"{a} {op} {b} should flag division by zero"
        else:
            assert (result, div_zero) == (want, 0), f"{a} {op} {b}: got {result:#x}, want {want:#x}"


def _operand(rng: random.Random) -> int:
    return rng.choice([0, 1, 2, 31, 32, 33, M32, 0x80000000, rng.randrange(64), rng.getrandbits(32)])


def test_binop_lane_matches_model_semantics_on_random_vectors() -> None:
    rng = random.Random(2024)
    model = {name: fn for name, fn, _ in ALU_BINOPS}
    vectors = [(rng.choice(list(model)), _operand(rng), _operand(rng)) for _ in range(600)]
    for (op, a, b), (result, div_zero) in zip(vectors, run_lane(vectors)):
        try:
            want = model[op](a, b)
        except DivideByZero:
            assert div_zero == 1, f"{a} {op} {b}"
            continue
        assert (result, div_zero) == (want, 0), f"{a} {op} {b}: got {result:#x}, want {want:#x}"


@pytest.mark.parametrize(
    "op, a, b, want_en, want_data, want_fault",
    [("NONE", 3, 4, 0, None, 0), ("-", 3, 4, 1, M32, 0), ("%", 3, 0, 1, None, 1)],
)
def test_alu_slot(op: str, a: int, b: int, want_en: int, want_data: int | None, want_fault: int) -> None:
    dut = AluSlot(GEOM)
    got: dict[str, int] = {}

    async def bench(ctx) -> None:
        member = op_member(Engine.ALU, op, GEOM.encoding.opcode_bits) if op != "NONE" else binop_enum(GEOM).NONE
        ctx.set(dut.slot.op, member)
        ctx.set(dut.slot.dst, 42)
        ctx.set(dut.src1[0], a)
        ctx.set(dut.src2[0], b)
        got.update(
            en=ctx.get(dut.wr_en),
            addr=ctx.get(dut.wr_addr[0]),
            data=ctx.get(dut.wr_data[0]),
            fault=ctx.get(dut.fault),
            cause=ctx.get(dut.fault_cause.as_value()),
        )

    sim = Simulator(dut)
    sim.add_testbench(bench)
    sim.run()
    assert (got["en"], got["addr"], got["fault"]) == (want_en, 42, want_fault)
    if want_data is not None:
        assert got["data"] == want_data
    if want_fault:
        assert got["cause"] == TrapCause.DIV_ZERO
