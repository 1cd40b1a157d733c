"""Hypothesis strategies over the shared generator (``randprog``).

``DrawChooser`` feeds the generator hypothesis draws, so failing cases
shrink (towards the first option and the low end).  ``programs`` gives
layout-mode programs the RTL can run; ``cases`` gives model-only cases
(any machine size, several cores, initial scratch, cycle limits, traps of
every cause) for comparing the model's engines.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from hypothesis import strategies as st

from pymodel.isa import Engine, MachineParams

from .randprog import CORNER_WORDS, M32, GeneratedProgram, GenConfig, Generator, RawBundle

T = TypeVar("T")


class DrawChooser:
    def __init__(self, draw: Any) -> None:
        self.draw = draw

    def integer(self, lo: int, hi: int) -> int:
        return self.draw(st.integers(lo, hi))

    def pick(self, options: Sequence[T]) -> T:
        return self.draw(st.sampled_from(options))

    def chance(self, p: float) -> bool:
        if p <= 0:
            return False
        if p >= 1:
            return True
        if p > 0.5:
            return not self.chance(1 - p)
        # Hypothesis skews wide integer ranges to small values; a draw of 0 from a range of 1/p is near p.
        return self.draw(st.integers(0, max(1, round(1 / p)) - 1)) == 0


@st.composite
def programs(draw: Any, config: GenConfig = GenConfig(body=(2, 12), trap=0.3, mem_words=(8, 32))) -> GeneratedProgram:
    """Layout-mode programs (RTL-runnable); small by default so they shrink and run fast."""
    return Generator(DrawChooser(draw), config).program()


@dataclass
class Case:
    params: MachineParams
    program: list[RawBundle]
    mem: list[int]
    scratch: list[list[int]]  # initial scratch per core
    enable_pause: bool
    max_cycles: int


# Model-only cases: a few slots per engine keep programs small; out-of-range operands now and then.
MODEL_CONFIG = GenConfig(
    layout=False, bad_operand=1 / 80, hw_order=False, max_slots=3, pause=0.25, empty=0.0, favour_control=3,
    halt_slot=0.06,
)


@st.composite
def cases(
    draw: Any, engines: tuple[Engine, ...] = tuple(Engine), traced_loop: bool = False, corner_words: bool = False
) -> Case:
    """Random cases.  ``traced_loop`` wraps the program in a loop that starts with
    a trace_write; ``corner_words`` fills scratch and memory with corner values only."""
    c = DrawChooser(draw)
    vlen = c.pick([1, 4, 8])
    params = MachineParams(
        vlen=vlen,
        scratch_size=c.pick([24, 40]),
        n_cores=c.pick([1, 1, 2]),
        trace_depth=c.pick([1, 2, 6]),
    )
    mem_len = c.integer(0, 40) if c.chance(0.1) else c.integer(8, 40)
    gen = Generator(c, replace(MODEL_CONFIG, params=params, engines=engines, mem_words=(mem_len, mem_len)))
    small = st.integers(0, mem_len + 1)  # mostly valid addresses, so memory traffic happens
    near_end = st.sampled_from(range(max(0, mem_len - vlen + 1), mem_len + 2))  # vectors running off the end
    corner = st.sampled_from(CORNER_WORDS)
    word = corner if corner_words else st.one_of(small, small, small, near_end, corner, corner, st.integers(0, M32))
    program = gen.body(0, c.integer(1, 8))
    size = params.scratch_size
    if traced_loop:
        program[0]["flow"] = [("trace_write", c.integer(0, size - 1))]
        program.append({"flow": [("pause",)]})  # pauses when enable_pause
        # Back to bundle 0 (pc + 1 + k = 0), or now and then to before it.
        back = -(len(program) + 1) - (c.integer(1, 3) if c.chance(0.2) else 0)
        program.append({"flow": [("cond_jump_rel", c.integer(0, size - 1), back)]})
    return Case(
        params=params,
        program=program,
        mem=draw(st.lists(word, min_size=mem_len, max_size=mem_len)),
        scratch=[draw(st.lists(word, min_size=size, max_size=size)) for _ in range(params.n_cores)],
        enable_pause=c.chance(0.5),
        max_cycles=c.integer(0, 60) if c.chance(0.1) else c.integer(20, 60),
    )

