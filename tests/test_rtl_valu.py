"""The RTL's vector ALU slot: lane-wise binops, vbroadcast, multiply_add."""

from __future__ import annotations

from amaranth.sim import Simulator

from pymodel.isa import Engine, MachineParams, TrapCause
from rtl.decode import op_enum, op_member
from rtl.geometry import CoreGeometry
from rtl.valu import ValuSlot

VLEN = 4
GEOM = CoreGeometry(MachineParams(vlen=VLEN, scratch_size=64, alu_slots=1, valu_slots=1, mem_depth=64, imem_depth=16))
M32 = 0xFFFFFFFF


def run_valu(op: str, a: list[int], b: list[int], c: list[int], dst: int = 20) -> dict[str, object]:
    dut = ValuSlot(GEOM)
    got: dict[str, object] = {}

    async def bench(ctx) -> None:
        bits = GEOM.encoding.opcode_bits
        member = op_enum(Engine.VALU, bits).NONE if op == "NONE" else op_member(Engine.VALU, op, bits)
        ctx.set(dut.slot.op, member)
        ctx.set(dut.slot.dst, dst)
        for i in range(VLEN):
            ctx.set(dut.src1[i], a[i])
            ctx.set(dut.src2[i], b[i])
            ctx.set(dut.src3[i], c[i])
        got["en"] = ctx.get(dut.wr_en)
        got["addr"] = [ctx.get(dut.wr_addr[i]) for i in range(VLEN)]
        got["data"] = [ctx.get(dut.wr_data[i]) for i in range(VLEN)]
        got["fault"] = ctx.get(dut.fault)
        got["cause"] = ctx.get(dut.fault_cause.as_value())

    sim = Simulator(dut)
    sim.add_testbench(bench)
    sim.run()
    return got


A = [1, 0x80000000, M32, 100]
B = [2, 1, 33, 7]
C = [10, 20, 30, 40]


def test_lane_wise_binops() -> None:
    assert run_valu("+", A, B, C)["data"] == [3, 0x80000001, 32, 107]
    assert run_valu("<<", A, B, C)["data"] == [4, 0, 0, 100 << 7]  # by 33: 0
    assert run_valu("<", A, B, C)["data"] == [1, 0, 0, 0]
    got = run_valu("//", A, B, C)
    assert got["data"] == [0, 0x80000000, M32 // 33, 14] and got["fault"] == 0


def test_every_lane_writes_its_own_word() -> None:
    got = run_valu("^", A, B, C, dst=37)
    assert got["en"] == (1 << VLEN) - 1
    assert got["addr"] == [37, 38, 39, 40]


def test_vbroadcast_takes_lane_zero_of_a() -> None:
    assert run_valu("vbroadcast", [77, 1, 2, 3], B, C)["data"] == [77] * VLEN


def test_multiply_add_wraps() -> None:
    got = run_valu("multiply_add", [3, 0x10000, M32, 0], [4, 0x10000, M32, 9], [5, 7, M32, 1])
    assert got["data"] == [17, 7, 0, 1]  # M32*M32 = 1 mod 2^32, +M32 = 0


def test_zero_divisor_in_any_lane_faults() -> None:
    for lane in range(VLEN):
        b = [5] * VLEN
        b[lane] = 0
        got = run_valu("%", [9] * VLEN, b, C)
        assert got["fault"] == 1 and got["cause"] == TrapCause.DIV_ZERO, f"lane {lane}"
    assert run_valu("*", [9] * VLEN, [0] * VLEN, C)["fault"] == 0  # only dividing ops trap
    assert run_valu("multiply_add", A, [0] * VLEN, C)["fault"] == 0


def test_empty_slot_writes_nothing() -> None:
    got = run_valu("NONE", A, [0] * VLEN, C)
    assert got["en"] == 0 and got["fault"] == 0
