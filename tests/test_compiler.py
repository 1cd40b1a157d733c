"""kernels.compiler: the dataflow front end, engine choice, allocation, errors."""

from __future__ import annotations

import random

import pytest

from kernels.compiler import CompileError, Kernel, PriorityConfig, Unit, interpret
from pymodel.fast import FastMachine
from pymodel.isa import DEFAULT_PARAMS, Engine, MachineParams, RunState

M32 = (1 << 32) - 1


def _run(program, mem: list[int]) -> list[int]:
    m = FastMachine(program, mem)
    assert m.run_to_end() is RunState.HALTED, m.trap
    return m.mem


def _slots(program) -> dict[str, int]:
    out: dict[str, int] = {}
    for bundle in program:
        for e, _i, s in bundle:
            out[f"{e.value}:{s.op}"] = out.get(f"{e.value}:{s.op}", 0) + 1
    return out


def _axpy(n_vec: int, k: Kernel | None = None) -> Kernel:
    """y[i] = 3 * x[i] + (x[i] ^ 5) - i_scalar for 8*n_vec words at 0 (x) and 1000 (y)."""
    k = k or Kernel()
    bias = k.op("+", k.const(40), k.const(2))  # a scalar op: 42
    vbias = k.broadcast(bias)
    for j in range(n_vec):
        k.group = j
        x = k.vload(k.const(8 * j))
        y = k.op("-", k.madd(x, k.vconst(3), k.op("^", x, k.vconst(5))), vbias)
        k.vstore(k.const(1000 + 8 * j), y)
    return k


def _axpy_want(x: int) -> int:
    return (3 * x + (x ^ 5) - 42) & M32


@pytest.mark.parametrize("n_vec", [1, 5, 40])
def test_a_kernel_compiles_and_computes(n_vec: int) -> None:
    rng = random.Random(n_vec)
    mem = [rng.getrandbits(32) for _ in range(1000 + 8 * n_vec)]
    built = _axpy(n_vec).compile(mem_len=len(mem))
    out = _run(built.program, mem)
    assert out[1000:] == [_axpy_want(x) for x in mem[: 8 * n_vec]]
    assert out[:1000] == mem[:1000]
    # the graph's meaning, without the scheduler, is the same
    assert interpret(_axpy(n_vec), mem)[1000:] == out[1000:]


def test_constants_are_pooled() -> None:
    k = Kernel()
    assert k.const(7) is k.const(7) and k.vconst(7) is k.vconst(7)
    assert k.const(-1) is k.const(M32)
    consts = [op for op in k.ops if op.name == "const"]
    assert len(consts) == 1 + 1 + 0 and sum(op.name == "vbroadcast" for op in k.ops) == 1


def test_lanewise_ops_use_both_engines_and_registers_come_back() -> None:
    """A compute-bound kernel: lane-wise ops overflow from the VALU to the ALU."""
    k = Kernel()
    for j in range(16):
        k.group = j
        x = k.vload(k.const(8 * j))
        for r in range(6):
            x = k.op("+", k.op("^", x, k.vconst(r + 1)), k.op(">>", x, k.vconst(3)))
        k.vstore(k.const(8 * j), x)
    built = k.compile(mem_len=128)
    stats = built.stats
    assert stats.valu_lanewise > 0 and stats.alu_lanewise > 0
    assert stats.valu_lanewise + stats.alu_lanewise == 16 * 6 * 3
    assert 0 < stats.peak_vectors < 60
    mem = list(range(1000, 1128))
    want = []
    for x in mem:
        for r in range(6):
            x = ((x ^ (r + 1)) + (x >> 3)) & M32
        want.append(x)
    assert _run(built.program, mem) == want


