"""Run-time traps: cause, place, value, wording, and that a trapping bundle commits nothing.

Every test runs on both engines, and the Trap objects are compared whole
(cause, cycle, pc, engine, slot, detail, core, value).
"""

import pytest

from pymodel.events import Trap
from pymodel.fast import FastMachine
from pymodel.isa import Engine, MachineParams, RunState, TrapCause
from pymodel.machine import Machine

M32 = (1 << 32) - 1


@pytest.fixture(params=[Machine, FastMachine], ids=["reference", "fast"])
def machine_cls(request):
    return request.param


def trapped(cls, program, mem=(0,) * 8, params=MachineParams(), **kw):
    m = cls(program, list(mem), params, **kw)
    assert m.run() is RunState.TRAPPED
    assert m.state is RunState.TRAPPED and m.trap is not None
    return m


@pytest.mark.parametrize("op", ["//", "cdiv", "%"])
def test_alu_divide_by_zero(machine_cls, op):
    prog = [{"load": [("const", 0, 5)]}, {"alu": [("+", 1, 0, 0), (op, 2, 0, 12)]}]
    m = trapped(machine_cls, prog)
    assert m.trap == Trap(TrapCause.DIV_ZERO, 1, 1, Engine.ALU, 1, f"S[12]=0 is the divisor of {op}", 0, 0)
    assert str(m.trap) == f"trap DIV_ZERO: S[12]=0 is the divisor of {op} (cycle 1, pc 1, engine alu, slot 1)"


def test_valu_divide_by_zero_names_the_lane(machine_cls):
    prog = [{"load": [("const", 0, 3)]}, {"valu": [("vbroadcast", 16, 0)]}, {"load": [("const", 19, 0)]}]
    prog.append({"valu": [("%", 24, 8, 16)]})
    m = trapped(machine_cls, prog)
    assert m.trap == Trap(TrapCause.DIV_ZERO, 3, 3, Engine.VALU, 0, "S[19]=0 is the divisor of %", 0, 0)


def test_trapping_bundle_commits_nothing(machine_cls):
    prog = [
        {"load": [("const", 0, 1)]},
        {"flow": [("trace_write", 0)], "store": [("store", 0, 0)], "load": [("const", 5, 9)], "alu": [("//", 6, 0, 7)]},
    ]
    m = trapped(machine_cls, prog, mem=[0, 0])
    core = m.cores[0]
    assert (core.scratch[5], m.mem, core.trace) == (0, [0, 0], [])  # no scratch, memory or trace effect
    assert (core.pc, m.cycle, core.state) == (1, 1, RunState.TRAPPED)  # pc stays; its cycle is not counted
    assert m.run() is RunState.TRAPPED and m.cycle == 1  # a trapped machine stays stopped
    assert m.run_to_end() is RunState.TRAPPED


def test_first_trapping_slot_in_execution_order_is_reported(machine_cls):
    mem_then_div = [{"load": [("const", 0, 100)]}, {"store": [("store", 0, 0)], "alu": [("//", 1, 0, 2)]}]
    assert trapped(machine_cls, mem_then_div).trap.cause is TrapCause.MEM_RANGE
    div_then_mem = [{"load": [("const", 0, 100)]}, {"alu": [("//", 1, 0, 2)], "store": [("store", 0, 0)]}]
    assert trapped(machine_cls, div_then_mem).trap.cause is TrapCause.DIV_ZERO


@pytest.mark.parametrize(
    "bundle, bad, engine",
    [
        ({"alu": [("+", 1536, 0, 0)]}, 1536, Engine.ALU),
        ({"alu": [("+", 0, 0, 5000)]}, 5000, Engine.ALU),
        ({"alu": [("+", -1, 0, 0)]}, -1, Engine.ALU),  # the reference's list would read from the end
        ({"valu": [("+", 1530, 0, 8)]}, 1536, Engine.VALU),  # lane 6 of the destination
        ({"valu": [("+", 0, 1529, 8)]}, 1536, Engine.VALU),  # lane 7 of a source
        ({"load": [("vload", 1529, 0)]}, 1536, Engine.LOAD),
        ({"load": [("load_offset", 1530, 0, 6)]}, 1536, Engine.LOAD),  # S[d+k]
        ({"store": [("vstore", 0, 1535)]}, 1536, Engine.STORE),
        ({"flow": [("vselect", 0, 0, 0, 1600)]}, 1600, Engine.FLOW),
        ({"flow": [("trace_write", 1 << 40)]}, 1 << 40, Engine.FLOW),
    ],
)
def test_scratch_address_out_of_range(machine_cls, bundle, bad, engine):
    m = trapped(machine_cls, [{"alu": []}, bundle])
    detail = f"scratch address {bad} is outside the scratch (0..1535)"
    assert m.trap == Trap(TrapCause.SCRATCH_RANGE, 1, 1, engine, 0, detail, 0, bad)


