"""The one definition of the machine's instruction set.

Everything that needs to know what an op *is* reads this module: the golden
model's interpreter, the assembler and its validator, the encoder/decoder, the
docs generator, the random program generator and the RTL decoder.  What an op
*does* is written here once in Python (``OpSpec.execute``) and once more, on
purpose independently, in the RTL's HDL.

Spec: ``../shared/MACHINE-SPEC.md``.  Human manual: ``docs/ISA.md`` (its
tables are generated from this file by ``python -m pymodel.docgen``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from enum import Enum, IntEnum
from typing import Any, Callable, Iterator, Protocol

WORD_BITS = 32
WORD_MASK = (1 << WORD_BITS) - 1

# Bumped whenever an existing op's opcode, operands or meaning changes (never for
# an added op: opcodes are explicit and stable).  A hardware image records it.
ISA_VERSION = 2


@dataclass(frozen=True)
class Extension:
    """A named set of extra ops (``OpSpec.extension``); a machine config enables some."""

    name: str
    summary: str


# Every ISA extension the table knows.  A machine enables some of them through
# ``MachineParams.extensions`` (named machines: ``pymodel.configs``).
EXTENSIONS: dict[str, Extension] = {
    e.name: e
    for e in (
        Extension("vgather", "load engine: vgather d a, S[d+i] = M[S[a+i]] (one slot gathers VLEN words)"),
    )
}


class Engine(str, Enum):
    """An execution engine; the value is the name used in programs."""

    ALU = "alu"
    VALU = "valu"
    LOAD = "load"
    STORE = "store"
    FLOW = "flow"
    DEBUG = "debug"

    def __str__(self) -> str:  # "alu", not "Engine.ALU", in messages
        return self.value


# The hardware executes engines in this fixed order; it is also the order in
# which slots of one bundle are laid out in the binary encoding and the write
# priority order of the RTL (a later position wins).
HW_ENGINES: tuple[Engine, ...] = (Engine.ALU, Engine.VALU, Engine.LOAD, Engine.STORE, Engine.FLOW)


@dataclass(frozen=True)
class MachineParams:
    """Sizes of one machine.  Defaults are the spec's; the RTL takes the same."""

    vlen: int = 8
    scratch_size: int = 1536
    n_cores: int = 1
    alu_slots: int = 12
    valu_slots: int = 6
    load_slots: int = 2
    store_slots: int = 2
    flow_slots: int = 1
    debug_slots: int = 64
    # Sizes the spec leaves to the implementation (hardware storage):
    mem_depth: int = 1 << 14  # data memory words the RTL provides
    imem_depth: int = 1 << 18  # bundles the RTL instruction memory holds
    trace_depth: int = 1024  # trace buffer entries; one more is a trap
    # ISA extensions this machine has (names from EXTENSIONS), kept sorted.
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        self._check_extensions()
        for f in fields(self):
            if f.name == "extensions":
                continue
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"MachineParams.{f.name} must be an integer, got {value!r}")
            if value < 0:
                raise ValueError(f"MachineParams.{f.name} must not be negative, got {value}")
        for name in ("vlen", "scratch_size", "n_cores", "mem_depth", "imem_depth", "trace_depth"):
            if getattr(self, name) < 1:
                raise ValueError(f"MachineParams.{name} must be at least 1")
        # Storage the model allocates up front; beyond these it is a typo, not a machine.
        for name, most in (("scratch_size", 1 << 20), ("n_cores", 64), ("vlen", 1024)):
            if getattr(self, name) > most:
                raise ValueError(f"MachineParams.{name} must be at most {most}, got {getattr(self, name)}")
        if self.flow_slots != 1:
            # Jumps change pc at once; two flow slots would need an order rule
            # for two jumps that the spec does not give.
            raise ValueError("MachineParams.flow_slots must be 1")

    def _check_extensions(self) -> None:
        raw = self.extensions
        if isinstance(raw, str) or not isinstance(raw, (tuple, list, set, frozenset)):
            raise ValueError(f"MachineParams.extensions must be a list of extension names, got {raw!r}")
        for name in raw:
            if name not in EXTENSIONS:
                known = ", ".join(EXTENSIONS) or "none"
                raise ValueError(f"MachineParams.extensions: unknown ISA extension {name!r} (known: {known})")
        # Sorted and de-duplicated, so equal machines compare (and hash, and repr) equal.
        object.__setattr__(self, "extensions", tuple(sorted(set(raw))))

    def has(self, op: "OpSpec") -> bool:
        """Whether this machine has ``op`` (a base op, or one of its extensions)."""
        return op.extension is None or op.extension in self.extensions

    def slot_limit(self, engine: Engine) -> int:
        return {
            Engine.ALU: self.alu_slots,
            Engine.VALU: self.valu_slots,
            Engine.LOAD: self.load_slots,
            Engine.STORE: self.store_slots,
            Engine.FLOW: self.flow_slots,
            Engine.DEBUG: self.debug_slots,
        }[engine]

    @property
    def addr_bits(self) -> int:
        """Width of a scratch-address field in the encoding."""
        return max(1, (self.scratch_size - 1).bit_length())


