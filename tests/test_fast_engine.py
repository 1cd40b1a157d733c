"""The fast engine against the reference interpreter.

Random valid programs (every op, corner values, loops bounded by a cycle
limit, memory traffic, pauses, several cores, traps) run on both engines and
every observable must agree: return value, cycles, pc, run states, scratch,
memory, trace and the Trap itself.
"""

from collections import Counter
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pymodel.core import snapshot
from pymodel.fast import FastMachine
from pymodel.fast_decode import fast_opcode
from pymodel.isa import OPS, Engine, MachineParams, OperandKind, RunState, TrapCause, ops_of
from pymodel.machine import Machine

M32 = (1 << 32) - 1
CORNER_WORDS = [0, 1, 2, 3, 7, 31, 32, 33, 1 << 31, (1 << 31) - 1, M32, M32 - 1, 0xFFFF, 0x10000]
CORNER_IMMS = CORNER_WORDS + [-1, -(1 << 31), (1 << 33) + 5, 1 << 40]
RawBundle = dict[str, list[tuple[Any, ...]]]  # the tuple form, as users bring it
MAX_SLOTS = {Engine.ALU: 3, Engine.VALU: 2, Engine.LOAD: 2, Engine.STORE: 2, Engine.FLOW: 1, Engine.DEBUG: 2}


@dataclass
class Case:
    params: MachineParams
    program: list[RawBundle]
    mem: list[int]
    scratch: list[list[int]]  # initial scratch per core
    enable_pause: bool
    max_cycles: int


def rare(draw, common, uncommon, one_in: int = 80):
    return draw(uncommon) if draw(st.integers(0, one_in - 1)) == 0 else draw(common)


def operand(draw, kind: OperandKind, params: MachineParams, n_bundles: int) -> Any:
    size, vlen = params.scratch_size, params.vlen
    if kind is OperandKind.SCALAR:  # a few hot addresses: same-bundle write conflicts, read-after-write
        in_range = st.one_of(st.sampled_from(range(4)), st.integers(0, size - 1))
        return rare(draw, in_range, st.sampled_from([size, size + 5, -1, 1 << 40]))
    if kind is OperandKind.VECTOR:
        return rare(draw, st.integers(0, size - vlen), st.integers(size - vlen + 1, size + 2))
    if kind is OperandKind.OFFSET:
        return rare(draw, st.integers(0, vlen - 1), st.sampled_from([vlen, size, -1]))
    if kind is OperandKind.IMM:
        return draw(st.one_of(st.sampled_from(CORNER_IMMS), st.integers(0, 40), st.integers(0, M32)))
    if kind is OperandKind.TARGET:
        return rare(draw, st.integers(0, n_bundles + 1), st.sampled_from([-1, -5, 1 << 40]), one_in=4)
    if kind is OperandKind.REL:
        return draw(st.integers(-n_bundles - 3, n_bundles))
    if kind is OperandKind.KEY:
        return "k"
    if kind is OperandKind.KEYS:
        return tuple(("k", i) for i in range(vlen))
    return "text"


def bundle(draw, params: MachineParams, n_bundles: int, engines: tuple[Engine, ...]) -> RawBundle:
    engines = draw(st.permutations(engines))[: draw(st.integers(0, 4))]
    out = {}
    for engine in engines:
        specs = list(ops_of(engine))
        specs += [s for s in specs if s.name in ("pause", "trace_write", "cond_jump_rel")] * 3  # loops, stops, trace
        slots = []
        for _ in range(draw(st.integers(0, min(MAX_SLOTS[engine], params.slot_limit(engine))))):
            spec = draw(st.sampled_from(specs))
            slots.append((spec.name, *(operand(draw, o.kind, params, n_bundles) for o in spec.operands)))
        out[engine.value] = slots
    return out


@st.composite
def cases(
    draw, engines: tuple[Engine, ...] = tuple(Engine), traced_loop: bool = False, corner_words: bool = False
) -> Case:
    """Random cases.  ``traced_loop`` wraps the program in a loop that starts with
    a trace_write; ``corner_words`` fills scratch and memory with corner values only."""
    vlen = draw(st.sampled_from([1, 4, 8]))
    params = MachineParams(
        vlen=vlen,
        scratch_size=draw(st.sampled_from([24, 40])),
        n_cores=draw(st.sampled_from([1, 1, 2])),
        trace_depth=draw(st.sampled_from([1, 2, 6])),
    )
    mem_len = draw(st.integers(0, 40)) if draw(st.integers(0, 9)) == 0 else draw(st.integers(8, 40))
    small = st.integers(0, mem_len + 1)  # mostly valid addresses, so memory traffic happens
    near_end = st.sampled_from(range(max(0, mem_len - vlen + 1), mem_len + 2))  # vectors running off the end
    corner = st.sampled_from(CORNER_WORDS)
    word = corner if corner_words else st.one_of(small, small, small, near_end, corner, corner, st.integers(0, M32))
    n_bundles = draw(st.integers(1, 8))
    program = [bundle(draw, params, n_bundles, engines) for _ in range(n_bundles)]
    if traced_loop:
        program[0]["flow"] = [("trace_write", draw(st.integers(0, params.scratch_size - 1)))]
        program.append({"flow": [("pause",)]})  # pauses when enable_pause
        # Back to bundle 0 (pc + 1 + k = 0), or now and then to before it.
        back = -(len(program) + 1) - rare(draw, st.just(0), st.integers(1, 3), one_in=5)
        program.append({"flow": [("cond_jump_rel", draw(st.integers(0, params.scratch_size - 1)), back)]})
    size = params.scratch_size
    return Case(
        params=params,
        program=program,
        mem=draw(st.lists(word, min_size=mem_len, max_size=mem_len)),
        scratch=[draw(st.lists(word, min_size=size, max_size=size)) for _ in range(params.n_cores)],
        enable_pause=draw(st.booleans()),
        max_cycles=draw(st.integers(0, 60)) if draw(st.integers(0, 9)) == 0 else draw(st.integers(20, 60)),
    )


