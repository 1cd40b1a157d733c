"""What counts as covered: corner-value classes per op, the spec's quirks,
the trap goals, and the functions that classify one slot or bundle.

Kept apart from ``coverage`` (the observer and the report) so the goal lists
read as one table.
"""

from __future__ import annotations

from typing import Any, Callable

from .isa import ALU_BINOPS, HW_ENGINES, OPS, WORD_MASK, Access, Engine, MachineParams, OpSpec
from .machine import PlannedBundle
from .program import Bundle

H, M = 1 << 31, WORD_MASK
BINOPS = tuple(name for name, _fn, _text in ALU_BINOPS)
DIVIDING = ("//", "cdiv", "%")
SHIFTS = ("<<", ">>")

_OPERAND_CLASSES = ("a=0", "a=1", "a=2^31", "a=2^32-1", "b=0", "b=1", "b=2^31", "b=2^32-1")
_OP_CLASSES: dict[str, tuple[str, ...]] = {
    "+": ("carry out",),
    "-": ("borrow",),
    "*": ("overflow",),
    "//": ("a<b", "exact", "inexact"),
    "cdiv": ("a<b", "exact", "inexact"),
    "%": ("a<b", "exact", "inexact"),
    "<<": ("shift=31", "shift=32", "shift 33..2^31-1", "shift>=2^31"),
    ">>": ("shift=31", "shift=32", "shift 33..2^31-1", "shift>=2^31"),
    "<": ("true", "false"),
    "==": ("true", "false"),
}
_JUMP_CLASSES = ("taken forward", "taken backward", "taken to end")
_OTHER_CLASSES: dict[tuple[str, str], tuple[str, ...]] = {
    ("valu", "vbroadcast"): ("a=0", "a=2^32-1"),
    ("valu", "multiply_add"): ("product overflows", "sum overflows", "c=2^32-1"),
    ("load", "load"): ("addr 0", "last addr"),
    ("load", "load_offset"): ("k=0", "k=vlen-1", "addr 0", "last addr"),
    ("load", "vload"): ("addr 0", "last lane at last addr"),
    ("load", "const"): ("k=0", "k>=2^31", "k<0"),
    ("store", "store"): ("addr 0", "last addr"),
    ("store", "vstore"): ("addr 0", "last lane at last addr"),
    ("flow", "select"): ("c=0", "c=1", "c=2^31"),
    ("flow", "vselect"): ("lane c=0", "lane c!=0"),
    ("flow", "add_imm"): ("k<0", "wraps"),
    ("flow", "pause"): ("enabled", "disabled"),
    ("flow", "trace_write"): ("value 0", "value 2^32-1"),
    ("flow", "coreid"): ("core 0",),
    ("flow", "cond_jump"): ("not taken",) + _JUMP_CLASSES,
    ("flow", "cond_jump_rel"): ("not taken",) + _JUMP_CLASSES,
    ("flow", "jump"): _JUMP_CLASSES,
    ("flow", "jump_indirect"): _JUMP_CLASSES,
}

QUIRKS: tuple[str, ...] = (
    "write priority: same engine, later slot wins",
    "write priority: across engines, later engine wins",
    "write priority: two stores to one memory word",
    "read sees the old value of a word written in the same bundle",
    "load sees the old memory word a store of the same bundle writes",
    "engines listed out of hardware order",
    "zero-cost bundle: no keys",
    "zero-cost bundle: debug only",
    "empty engine key costs a cycle",
    "halt mid-bundle (other slots still commit)",
    "every slot position in one bundle",
    "last scratch word used",
    "pause stops the core (enabled)",
    "pause does nothing (disabled)",
    "resume after a pause",
    "jump forward",
    "jump backward",
    "jump to end",
    "run past the last bundle (normal stop)",
    "relative jump before bundle 0 traps",
    "trap in a bundle with other slots (nothing commits)",
)

TRAP_GOALS: tuple[str, ...] = (
    *(f"DIV_ZERO {e} {op}" for e in ("alu", "valu") for op in DIVIDING),
    "SCRATCH_RANGE scalar read",
    "SCRATCH_RANGE scalar write",
    "SCRATCH_RANGE vector read",
    "SCRATCH_RANGE vector write",
    "MEM_RANGE load load",
    "MEM_RANGE load load_offset",
    "MEM_RANGE load vload",
    "MEM_RANGE store store",
    "MEM_RANGE store vstore",
    "JUMP_NEGATIVE flow cond_jump_rel",
    "TRACE_FULL flow trace_write",
)