DEFAULT_PARAMS = MachineParams()


class OperandKind(str, Enum):
    """What an operand of a slot is."""

    SCALAR = "scalar"  # scratch address of one word
    VECTOR = "vector"  # scratch address of the first of VLEN consecutive words
    OFFSET = "offset"  # small unsigned immediate added to scratch addresses (load_offset)
    IMM = "imm"  # 32-bit immediate, taken mod 2^32
    TARGET = "target"  # absolute bundle index (a jump target)
    REL = "rel"  # signed bundle offset relative to pc+1
    KEY = "key"  # debug: a key into the recorded reference values (any JSON value)
    KEYS = "keys"  # debug: VLEN such keys
    TEXT = "text"  # debug: free text

    @property
    def is_scratch(self) -> bool:
        return self in (OperandKind.SCALAR, OperandKind.VECTOR)

    @property
    def is_integer(self) -> bool:
        return self not in (OperandKind.KEY, OperandKind.KEYS, OperandKind.TEXT)


class Access(str, Enum):
    READ = "r"
    WRITE = "w"
    NONE = "-"  # immediates, targets, text


class Field(str, Enum):
    """Named bit fields of an encoded slot (see ``Encoding``)."""

    DST = "dst"
    SRC1 = "src1"
    SRC2 = "src2"
    SRC3 = "src3"
    IMM = "imm"
    NONE = "none"  # debug operands are never encoded


@dataclass(frozen=True)
class OperandSpec:
    name: str
    kind: OperandKind
    access: Access
    field: Field

    def width(self, params: MachineParams) -> int:
        """Scratch words touched at this address (1, or VLEN for a vector)."""
        return params.vlen if self.kind is OperandKind.VECTOR else 1


class ExecContext(Protocol):
    """What an op's semantics may touch.  Reads see the start-of-cycle state;
    writes are buffered and land together at the end of the cycle."""

    vlen: int
    core_id: int
    pc: int  # already pc+1 of the executing bundle

    def read_scratch(self, addr: int) -> int: ...
    def write_scratch(self, addr: int, value: int) -> None: ...
    def read_mem(self, addr: int) -> int: ...
    def write_mem(self, addr: int, value: int) -> None: ...
    def jump(self, target: int) -> None: ...
    def halt(self) -> None: ...
    def pause(self) -> None: ...
    def trace(self, value: int) -> None: ...
    def debug_compare(self, addr: int, key: Any) -> None: ...


class DivideByZero(ArithmeticError):
    """Raised by the semantics of //, cdiv and % with a zero divisor."""


Semantics = Callable[..., None]  # (ctx, *operands) -> None


@dataclass(frozen=True)
class OpSpec:
    """One op of one engine: its identity, operands, encoding and semantics."""

    name: str
    engine: Engine
    opcode: int  # per engine; 0 is the empty slot
    operands: tuple[OperandSpec, ...]
    execute: Semantics = field(repr=False, compare=False)
    summary: str = ""  # one line, for docs and disassembly help
    example: tuple[Any, ...] = ()
    reads_mem: bool = False
    writes_mem: bool = False
    # Changes pc or the core's run state: the scheduler keeps such slots in order.
    control: bool = False
    # Observable outside scratch/memory (trace buffer): kept in program order.
    side_effect: bool = False
    binop: Callable[[int, int], int] | None = field(default=None, repr=False, compare=False)
    # The ISA extension the op belongs to (None: every machine has it).
    extension: str | None = None
    # Extra coverage goals: corner-class names of pymodel.coverage_classes to hit for this op.
    corners: tuple[str, ...] = ()

    @property
    def arity(self) -> int:
        return len(self.operands)

    def scratch_reads(self, args: tuple[Any, ...], params: MachineParams) -> list[int]:
        """Scratch words this slot reads, given its operands."""
        return self._touched(args, params, Access.READ)

    def scratch_writes(self, args: tuple[Any, ...], params: MachineParams) -> list[int]:
        """Scratch words this slot writes, given its operands (all static)."""
        return self._touched(args, params, Access.WRITE)

    def _touched(self, args: tuple[Any, ...], params: MachineParams, access: Access) -> list[int]:
        offset = 0
        if self.name == "load_offset":  # S[d+k] = M[S[a+k]]
            offset = args[2]
        out: list[int] = []
        for spec, value in zip(self.operands, args):
            if spec.access is access and spec.kind.is_scratch:
                base = value + offset
                out.extend(range(base, base + spec.width(params)))
        return out


