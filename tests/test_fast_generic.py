"""The fast engine's op set follows the ISA table (issue 9 item 2).

An op the fast engine has no compiled form for (a new table entry, an
extension op, an op whose operands or semantics differ from the form's) runs
through the generic path: its bundle executes on the reference semantics
(``OpSpec.execute``), and must give the reference's results, traps included.
It is never dispatched to another op's compiled branch.
"""

import json
from dataclasses import replace

import pytest

from pymodel import isa
from pymodel.core import snapshot
from pymodel.fast import FastMachine
from pymodel.fast_decode import K_GENERIC, compiled_form, fast_table
from pymodel.flat import parse_program_bytes
from pymodel.isa import DEFAULT_PARAMS, OPS, Engine, OperandSpec, OpSpec, RunState, TrapCause
from pymodel.machine import Machine

S, RD, WR, F = isa.OperandKind.SCALAR, isa.Access.READ, isa.Access.WRITE, isa.Field


def _min_exec(x, d, a, b):
    x.write_scratch(d, min(x.read_scratch(a), x.read_scratch(b)))


def _table_with(*extra: OpSpec) -> tuple[OpSpec, ...]:
    return OPS + extra


MIN = OpSpec(
    name="min",
    engine=Engine.ALU,
    opcode=40,
    operands=(OperandSpec("d", S, WR, F.DST), OperandSpec("a", S, RD, F.SRC1), OperandSpec("b", S, RD, F.SRC2)),
    execute=_min_exec,
    binop=min,
)


def _flat(program: list, ops: tuple[OpSpec, ...], params=DEFAULT_PARAMS):
    flat = parse_program_bytes(json.dumps(program).encode(), params, ops)
    assert flat is not None
    return flat


def test_every_table_op_is_compiled_or_generic_never_unknown():
    table = fast_table(DEFAULT_PARAMS, _table_with(MIN))
    for j, op in enumerate(table.ops):
        if op.engine is Engine.DEBUG:
            continue
        form = compiled_form(op)
        assert table.code[j] == (K_GENERIC if form is None else form[0]), op.name
    assert table.code[len(OPS)] == K_GENERIC  # the synthetic op


def test_a_new_op_runs_through_the_generic_path_with_the_reference_semantics():
    ops = _table_with(MIN)
    prog = [
        {"load": [["const", 1, 7], ["const", 2, 3]]},
        {"alu": [["min", 3, 1, 2], ["+", 4, 1, 2]]},  # a generic op next to a compiled one
        {"alu": [["min", 5, 3, 4], ["-", 6, 4, 3]]},
        {"alu": [["*", 7, 5, 5]]},
    ]
    fast = FastMachine(_flat(prog, ops), [0] * 4)
    assert fast.decoded.bundle_generic.tolist() == [0, 1, 1, 0]
    assert fast.run() is RunState.HALTED
    assert fast.cores[0].scratch[1:8] == [7, 3, 3, 10, 3, 7, 9]
    assert fast.cycle == 4 and fast.bundle_counts.tolist() == [1, 1, 1, 1]


def test_an_op_under_a_compiled_name_but_other_semantics_is_not_given_that_branch():
    plus = next(op for op in OPS if op.engine is Engine.ALU and op.name == "+")
    minus = next(op for op in OPS if op.engine is Engine.ALU and op.name == "-")
    fake_plus = replace(plus, execute=minus.execute, binop=minus.binop)  # "+" that subtracts
    assert compiled_form(plus) is not None and compiled_form(fake_plus) is None
    ops = tuple(fake_plus if op is plus else op for op in OPS)
    prog = [{"load": [["const", 1, 7], ["const", 2, 3]]}, {"alu": [["+", 3, 1, 2]]}]
    fast = FastMachine(_flat(prog, ops), [0])
    fast.run()
    assert fast.cores[0].scratch[3] == 4  # the table's semantics, not the compiled "+"


def test_changed_operands_take_the_generic_path():
    vload = next(op for op in OPS if op.name == "vload")
    two_scalar = replace(vload, operands=(OperandSpec("d", S, WR, F.DST), OperandSpec("a", S, RD, F.SRC1)))
    assert compiled_form(two_scalar) is None


def test_generic_bundles_trap_like_the_reference_and_commit_nothing():
    ops = _table_with(MIN)
    prog = [
        {"load": [["const", 1, 5]]},
        {"alu": [["+", 2, 1, 1], ["min", 3, 1, 1500]]},  # min reads scratch 1500: in range
        {"alu": [["+", 4, 1, 1], ["min", 3, 1, 99999]]},  # out of range: SCRATCH_RANGE trap
    ]
    fast = FastMachine(_flat(prog, ops), [0])
    assert fast.run() is RunState.TRAPPED
    t = fast.trap
    assert (t.cause, t.pc, t.engine, t.slot, t.value, t.cycle) == (TrapCause.SCRATCH_RANGE, 2, Engine.ALU, 1, 99999, 2)
    assert fast.cores[0].scratch[4] == 0 and fast.cores[0].scratch[2] == 10  # the trapping bundle committed nothing
    assert fast.cores[0].pc == 2


def test_generic_path_agrees_with_the_reference_on_extension_ops():
    """vgather (an extension op of the vgather config) has no compiled form: its
    bundles run generically, on several cores, with pauses, and agree with the
    reference engine on every observable."""
    vgather = [op for op in OPS if op.name == "vgather"]
    if not vgather:
        pytest.skip("no vgather op in this table")
    assert compiled_form(vgather[0]) is None
    params = replace(DEFAULT_PARAMS, extensions=("vgather",), n_cores=2)
    prog = [
        {"load": [["const", 0, 2], ["const", 1, 1]], "valu": [["vbroadcast", 8, 1]]},
        {"valu": [["+", 16, 8, 8]], "flow": [["coreid", 2]]},
        {"load": [["vgather", 24, 16]], "alu": [["+", 3, 3, 1]], "flow": [["pause"]]},
        {"load": [["vgather", 32, 8]], "store": [["store", 2, 3]]},
        {"alu": [["-", 0, 0, 1]], "flow": [["cond_jump_rel", 0, -3]]},
        {"load": [["vgather", 40, 1000]]},  # scratch 1000.. holds 0: address 0, fine
    ]
    mem = list(range(100, 120))
    ref, fast = Machine(prog, mem, params), FastMachine(prog, mem, params)
    for _ in range(6):
        a, b = ref.run(), fast.run()
        assert a is b
        assert snapshot(ref) == snapshot(fast)
        if a is not RunState.PAUSED:
            break
    assert a is RunState.HALTED

    bad = [{"load": [["const", 5, 77777]]}, {"valu": [["vbroadcast", 48, 5]]}, {"load": [["vgather", 56, 48]]}]
    ref, fast = Machine(bad, mem, params), FastMachine(bad, mem, params)
    assert ref.run() is fast.run() is RunState.TRAPPED
    assert ref.trap == fast.trap and fast.trap.cause is TrapCause.MEM_RANGE


def test_the_kernel_refuses_a_row_code_it_does_not_know():
    fast = FastMachine([{"alu": [["+", 1, 1, 1]]}], [0])
    fast.decoded.op[0] = 99  # a decoder bug: the loop must stop, not guess
    with pytest.raises(RuntimeError, match="kernel code 99"):
        fast.run()
