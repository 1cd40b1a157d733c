"""VliwCore: the single-cycle VLIW SIMD core (top level ``vliw_core``).

Each cycle, while RUNNING: fetch the bundle at ``pc`` (combinational), decode
every slot position, read all operands (start-of-cycle values), compute, and
at the clock edge commit every scratch, memory and trace write together --
unless some slot traps, in which case nothing commits, ``pc`` and ``cycle``
stay, and the core is TRAPPED.  Ports: api.md "The RTL core's top-level ports".
"""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Mux, Signal, Value
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from pymodel.isa import DEFAULT_PARAMS, WORD_BITS, Engine, MachineParams, RunState

from .dmem import DataMemory
from .geometry import CoreGeometry
from .imem import ImemKind, InstructionMemory
from .regfile import ScratchFile
from .slots import build_slots, read_lanes, write_lanes
from .trace import TraceBuffer
from .trap import TrapSelect
from .trapcode import CAUSE_BITS


def core_signature(geom: CoreGeometry) -> dict[str, wiring.Member]:
    a, ia, da, ta = geom.addr_bits, geom.imem_addr_bits, geom.dmem_addr_bits, geom.trace_addr_bits
    ns, nm = len(geom.scratch_write_ports), len(geom.mem_write_ports)
    w = WORD_BITS
    return {
        # host control
        "start": In(1),
        "resume": In(1),
        "pause_enable": In(1),
        "prog_len": In(ia + 1),
        "mem_size": In(da + 1),
        # status
        "state": Out(2, init=int(RunState.HALTED)),
        "cycle": Out(w),
        "pc": Out(w),
        "trap_cause": Out(CAUSE_BITS),
        "trap_pc": Out(w),
        "trap_engine": Out(geom.engine_bits),
        "trap_slot": Out(geom.slot_bits),
        # host memory access
        "imem_we": In(1),
        "imem_addr": In(ia),
        "imem_wdata": In(geom.bundle_bits),
        "dmem_we": In(1),
        "dmem_addr": In(da),
        "dmem_wdata": In(w),
        "dmem_rdata": Out(w),
        "scratch_addr": In(a),
        "scratch_rdata": Out(w),
        "trace_addr": In(ta),
        "trace_rdata": Out(w),
        "trace_count": Out(ta + 1),
        # retire port: the bundle executing this cycle (writes land at the edge)
        "retire_valid": Out(1),
        "retire_pc": Out(w),
        "retire_next_pc": Out(w),
        "retire_trap": Out(1),
        "retire_swe": Out(ns),
        "retire_swaddr": Out(ns * a),
        "retire_swdata": Out(ns * w),
        "retire_mwe": Out(nm),
        "retire_mwaddr": Out(nm * da),
        "retire_mwdata": Out(nm * w),
        "retire_trace_valid": Out(1),
        "retire_trace_data": Out(w),
    }


def _packed(keep: Value, lanes: data.View, width: int) -> Value:
    """Port i at bits i*width; a lane that does not write reads 0."""
    return Cat(*(Mux(keep[k], lanes[k], 0)[:width] for k in range(len(keep))))