# --------------------------------------------------------------------------
# Model semantics.  Written for clarity: this is the executable spec.


def _wrap(x: int) -> int:
    return x & WORD_MASK


def _floordiv(a: int, b: int) -> int:
    if b == 0:
        raise DivideByZero("division by zero")
    return a // b


def _cdiv(a: int, b: int) -> int:
    if b == 0:
        raise DivideByZero("division by zero")
    return -(-a // b)  # ceiling of a/b for unsigned a, b


def _mod(a: int, b: int) -> int:
    if b == 0:
        raise DivideByZero("modulo by zero")
    return a % b


# Shifts by 32 or more give 0 at once (the reference computes them on
# unbounded integers, which hangs for huge shift amounts).
def _shl(a: int, b: int) -> int:
    return _wrap(a << b) if b < WORD_BITS else 0


def _shr(a: int, b: int) -> int:
    return a >> b if b < WORD_BITS else 0


# (name, function on unsigned 32-bit values giving an unsigned 32-bit value, summary)
ALU_BINOPS: tuple[tuple[str, Callable[[int, int], int], str], ...] = (
    ("+", lambda a, b: _wrap(a + b), "sum, mod 2^32"),
    ("-", lambda a, b: _wrap(a - b), "difference, mod 2^32 (wraps)"),
    ("*", lambda a, b: _wrap(a * b), "product, low 32 bits"),
    ("//", _floordiv, "floor division of unsigned values; divisor 0 traps"),
    ("cdiv", _cdiv, "ceiling division of unsigned values; divisor 0 traps"),
    ("^", lambda a, b: a ^ b, "bitwise xor"),
    ("&", lambda a, b: a & b, "bitwise and"),
    ("|", lambda a, b: a | b, "bitwise or"),
    ("<<", _shl, "shift left, low 32 bits; by 32 or more gives 0"),
    (">>", _shr, "logical shift right; by 32 or more gives 0"),
    ("%", _mod, "remainder of unsigned values; divisor 0 traps"),
    ("<", lambda a, b: int(a < b), "1 if a < b (unsigned) else 0"),
    ("==", lambda a, b: int(a == b), "1 if a == b else 0"),
)


def _alu_exec(fn: Callable[[int, int], int]) -> Semantics:
    def execute(x: ExecContext, d: int, a: int, b: int) -> None:
        x.write_scratch(d, fn(x.read_scratch(a), x.read_scratch(b)))

    return execute


def _valu_exec(fn: Callable[[int, int], int]) -> Semantics:
    def execute(x: ExecContext, d: int, a: int, b: int) -> None:
        for i in range(x.vlen):
            x.write_scratch(d + i, fn(x.read_scratch(a + i), x.read_scratch(b + i)))

    return execute


def _vbroadcast(x: ExecContext, d: int, a: int) -> None:
    v = x.read_scratch(a)
    for i in range(x.vlen):
        x.write_scratch(d + i, v)


def _multiply_add(x: ExecContext, d: int, a: int, b: int, c: int) -> None:
    for i in range(x.vlen):
        x.write_scratch(d + i, _wrap(x.read_scratch(a + i) * x.read_scratch(b + i) + x.read_scratch(c + i)))


def _load(x: ExecContext, d: int, a: int) -> None:
    x.write_scratch(d, x.read_mem(x.read_scratch(a)))


def _load_offset(x: ExecContext, d: int, a: int, k: int) -> None:
    x.write_scratch(d + k, x.read_mem(x.read_scratch(a + k)))


def _vload(x: ExecContext, d: int, a: int) -> None:
    base = x.read_scratch(a)
    for i in range(x.vlen):
        x.write_scratch(d + i, x.read_mem(base + i))


def _vgather(x: ExecContext, d: int, a: int) -> None:
    for i in range(x.vlen):
        addr = x.read_scratch(a + i)
        try:
            word = x.read_mem(addr)
        except Exception as e:
            # The context's fault says which address; a trap should also say which lane.
            if isinstance(getattr(e, "detail", None), str):
                e.detail = f"vgather lane {i}: {e.detail}"  # type: ignore[attr-defined]
                e.args = (e.detail,)  # type: ignore[attr-defined]
            raise
        x.write_scratch(d + i, word)


def _const(x: ExecContext, d: int, k: int) -> None:
    x.write_scratch(d, _wrap(k))


def _store(x: ExecContext, a: int, s: int) -> None:
    x.write_mem(x.read_scratch(a), x.read_scratch(s))


def _vstore(x: ExecContext, a: int, s: int) -> None:
    base = x.read_scratch(a)
    for i in range(x.vlen):
        x.write_mem(base + i, x.read_scratch(s + i))


def _select(x: ExecContext, d: int, c: int, a: int, b: int) -> None:
    x.write_scratch(d, x.read_scratch(a) if x.read_scratch(c) != 0 else x.read_scratch(b))


def _vselect(x: ExecContext, d: int, c: int, a: int, b: int) -> None:
    for i in range(x.vlen):
        x.write_scratch(d + i, x.read_scratch(a + i) if x.read_scratch(c + i) != 0 else x.read_scratch(b + i))


def _add_imm(x: ExecContext, d: int, a: int, k: int) -> None:
    x.write_scratch(d, _wrap(x.read_scratch(a) + k))


def _halt(x: ExecContext) -> None:
    x.halt()


def _pause(x: ExecContext) -> None:
    x.pause()


def _trace_write(x: ExecContext, a: int) -> None:
    x.trace(x.read_scratch(a))


def _cond_jump(x: ExecContext, c: int, t: int) -> None:
    if x.read_scratch(c) != 0:
        x.jump(t)


def _cond_jump_rel(x: ExecContext, c: int, k: int) -> None:
    if x.read_scratch(c) != 0:
        x.jump(x.pc + k)  # x.pc is already the next bundle


def _jump(x: ExecContext, t: int) -> None:
    x.jump(t)


def _jump_indirect(x: ExecContext, a: int) -> None:
    x.jump(x.read_scratch(a))


def _coreid(x: ExecContext, d: int) -> None:
    x.write_scratch(d, x.core_id)


def _compare(x: ExecContext, a: int, key: Any) -> None:
    x.debug_compare(a, key)


def _vcompare(x: ExecContext, a: int, keys: Any) -> None:
    for i, key in enumerate(keys):
        x.debug_compare(a + i, key)


def _comment(x: ExecContext, text: str) -> None:
    pass


# --------------------------------------------------------------------------
# The table.

S, V, O, I, T, R = (
    OperandKind.SCALAR,
    OperandKind.VECTOR,
    OperandKind.OFFSET,
    OperandKind.IMM,
    OperandKind.TARGET,
    OperandKind.REL,
)
RD, WR, NO = Access.READ, Access.WRITE, Access.NONE
F = Field


OPCODE_BITS = 6  # width of the opcode field of an encoded slot; 0 is the empty slot


def _ops(engine: Engine, rows: list[tuple]) -> list[OpSpec]:
    """rows: (opcode, name, operands, execute, summary, example, flags).

    Opcodes are explicit and never renumbered: a new op takes an unused one
    (``check_table`` refuses duplicates and values outside 1 .. 2^OPCODE_BITS-1)."""
    out = []
    for opcode, name, operands, execute, summary, example, flags in rows:
        out.append(
            OpSpec(
                name=name,
                engine=engine,
                opcode=opcode,
                operands=tuple(OperandSpec(*o) for o in operands),
                execute=execute,
                summary=summary,
                example=example,
                **flags,
            )
        )
    return out


_BIN = lambda k: (("d", k, WR, F.DST), ("a", k, RD, F.SRC1), ("b", k, RD, F.SRC2))  # noqa: E731

# The binops' opcodes, the same on the ALU and the VALU.
BINOP_OPCODES: dict[str, int] = {
    "+": 1, "-": 2, "*": 3, "//": 4, "cdiv": 5, "^": 6, "&": 7, "|": 8, "<<": 9, ">>": 10, "%": 11, "<": 12, "==": 13,
}  # fmt: skip

_ALU = [
    (BINOP_OPCODES[name], name, _BIN(S), _alu_exec(fn), f"S[d] = S[a] {name} S[b]: {text}", (name, 10, 11, 12), {"binop": fn})
    for name, fn, text in ALU_BINOPS
]

_VALU = [
    (BINOP_OPCODES[name], name, _BIN(V), _valu_exec(fn), f"lane-wise S[d+i] = S[a+i] {name} S[b+i]: {text}", (name, 16, 24, 32), {"binop": fn})
    for name, fn, text in ALU_BINOPS
] + [
    (14, "vbroadcast", (("d", V, WR, F.DST), ("a", S, RD, F.SRC1)), _vbroadcast, "S[d+i] = S[a]", ("vbroadcast", 16, 3), {}),
    (
        15,
        "multiply_add",
        (("d", V, WR, F.DST), ("a", V, RD, F.SRC1), ("b", V, RD, F.SRC2), ("c", V, RD, F.SRC3)),
        _multiply_add,
        "S[d+i] = S[a+i] * S[b+i] + S[c+i], mod 2^32",
        ("multiply_add", 16, 24, 32, 40),
        {},
    ),
]

_LOAD = [
    (1, "load", (("d", S, WR, F.DST), ("a", S, RD, F.SRC1)), _load, "S[d] = M[S[a]]", ("load", 20, 3), {"reads_mem": True}),
    (
        2,
        "load_offset",
        (("d", S, WR, F.DST), ("a", S, RD, F.SRC1), ("k", O, NO, F.SRC2)),
        _load_offset,
        "S[d+k] = M[S[a+k]] (k an immediate)",
        ("load_offset", 16, 24, 3),
        {"reads_mem": True},
    ),
    (3, "vload", (("d", V, WR, F.DST), ("a", S, RD, F.SRC1)), _vload, "S[d+i] = M[S[a]+i]", ("vload", 16, 3), {"reads_mem": True}),
    (4, "const", (("d", S, WR, F.DST), ("k", I, NO, F.IMM)), _const, "S[d] = k mod 2^32", ("const", 20, 0x7ED55D16), {}),
    # Extension "vgather" (pymodel.configs: the vgather machine).
    (
        5,
        "vgather",
        (("d", V, WR, F.DST), ("a", V, RD, F.SRC1)),
        _vgather,
        "S[d+i] = M[S[a+i]] for every lane i; a lane out of range traps (MEM_RANGE, naming the lane)",
        ("vgather", 16, 24),
        {"reads_mem": True, "extension": "vgather", "corners": ("lane_addresses_distinct", "lane_addresses_equal")},
    ),
]

_STORE = [
    (1, "store", (("a", S, RD, F.SRC1), ("s", S, RD, F.SRC2)), _store, "M[S[a]] = S[s]", ("store", 3, 20), {"writes_mem": True}),
    (2, "vstore", (("a", S, RD, F.SRC1), ("s", V, RD, F.SRC2)), _vstore, "M[S[a]+i] = S[s+i]", ("vstore", 3, 16), {"writes_mem": True}),
]

_FLOW = [
    (
        1,
        "select",
        (("d", S, WR, F.DST), ("c", S, RD, F.SRC1), ("a", S, RD, F.SRC2), ("b", S, RD, F.SRC3)),
        _select,
        "S[d] = S[a] if S[c] != 0 else S[b]",
        ("select", 20, 21, 22, 23),
        {},
    ),
    (
        2,
        "vselect",
        (("d", V, WR, F.DST), ("c", V, RD, F.SRC1), ("a", V, RD, F.SRC2), ("b", V, RD, F.SRC3)),
        _vselect,
        "S[d+i] = S[a+i] if S[c+i] != 0 else S[b+i]",
        ("vselect", 16, 24, 32, 40),
        {},
    ),
    (3, "add_imm", (("d", S, WR, F.DST), ("a", S, RD, F.SRC1), ("k", I, NO, F.IMM)), _add_imm, "S[d] = S[a] + k, mod 2^32", ("add_imm", 20, 20, 1), {}),
    (4, "halt", (), _halt, "stop the core; the rest of the bundle still executes", ("halt",), {"control": True}),
    (5, "pause", (), _pause, "stop until resumed, if pausing is enabled; else nothing", ("pause",), {"control": True}),
    (6, "trace_write", (("a", S, RD, F.SRC1),), _trace_write, "append S[a] to the trace buffer", ("trace_write", 20), {"side_effect": True}),
    (7, "cond_jump", (("c", S, RD, F.SRC1), ("t", T, NO, F.IMM)), _cond_jump, "if S[c] != 0: pc = t", ("cond_jump", 20, 5), {"control": True}),
    (
        8,
        "cond_jump_rel",
        (("c", S, RD, F.SRC1), ("k", R, NO, F.IMM)),
        _cond_jump_rel,
        "if S[c] != 0: pc = pc + k (pc already points at the next bundle)",
        ("cond_jump_rel", 20, -3),
        {"control": True},
    ),
    (9, "jump", (("t", T, NO, F.IMM),), _jump, "pc = t", ("jump", 5), {"control": True}),
    (10, "jump_indirect", (("a", S, RD, F.SRC1),), _jump_indirect, "pc = S[a]", ("jump_indirect", 20), {"control": True}),
    (11, "coreid", (("d", S, WR, F.DST),), _coreid, "S[d] = this core's id", ("coreid", 20), {}),
]

# Debug ops are never encoded; their opcodes only keep the table uniform.
_DEBUG = [
    (
        1,
        "compare",
        (("a", S, RD, F.NONE), ("key", OperandKind.KEY, NO, F.NONE)),
        _compare,
        "assert S[a] equals the recorded reference value for key",
        ("compare", 20, ["round", 0, "val"]),
        {},
    ),
    (
        2,
        "vcompare",
        (("a", V, RD, F.NONE), ("keys", OperandKind.KEYS, NO, F.NONE)),
        _vcompare,
        "assert S[a+i] equals the reference value for keys[i], per lane",
        ("vcompare", 16, [["k", i] for i in range(8)]),
        {},
    ),
    (3, "comment", (("text", OperandKind.TEXT, NO, F.NONE),), _comment, "does nothing", ("comment", "set-up done"), {}),
]

OPS: tuple[OpSpec, ...] = tuple(
    _ops(Engine.ALU, _ALU)
    + _ops(Engine.VALU, _VALU)
    + _ops(Engine.LOAD, _LOAD)
    + _ops(Engine.STORE, _STORE)
    + _ops(Engine.FLOW, _FLOW)
    + _ops(Engine.DEBUG, _DEBUG)
)


class TableError(ValueError):
    """The ISA table itself is inconsistent (a developer's edit, not user input)."""


def check_table(ops: tuple[OpSpec, ...] = OPS) -> None:
    """Opcodes unique per engine and in 1 .. 2^OPCODE_BITS-1; names unique per engine;
    extensions known.  Run at import: a bad edit fails at once, naming the op."""
    seen: dict[tuple[Engine, int], str] = {}
    names: set[tuple[Engine, str]] = set()
    for op in ops:
        if not 1 <= op.opcode < 1 << OPCODE_BITS:
            raise TableError(f"op {op.name} ({op.engine}): opcode {op.opcode} outside 1..{(1 << OPCODE_BITS) - 1}")
        key = (op.engine, op.opcode)
        if key in seen:
            raise TableError(f"op {op.name} ({op.engine}): opcode {op.opcode} is already {seen[key]}'s")
        seen[key] = op.name
        if (op.engine, op.name) in names:
            raise TableError(f"op {op.name} is in the {op.engine} table twice")
        names.add((op.engine, op.name))
        if op.extension is not None and op.extension not in EXTENSIONS:
            raise TableError(f"op {op.name} ({op.engine}): unknown extension {op.extension!r} (add it to EXTENSIONS)")


check_table()

_BY_KEY: dict[tuple[Engine, str], OpSpec] = {(op.engine, op.name): op for op in OPS}
_BY_OPCODE: dict[tuple[Engine, int], OpSpec] = {(op.engine, op.opcode): op for op in OPS}


class UnknownOp(KeyError):
    pass


def lookup(engine: Engine | str, name: str) -> OpSpec:
    """The OpSpec of op ``name`` on ``engine`` (any extension's too; a machine's
    ops: ``ops_of(engine, params)``); UnknownOp names what exists."""
    try:
        eng = Engine(engine)
    except ValueError:
        raise UnknownOp(f"unknown engine {engine!r} (engines: {', '.join(e.value for e in Engine)})") from None
    try:
        return _BY_KEY[(eng, name)]
    except KeyError:
        names = ", ".join(op.name for op in all_ops_of(eng))
        raise UnknownOp(f"unknown op {name!r} on engine {eng} (its ops: {names})") from None


def by_opcode(engine: Engine, opcode: int) -> OpSpec:
    try:
        return _BY_OPCODE[(engine, opcode)]
    except KeyError:
        raise UnknownOp(f"engine {engine} has no opcode {opcode}") from None


def ops_of(engine: Engine, params: MachineParams = DEFAULT_PARAMS) -> Iterator[OpSpec]:
    """The ops of ``engine`` that the machine ``params`` has (base ops + its extensions)."""
    return (op for op in OPS if op.engine is engine and params.has(op))


def all_ops_of(engine: Engine) -> Iterator[OpSpec]:
    """Every op of ``engine`` in the table, extensions included."""
    return (op for op in OPS if op.engine is engine)


def extension_ops(extension: str) -> list[OpSpec]:
    return [op for op in OPS if op.extension == extension]


# --------------------------------------------------------------------------
# Binary encoding of a hardware bundle.


@dataclass(frozen=True)
class Encoding:
    """Bit layout of one encoded slot and of a bundle, derived from params.

    A slot is ``slot_bits`` wide: the opcode (0 = empty) in the low bits, then
    DST and SRC1 (scratch addresses), then a 32-bit region that holds either
    SRC2 and SRC3 (scratch addresses / offset) or IMM (immediate, target or
    two's-complement relative offset).  No op uses both.  A bundle is every
    hardware slot position in ``HW_ENGINES`` order, slot 0 of the first engine
    in the least significant bits.
    """

    params: MachineParams = DEFAULT_PARAMS
    opcode_bits: int = OPCODE_BITS
    imm_bits: int = WORD_BITS

    def __post_init__(self) -> None:
        if 2 * self.params.addr_bits > self.imm_bits:
            raise ValueError("scratch address fields do not fit the immediate region")
        if max(op.opcode for op in OPS) >= 1 << self.opcode_bits:
            raise ValueError("opcode field too narrow")

    @property
    def addr_bits(self) -> int:
        return self.params.addr_bits

    def field_lsb(self, f: Field) -> int:
        a = self.addr_bits
        return {
            Field.DST: self.opcode_bits,
            Field.SRC1: self.opcode_bits + a,
            Field.SRC2: self.opcode_bits + 2 * a,
            Field.SRC3: self.opcode_bits + 3 * a,
            Field.IMM: self.opcode_bits + 2 * a,
        }[f]

    def field_width(self, f: Field) -> int:
        return self.imm_bits if f is Field.IMM else self.addr_bits

    @property
    def slot_bits(self) -> int:
        used = self.opcode_bits + 2 * self.addr_bits + self.imm_bits
        return (used + 7) // 8 * 8  # whole bytes, so hex dumps line up

    def slot_positions(self) -> list[tuple[Engine, int]]:
        """(engine, slot index) of every slot position, LSB first."""
        return [(e, i) for e in HW_ENGINES for i in range(self.params.slot_limit(e))]

    @property
    def bundle_bits(self) -> int:
        return self.slot_bits * len(self.slot_positions())

    def position_lsb(self, engine: Engine, index: int) -> int:
        return self.slot_positions().index((engine, index)) * self.slot_bits


def signed(value: int, bits: int) -> int:
    """Two's-complement reading of an unsigned ``bits``-wide value."""
    return value - (1 << bits) if value >> (bits - 1) else value


# --------------------------------------------------------------------------
# Run states and trap causes (codes shared with the RTL's status port).


class RunState(IntEnum):
    RUNNING = 0
    PAUSED = 1  # executed `pause` with pausing enabled; resume continues at pc
    HALTED = 2  # executed `halt`, or pc ran past the last bundle
    TRAPPED = 3


class TrapCause(IntEnum):
    NONE = 0
    DIV_ZERO = 1  # //, cdiv or % with a zero divisor
    SCRATCH_RANGE = 2  # a scratch address at or past scratch_size
    MEM_RANGE = 3  # a memory address at or past the memory image's length
    JUMP_NEGATIVE = 4  # a relative jump to before bundle 0
    TRACE_FULL = 5  # trace_write with the trace buffer full (trace_depth entries)
    DEBUG_MISMATCH = 6  # model only: a debug compare failed or named an unknown key
    ILLEGAL_OP = 7  # RTL only: an opcode the engine does not define (an encoder never makes one)
