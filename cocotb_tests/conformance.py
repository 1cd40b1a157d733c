"""Directed conformance programs with their expected results taken from the
spec (MACHINE-SPEC.md), not from the model: every op of every engine in every
slot position on edge values, plus the spec's quirks.

Each ``Conformance`` carries an ``Expect``: scratch and memory words, the
trace, the cycle count, the final state and the trap, as the spec implies
them.  ``Expect.check`` compares any run (model or RTL) with it, so a
misreading shared by the model and the RTL still fails.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pymodel.isa import DEFAULT_PARAMS, HW_ENGINES, Engine, MachineParams, RunState, TrapCause, ops_of
from pymodel.program import Program

Raw = dict[str, list[tuple[Any, ...]]]
M, H = 0xFFFFFFFF, 1 << 31
BINOPS = ("+", "-", "*", "//", "cdiv", "^", "&", "|", "<<", ">>", "%", "<", "==")
# The spec's op lists per engine (MACHINE-SPEC.md), written here independently of the
# ISA table: the default machine must have exactly these; extension ops come on top.
SPEC_OPS: dict[str, tuple[str, ...]] = {
    "alu": BINOPS,
    "valu": BINOPS + ("vbroadcast", "multiply_add"),
    "load": ("load", "load_offset", "vload", "const"),
    "store": ("store", "vstore"),
    "flow": ("select", "vselect", "add_imm", "halt", "pause", "trace_write", "cond_jump", "cond_jump_rel", "jump",
             "jump_indirect", "coreid"),
    "debug": ("compare", "vcompare", "comment"),
}  # fmt: skip
DIVIDING = ("//", "cdiv", "%")


def spec_binop(op: str, a: int, b: int) -> int:
    """The spec's ALU op on unsigned words, written independently of pymodel.isa."""
    if op in DIVIDING and b == 0:
        raise ZeroDivisionError(op)
    table = {
        "+": lambda: (a + b) & M,
        "-": lambda: (a - b) & M,
        "*": lambda: (a * b) & M,
        "//": lambda: a // b,
        "cdiv": lambda: (a + b - 1) // b,
        "%": lambda: a % b,
        "^": lambda: a ^ b,
        "&": lambda: a & b,
        "|": lambda: a | b,
        "<<": lambda: 0 if b >= 32 else (a << b) & M,  # never shift by a huge amount
        ">>": lambda: 0 if b >= 32 else a >> b,
        "<": lambda: int(a < b),
        "==": lambda: int(a == b),
    }
    return table[op]()


@dataclass(frozen=True)
class TrapWant:
    cause: TrapCause
    pc: int
    engine: Engine
    slot: int


@dataclass
class Expect:
    """What the spec says the run ends with (None / empty = not asserted)."""

    scratch: dict[int, int] = field(default_factory=dict)
    mem: dict[int, int] = field(default_factory=dict)
    trace: list[int] | None = None
    cycle: int | None = None
    state: RunState = RunState.HALTED
    trap: TrapWant | None = None
    pauses: int | None = None

    def check(
        self,
        *,
        scratch: list[int],
        mem: list[int],
        trace: list[int],
        cycle: int,
        state: RunState,
        trap: tuple[int, int, int, int] | None,
        pauses: int,
    ) -> list[str]:
        """Differences from the spec; ``trap`` is (cause, pc, hw engine index, slot) or None."""
        out = [f"scratch[{a}] = {scratch[a]:#x}, spec says {v:#x}" for a, v in self.scratch.items() if scratch[a] != v]
        out += [f"mem[{a}] = {mem[a]:#x}, spec says {v:#x}" for a, v in self.mem.items() if mem[a] != v]
        if self.trace is not None and trace != self.trace:
            out.append(f"trace {trace[:12]}..., spec says {self.trace[:12]}... ({len(trace)} vs {len(self.trace)})")
        if self.cycle is not None and cycle != self.cycle:
            out.append(f"cycle {cycle}, spec says {self.cycle}")
        if state is not self.state:
            out.append(f"state {state.name}, spec says {self.state.name}")
        want = self.trap
        if want is not None:
            exp = (int(want.cause), want.pc, HW_ENGINES.index(want.engine), want.slot)
            if trap != exp:
                out.append(f"trap (cause, pc, engine, slot) {trap}, spec says {exp}")
        if self.pauses is not None and pauses != self.pauses:
            out.append(f"{pauses} pauses, spec says {self.pauses}")
        return out


@dataclass(frozen=True)
class Conformance:
    __test__ = False
    name: str
    program: Program
    mem: list[int]
    expect: Expect
    enable_pause: bool = True


