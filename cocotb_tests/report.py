"""Words for what differs: final-state differences and the lockstep report."""

from __future__ import annotations

from collections.abc import Sequence

from pymodel.encoding import HardwareImage
from pymodel.isa import HW_ENGINES, RunState, TrapCause
from pymodel.program import Bundle, Program

from .job import PausePoint, SimResult, TrapStatus
from .model_side import ModelOutcome
from .retire import Divergence, RetireView

MAX_LISTED = 8  # differing words named per array


def _array_diffs(what: str, expected: Sequence[int], actual: Sequence[int]) -> list[str]:
    out = []
    if len(expected) != len(actual):
        out.append(f"{what}: length expected {len(expected)}, actual {len(actual)}")
    bad = [i for i in range(min(len(expected), len(actual))) if expected[i] != actual[i]]
    for i in bad[:MAX_LISTED]:
        out.append(f"{what}[{i}]: expected {expected[i]}, actual {actual[i]}")
    if len(bad) > MAX_LISTED:
        out.append(f"{what}: {len(bad) - MAX_LISTED} more words differ ({len(bad)} in all)")
    return out


def _trap_text(t: TrapStatus) -> str:
    if t.cause == 0:
        return "no trap"
    engine = HW_ENGINES[t.engine].value if 0 <= t.engine < len(HW_ENGINES) else f"engine#{t.engine}"
    return f"{TrapCause(t.cause).name} at pc {t.pc}, {engine} slot {t.slot}"


def final_state_diffs(
    expected: ModelOutcome, actual: SimResult | ModelOutcome, pc_map: list[int] | None = None
) -> list[str]:
    """Differences in words.  With ``pc_map``, ``expected`` ran the model program
    and ``actual`` the hardware image's (pcs mapped; trap engine/slot not compared,
    as the image orders engines canonically)."""

    def pc(p: int) -> int:
        return p if pc_map is None else pc_map[min(p, len(pc_map) - 1)]

    out: list[str] = []
    if isinstance(actual, ModelOutcome):
        a_state, a_trap, a_pauses = actual.state, actual.trap_status(), actual.pauses
    else:
        a_state, a_trap, a_pauses = RunState(actual.state), actual.trap, actual.pauses
    if expected.state is not a_state:
        out.append(f"state: expected {expected.state.name}, actual {a_state.name}")
    if expected.cycle != actual.cycle:
        out.append(f"cycle: expected {expected.cycle}, actual {actual.cycle}")
    # to_hardware maps every target at or past the end to the image's end, so
    # "stopped past the end" is one state on both sides, whatever the exact pc.
    both_past_end = pc_map is not None and expected.pc >= len(pc_map) - 1 and actual.pc >= pc_map[-1]
    if pc(expected.pc) != actual.pc and not both_past_end:
        out.append(f"pc: expected {pc(expected.pc)}, actual {actual.pc}")
    e_trap = expected.trap_status()
    if e_trap.cause:
        e_trap.pc = pc(e_trap.pc)
    if pc_map is None:
        same = e_trap == a_trap if e_trap.cause else a_trap.cause == 0
    else:  # the image runs engines in HW_ENGINES order: which slot traps first may differ
        same = (e_trap.cause == 0) == (a_trap.cause == 0) and e_trap.pc == a_trap.pc
    if not same:
        out.append(f"trap: expected {_trap_text(e_trap)}, actual {_trap_text(a_trap)}")
    want_pauses = [PausePoint(p.cycle, pc(p.pc)) for p in expected.pauses]
    if want_pauses != list(a_pauses):
        pairs = [[(p.cycle, p.pc) for p in side] for side in (want_pauses, a_pauses)]
        out.append(f"pauses (cycle, pc): expected {pairs[0]}, actual {pairs[1]}")
    out += _array_diffs("memory", expected.mem, actual.mem)
    out += _array_diffs("scratch", expected.scratch, actual.scratch)
    out += _array_diffs("trace", expected.trace, actual.trace)
    return out


def disassemble(bundle: Bundle) -> str:
    try:
        from pymodel.disasm import format_bundle  # type: ignore[import-not-found]

        return format_bundle(bundle)
    except ImportError:
        parts = [f"{e.value}: " + "; ".join(str(s) for s in slots) for e, slots in bundle.groups]
        return " | ".join(parts) if parts else "(empty)"


def _writers(bundle: Bundle, addr: int, params) -> list[str]:  # type: ignore[no-untyped-def]
    """Slots of the bundle whose static scratch writes include ``addr``."""
    return [f"{e.value} slot {i} ({s})" for e, i, s in bundle if addr in s.spec.scratch_writes(s.args, params)]


def _model_pc(hw: HardwareImage, program: Program, hw_pc: int) -> int | None:
    """The model program's pc of a hardware bundle (the kept bundle that maps there)."""
    for p in range(len(program)):
        if hw.pc_map[p] == hw_pc and program[p].costs_cycle:
            return p
    return None


def _line(v: RetireView, hw: HardwareImage) -> str:
    text = disassemble(hw.program[v.pc]) if 0 <= v.pc < len(hw.program) else "(pc outside the image)"
    return f"cycle {v.cycle:>7} pc {v.pc:>6}: {text}"


def describe_divergence(div: Divergence, hw: HardwareImage, program: Program) -> str:
    """The lockstep report: where, which bundle and slot, expected and actual, and the bundles before."""
    params = hw.encoding.params
    in_image = 0 <= div.pc < len(hw.program)
    model_pc = _model_pc(hw, program, div.pc) if in_image else None
    where = f"hardware pc {div.pc}" + (f" (model pc {model_pc})" if model_pc is not None and model_pc != div.pc else "")
    lines = [f"first divergence: retire record #{div.index}, cycle {div.cycle}, {where}"]
    if in_image:
        lines.append(f"  bundle: {disassemble(hw.program[div.pc])}")
    for d in div.diffs:
        text = f"  {d}"
        if d.what == "scratch" and d.addr is not None and in_image:
            writers = _writers(hw.program[div.pc], d.addr, params)
            text += f"; written by {', '.join(writers) if writers else 'no slot of this bundle'}"
        lines.append(text)
    if div.history:
        lines.append("  bundles before it (RTL):")
        lines += [f"    {_line(v, hw)}" for v in div.history[-5:]]
    return "\n".join(lines)
