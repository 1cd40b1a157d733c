"""Seeded random programs over the whole ISA table that always finish.

Scratch is split so random slots cannot trap by accident: POINTERS hold
memory addresses and DIVISORS nonzero values (both written only by the
prologue), everything else reads anything and writes DATA.  Jumps only go
forward.  Bundles list engines in hardware order, so same-word writes inside
a bundle (later slot wins) survive to_hardware and test the RTL's priority.
Debug-only and empty bundles (zero cycles) test the image's pc renumbering.
"""

from __future__ import annotations

import random
from typing import Any

from pymodel.isa import DEFAULT_PARAMS, HW_ENGINES, Engine, MachineParams, OperandKind, OpSpec, ops_of
from pymodel.program import Program

from .programs import EDGE_VALUES, TestProgram

POINTERS = range(16)
DIVISORS = range(16, 32)
DATA = range(32, 288)
MEM_WORDS = 64


class _Gen:
    def __init__(self, seed: int, params: MachineParams) -> None:
        self.rng = random.Random(seed)
        self.p = params
        self.vl = params.vlen

    def value(self) -> int:
        r = self.rng
        return r.choice(EDGE_VALUES) if r.random() < 0.4 else r.getrandbits(32)

    def data(self, width: int = 1) -> int:
        return self.rng.randrange(DATA.start, DATA.stop - width + 1)

    def source(self, width: int = 1) -> int:
        return self.rng.randrange(0, DATA.stop - width + 1)

    def operands(self, spec: OpSpec, pc: int, n_bundles: int) -> tuple[Any, ...] | None:
        r, vl = self.rng, self.vl
        name = spec.name
        if name in ("//", "cdiv", "%"):
            w = vl if spec.engine is Engine.VALU else 1
            return (self.data(w), self.source(w), r.randrange(DIVISORS.start, DIVISORS.stop - w + 1))
        if name == "load_offset":
            k = r.randrange(vl)
            return (self.data() - k, r.randrange(POINTERS.stop - k), k)  # writes S[d+k] in DATA, reads S[a+k] a pointer
        if name in ("load", "vload"):
            return (self.data(vl if name == "vload" else 1), r.choice(POINTERS))
        if name in ("store", "vstore"):
            return (r.choice(POINTERS), self.source(vl if name == "vstore" else 1))
        if name in ("cond_jump", "jump"):
            target = r.randrange(pc + 1, min(n_bundles + 2, pc + 6))  # short hops: most bundles still run
            return (self.source(), target) if name == "cond_jump" else (target,)
        if name == "cond_jump_rel":
            return (self.source(), r.randrange(0, 4))
        if name == "jump_indirect":
            return None  # data-dependent target: left to the directed flow program
        args: list[Any] = []
        for o in spec.operands:
            w = o.width(self.p)
            if o.kind is OperandKind.IMM:
                args.append(self.value() if r.random() < 0.8 else -r.randrange(1, 1 << 31))
            elif o.access.value == "w":
                args.append(self.data(w))
            else:
                args.append(self.source(w))
        return tuple(args)

    def slots(self, engine: Engine, pc: int, n: int) -> list[tuple[Any, ...]]:
        r = self.rng
        ops = [op for op in ops_of(engine) if op.name not in ("halt",)]
        if engine is Engine.FLOW:
            ops = [op for op in ops if op.name != "pause" or r.random() < 0.1]
        count = r.randint(0, self.p.slot_limit(engine))
        out = []
        for _ in range(count):
            spec = r.choice(ops)
            args = self.operands(spec, pc, n)
            if args is not None:
                out.append((spec.name, *args))
        return out

    def program(self, n_body: int) -> list[dict[str, list[tuple[Any, ...]]]]:
        r = self.rng
        mem_top = MEM_WORDS - self.vl
        init = [(a, r.randrange(mem_top + 1)) for a in POINTERS] + [(a, self.value() or 1) for a in DIVISORS]
        init += [(a, self.value()) for a in r.sample(DATA, 24)]
        bundles: list[dict[str, list[tuple[Any, ...]]]] = [
            {"load": [("const", a, v) for a, v in init[i : i + self.p.load_slots]]}
            for i in range(0, len(init), self.p.load_slots)
        ]
        n = len(bundles) + n_body
        for pc in range(len(bundles), n):
            roll = r.random()
            if roll < 0.04:
                bundles.append({"debug": [("comment", f"bundle {pc}")]})  # zero cycles: dropped from the image
                continue
            if roll < 0.06:
                bundles.append({r.choice(HW_ENGINES).value: []})  # costs a cycle, does nothing
                continue
            bundle = {}
            for engine in HW_ENGINES:
                if r.random() < 0.6:
                    slots = self.slots(engine, pc, n)
                    if slots:
                        bundle[engine.value] = slots
            bundles.append(bundle or {"alu": []})
        if r.random() < 0.5:
            bundles.append({"alu": [("+", self.data(), self.source(), self.source())], "flow": [("halt",)]})
        return bundles


def random_program(seed: int, n_body: int = 60, params: MachineParams = DEFAULT_PARAMS) -> TestProgram:
    g = _Gen(seed, params)
    bundles = g.program(n_body)
    mem = [g.value() for _ in range(MEM_WORDS)]
    return TestProgram(f"random-{seed}", Program.from_tuples(bundles, params), mem)