class Builder:
    """Bundles plus the spec's expected scratch words, built side by side."""

    def __init__(self, params: MachineParams = DEFAULT_PARAMS) -> None:
        self.params = params
        self.bundles: list[Raw] = []
        self.expect = Expect()
        self.value: dict[int, int] = {}  # scratch words the program has set (spec values)

    def consts(self, base: int, values: list[int]) -> None:
        """const into base.. (two per bundle: both load positions)."""
        slots = [("const", base + i, v) for i, v in enumerate(values)]
        for i in range(0, len(slots), self.params.load_slots):
            self.bundles.append({"load": slots[i : i + self.params.load_slots]})
        for i, v in enumerate(values):
            self.value[base + i] = v & M

    def want(self, addr: int, value: int) -> None:
        self.expect.scratch[addr] = value & M
        self.value[addr] = value & M

    def done(self, name: str, mem: list[int], *, enable_pause: bool = True, cycle: int | None = None) -> Conformance:
        program = Program.from_tuples(self.bundles, self.params)
        self.expect.cycle = sum(1 for b in self.bundles if any(k != "debug" for k in b)) if cycle is None else cycle
        return Conformance(name, program, mem, self.expect, enable_pause)


# Edge values; every pair below draws from this pool (scratch 0..15).
POOL = (0, 1, 2, 31, 32, 33, 0x7FFFFFFF, H, M - 1, M, 7, 3, 0x12345678, 0x9E3779B9, 0xFFFF, 0x10000)
_ANY = [
    (0, 0), (0, M), (M, 0), (M, M), (1, M), (M, 1), (H, H), (H, 1), (1, H), (H - 1, 1), (H - 1, H),
    (0x12345678, 0x9E3779B9), (2, M - 1), (M - 1, 2), (0xFFFF, 0x10000), (0x10000, 0x10000), (7, 3), (3, 7),
    (1, 1), (0, 1), (H, M), (M, H), (33, 31), (0x9E3779B9, 0x12345678),
]  # fmt: skip
_SHIFT = [(a, b) for a in (1, M, H) for b in (0, 1, 31, 32, 33, H, M)] + [(0, 1), (0, 33), (0x12345678, 7)]
_DIV = [
    (0, 1), (1, 1), (M, 1), (M, M), (M, 2), (H, M), (1, M), (M, H), (7, 3), (33, 3), (H - 1, H),
    (H, H - 1), (0, M), (M - 1, M), (M, M - 1), (0x12345678, 7), (0x9E3779B9, 0x10000), (0x10000, 0xFFFF), (H, 2),
    (33, 32), (31, 32), (32, 32), (3, 7), (M, 3),
]  # fmt: skip


def pairs_for(op: str) -> list[tuple[int, int]]:
    return _DIV if op in DIVIDING else _SHIFT if op in ("<<", ">>") else _ANY


def alu_rotation(params: MachineParams = DEFAULT_PARAMS) -> Conformance:
    """Two rotations of the 13 ALU ops over the 12 positions: each (op, slot)
    twice, each op on 24 edge pairs.  Bundle j slot i runs op (i + j) mod 13."""
    b = Builder(params)
    b.consts(0, list(POOL))
    where = {v: i for i, v in enumerate(POOL)}
    n_ops, width = len(BINOPS), params.alu_slots
    used = {op: 0 for op in BINOPS}
    dest = 100
    for j in range(2 * n_ops):
        slots = []
        for i in range(width):
            op = BINOPS[(i + j) % n_ops]
            a, v = pairs_for(op)[used[op] % 24]
            used[op] += 1
            slots.append((op, dest, where[a], where[v]))
            b.want(dest, spec_binop(op, a, v))
            dest += 1
        b.bundles.append({"alu": slots})
    b.bundles.append({"flow": [("halt",)]})
    return b.done("conf-alu-rotation", [0])


# Vectors of edge lanes (scratch 0..47, loaded by vload from the memory image).
VECTORS = (
    (0, 1, H, M, 0x12345678, M - 1, 7, H - 1),  # VA
    (M, 0, H, 1, 0x9E3779B9, 2, 3, H),  # VB
    (0, M, 1, M, 0x10000, 0x10000, 7, 1),  # VC
    (0, 1, 31, 32, 33, H, M, 5),  # SH: shift amounts
    (1, M, 2, H, 3, 7, M - 1, 0x10000),  # NZ: no zero lane (divisors)
    (M, M, H, 0, 1, 2, 0x12345678, 0xFFFF),  # VD
)
VA, VB, VC, SH, NZ, VD = range(6)
_VPAIRS = {
    "any": [(VA, VB), (VB, VA), (VA, VA), (VC, VD), (VD, VC), (VB, VD)],
    "shift": [(VA, SH), (VB, SH), (VD, SH), (VC, SH), (SH, SH), (VA, VB)],
    "div": [(VA, NZ), (VB, NZ), (VD, NZ), (NZ, NZ), (VC, NZ), (SH, NZ)],
}
_MADD = [(VA, VB, VC), (VB, VB, VD), (VD, VD, VD), (VA, VD, VB), (NZ, NZ, VA), (SH, VD, VC)]