def value_goals(params: MachineParams | None = None) -> list[tuple[str, str, str]]:
    """Corner classes to hit: the base ISA's, plus the ``corners`` that ops of the
    machine's extensions ask for in their table entry."""
    out = []
    for engine in ("alu", "valu"):
        for op in BINOPS:
            out += [(engine, op, c) for c in _OPERAND_CLASSES + _OP_CLASSES.get(op, ())]
    out += [(e, op, c) for (e, op), classes in _OTHER_CLASSES.items() for c in classes]
    if params is not None:
        out += [(op.engine.value, op.name, c) for op in OPS if op.extension and params.has(op) for c in op.corners]
    return out


def trap_goals(params: MachineParams | None = None) -> list[str]:
    """TRAP_GOALS plus MEM_RANGE of every memory op of the machine's extensions."""
    extra = [] if params is None else [
        f"MEM_RANGE {op.engine} {op.name}" for op in OPS if op.extension and params.has(op) and (op.reads_mem or op.writes_mem)
    ]  # fmt: skip
    return list(TRAP_GOALS) + extra


def _lanes_distinct(spec: OpSpec, args: tuple[Any, ...], s: list[int], vl: int) -> bool:
    return len({s[args[1] + i] for i in range(vl)}) == vl


def _lanes_equal(spec: OpSpec, args: tuple[Any, ...], s: list[int], vl: int) -> bool:
    return len({s[args[1] + i] for i in range(vl)}) == 1


# Named corner classes an op may ask for in its table entry (``OpSpec.corners``):
# name -> holds(spec, args, start-of-cycle scratch, vlen).  Add one here for a new op.
CORNER_CLASSES: dict[str, Callable[[OpSpec, tuple[Any, ...], list[int], int], bool]] = {
    "lane_addresses_distinct": _lanes_distinct,  # operand a is a vector of addresses
    "lane_addresses_equal": _lanes_equal,
}


def _operand_class(name: str, v: int) -> str | None:
    return {0: f"{name}=0", 1: f"{name}=1", H: f"{name}=2^31", M: f"{name}=2^32-1"}.get(v)


def binop_classes(op: str, a: int, b: int) -> set[str]:
    out = {c for c in (_operand_class("a", a), _operand_class("b", b)) if c}
    if op == "+" and a + b > M:
        out.add("carry out")
    elif op == "-" and a < b:
        out.add("borrow")
    elif op == "*" and a * b > M:
        out.add("overflow")
    elif op in DIVIDING and b:
        out.add("a<b" if a < b else "exact" if a % b == 0 else "inexact")
    elif op in SHIFTS:
        big = "shift>=2^31" if b >= H else "shift 33..2^31-1" if b > 32 else ""
        out.add({31: "shift=31", 32: "shift=32"}.get(b, big))
    elif op in ("<", "=="):
        out.add("true" if (a < b if op == "<" else a == b) else "false")
    out.discard("")
    return out


def _mem_classes(addrs: list[int], n_mem: int, vector: bool) -> set[str]:
    out = set()
    if addrs[0] == 0:
        out.add("addr 0")
    if addrs[-1] == n_mem - 1:
        out.add("last lane at last addr" if vector else "last addr")
    return out


def slot_classes(
    spec: OpSpec, args: tuple[Any, ...], s: list[int], mem: list[int], params: MachineParams, enable_pause: bool
) -> set[str]:
    """Corner classes of one in-range slot, from the start-of-cycle scratch ``s``."""
    e, name, vl = spec.engine, spec.name, params.vlen
    if spec.corners:
        return {c for c in spec.corners if CORNER_CLASSES[c](spec, args, s, vl)}
    if spec.binop is not None:
        lanes = vl if e is Engine.VALU else 1
        out: set[str] = set()
        for i in range(lanes):
            out |= binop_classes(name, s[args[1] + i], s[args[2] + i])
        return out
    if name == "vbroadcast":
        return {c for c in (_operand_class("a", s[args[1]]),) if c in ("a=0", "a=2^32-1")}
    if name == "multiply_add":
        d, a, b, c = args
        out = set()
        for i in range(vl):
            p = s[a + i] * s[b + i]
            out |= {"product overflows"} if p > M else set()
            out |= {"sum overflows"} if (p & M) + s[c + i] > M else set()
            out |= {"c=2^32-1"} if s[c + i] == M else set()
        return out
    if name in ("load", "store"):
        return _mem_classes([s[args[1] if name == "load" else args[0]]], len(mem), False)
    if name == "load_offset":
        k = args[2]
        out = _mem_classes([s[args[1] + k]], len(mem), False)
        return out | ({"k=0"} if k == 0 else {"k=vlen-1"} if k == vl - 1 else set())
    if name in ("vload", "vstore"):
        base = s[args[1] if name == "vload" else args[0]]
        return _mem_classes([base, base + vl - 1], len(mem), True)
    if name == "const":
        k = args[1]
        return {"k=0"} if k == 0 else {"k<0"} if k < 0 else {"k>=2^31"} if k >= H else set()
    return _flow_classes(name, args, s, vl, enable_pause)


