"""Drives the `vliw_core` top level through its host, status and retire ports.

Runs inside the simulator process (imported by ``tb_core``).  The free-running
mode lets the clock run in the simulator and wakes Python only when ``state``
changes; lockstep samples the retire port at every falling edge (outputs are
settled mid-cycle; the writes land at the next rising edge).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, First, ReadOnly, Timer

from pymodel.isa import MachineParams, RunState

from .job import ImemLoad, PausePoint, SimJob, TrapStatus
from .retire import Divergence, FieldDiff, PortWrite, RetireView, compare_views, mem_write_ports, scratch_write_ports

HOST_INPUTS = ("start", "resume", "imem_we", "dmem_we", "imem_addr", "imem_wdata", "dmem_addr", "dmem_wdata")
HOST_INPUTS += ("scratch_addr", "trace_addr")


class SignalError(RuntimeError):
    """A port read back X or Z bits."""


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
        self._raw: dict[str, Any] = {}
        self._compared = 0  # lockstep: retire records that agreed
        self.retired: dict[int, int] = {}  # lockstep: pc -> bundles the retire port reported there

    def read(self, name: str) -> int:
        """A port's value (raw simulator handles cached: lockstep reads a dozen per cycle)."""
        raw = self._raw.get(name)
        if raw is None:
            raw = self._raw[name] = getattr(self.dut, name)._handle
        bits = raw.get_signal_val_binstr()
        try:
            return int(bits, 2)
        except ValueError:
            raise SignalError(f"{name} has undefined bits: {bits}") from None

    # -- set-up --------------------------------------------------------------

    async def reset_and_load(self) -> None:
        d = self.dut
        for name in HOST_INPUTS:
            getattr(d, name).value = 0
        d.pause_enable.value = int(self.job.pause_enable)
        d.prog_len.value = self.job.prog_len
        d.mem_size.value = len(self.job.mem)
        if hasattr(d, "mutsel"):  # a netlist-mutation build: which mutant runs (0 = the real design)
            d.mutsel.value = self.job.mutant
        # A batch's later jobs do not reset: the host loads and pulses start, as software
        # would, so whatever start fails to clear shows.  A core stuck RUNNING ignores host
        # writes, so it is reset (its own job already failed).
        reset = self.job.reset or self.read("state") == int(RunState.RUNNING)
        d.rst.value = int(reset)
        self.clock.start(start_high=False)
        for _ in range(2 if reset else 1):
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
        if self.job.imem_load is not ImemLoad.HOST:
            return []  # the SRAM model loaded +IMEM=<file> at time 0
        lines = Path(self.job.imem_hex).read_text().split()
        return [int(line, 16) for line in lines if not line.startswith("//")]  # "//": the image's header

    async def _pulse(self, signal: Any) -> None:
        """High for exactly one rising edge; returns in the read-only phase of the
        falling edge after it (writes are deferred: outputs settle only then)."""
        signal.value = 1
        await FallingEdge(self.dut.clk)
        signal.value = 0
        await ReadOnly()

    def state(self) -> RunState:
        return RunState(self.read("state"))

    def _note_pause(self) -> None:
        self.pauses.append(PausePoint(self.read("cycle"), self.read("pc")))

    # -- free-running --------------------------------------------------------

    async def run_fast(self) -> str:
        """Run to HALTED/TRAPPED (resuming pauses if asked); '' or why it did not finish."""
        d = self.dut
        await self._pulse(d.start)
        while True:
            state = self.state()
            if state is RunState.RUNNING:
                left = self.job.max_cycles - self.read("cycle")
                if left < 0:
                    return f"still RUNNING after {self.job.max_cycles} cycles (pc {self.read('pc')})"
                timeout = Timer((left + 8) * self.period, unit="ns")
                fired = await First(d.state.value_change, timeout)
                if fired is timeout and self.state() is RunState.RUNNING:
                    cycle, pc = self.read("cycle"), self.read("pc")
                    return f"still RUNNING after {cycle} cycles (limit {self.job.max_cycles}, pc {pc})"
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
        scratch: list[PortWrite] = []
        mem: list[PortWrite] = []
        swe = self.read("retire_swe")
        if swe:
            addrs = _fields(self.read("retire_swaddr"), self.n_sports, self.addr_bits)
            data = _fields(self.read("retire_swdata"), self.n_sports, 32)
            scratch = [PortWrite(addrs[i], data[i], i) for i in range(self.n_sports) if swe >> i & 1]
            scratch.sort(key=lambda w: w.addr)
        mwe = self.read("retire_mwe")
        if mwe:
            addrs = _fields(self.read("retire_mwaddr"), self.n_mports, self.dmem_bits)
            data = _fields(self.read("retire_mwdata"), self.n_mports, 32)
            mem = [PortWrite(addrs[i], data[i], i) for i in range(self.n_mports) if mwe >> i & 1]
            mem.sort(key=lambda w: w.addr)
        trace = (self.read("retire_trace_data"),) if self.read("retire_trace_valid") else ()
        return RetireView(
            cycle=self.read("cycle"),
            pc=self.read("retire_pc"),
            next_pc=self.read("retire_next_pc"),
            trap=bool(self.read("retire_trap")),
            scratch=tuple(scratch),
            mem=tuple(mem),
            trace=trace,
        )

    async def run_lockstep(self, expected: Iterator[RetireView]) -> tuple[str, int, Divergence | None]:
        """Compare every retired bundle with the model; stop at the first divergence.

        Returns (error, records compared, divergence)."""
        d = self.dut
        history: deque[RetireView] = deque(maxlen=self.job.history)
        edge = FallingEdge(d.clk)
        limit = self.job.max_cycles + 16
        await self._pulse(d.start)
        for _ in range(limit):
            if self.read("retire_valid"):  # executing implies RUNNING: no state read needed
                found = self._compare_one(next(expected, None), history)
                if found is not None:
                    return "", self._compared, found
                self._compared += 1
                pc = history[-1].pc
                self.retired[pc] = self.retired.get(pc, 0) + 1
            else:
                state = self.state()
                if state is RunState.PAUSED and self.job.resume_on_pause:
                    self._note_pause()
                    await self._pulse(d.resume)
                    continue
                if state is not RunState.RUNNING:
                    return "", self._compared, self._stopped_early(state, next(expected, None), history)
            await edge
        return f"still RUNNING after {limit} clock cycles (limit {self.job.max_cycles})", self._compared, None

    def _compare_one(self, want: RetireView | None, history: deque[RetireView]) -> Divergence | None:
        actual = self.read_retire()
        if want is None:
            diffs = [FieldDiff("model stopped; RTL executed a bundle", None, actual.pc)]
        else:
            diffs = compare_views(want, actual, self.params)
        if diffs:
            return Divergence(
                self._compared, actual.cycle, want.pc if want else actual.pc, diffs, want, actual, list(history)
            )
        history.append(actual)
        return None

    def _stopped_early(self, state: RunState, want: RetireView | None, history: deque[RetireView]) -> Divergence | None:
        if want is None:
            return None
        diff = FieldDiff(f"RTL stopped ({state.name}); model executed a bundle", want.pc, None)
        return Divergence(self._compared, want.cycle, want.pc, [diff], want, None, list(history))

    # -- read-back -----------------------------------------------------------

    def _memory_arrays(self) -> tuple[Any, Any, Any] | None:
        """The data, scratch and trace memories' own arrays (made public by the build's .vlt), or None."""
        try:
            return tuple(self.dut._id(f"\\{name}.mem ", extended=False) for name in ("dmem", "scratch", "trace"))  # type: ignore[return-value]
        except AttributeError:
            return None

    @staticmethod
    def _word(handle: Any) -> int:
        bits = handle._handle.get_signal_val_binstr()
        try:
            return int(bits, 2)
        except ValueError:
            raise SignalError(f"{handle._name} has undefined bits: {bits}") from None

    async def read_back(self) -> tuple[int, int, int, TrapStatus, list[int], list[int], list[int]]:
        """(state, cycle, pc, trap, mem, scratch, trace); stops the clock first."""
        d = self.dut
        self.clock.stop()  # reads are combinational; a stopped clock keeps Icarus fast
        status = (self.read("state"), self.read("cycle"), self.read("pc"))
        trap = TrapStatus(
            self.read("trap_cause"), self.read("trap_pc"), self.read("trap_engine"), self.read("trap_slot")
        )
        n_trace = self.read("trace_count")
        n_mem, n_scratch = len(self.job.mem), self.params.scratch_size
        if self.job.direct_readback:
            arrays = self._memory_arrays()
            if arrays is not None:
                dm, sc, tr = arrays
                return (*status, trap, [self._word(dm[i]) for i in range(n_mem)],
                        [self._word(sc[i]) for i in range(n_scratch)], [self._word(tr[i]) for i in range(n_trace)])
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
                mem.append(self.read("dmem_rdata"))
            if i < n_scratch:
                scratch.append(self.read("scratch_rdata"))
            if i < n_trace:
                trace.append(self.read("trace_rdata"))
        return status[0], status[1], status[2], trap, mem, scratch, trace