@pytest.mark.parametrize(
    "addr, bundle, mem_len, bad, engine",
    [
        (8, {"load": [("load", 1, 0)]}, 8, 8, Engine.LOAD),
        (M32, {"load": [("load", 1, 0)]}, 8, M32, Engine.LOAD),
        (5, {"load": [("vload", 8, 0)]}, 8, 8, Engine.LOAD),  # lanes 3..7 are past the end: lane 3 is reported
        (M32, {"load": [("vload", 8, 0)]}, 8, M32, Engine.LOAD),
        (3, {"load": [("load_offset", 1, 0, 0)]}, 3, 3, Engine.LOAD),
        (8, {"store": [("store", 0, 0)]}, 8, 8, Engine.STORE),
        (1, {"store": [("vstore", 0, 0)]}, 8, 8, Engine.STORE),
    ],
)
def test_memory_address_out_of_range(machine_cls, addr, bundle, mem_len, bad, engine):
    m = trapped(machine_cls, [{"load": [("const", 0, addr)]}, bundle], [0] * mem_len)
    detail = f"memory address {bad} is outside the memory image (0..{mem_len - 1})"
    assert m.trap == Trap(TrapCause.MEM_RANGE, 1, 1, engine, 0, detail, 0, bad)
    assert len(m.mem) == mem_len  # never grown


def test_empty_memory_image(machine_cls):
    m = trapped(machine_cls, [{"load": [("load", 1, 0)]}], mem=[])
    assert m.trap.detail == "memory address 0: the memory image is empty"


@pytest.mark.parametrize(
    "program, target",
    [
        ([{"load": [("const", 0, 1)]}, {"flow": [("cond_jump_rel", 0, -3)]}], -1),
        ([{"load": [("const", 0, 1)]}, {"flow": [("cond_jump_rel", 0, -100)]}], -98),
        ([{"load": [("const", 0, 1)]}, {"flow": [("jump", -1)]}], -1),
        ([{"load": [("const", 0, 1)]}, {"flow": [("cond_jump", 0, -7)]}], -7),
    ],
)
def test_jump_before_bundle_zero(machine_cls, program, target):
    m = trapped(machine_cls, program)
    detail = f"jump to bundle {target}, before bundle 0"
    assert m.trap == Trap(TrapCause.JUMP_NEGATIVE, 1, 1, Engine.FLOW, 0, detail, 0, target)


def test_relative_jump_to_bundle_zero_is_fine(machine_cls):
    m = machine_cls([{"load": [("const", 0, 1)]}, {"flow": [("cond_jump_rel", 0, -2)]}], [0])
    assert m.run(max_cycles=10) is RunState.RUNNING and m.trap is None


def test_not_taken_jumps_never_trap(machine_cls):
    m = machine_cls([{"flow": [("cond_jump_rel", 0, -50)]}, {"flow": [("cond_jump", 0, -1)]}], [0])
    assert m.run() is RunState.HALTED


def test_trace_buffer_full(machine_cls):
    params = MachineParams(trace_depth=3)
    prog = [{"load": [("const", 0, 7)]}, {"flow": [("trace_write", 0)]}, {"flow": [("pause",)]}]
    prog += [{"flow": [("trace_write", 0)]}] * 3
    m = machine_cls(prog, [0], params)
    assert m.run() is RunState.PAUSED  # the buffer survives a pause
    assert m.run() is RunState.TRAPPED
    assert m.trap == Trap(TrapCause.TRACE_FULL, 5, 5, Engine.FLOW, 0, "trace buffer full (3 entries)", 0, 3)
    assert m.cores[0].trace == [7, 7, 7]


def test_trap_on_second_core_keeps_first_cores_bundle(machine_cls):
    prog = [{"flow": [("coreid", 0)]}, {"load": [("const", 3, 1)]}, {"alu": [("-", 2, 3, 0)]}]
    prog.append({"alu": [("//", 4, 3, 2)]})
    m = trapped(machine_cls, prog, params=MachineParams(n_cores=2))
    # core 0: S[2] = 1 - 0 = 1, divides fine; core 1: S[2] = 1 - 1 = 0 traps in the same cycle.
    assert m.trap == Trap(TrapCause.DIV_ZERO, 3, 3, Engine.ALU, 0, "S[2]=0 is the divisor of //", 1, 0)
    assert (m.cores[0].scratch[4], m.cores[0].pc, m.cores[1].pc, m.cycle) == (1, 4, 3, 3)
    assert [c.state for c in m.cores] == [RunState.RUNNING, RunState.TRAPPED]
