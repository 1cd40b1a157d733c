"""Drives the `vliw_core` top level through its host, status and retire ports.

Runs inside the simulator process (imported by ``tb_core``).  The free-running
mode lets the clock run in the simulator and wakes Python only when ``state``
changes; lockstep samples the retire port at every falling edge (outputs are
settled mid-cycle; the writes land at the next rising edge).
"""

from __future__ import annotations

from collections import deque
from pathlib import Path
from typing import Any, Iterator

from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, First, ReadOnly, Timer

from pymodel.isa import MachineParams, RunState

from .job import PausePoint, SimJob, TrapStatus
from .retire import Divergence, FieldDiff, PortWrite, RetireView, compare_views, mem_write_ports, scratch_write_ports


class SignalError(RuntimeError):
    """A port read back X/Z or is missing."""


def unsigned(handle: Any) -> int:
    """The value of a port as an int; SignalError on X/Z bits.

    Reads the simulator's bit string directly: building a LogicArray per read
    costs more than the rest of a lockstep cycle."""
    raw = getattr(handle, "_handle", None)
    bits = raw.get_signal_val_binstr() if raw is not None else str(handle.value)
    try:
        return int(bits, 2)
    except ValueError:
        raise SignalError(f"{handle._name} has undefined bits: {bits}") from None


def _fields(word: int, count: int, width: int) -> list[int]:
    mask = (1 << width) - 1
    return [(word >> (i * width)) & mask for i in range(count)]


