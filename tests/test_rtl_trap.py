"""Trap priority across and within slots, and the later-wins write mask."""

from __future__ import annotations

from amaranth.sim import Simulator

from pymodel.isa import HW_ENGINES, Engine, MachineParams, TrapCause
from rtl.geometry import CoreGeometry
from rtl.priority import LaterWins
from rtl.trap import TrapSelect

PARAMS = MachineParams(vlen=2, scratch_size=64, alu_slots=3, valu_slots=2, load_slots=2, store_slots=1, mem_depth=64)
GEOM = CoreGeometry(PARAMS)
POSITIONS = GEOM.positions()


Chosen = tuple[TrapCause, Engine, int]  # cause, engine, slot of the reported trap


def select(cases: list[dict[int, tuple[str, TrapCause | None]]]) -> list[Chosen | None]:
    """Each case: position -> ("illegal" | "range" | "fault", fault cause)."""
    dut = TrapSelect(GEOM)
    out: list[Chosen | None] = []

    async def bench(ctx) -> None:
        for case in cases:
            ill = rng = flt = 0
            for p, (kind, cause) in case.items():
                ill |= (kind == "illegal") << p
                rng |= (kind == "range") << p
                flt |= (kind == "fault") << p
                ctx.set(dut.fault_cause[p], int(cause or 0))
            ctx.set(dut.illegal, ill)
            ctx.set(dut.range_bad, rng)
            ctx.set(dut.fault, flt)
            if ctx.get(dut.trap):
                cause = TrapCause(ctx.get(dut.cause.as_value()))
                out.append((cause, HW_ENGINES[ctx.get(dut.engine)], ctx.get(dut.slot)))
            else:
                out.append(None)
            for p in range(len(POSITIONS)):
                ctx.set(dut.fault_cause[p], 0)

    sim = Simulator(dut)
    sim.add_testbench(bench)
    sim.run()
    return out


def pos(engine: Engine, slot: int) -> int:
    return POSITIONS.index((engine, slot))


def test_no_trap() -> None:
    assert select([{}]) == [None]


def test_first_slot_in_hw_order_wins() -> None:
    got = select(
        [
            {pos(Engine.FLOW, 0): ("range", None), pos(Engine.ALU, 2): ("fault", TrapCause.DIV_ZERO)},
            {pos(Engine.STORE, 0): ("fault", TrapCause.MEM_RANGE), pos(Engine.LOAD, 1): ("fault", TrapCause.MEM_RANGE)},
            {pos(Engine.VALU, 1): ("fault", TrapCause.DIV_ZERO), pos(Engine.VALU, 0): ("range", None)},
        ]
    )
    assert got == [
        (TrapCause.DIV_ZERO, Engine.ALU, 2),
        (TrapCause.MEM_RANGE, Engine.LOAD, 1),
        (TrapCause.SCRATCH_RANGE, Engine.VALU, 0),
    ]


def test_within_a_slot_illegal_then_range_then_the_ops_own_trap() -> None:
    dut_pos = pos(Engine.LOAD, 0)
    dut = TrapSelect(GEOM)
    got: list[TrapCause] = []

    async def bench(ctx) -> None:
        ctx.set(dut.fault_cause[dut_pos], int(TrapCause.MEM_RANGE))
        for ill, rng in ((1, 1), (0, 1), (0, 0)):
            ctx.set(dut.illegal, ill << dut_pos)
            ctx.set(dut.range_bad, rng << dut_pos)
            ctx.set(dut.fault, 1 << dut_pos)
            got.append(TrapCause(ctx.get(dut.cause.as_value())))

    sim = Simulator(dut)
    sim.add_testbench(bench)
    sim.run()
    assert got == [TrapCause.ILLEGAL_OP, TrapCause.SCRATCH_RANGE, TrapCause.MEM_RANGE]


def later_wins(en: list[int], addr: list[int]) -> list[int]:
    dut = LaterWins(len(en), 6)
    out: list[int] = []

    async def bench(ctx) -> None:
        ctx.set(dut.en, sum(e << i for i, e in enumerate(en)))
        for i, a in enumerate(addr):
            ctx.set(dut.addr[i], a)
        keep = ctx.get(dut.keep)
        out.extend(keep >> i & 1 for i in range(len(en)))

    sim = Simulator(dut)
    sim.add_testbench(bench)
    sim.run()
    return out


def test_later_port_wins_on_equal_address() -> None:
    assert later_wins([1, 1, 1, 1], [5, 6, 5, 7]) == [0, 1, 1, 1]
    assert later_wins([1, 1, 1, 1], [5, 5, 5, 5]) == [0, 0, 0, 1]


def test_disabled_later_port_does_not_mask() -> None:
    assert later_wins([1, 1, 0, 1], [5, 6, 5, 6]) == [1, 0, 0, 1]
    assert later_wins([0, 0, 0, 0], [1, 1, 1, 1]) == [0, 0, 0, 0]
