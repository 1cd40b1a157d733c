"""Constrained-random programs over the whole ISA table (pymodel.isa.OPS).

One generator serves every random test: seeded (``random_program``, the
fuzz campaign) and hypothesis-driven (``strategies``), through the
``Chooser`` it draws from.  Ops and operand kinds come from the table; an
op's *role* is read from its flags (a memory op's first scalar read is its
address, a binop that raises DivideByZero on 0 has a divisor, an OFFSET
shifts the other scratch operands).

With ``GenConfig.layout`` the scratch is split so random slots do not trap
by accident: POINTERS hold memory addresses and DIVISORS nonzero values
(written only by the prologue), ZERO is 0, everything else reads anything
and writes DATA.  A prologue clears and fills every word a program can
read, so a run is the same on a fresh or a reused core.  ``bad_operand`` is
the chance that an operand breaks the rule on purpose (each trap cause).
Loops are counted (COUNTER), jumps in the body only go forward.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from pymodel.isa import (
    DEFAULT_PARAMS,
    HW_ENGINES,
    Access,
    DivideByZero,
    Engine,
    MachineParams,
    OperandKind,
    OpSpec,
    ops_of,
)
from pymodel.program import Program

from .programs import TestProgram

T = TypeVar("T")
BAD_KINDS = ("scratch", "address", "divisor", "jump")
RawSlot = tuple[Any, ...]
RawBundle = dict[str, list[RawSlot]]
M32 = (1 << 32) - 1
CORNER_WORDS = (0, 1, 2, 3, 7, 31, 32, 33, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFE, M32, 0xFFFF, 0x10000)
CORNER_IMMS = CORNER_WORDS + (-1, -(1 << 31))  # both encodable (signed 32-bit)
WIDE_IMMS = ((1 << 33) + 5, 1 << 40)  # model only: taken mod 2^32, the encoder refuses them


class Chooser(Protocol):
    """Where the generator's decisions come from (random.Random or hypothesis)."""

    def integer(self, lo: int, hi: int) -> int: ...  # lo..hi inclusive; shrinks towards lo
    def pick(self, options: Sequence[T]) -> T: ...  # shrinks towards options[0]
    def chance(self, p: float) -> bool: ...  # True with probability about p


class RandomChooser:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def integer(self, lo: int, hi: int) -> int:
        return self.rng.randint(lo, hi)

    def pick(self, options: Sequence[T]) -> T:
        return options[self.rng.randrange(len(options))]

    def chance(self, p: float) -> bool:
        return self.rng.random() < p


def divides(spec: OpSpec) -> bool:
    """Whether the op's second source is a divisor (its binop traps on 0)."""
    if spec.binop is None:
        return False
    try:
        spec.binop(1, 0)
    except DivideByZero:
        return True
    return False


def address_operand(spec: OpSpec) -> int | None:
    """Index of the operand a memory op takes its memory address from."""
    if not (spec.reads_mem or spec.writes_mem):
        return None
    # its first scratch read: a scalar address, or a vector of lane addresses (vgather)
    return next(i for i, o in enumerate(spec.operands) if o.kind.is_scratch and o.access is Access.READ)


def indirect(spec: OpSpec) -> bool:
    """A jump whose target is a scratch word (jump_indirect)."""
    return spec.control and bool(spec.operands) and all(o.kind.is_scratch for o in spec.operands)