def _flow_classes(name: str, args: tuple[Any, ...], s: list[int], vl: int, enable_pause: bool) -> set[str]:
    if name == "select":
        return {c for c in ({0: "c=0", 1: "c=1", H: "c=2^31"}.get(s[args[1]]),) if c}
    if name == "vselect":
        return {"lane c=0" if s[args[1] + i] == 0 else "lane c!=0" for i in range(vl)}
    if name == "add_imm":
        k = args[2]
        return ({"k<0"} if k < 0 else set()) | ({"wraps"} if s[args[1]] + (k & M) > M else set())
    if name == "pause":
        return {"enabled" if enable_pause else "disabled"}
    if name == "trace_write":
        return {c for c in ({0: "value 0", M: "value 2^32-1"}.get(s[args[0]]),) if c}
    if name == "coreid":
        return {"core 0"}
    return set()  # jumps are classified by their outcome (coverage.CoverageMachine)


def scratch_trap_goal(spec: OpSpec, args: tuple[Any, ...], bad: int, params: MachineParams) -> str:
    """'SCRATCH_RANGE <scalar|vector> <read|write>' of the operand holding the bad address."""
    offset = args[2] if spec.name == "load_offset" else 0
    for o, value in zip(spec.operands, args):
        if o.kind.is_scratch and value + offset <= bad < value + offset + o.width(params):
            kind = "vector" if o.width(params) > 1 else "scalar"
            return f"SCRATCH_RANGE {kind} {'read' if o.access is Access.READ else 'write'}"
    return "SCRATCH_RANGE"


def static_quirks(bundle: Bundle, plan: PlannedBundle, params: MachineParams, enable_pause: bool) -> frozenset[str]:
    """Quirks a bundle shows whatever the data (computed once per pc)."""
    out: set[str] = set()
    if not bundle.costs_cycle:
        out.add("zero-cost bundle: no keys" if not bundle.groups else "zero-cost bundle: debug only")
    hw = [e for e, _ in bundle.groups if e is not Engine.DEBUG]
    if hw != sorted(hw, key=HW_ENGINES.index):
        out.add("engines listed out of hardware order")
    slots = [p for p in plan.slots if p.engine is not Engine.DEBUG]
    if bundle.costs_cycle and not slots:
        out.add("empty engine key costs a cycle")
    if all(sum(p.engine is e for p in slots) == params.slot_limit(e) for e in HW_ENGINES):
        out.add("every slot position in one bundle")
    names = [p.spec.name for p in slots]
    if "halt" in names and len(slots) > 1:
        out.add("halt mid-bundle (other slots still commit)")
    if "pause" in names and not enable_pause:
        out.add("pause does nothing (disabled)")
    writer: dict[int, Engine] = {}
    reads: set[int] = set()
    for p in slots:
        if p.bad_scratch is not None:
            continue
        reads.update(p.spec.scratch_reads(p.args, params))
        for addr in p.spec.scratch_writes(p.args, params):
            if addr in writer:
                same = writer[addr] is p.engine
                out.add(f"write priority: {'same engine, later slot' if same else 'across engines, later engine'} wins")
            writer[addr] = p.engine
    if reads & writer.keys():
        out.add("read sees the old value of a word written in the same bundle")
    if params.scratch_size - 1 in reads | writer.keys():
        out.add("last scratch word used")
    return frozenset(out)


def bundle_quirks(plan: PlannedBundle, s: list[int], params: MachineParams) -> set[str]:
    """Quirks that depend on the data: memory addresses of loads and stores."""
    stores: list[int] = []
    loads: list[int] = []
    vl = params.vlen
    for p in plan.slots:
        if p.bad_scratch is not None or not (p.spec.reads_mem or p.spec.writes_mem):
            continue
        name, args = p.spec.name, p.args
        if name == "store":
            stores.append(s[args[0]])
        elif name == "vstore":
            stores.extend(range(s[args[0]], s[args[0]] + vl))
        elif name == "load":
            loads.append(s[args[1]])
        elif name == "load_offset":
            loads.append(s[args[1] + args[2]])
        elif name == "vload":
            loads.extend(range(s[args[1]], s[args[1]] + vl))
    out = set()
    if len(set(stores)) < len(stores):
        out.add("write priority: two stores to one memory word")
    if stores and set(stores) & set(loads):
        out.add("load sees the old memory word a store of the same bundle writes")
    return out
