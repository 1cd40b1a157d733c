"""Run the core in Amaranth's Python simulator: small configurations only
(unit tests, debugging without Verilator; ~100s of cycles per second at full
size).  The harness drives the same host and retire ports as the cocotb
testbench, with the imem as an amaranth Memory (``imem="memory"``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from amaranth.sim import Simulator

from pymodel.events import Write
from pymodel.isa import HW_ENGINES, WORD_BITS, Engine, MachineParams, RunState, TrapCause

from .core import VliwCore


@dataclass(frozen=True)
class SimRetire:
    """The retire port in one cycle with ``retire_valid`` high."""

    cycle: int
    pc: int
    next_pc: int
    trap: bool
    scratch_writes: tuple[Write, ...]  # sorted by address
    mem_writes: tuple[Write, ...]
    trace: tuple[int, ...]


@dataclass(frozen=True)
class SimTrap:
    cause: TrapCause
    pc: int
    engine: Engine
    slot: int


@dataclass
class SimResult:
    state: RunState
    cycle: int
    pc: int
    trap: SimTrap | None
    scratch: list[int]
    mem: list[int]  # the first len(mem image) words
    trace: list[int]
    retired: list[SimRetire] = field(default_factory=list)
    pauses: int = 0


def _fields(word: int, count: int, width: int) -> list[int]:
    mask = (1 << width) - 1
    return [(word >> (i * width)) & mask for i in range(count)]


def _writes(en: int, addrs: int, data: int, count: int, addr_bits: int) -> tuple[Write, ...]:
    a = _fields(addrs, count, addr_bits)
    d = _fields(data, count, WORD_BITS)
    return tuple(sorted((Write(a[i], d[i]) for i in range(count) if en >> i & 1), key=lambda w: w.addr))


def simulate(
    params: MachineParams,
    words: Sequence[int],
    mem: Sequence[int],
    *,
    pause_enable: bool = True,
    resume_on_pause: bool = True,
    max_clocks: int = 10_000,
    prog_len: int | None = None,
) -> SimResult:
    """Load ``words`` (encoded bundles) and ``mem``, pulse start, run until
    the core stops (resuming pauses if asked) or ``max_clocks`` pass."""
    core = VliwCore(params, imem="memory")
    geom = core.geom
    if len(words) > params.imem_depth:
        raise ValueError(f"{len(words)} bundles do not fit the instruction memory ({params.imem_depth})")
    if len(mem) > params.mem_depth:
        raise ValueError(f"a memory image of {len(mem)} words does not fit the data memory ({params.mem_depth})")
    n_sw, n_mw = len(geom.scratch_write_ports), len(geom.mem_write_ports)
    out: dict[str, SimResult] = {}

    async def bench(ctx) -> None:
        for i, w in enumerate(words):
            ctx.set(core.imem_we, 1)
            ctx.set(core.imem_addr, i)
            ctx.set(core.imem_wdata, w)
            await ctx.tick()
        ctx.set(core.imem_we, 0)
        for i, v in enumerate(mem):
            ctx.set(core.dmem_we, 1)
            ctx.set(core.dmem_addr, i)
            ctx.set(core.dmem_wdata, v)
            await ctx.tick()
        ctx.set(core.dmem_we, 0)
        ctx.set(core.prog_len, len(words) if prog_len is None else prog_len)
        ctx.set(core.mem_size, len(mem))
        ctx.set(core.pause_enable, int(pause_enable))
        ctx.set(core.start, 1)
        await ctx.tick()
        ctx.set(core.start, 0)

        retired: list[SimRetire] = []
        pauses = 0
        for _ in range(max_clocks):
            state = RunState(ctx.get(core.state))
            if state is RunState.PAUSED and resume_on_pause:
                pauses += 1
                ctx.set(core.resume, 1)
                await ctx.tick()
                ctx.set(core.resume, 0)
                continue
            if state is not RunState.RUNNING:
                break
            if ctx.get(core.retire_valid):
                trace = (ctx.get(core.retire_trace_data),) if ctx.get(core.retire_trace_valid) else ()
                retired.append(
                    SimRetire(
                        cycle=ctx.get(core.cycle),
                        pc=ctx.get(core.retire_pc),
                        next_pc=ctx.get(core.retire_next_pc),
                        trap=bool(ctx.get(core.retire_trap)),
                        scratch_writes=_writes(
                            ctx.get(core.retire_swe),
                            ctx.get(core.retire_swaddr),
                            ctx.get(core.retire_swdata),
                            n_sw,
                            geom.addr_bits,
                        ),
                        mem_writes=_writes(
                            ctx.get(core.retire_mwe),
                            ctx.get(core.retire_mwaddr),
                            ctx.get(core.retire_mwdata),
                            n_mw,
                            geom.dmem_addr_bits,
                        ),
                        trace=trace,
                    )
                )
            await ctx.tick()

        state = RunState(ctx.get(core.state))
        trap = None
        if state is RunState.TRAPPED:
            trap = SimTrap(
                TrapCause(ctx.get(core.trap_cause)),
                ctx.get(core.trap_pc),
                HW_ENGINES[ctx.get(core.trap_engine)],
                ctx.get(core.trap_slot),
            )
        scratch = []
        for a in range(params.scratch_size):
            ctx.set(core.scratch_addr, a)
            scratch.append(ctx.get(core.scratch_rdata))
        mem_out = []
        for a in range(len(mem)):
            ctx.set(core.dmem_addr, a)
            mem_out.append(ctx.get(core.dmem_rdata))
        trace_out = []
        for a in range(ctx.get(core.trace_count)):
            ctx.set(core.trace_addr, a)
            trace_out.append(ctx.get(core.trace_rdata))
        out["result"] = SimResult(
            state, ctx.get(core.cycle), ctx.get(core.pc), trap, scratch, mem_out, trace_out, retired, pauses
        )

    sim = Simulator(core)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    return out["result"]
