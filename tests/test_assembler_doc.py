"""docs/assembler.md's example kernel is real: run the guide's code block, check
the result on both model engines, and check the figures the guide quotes."""

from __future__ import annotations

import contextlib
import io
import random
import re
from pathlib import Path
from typing import Any

from pymodel.benchmark import hash_value
from pymodel.fast import FastMachine
from pymodel.isa import RunState
from pymodel.machine import Machine

GUIDE = Path(__file__).resolve().parent.parent / "docs" / "assembler.md"
MARKER = "<!-- guide-example:"


def guide_example() -> str:
    """The first python block after the marker comment."""
    text = GUIDE.read_text()
    start = text.index(MARKER)
    m = re.compile(r"```python\n(.*?)```", re.S).search(text, start)
    assert m is not None, "no python block after the guide-example marker"
    return m.group(1)


def guide_namespace() -> dict[str, Any]:
    ns: dict[str, Any] = {"__name__": "assembler_guide"}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(guide_example(), str(GUIDE), "exec"), ns)
    ns["printed"] = out.getvalue()
    return ns


def test_the_example_is_about_thirty_lines() -> None:
    lines = [ln for ln in guide_example().splitlines() if ln.strip()]
    assert 20 <= len(lines) <= 35


def test_the_example_hashes_the_array_on_both_engines() -> None:
    ns = guide_namespace()
    program, n, base = ns["built"].program, ns["N"], ns["BASE"]
    for seed in range(5):
        rng = random.Random(seed)
        mem = [rng.getrandbits(32) for _ in range(base)] + [rng.getrandbits(32) for _ in range(n)]
        fast = FastMachine(program, mem)
        assert fast.run_to_end() is RunState.HALTED, fast.trap
        assert fast.mem[base:] == [hash_value(v) for v in mem[base:]]
        assert fast.mem[:base] == mem[:base]
    ref = Machine(program, mem)
    assert ref.run_to_end() is RunState.HALTED
    assert (ref.cycle, ref.mem) == (fast.cycle, fast.mem)


def test_the_quoted_output_is_what_the_example_prints() -> None:
    ns = guide_namespace()
    printed = ns["printed"].strip()
    assert f"\n    {printed}\n" in GUIDE.read_text(), printed
    assert f"cycles={len(ns['built'].program)}" in GUIDE.read_text()