class CoreDriver:
    def __init__(self, dut: Any, job: SimJob) -> None:
        self.dut = dut
        self.job = job
        self.params = MachineParams(**job.params)
        self.period = job.clock_ns
        self.addr_bits = self.params.addr_bits
        self.dmem_bits = max(1, (self.params.mem_depth - 1).bit_length())
        self.n_sports = len(scratch_write_ports(self.params))
        self.n_mports = len(mem_write_ports(self.params))
        self.clock = Clock(dut.clk, self.period, unit="ns")
        self.pauses: list[PausePoint] = []

    # -- set-up --------------------------------------------------------------

    async def reset_and_load(self) -> None:
        d = self.dut
        for name in ("start", "resume", "imem_we", "dmem_we", "imem_addr", "imem_wdata", "dmem_addr", "dmem_wdata", "scratch_addr", "trace_addr"):
            getattr(d, name).value = 0
        d.pause_enable.value = int(self.job.pause_enable)
        d.prog_len.value = self.job.prog_len
        d.mem_size.value = len(self.job.mem)
        d.rst.value = 1
        self.clock.start(start_high=False)
        for _ in range(2):
            await FallingEdge(d.clk)
        d.rst.value = 0
        words = self._host_imem_words()
        for i in range(max(len(words), len(self.job.mem))):
            d.imem_we.value = int(i < len(words))
            if i < len(words):
                d.imem_addr.value = i
                d.imem_wdata.value = words[i]
            d.dmem_we.value = int(i < len(self.job.mem))
            if i < len(self.job.mem):
                d.dmem_addr.value = i
                d.dmem_wdata.value = self.job.mem[i]
            await FallingEdge(d.clk)
        d.imem_we.value = 0  # lands with the start pulse that follows
        d.dmem_we.value = 0

    def _host_imem_words(self) -> list[int]:
        if self.job.imem_load.value != "host":
            return []  # the SRAM model loaded +IMEM=<file> at time 0
        lines = Path(self.job.imem_hex).read_text().split()
        return [int(line, 16) for line in lines]

    async def _pulse(self, signal: Any) -> None:
        """High for exactly one rising edge; returns in the read-only phase of the
        falling edge after it (writes are deferred: outputs settle only then)."""
        signal.value = 1
        await FallingEdge(self.dut.clk)
        signal.value = 0
        await ReadOnly()

    def state(self) -> RunState:
        return RunState(unsigned(self.dut.state))

    def _note_pause(self) -> None:
        self.pauses.append(PausePoint(unsigned(self.dut.cycle), unsigned(self.dut.pc)))

    # -- free-running --------------------------------------------------------

    async def run_fast(self) -> str:
        """Run to HALTED/TRAPPED (resuming pauses if asked); '' or why it did not finish."""
        d = self.dut
        await self._pulse(d.start)
        while True:
            state = self.state()
            if state is RunState.RUNNING:
                left = self.job.max_cycles - unsigned(d.cycle)
                if left < 0:
                    return f"still RUNNING after {self.job.max_cycles} cycles (pc {unsigned(d.pc)})"
                timeout = Timer((left + 8) * self.period, unit="ns")
                fired = await First(d.state.value_change, timeout)
                if fired is timeout and self.state() is RunState.RUNNING:
                    return f"still RUNNING after {unsigned(d.cycle)} cycles (limit {self.job.max_cycles}, pc {unsigned(d.pc)})"
                await FallingEdge(d.clk)  # act on stable outputs
            elif state is RunState.PAUSED:
                self._note_pause()
                if not self.job.resume_on_pause:
                    return ""
                if len(self.pauses) > self.job.max_cycles:
                    return f"paused more than {self.job.max_cycles} times"
                await self._pulse(d.resume)
            else:
                return ""

    # -- lockstep ------------------------------------------------------------

    def read_retire(self) -> RetireView:
        d = self.dut
        scratch: list[PortWrite] = []
        mem: list[PortWrite] = []
        swe = unsigned(d.retire_swe)
        if swe:
            addrs = _fields(unsigned(d.retire_swaddr), self.n_sports, self.addr_bits)
            data = _fields(unsigned(d.retire_swdata), self.n_sports, 32)
            scratch = [PortWrite(addrs[i], data[i], i) for i in range(self.n_sports) if swe >> i & 1]
            scratch.sort(key=lambda w: w.addr)
        mwe = unsigned(d.retire_mwe)
        if mwe:
            addrs = _fields(unsigned(d.retire_mwaddr), self.n_mports, self.dmem_bits)
            data = _fields(unsigned(d.retire_mwdata), self.n_mports, 32)
            mem = [PortWrite(addrs[i], data[i], i) for i in range(self.n_mports) if mwe >> i & 1]
            mem.sort(key=lambda w: w.addr)
        trace = (unsigned(d.retire_trace_data),) if unsigned(d.retire_trace_valid) else ()
        return RetireView(
            cycle=unsigned(d.cycle),
            pc=unsigned(d.retire_pc),
            next_pc=unsigned(d.retire_next_pc),
            trap=bool(unsigned(d.retire_trap)),
            scratch=tuple(scratch),
            mem=tuple(mem),
            trace=trace,
        )

    async def run_lockstep(self, expected: Iterator[RetireView]) -> tuple[str, int, Divergence | None]:
        """Compare every retired bundle with the model; stop at the first divergence.

        Returns (error, records compared, divergence)."""
        d = self.dut
        history: deque[RetireView] = deque(maxlen=self.job.history)
        index = 0
        edges = 0
        await self._pulse(d.start)
        while True:
            state = self.state()
            if unsigned(d.retire_valid):
                actual = self.read_retire()
                want = next(expected, None)
                diffs = [FieldDiff("model stopped; RTL executed a bundle", None, actual.pc)] if want is None else compare_views(want, actual, self.params)
                if diffs:
                    return "", index, Divergence(index, actual.cycle, want.pc if want else actual.pc, diffs, want, actual, list(history))
                history.append(actual)
                index += 1
            elif state is RunState.PAUSED and self.job.resume_on_pause:
                self._note_pause()
                await self._pulse(d.resume)
                continue
            elif state is not RunState.RUNNING:
                want = next(expected, None)
                if want is not None:
                    diff = FieldDiff(f"RTL stopped ({state.name}); model executed a bundle", want.pc, None)
                    return "", index, Divergence(index, want.cycle, want.pc, [diff], want, None, list(history))
                return "", index, None
            edges += 1
            if edges > self.job.max_cycles + 2 * len(self.pauses) + 16:
                return f"still RUNNING after {edges} clock cycles (limit {self.job.max_cycles})", index, None
            await FallingEdge(d.clk)

    # -- read-back -----------------------------------------------------------

    async def read_back(self) -> tuple[int, int, int, TrapStatus, list[int], list[int], list[int]]:
        """(state, cycle, pc, trap, mem, scratch, trace); stops the clock first."""
        d = self.dut
        self.clock.stop()  # reads are combinational; a stopped clock keeps Icarus fast
        status = (unsigned(d.state), unsigned(d.cycle), unsigned(d.pc))
        trap = TrapStatus(unsigned(d.trap_cause), unsigned(d.trap_pc), unsigned(d.trap_engine), unsigned(d.trap_slot))
        n_trace = unsigned(d.trace_count)
        n_mem, n_scratch = len(self.job.mem), self.params.scratch_size
        mem: list[int] = []
        scratch: list[int] = []
        trace: list[int] = []
        step = Timer(1, unit="ns")
        for i in range(max(n_mem, n_scratch, n_trace)):
            if i < n_mem:
                d.dmem_addr.value = i
            if i < n_scratch:
                d.scratch_addr.value = i
            if i < n_trace:
                d.trace_addr.value = i
            await step
            if i < n_mem:
                mem.append(unsigned(d.dmem_rdata))
            if i < n_scratch:
                scratch.append(unsigned(d.scratch_rdata))
            if i < n_trace:
                trace.append(unsigned(d.trace_rdata))
        return status[0], status[1], status[2], trap, mem, scratch, trace