def run_both(case: Case) -> list[tuple[RunState, TrapCause | None]]:
    """Run (and resume) both engines side by side; return the outcomes."""
    kw = dict(enable_pause=case.enable_pause, enable_debug=False)
    ref = Machine(case.program, case.mem, case.params, **kw)
    fast = FastMachine(case.program, case.mem, case.params, **kw)
    for m in (ref, fast):
        for core, init in zip(m.cores, case.scratch):
            core.scratch = list(init)
    outcomes = []
    limit = case.max_cycles
    for _ in range(4):
        got_ref, got_fast = ref.run(limit), fast.run(limit)
        assert got_ref is got_fast
        assert snapshot(ref) == snapshot(fast)
        outcomes.append((got_ref, ref.trap.cause if ref.trap else None))
        if got_ref not in (RunState.PAUSED, RunState.RUNNING):
            break
        limit += 7
    return outcomes


NO_MEMORY = (Engine.ALU, Engine.VALU, Engine.FLOW, Engine.DEBUG)
ARITHMETIC = (Engine.ALU, Engine.VALU)  # with corner_words: shifts by 31/32/33/2^31, wraps, divisions


@pytest.mark.parametrize(
    "strategy, examples, endings",
    [
        (cases(), 250, ("RUNNING", "HALTED", "DIV_ZERO", "SCRATCH_RANGE", "MEM_RANGE")),
        (cases(NO_MEMORY, traced_loop=True), 100, ("RUNNING", "PAUSED", "TRACE_FULL", "JUMP_NEGATIVE")),
        (cases(ARITHMETIC, corner_words=True), 100, ("HALTED", "DIV_ZERO")),
    ],
    ids=["all-engines", "traced-loop", "corner-arithmetic"],
)
def test_engines_agree_on_random_programs(strategy, examples, endings):
    seen: Counter = Counter()

    @settings(max_examples=examples, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
    @given(case=strategy)
    def check(case: Case) -> None:
        for state, cause in run_both(case):
            seen[cause.name if cause else state.name] += 1

    check()
    # The generator must reach these endings, or this test proves little.
    for ending in endings:
        assert seen[ending] > 0, f"no random case ended {ending}: {dict(seen)}"


# -- directed checks of the fast engine's own parts ------------------------------------------


def test_every_isa_op_has_a_fast_opcode():
    codes = {}
    for spec in OPS:
        if spec.engine is not Engine.DEBUG:
            codes[(spec.engine, spec.name)] = fast_opcode(spec)
    assert len(set(codes.values())) == len(codes)  # no two ops share a dispatch key


def test_huge_jump_targets_are_refused_with_a_clear_error():
    with pytest.raises(ValueError, match="bundle 0, engine flow, slot 0.*engine='reference'"):
        FastMachine([{"flow": [("jump", 1 << 70)]}], [0])
    ref = Machine([{"flow": [("jump", 1 << 70)]}], [0])
    assert ref.run() is RunState.HALTED and ref.cores[0].pc == 1 << 70


def test_huge_scratch_operands_trap_like_the_reference():
    prog = [{"alu": [("+", 0, 0, 1 << 70)]}]
    ref, fast = Machine(prog, [0]), FastMachine(prog, [0])
    assert ref.run() is fast.run() is RunState.TRAPPED
    assert ref.trap == fast.trap and fast.trap.value == 1 << 70


def test_bundle_counts_profile_executed_bundles():
    prog = [{"load": [("const", 0, 5), ("const", 1, 1)]}, {"alu": [("-", 0, 0, 1)]}]
    prog.append({"flow": [("cond_jump_rel", 0, -2)]})
    m = FastMachine(prog, [0])
    m.run()
    assert m.bundle_counts.tolist() == [1, 5, 5]


def test_dense_bench_workload_agrees_with_reference():
    from tools.bench_model import dense_program

    program, mem = dense_program(iterations=3, body_bundles=20)
    ref, fast = Machine(program, mem), FastMachine(program, mem)
    assert ref.run() is fast.run() is RunState.HALTED
    assert snapshot(ref) == snapshot(fast)
    assert ref.cycle == len(program) - 20 + 3 * 20  # the body runs 3 times