def _load_vectors(b: Builder, vectors: tuple[tuple[int, ...], ...], addr_base: int) -> list[int]:
    """The memory image holding ``vectors`` and the bundles that vload them to scratch 0.."""
    vl = b.params.vlen
    b.consts(addr_base, [vl * k for k in range(len(vectors))])
    loads = [("vload", vl * k, addr_base + k) for k in range(len(vectors))]
    for i in range(0, len(loads), b.params.load_slots):
        b.bundles.append({"load": loads[i : i + b.params.load_slots]})
    for k, vec in enumerate(vectors):
        for i, v in enumerate(vec):
            b.value[vl * k + i] = v
    return [v for vec in vectors for v in vec]


def valu_rotation(params: MachineParams = DEFAULT_PARAMS) -> Conformance:
    """The 15 VALU ops rotated over the 6 positions (bundle j slot i runs op
    (i + j) mod 15), lane-wise on edge vectors; vbroadcast and multiply_add too."""
    b = Builder(params)
    vl = params.vlen
    mem = _load_vectors(b, VECTORS, 1400)
    ops = [op.name for op in ops_of(Engine.VALU)]
    used = {op: 0 for op in ops}
    dest = 64
    for j in range(len(ops)):
        slots: list[tuple[Any, ...]] = []
        for i in range(params.valu_slots):
            op = ops[(i + j) % len(ops)]
            n = used[op]
            used[op] += 1
            if op == "vbroadcast":
                src = (VA * vl + n) if n % 2 else (VD * vl + 3 + n)  # 1, 0, M, ... lanes of the pool
                slots.append((op, dest, src))
                lanes = [b.value[src]] * vl
            elif op == "multiply_add":
                x, y, z = _MADD[n]
                slots.append((op, dest, x * vl, y * vl, z * vl))
                lanes = [(VECTORS[x][i2] * VECTORS[y][i2] + VECTORS[z][i2]) & M for i2 in range(vl)]
            else:
                kind = "div" if op in DIVIDING else "shift" if op in ("<<", ">>") else "any"
                x, y = _VPAIRS[kind][n]
                slots.append((op, dest, x * vl, y * vl))
                lanes = [spec_binop(op, VECTORS[x][i2], VECTORS[y][i2]) for i2 in range(vl)]
            for i2, v in enumerate(lanes):
                b.want(dest + i2, v)
            dest += vl
        b.bundles.append({"valu": slots})
    b.bundles.append({"flow": [("halt",)]})
    return b.done("conf-valu-rotation", mem)


def model_diffs(c: Conformance, engine: str = "reference", params: MachineParams = DEFAULT_PARAMS) -> list[str]:
    """Run ``c`` on a model engine to its end (resuming pauses) and compare with the spec."""
    from pymodel.fast import FastMachine
    from pymodel.machine import Machine

    cls = Machine if engine == "reference" else FastMachine
    m = cls(c.program, c.mem, params, enable_pause=c.enable_pause, enable_debug=False)
    pauses = 0
    while m.run(1 << 20) is RunState.PAUSED:
        pauses += 1
    t = m.trap
    trap = None if t is None else (int(t.cause), t.pc, HW_ENGINES.index(t.engine), t.slot)
    core = m.cores[0]
    return c.expect.check(
        scratch=core.scratch, mem=m.mem, trace=core.trace, cycle=m.cycle, state=m.state, trap=trap, pauses=pauses
    )


def rtl_diffs(c: Conformance, rtl: Any) -> list[str]:
    """Compare an RTL run's SimResult (cocotb_tests.job) with the spec."""
    t = rtl.trap
    trap = (t.cause, t.pc, t.engine, t.slot) if t.cause else None
    return c.expect.check(
        scratch=rtl.scratch, mem=rtl.mem, trace=rtl.trace, cycle=rtl.cycle, state=RunState(rtl.state), trap=trap,
        pauses=len(rtl.pauses),
    )  # fmt: skip