def test_constants_and_broadcasts_may_run_on_other_engines() -> None:
    """With the load engine busy, constants run as FLOW add_imm on an ALU-zeroed word
    (no assumption that scratch starts at 0); broadcasts may run as 8 ALU slots."""
    k = Kernel()
    for j in range(30):
        k.group = j
        v = k.vload(k.const(8 * j))
        k.vstore(k.const(500 + 8 * j), k.op("+", v, k.vconst(1000 + j)))
    built = k.compile(mem_len=800)
    slots = _slots(built.program)
    assert built.stats.const_flow > 0 and slots["flow:add_imm"] == built.stats.const_flow
    assert built.stats.bcast_alu > 0 and slots.get("alu:|", 0) == 8 * built.stats.bcast_alu
    assert slots["alu:^"] == 1  # the zero word
    mem = list(range(800))
    out = _run(built.program, mem)
    assert out[500:740] == [mem[i] + 1000 + i // 8 for i in range(240)]
    plain = Kernel(flow_consts=False, alu_broadcasts=False)
    plain.vstore(plain.const(8), plain.vconst(3))
    assert not any(op.unit in (Unit.CONST, Unit.BCAST) for op in plain.ops)


def test_scalar_temporaries_come_from_a_pool() -> None:
    k = Kernel()
    acc = k.load(k.const(0))
    for i in range(1, 10):
        acc = k.op("+", acc, k.load(k.const(i)))
    k.store(k.const(20), acc)
    out = _run(k.compile(mem_len=21).program, list(range(21)))
    assert out[20] == sum(range(10))


def test_a_priority_hook_sets_the_order() -> None:
    seen = []

    def last_group_first(graph) -> None:
        seen.append(len(graph.ops))
        for op in graph.ops:
            op.prio = -op.group

    built = _axpy(8).compile(mem_len=1064, priority=last_group_first)
    assert seen and len(built.program) > 0
    rng = random.Random(3)
    mem = [rng.getrandbits(32) for _ in range(1064)]
    assert _run(built.program, mem)[1000:] == [_axpy_want(x) for x in mem[:64]]


def test_too_little_scratch_is_one_clear_error() -> None:
    k = Kernel(MachineParams(scratch_size=40))
    v = k.vload(k.const(0))
    for c in range(3):
        v = k.op("+", v, k.vconst(c + 1))
    k.vstore(k.const(8), v)
    with pytest.raises(CompileError, match="register pool|scratch"):
        k.compile(mem_len=16)


def test_width_mismatch_is_refused() -> None:
    k = Kernel(DEFAULT_PARAMS)
    with pytest.raises(ValueError, match="differ in width"):
        k.op("+", k.const(1), k.vconst(1))


def test_engines_in_the_program_are_the_machine_engines() -> None:
    built = _axpy(3).compile(mem_len=1024)
    used = {e for bundle in built.program for e, _slots in bundle.groups}
    assert used <= {Engine.ALU, Engine.VALU, Engine.LOAD, Engine.STORE, Engine.FLOW}


def test_not_before_holds_an_op_back() -> None:
    k = Kernel()
    k.not_before = 9
    held = k.vload(k.const(0))
    k.not_before = 0
    k.vstore(k.const(8), k.op("+", held, k.vconst(1)))
    program = k.compile(mem_len=16).program
    first_vload = min(t for t, b in enumerate(program) for _e, _i, s in b if s.op == "vload")
    assert first_vload >= 9
    assert _run(program, list(range(16)))[8:] == list(range(1, 9))


def test_permute_moves_lanes_on_the_alu() -> None:
    perm = (7, 6, 5, 4, 3, 2, 1, 0)
    k = Kernel()
    x = k.vload(k.const(0))
    y = k.permute("^", x, k.vconst(0xFF), perm)  # lane perm[i] = x[i] ^ 0xFF
    k.vstore(k.const(8), k.op("+", y, x))  # y is not computed in place over x
    mem = [random.Random(3).getrandbits(32) for _ in range(8)] + [0] * 8
    want = list(mem)
    for i in range(8):
        want[8 + perm[i]] = ((mem[i] ^ 0xFF) + mem[perm[i]]) & M32
    built = k.compile(mem_len=16)
    assert _run(built.program, mem) == want
    assert interpret(k, mem) == want
    slots = _slots(built.program)
    assert slots["alu:^"] >= 8 and "valu:^" not in slots  # (one more: the zero word)


def test_permute_refuses_a_non_permutation() -> None:
    k = Kernel()
    x = k.vload(k.const(0))
    with pytest.raises(ValueError, match="not a permutation"):
        k.permute("^", x, x, (0, 0, 1, 2, 3, 4, 5, 6))


def test_bias_issues_an_op_sooner() -> None:
    def first_store(bias: float) -> int:
        k = Kernel()
        for j in range(6):  # six independent chains competing for the VALU
            k.group = j
            k.bias = bias if j == 5 else 0.0
            v = k.vload(k.const(8 * j))
            for _ in range(6):
                v = k.madd(v, k.vconst(3), k.vconst(1))
            k.vstore(k.const(64 + 8 * j), v)
        program = k.compile(mem_len=128, priority=PriorityConfig(stagger=4.0, late_round=None)).program
        return min(t for t, b in enumerate(program) for _e, _i, s in b if s.op == "vstore" and s.args[0] == program_addr(k, 64 + 40))

    def program_addr(k, value):  # the scratch word holding the store address constant
        return k._scalars[value].addr

    assert first_store(100.0) < first_store(0.0)


def test_round_offsets_move_one_group_round_and_nothing_else() -> None:
    from kernels.compiler.priority import assign

    def prios(cfg: PriorityConfig) -> tuple[dict[int, float], dict[int, tuple[int, int]]]:
        k = Kernel()
        for j in range(3):
            k.group = j
            v = k.vload(k.const(8 * j))
            for r in range(3):
                k.round = r
                v = k.madd(v, k.vconst(3), k.vconst(1))
            k.vstore(k.const(64 + 8 * j), v)
        assign(k, cfg)
        return {op.id: op.prio for op in k.ops}, {op.id: (op.group, op.round) for op in k.ops}

    base, where = prios(PriorityConfig(stagger=4.0, late_round=None))
    moved, _ = prios(PriorityConfig(stagger=4.0, late_round=None, round_offsets=((1, 2, -7.5),)))
    assert {i for i in base if moved[i] != base[i]} == {i for i, gr in where.items() if gr == (1, 2)} != set()
    assert all(moved[i] == base[i] - 7.5 for i, gr in where.items() if gr == (1, 2))