@dataclass(frozen=True)
class Layout:
    """Scratch regions of a layout-mode program (see the module doc)."""

    pointers: range
    divisors: range
    zero: int
    counter: int
    one: int
    jump_to: int  # jump_indirect's target (set by the prologue)
    data: range

    @classmethod
    def for_params(cls, p: MachineParams) -> Layout:
        n = max(2, min(16, p.scratch_size // 16))
        base = 2 * n + 4
        data_len = min(256, p.scratch_size - base)
        if data_len < 2 * p.vlen:
            raise ValueError(f"scratch_size {p.scratch_size} is too small for the layout (vlen {p.vlen})")
        return cls(range(n), range(n, 2 * n), 2 * n, 2 * n + 1, 2 * n + 2, 2 * n + 3, range(base, base + data_len))

    @property
    def readable(self) -> range:
        return range(0, self.data.stop)


@dataclass(frozen=True)
class GenConfig:
    params: MachineParams = DEFAULT_PARAMS
    body: tuple[int, int] = (20, 60)  # body bundles, min..max
    engines: tuple[Engine, ...] = tuple(Engine)
    max_slots: int | None = None  # cap per engine (None: the machine's slot limit)
    layout: bool = True  # safe regions + prologue (RTL programs); False: any address (model-only tests)
    bad_operand: float = 0.0  # chance an operand deliberately breaks the layout (traps)
    trap: float = 0.0  # chance a program has one bundle whose operands break the layout at rate 0.2
    hw_order: bool = True  # engines listed in HW_ENGINES order (else shuffled)
    pause: float = 0.03  # chance a flow slot is `pause`
    loop: float = 0.5  # chance the body runs in a counted loop
    max_iterations: int = 4
    trace_flood: float = 0.0  # chance of a tail that writes about trace_depth trace entries
    halt: float = 0.5  # chance of a final halting bundle (else the pc runs off the end)
    halt_slot: float = 0.01  # chance a flow slot in the body is `halt` (ends the run early)
    empty: float = 0.02  # chance a body bundle is empty (costs a cycle) / debug-only (costs none)
    mem_words: tuple[int, int] = (16, 64)
    favour_control: int = 0  # extra draws of control and side-effect ops (jumps, trace_write): loops, stops

    def slots_of(self, engine: Engine) -> int:
        limit = self.params.slot_limit(engine)
        return limit if self.max_slots is None else min(limit, self.max_slots)


@dataclass
class GeneratedProgram:
    bundles: list[RawBundle]
    mem: list[int]
    enable_pause: bool

    def to_test_program(self, name: str, params: MachineParams = DEFAULT_PARAMS) -> TestProgram:
        return TestProgram(name, Program.from_tuples(self.bundles, params), list(self.mem), self.enable_pause)


class Generator:
    def __init__(self, choose: Chooser, config: GenConfig = GenConfig()) -> None:
        self.c = choose
        self.cfg = config
        self.p = config.params
        self.lay = Layout.for_params(config.params) if config.layout else None
        self.mem_len = config.mem_words[1]
        self.bad_rate = config.bad_operand
        self.bad_kind: str | None = None  # in a trap bundle: the one kind of bad operand
        # to_hardware drops zero-cost bundles and cannot renumber a target held in data:
        # a layout program has either jump_indirect or debug-only bundles, whichever comes first.
        self.indirect_ok = True
        self.has_indirect = False
        self._ops: dict[tuple[Engine, bool], list[OpSpec]] = {}

    # -- values ---------------------------------------------------------------

    def word(self) -> int:
        c = self.c
        if c.chance(0.3):
            return c.integer(0, self.mem_len + 1)  # small: a plausible address or count
        return c.pick(CORNER_WORDS) if c.chance(0.5) else c.integer(0, M32)

    def imm(self) -> int:
        c = self.c
        if not self.cfg.layout and c.chance(0.05):
            return c.pick(WIDE_IMMS)
        if c.chance(0.3):
            return c.integer(0, 40)
        return c.pick(CORNER_IMMS) if c.chance(0.5) else c.integer(-(1 << 31), M32)

    def _bad(self, kind: str) -> bool:
        """Whether this operand breaks the layout (``kind``: scratch, address, divisor or jump)."""
        if self.bad_kind is not None and kind != self.bad_kind:
            return False
        return self.bad_rate > 0 and self.c.chance(self.bad_rate)

    def _out_of_range(self, width: int) -> int:
        size = self.p.scratch_size
        return self.c.integer(size - width + 1, size + 2)

    def _in(self, region: range, width: int) -> int:
        return self.c.integer(region.start, region.stop - width)

    # -- operands -------------------------------------------------------------

    def scratch(self, spec: OpSpec, index: int, shift: int) -> int:
        """A scratch operand; ``shift`` (load_offset's k) is added to it by the op."""
        w = spec.operands[index].width(self.p)
        c, lay = self.c, self.lay
        if lay is None:
            if self._bad("scratch"):
                return c.pick((-1, 1 << 40)) if c.chance(0.3) else self._out_of_range(w) - shift
            # a few hot addresses: same-bundle write conflicts, read-after-write
            return c.integer(0, 3) if c.chance(0.3) else c.integer(0, self.p.scratch_size - w)
        if index == address_operand(spec):
            region = lay.divisors if self._bad("address") else lay.pointers  # a big word as address: MEM_RANGE
        elif divides(spec) and index == 2:
            return lay.zero if self._bad("divisor") else self._in(lay.divisors, w)
        elif indirect(spec):  # S[a] is the target: set by the prologue
            return lay.jump_to
        elif self._bad("scratch") and c.chance(0.3):
            return self._out_of_range(w) - shift
        else:
            region = lay.data if spec.operands[index].access is Access.WRITE else lay.readable
        return c.integer(region.start + shift, region.stop - w) - shift

    def jump_target(self, kind: OperandKind, pc: int, n: int) -> int:
        c = self.c
        if kind is OperandKind.TARGET:
            if self._bad("jump") or (not self.cfg.layout and c.chance(0.2)):
                return c.pick((-1, -5) if self.cfg.layout else (-1, -5, 1 << 40))
            if self.cfg.layout:  # short hops, at most to the body's end (a pc past a program's end + 1 has no image pc)
                return c.integer(pc + 1, min(n, pc + 5))
            return c.integer(0, n + 1)
        if self._bad("jump"):
            return -(pc + 1) - c.integer(1, 3)  # before bundle 0: JUMP_NEGATIVE
        return c.integer(0, min(3, n - pc - 1)) if self.cfg.layout else c.integer(-n - 3, n)

    def operands(self, spec: OpSpec, pc: int, n: int) -> RawSlot:
        kinds = [o.kind for o in spec.operands]
        if self.lay is not None and indirect(spec):  # one per program, a short hop forward
            self.has_indirect = True
            self.indirect_target = pc + 1 + self.c.integer(0, 3)
        shift = 0
        if OperandKind.OFFSET in kinds:  # S[d+k], S[a+k]: draw k first, keep d+k and a+k in their regions
            shift = self.c.integer(0, self.p.vlen - 1)
            if not self.cfg.layout and self._bad("scratch"):
                shift = self.c.pick((self.p.vlen, self.p.scratch_size, -1))
        args: list[Any] = []
        for i, o in enumerate(spec.operands):
            if o.kind.is_scratch:
                args.append(self.scratch(spec, i, shift))
            elif o.kind is OperandKind.OFFSET:
                args.append(shift)
            elif o.kind is OperandKind.IMM:
                args.append(self.imm())
            elif o.kind in (OperandKind.TARGET, OperandKind.REL):
                args.append(self.jump_target(o.kind, pc, n))
            elif o.kind is OperandKind.KEY:
                args.append("k")
            elif o.kind is OperandKind.KEYS:
                args.append(tuple(("k", i) for i in range(self.p.vlen)))
            else:
                args.append(f"bundle {pc}")
        return (spec.name, *args)

    # -- slots and bundles ----------------------------------------------------

    def ops(self, engine: Engine) -> list[OpSpec]:
        """The ops a slot of ``engine`` draws from (this machine's; computed once per engine and state)."""
        no_indirect = self.cfg.layout and (self.has_indirect or not self.indirect_ok)  # one, and no debug-only bundle
        key = (engine, no_indirect)
        specs = self._ops.get(key)
        if specs is None:
            specs = [s for s in ops_of(engine, self.p) if not s.control or s.operands]  # halt/pause: in slot()
            specs += [s for s in specs if s.control or s.side_effect] * self.cfg.favour_control
            if no_indirect:
                specs = [s for s in specs if not indirect(s)]
            self._ops[key] = specs
        return specs

    def slot(self, engine: Engine, pc: int, n: int) -> RawSlot:
        if engine is Engine.FLOW and self.c.chance(self.cfg.pause):
            return ("pause",)
        if engine is Engine.FLOW and self.c.chance(self.cfg.halt_slot):
            return ("halt",)
        return self.operands(self.c.pick(self.ops(engine)), pc, n)

    def engine_order(self) -> list[Engine]:
        engines = [e for e in (HW_ENGINES + (Engine.DEBUG,)) if e in self.cfg.engines]
        if self.cfg.hw_order:
            return engines
        out = []
        while engines:
            out.append(engines.pop(self.c.integer(0, len(engines) - 1)))
        return out

    def bundle(self, pc: int, n: int) -> RawBundle:
        c = self.c
        if c.chance(self.cfg.empty) and not (self.cfg.layout and self.has_indirect):
            self.indirect_ok = False
            return {"debug": [("comment", f"bundle {pc}")]}  # zero cycles: dropped from the image
        if c.chance(self.cfg.empty):
            return {c.pick(HW_ENGINES).value: []}  # costs a cycle, does nothing
        out: RawBundle = {}
        for engine in self.engine_order():
            if c.chance(0.4):
                continue
            slots = [self.slot(engine, pc, n) for _ in range(c.integer(0, self.cfg.slots_of(engine)))]
            if slots:
                out[engine.value] = slots
        if out and set(out) == {Engine.DEBUG.value}:  # costs no cycle
            if self.cfg.layout and self.has_indirect:
                out[Engine.ALU.value] = []  # now it costs one
            else:
                self.indirect_ok = False
        return out or {"alu": []}

    def trap_bundle(self, pc: int, n: int) -> RawBundle:
        """A bundle with one slot whose ``bad_kind`` operands all break the layout."""
        kind = self.bad_kind
        fits = {
            "scratch": lambda s: any(o.kind.is_scratch for o in s.operands),
            "address": lambda s: address_operand(s) is not None,
            "divisor": divides,
            "jump": lambda s: any(o.kind in (OperandKind.TARGET, OperandKind.REL) for o in s.operands),
        }[kind or "scratch"]
        specs = [s for e in HW_ENGINES if e in self.cfg.engines for s in self.ops(e) if fits(s)]
        out = self.bundle(pc, n)
        if not specs:
            return out
        spec = self.c.pick(specs)
        self.bad_rate = 1.0
        slot = self.operands(spec, pc, n)
        group = out.setdefault(spec.engine.value, [])
        group[: 1 if len(group) >= self.cfg.slots_of(spec.engine) else 0] = [slot]
        if self.cfg.hw_order:
            return {e.value: out[e.value] for e in self.engine_order() if e.value in out}
        return out

    def body(self, start: int, count: int) -> list[RawBundle]:
        n = start + count
        bad_pc = self.c.integer(start, n - 1) if count and self.c.chance(self.cfg.trap) else -1
        out = []
        self.indirect_target = n  # S[jump_to] when no jump_indirect was drawn
        for pc in range(start, n):
            self.bad_rate = 0.2 if pc == bad_pc else self.cfg.bad_operand
            self.bad_kind = self.c.pick(BAD_KINDS) if pc == bad_pc else None
            out.append(self.trap_bundle(pc, n) if pc == bad_pc else self.bundle(pc, n))
        self.bad_rate, self.bad_kind = self.cfg.bad_operand, None
        return out

    # -- whole programs (layout mode) ---------------------------------------

    def _consts(self, pairs: list[tuple[int, int]]) -> list[RawBundle]:
        k = self.p.load_slots
        return [{"load": [("const", a, v) for a, v in pairs[i : i + k]]} for i in range(0, len(pairs), k)]

    def prologue(self, iterations: int) -> list[RawBundle]:
        """Zero every readable word, then set pointers, divisors, the loop counter and some data."""
        lay, p, c = self.lay, self.p, self.c
        assert lay is not None
        vl, per = p.vlen, p.valu_slots
        starts = list(range(0, lay.data.stop - vl + 1, vl))
        if starts[-1] + vl < lay.data.stop:
            starts.append(lay.data.stop - vl)
        zero = [("^", a, a, a) for a in starts]  # x ^ x: zero, whatever was left there
        out: list[RawBundle] = [{"valu": zero[i : i + per]} for i in range(0, len(zero), per)]
        top = self.mem_len - vl
        pairs = [(a, c.integer(0, top)) for a in lay.pointers]
        pairs += [(a, self.word() or 1) for a in lay.divisors] + [(lay.counter, iterations), (lay.one, 1)]
        pairs.append((lay.jump_to, 0))  # patched by program() once the body is known
        pairs += [(self._in(lay.data, 1), self.word()) for _ in range(c.integer(4, 24))]
        return out + self._consts(pairs)

    def program(self) -> GeneratedProgram:
        lay, c, cfg = self.lay, self.c, self.cfg
        assert lay is not None, "program() needs layout mode"
        self.mem_len = c.integer(*cfg.mem_words)
        iterations = c.integer(1, cfg.max_iterations) if c.chance(cfg.loop) else 0
        bundles = self.prologue(iterations)
        body_start = len(bundles)
        bundles += self.body(body_start, c.integer(*cfg.body))
        target = min(self.indirect_target, len(bundles))  # at most one past the end
        for b in bundles[:body_start]:  # the one jump_indirect's target
            if "load" in b:
                b["load"] = [(s[0], s[1], target) if s[1] == lay.jump_to else s for s in b["load"]]
        if iterations:  # count down; the back jump lands on the body's first bundle
            back = body_start - (len(bundles) + 1)
            bundles.append({"alu": [("-", lay.counter, lay.counter, lay.one)],
                            "flow": [("cond_jump_rel", lay.counter, back)]})  # fmt: skip
        if c.chance(cfg.trace_flood):
            depth = self.p.trace_depth
            bundles += self._consts([(lay.counter, depth + c.integer(-2, 2))])
            bundles += [{"alu": [("-", lay.counter, lay.counter, lay.one)], "flow": [("trace_write", lay.counter)]},
                        {"flow": [("cond_jump_rel", lay.counter, -2)]}]  # fmt: skip
        if c.chance(cfg.halt):
            bundles.append({"alu": [("+", self._in(lay.data, 1), c.integer(0, lay.data.stop - 1), lay.one)],
                            "flow": [("halt",)]})  # fmt: skip
        mem = [self.word() for _ in range(self.mem_len)]
        return GeneratedProgram(bundles, mem, enable_pause=c.chance(0.8))


# The campaign's mix: mostly clean long runs, some deliberate traps, a few trace floods.
FUZZ_CONFIG = GenConfig(trap=0.25, trace_flood=0.03)


def generate(seed: int, config: GenConfig = FUZZ_CONFIG) -> GeneratedProgram:
    return Generator(RandomChooser(seed), config).program()


def random_program(seed: int, n_body: int = 60, params: MachineParams = DEFAULT_PARAMS) -> TestProgram:
    """A seeded program that always finishes (no deliberate traps)."""
    cfg = GenConfig(params=params, body=(n_body, n_body), halt_slot=0.0)  # runs the whole body
    return generate(seed, cfg).to_test_program(f"random-{seed}", params)


def model_ending(seed: int, config: GenConfig = FUZZ_CONFIG) -> tuple[str, int]:
    """How generate(seed) ends on the model (trap cause or run state) and how many pauses it resumed."""
    from .model_side import run_model

    t = generate(seed, config).to_test_program(f"fuzz-{seed}", config.params)
    m = run_model(t.program, t.mem, config.params, "fast", enable_pause=t.enable_pause, max_cycles=1 << 20)
    return (m.trap.cause.name if m.trap else m.state.name), len(m.pauses)
