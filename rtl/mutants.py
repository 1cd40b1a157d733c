"""Deliberately wrong variants of the core, to prove the cross-check has teeth.

``VliwCore(params, mutant=NAME)`` builds the core with one bug planted: each
unit that hosts a mutation takes ``mutant`` and breaks itself at one clearly
marked ``if is_active(mutant, NAME)`` (grep ``MUTANT`` in rtl/).  With
``mutant=None`` the design -- and its Verilog -- is exactly the real core.
``python -m tools.mutate`` builds every mutant and checks the suite fails on it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mutant:
    name: str
    area: str  # the engine or the part of the core it breaks
    description: str


MUTANTS: tuple[Mutant, ...] = (
    # sequencing and commit (rtl/core.py, rtl/regfile.py)
    Mutant("swap_write_priority", "scratch", "two slots write one scratch word: the earlier slot wins"),
    Mutant("same_cycle_forwarding", "scratch", "an ALU slot reads what an earlier ALU slot of its bundle writes"),
    Mutant("pc_increment_after_execute", "flow", "relative jumps count from the jump's own bundle, not pc+1"),
    Mutant("trap_commits_writes", "traps", "a trapping bundle still commits its scratch/memory/trace writes"),
    Mutant("trap_counts_cycle", "cycles", "the cycle counter also counts the trapping bundle"),
    Mutant("halt_cycle_uncounted", "cycles", "the bundle holding halt does not count its cycle"),
    Mutant("empty_bundle_free", "cycles", "an all-empty bundle costs no cycle"),
    Mutant("pause_ignored", "flow", "pause does not stop the core even when pausing is enabled"),
    # ALU lanes, shared by alu and valu (rtl/alu.py)
    Mutant("cdiv_floors", "alu", "cdiv without the +1: rounds down like //"),
    Mutant("shr_arithmetic", "alu", ">> shifts in copies of the sign bit"),
    Mutant("shift_not_zeroed", "alu", "shifts by 32 or more use the low 5 bits instead of giving 0"),
    Mutant("lt_signed", "alu", "< compares the words as signed"),
    Mutant("div_zero_no_trap", "traps", "division or remainder by zero does not trap"),
    # vector ALU (rtl/valu.py)
    Mutant("valu_lane_off_by_one", "valu", "VALU lane i writes S[d+i+1]"),
    Mutant("madd_drops_addend", "valu", "multiply_add gives a*b, dropping c"),
    # load/store (rtl/lsu.py, rtl/dmem.py)
    Mutant("vload_last_lane_off_by_one", "load", "vload's last lane reads M[a+VLEN] instead of M[a+VLEN-1]"),
    Mutant("load_offset_ignores_k", "load", "load_offset writes S[d] instead of S[d+k]"),
    Mutant("swap_store_priority", "store", "two store lanes write one word: the earlier lane wins"),
    # flow (rtl/flow.py)
    Mutant("vselect_inverted", "flow", "vselect picks b where the condition is nonzero"),
    Mutant("trace_write_dropped", "flow", "trace_write appends nothing"),
)

_BY_NAME = {m.name: m for m in MUTANTS}


def mutant_names() -> list[str]:
    return [m.name for m in MUTANTS]


def get_mutant(name: str) -> Mutant:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ValueError(f"unknown mutant {name!r}; known: {', '.join(_BY_NAME)}") from None


def check_mutant(mutant: str | None) -> str | None:
    """``mutant`` itself if it is None or a catalogue name; else a clear error."""
    if mutant is not None:
        get_mutant(mutant)
    return mutant


def is_active(mutant: str | None, name: str) -> bool:
    """True when the design is built with mutation ``name`` (which must be in the catalogue,
    so a misspelt check in the RTL fails at elaboration instead of silently never firing)."""
    get_mutant(name)
    return mutant == name