class VliwCore(wiring.Component):
    """The core for ``params``.  ``imem="memory"`` swaps the Verilog SRAM
    model for an amaranth Memory so Amaranth's simulator can run small
    configurations; generated Verilog always uses the SRAM model."""

    def __init__(
        self,
        params: MachineParams = DEFAULT_PARAMS,
        *,
        imem: ImemKind | str = ImemKind.SRAM,
        core_id: int = 0,
    ) -> None:
        if params.n_cores != 1:
            raise ValueError(f"the RTL core models one core; MachineParams.n_cores is {params.n_cores}")
        self.geom = CoreGeometry(params)
        self._imem_kind = ImemKind(imem)
        self._core_id = core_id
        super().__init__(core_signature(self.geom))

    def elaborate(self, platform) -> Module:
        m = Module()
        geom = self.geom
        params = geom.params

        running = self.state == int(RunState.RUNNING)
        pc_next = Signal(WORD_BITS)
        m.d.comb += pc_next.eq(self.pc + 1)  # pc = pc + 1 before the bundle executes

        # -- fetch and decode
        m.submodules.imem = imem = InstructionMemory(geom, self._imem_kind)
        m.d.comb += [
            imem.raddr.eq(self.pc),
            imem.we.eq(self.imem_we & ~running),
            imem.waddr.eq(self.imem_addr),
            imem.wdata.eq(self.imem_wdata),
        ]
        slots = build_slots(m, geom, imem.rdata, self._core_id)
        by_engine = {e: [s for s in slots if s.engine is e] for e in Engine}
        (flow,) = by_engine[Engine.FLOW]

        # -- sequencing signals
        prog_end = Signal.like(self.prog_len)  # a prog_len past the imem is clamped
        m.d.comb += prog_end.eq(Mux(self.prog_len > params.imem_depth, params.imem_depth, self.prog_len))
        mem_limit = Signal.like(self.mem_size)  # likewise a mem_size past the data memory
        m.d.comb += mem_limit.eq(Mux(self.mem_size > params.mem_depth, params.mem_depth, self.mem_size))
        in_program = self.pc < prog_end
        executing = Signal()
        trapping = Signal()
        commit = Signal()

        # -- scratch
        reads = list(read_lanes(geom, slots))
        writes = list(write_lanes(geom, slots))
        m.submodules.scratch = scratch = ScratchFile(geom, len(reads), len(writes))
        for k, lane in enumerate(reads):
            m.d.comb += [scratch.rd_addr[k].eq(lane.addr), lane.data.eq(scratch.rd_data[k])]
        for k, lane in enumerate(writes):
            m.d.comb += [
                scratch.wr_en[k].eq(lane.en & commit),
                scratch.wr_addr[k].eq(lane.addr),
                scratch.wr_data[k].eq(lane.data),
            ]
        m.d.comb += [scratch.host_addr.eq(self.scratch_addr), self.scratch_rdata.eq(scratch.host_data)]

        # -- data memory
        loads, stores = by_engine[Engine.LOAD], by_engine[Engine.STORE]
        lanes = geom.mem_lanes
        m.submodules.dmem = dmem = DataMemory(geom, len(loads) * lanes, len(stores) * lanes)
        for s, hw in enumerate(loads):
            m.d.comb += hw.unit.mem_size.eq(mem_limit)
            for i in range(lanes):
                k = s * lanes + i
                m.d.comb += [dmem.rd_addr[k].eq(hw.unit.mem_raddr[i]), hw.unit.mem_rdata[i].eq(dmem.rd_data[k])]
        for s, hw in enumerate(stores):
            m.d.comb += hw.unit.mem_size.eq(mem_limit)
            for i in range(lanes):
                k = s * lanes + i
                m.d.comb += [
                    dmem.wr_en[k].eq(hw.unit.mem_we[i] & commit),
                    dmem.wr_addr[k].eq(hw.unit.mem_waddr[i]),
                    dmem.wr_data[k].eq(hw.unit.mem_wdata[i]),
                ]
        m.d.comb += [
            dmem.host_addr.eq(self.dmem_addr),
            dmem.host_we.eq(self.dmem_we & ~running),
            dmem.host_wdata.eq(self.dmem_wdata),
            self.dmem_rdata.eq(dmem.host_rdata),
        ]

        # -- trace buffer
        m.submodules.trace = trace = TraceBuffer(geom)
        m.d.comb += [
            flow.unit.pc_next.eq(pc_next),
            flow.unit.trace_full.eq(trace.full),
            trace.append.eq(flow.unit.trace_en & commit),
            trace.data.eq(flow.unit.trace_data),
            trace.clear.eq(self.start),
            trace.host_addr.eq(self.trace_addr),
            self.trace_rdata.eq(trace.host_data),
            self.trace_count.eq(trace.count),
        ]

        # -- traps
        m.submodules.traps = traps = TrapSelect(geom)
        for p, hw in enumerate(slots):
            m.d.comb += [
                traps.illegal[p].eq(hw.decoder.slot.illegal),
                traps.range_bad[p].eq(hw.range_check.bad),
                traps.fault[p].eq(hw.unit.fault),
                traps.fault_cause[p].eq(hw.unit.fault_cause),
            ]
        m.d.comb += [
            executing.eq(running & in_program & ~self.start),
            trapping.eq(executing & traps.trap),
            commit.eq(executing & ~traps.trap),
        ]
        stop_on_pause = flow.unit.pause & self.pause_enable

        next_pc = Signal(WORD_BITS)
        m.d.comb += next_pc.eq(Mux(flow.unit.jump, flow.unit.jump_target, pc_next))

        # -- state, pc, cycle
        with m.If(self.start):
            m.d.sync += [
                self.state.eq(int(RunState.RUNNING)),
                self.pc.eq(0),
                self.cycle.eq(0),
                self.trap_cause.eq(0),
                self.trap_pc.eq(0),
                self.trap_engine.eq(0),
                self.trap_slot.eq(0),
            ]
        with m.Elif(self.resume & (self.state == int(RunState.PAUSED))):
            m.d.sync += self.state.eq(int(RunState.RUNNING))
        with m.Elif(running & ~in_program):
            m.d.sync += self.state.eq(int(RunState.HALTED))  # ran past the end: no cycle
        with m.Elif(trapping):
            m.d.sync += [
                self.state.eq(int(RunState.TRAPPED)),
                self.trap_cause.eq(traps.cause),
                self.trap_pc.eq(self.pc),
                self.trap_engine.eq(traps.engine),
                self.trap_slot.eq(traps.slot),
            ]
        with m.Elif(commit):
            m.d.sync += [self.pc.eq(next_pc), self.cycle.eq(self.cycle + 1)]
            with m.If(flow.unit.halt):
                m.d.sync += self.state.eq(int(RunState.HALTED))
            with m.Elif(stop_on_pause):
                m.d.sync += self.state.eq(int(RunState.PAUSED))
            with m.Elif(next_pc >= prog_end):
                m.d.sync += self.state.eq(int(RunState.HALTED))

        # -- retire port (lanes that do not write read 0, never X)
        a, da = geom.addr_bits, geom.dmem_addr_bits
        m.d.comb += [
            self.retire_valid.eq(executing),
            self.retire_pc.eq(self.pc),
            self.retire_next_pc.eq(Mux(trapping, self.pc, next_pc)),
            self.retire_trap.eq(trapping),
            self.retire_swe.eq(scratch.wr_keep),
            self.retire_swaddr.eq(_packed(scratch.wr_keep, scratch.wr_addr, a)),
            self.retire_swdata.eq(_packed(scratch.wr_keep, scratch.wr_data, WORD_BITS)),
            self.retire_mwe.eq(dmem.wr_keep),
            self.retire_mwaddr.eq(_packed(dmem.wr_keep, dmem.wr_addr, da)),
            self.retire_mwdata.eq(_packed(dmem.wr_keep, dmem.wr_data, WORD_BITS)),
            self.retire_trace_valid.eq(trace.append),
            self.retire_trace_data.eq(Mux(trace.append, flow.unit.trace_data, 0)),
        ]
        return m
