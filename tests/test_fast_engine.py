"""The fast engine against the reference interpreter.

Random valid programs from the shared generator (cocotb_tests.strategies:
every op, corner values, loops bounded by a cycle limit, memory traffic,
pauses, several cores, traps) run on both engines and every observable must
agree: return value, cycles, pc, run states, scratch, memory, trace and the
Trap itself.
"""

from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings

from cocotb_tests.strategies import Case, cases
from pymodel.core import snapshot
from pymodel.fast import FastMachine
from pymodel.fast_decode import fast_opcode
from pymodel.isa import OPS, Engine, RunState, TrapCause
from pymodel.machine import Machine


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
