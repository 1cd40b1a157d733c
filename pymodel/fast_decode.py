"""Pre-decoding a Program into flat integer arrays for the fast engine.

Each non-debug slot becomes one row: a fast opcode (the ``F_*`` constants
below, the kernel's dispatch keys) and four int64 operands.  Each bundle is a
range of rows plus whether it costs a cycle.  Work that the reference does the
same way every time a slot runs is done once here:

* a slot touching a scratch address out of range becomes ``F_TRAP_SCRATCH``
  (scratch addresses are static operands, so that slot always traps);
* ``load_offset d a k`` becomes its effective addresses ``d+k``, ``a+k``;
* immediates of ``const`` and ``add_imm`` are reduced mod 2^32.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .context import scratch_fault
from .isa import WORD_MASK, Engine, MachineParams, OperandKind, OpSpec
from .program import Program

# Binary ops: ALU code = F_ALU + k, VALU code = F_VALU + k.
BINOP_INDEX: dict[str, int] = {
    name: k for k, name in enumerate(("+", "-", "*", "//", "cdiv", "^", "&", "|", "<<", ">>", "%", "<", "=="))
}
F_ALU = 0
F_VALU = 16
F_VBROADCAST = 30
F_MULTIPLY_ADD = 31
F_LOAD = 32
F_LOAD_OFFSET = 33
F_VLOAD = 34
F_CONST = 35
F_STORE = 40
F_VSTORE = 41
F_SELECT = 48
F_VSELECT = 49
F_ADD_IMM = 50
F_HALT = 51
F_PAUSE = 52
F_TRACE_WRITE = 53
F_COND_JUMP = 54
F_COND_JUMP_REL = 55
F_JUMP = 56
F_JUMP_INDIRECT = 57
F_COREID = 58
F_TRAP_SCRATCH = 63

_NAMED: dict[tuple[Engine, str], int] = {
    (Engine.VALU, "vbroadcast"): F_VBROADCAST,
    (Engine.VALU, "multiply_add"): F_MULTIPLY_ADD,
    (Engine.LOAD, "load"): F_LOAD,
    (Engine.LOAD, "load_offset"): F_LOAD_OFFSET,
    (Engine.LOAD, "vload"): F_VLOAD,
    (Engine.LOAD, "const"): F_CONST,
    (Engine.STORE, "store"): F_STORE,
    (Engine.STORE, "vstore"): F_VSTORE,
    (Engine.FLOW, "select"): F_SELECT,
    (Engine.FLOW, "vselect"): F_VSELECT,
    (Engine.FLOW, "add_imm"): F_ADD_IMM,
    (Engine.FLOW, "halt"): F_HALT,
    (Engine.FLOW, "pause"): F_PAUSE,
    (Engine.FLOW, "trace_write"): F_TRACE_WRITE,
    (Engine.FLOW, "cond_jump"): F_COND_JUMP,
    (Engine.FLOW, "cond_jump_rel"): F_COND_JUMP_REL,
    (Engine.FLOW, "jump"): F_JUMP,
    (Engine.FLOW, "jump_indirect"): F_JUMP_INDIRECT,
    (Engine.FLOW, "coreid"): F_COREID,
}

# pc values live in int64: larger jump targets/offsets are refused.
PC_LIMIT = 1 << 60


def fast_opcode(spec: OpSpec) -> int:
    """The fast engine's opcode for a non-debug op; KeyError if it has none."""
    if spec.engine in (Engine.ALU, Engine.VALU) and spec.binop is not None:
        return (F_ALU if spec.engine is Engine.ALU else F_VALU) + BINOP_INDEX[spec.name]
    return _NAMED[(spec.engine, spec.name)]


def is_vector_slot(spec: OpSpec) -> bool:
    return any(o.kind is OperandKind.VECTOR for o in spec.operands)


@dataclass(frozen=True)
class SlotPlace:
    engine: Engine
    index: int  # position within its engine's slot list
    op: str


@dataclass(frozen=True)
class DecodedProgram:
    op: np.ndarray  # int32 [n_slots]
    args: np.ndarray  # int64 [n_slots, 4]
    bundle_first: np.ndarray  # int64 [n_bundles + 1]: rows of bundle b are bundle_first[b]:bundle_first[b+1]
    bundle_cost: np.ndarray  # uint8 [n_bundles]
    lane_ops: np.ndarray  # int64 [n_bundles]: VLEN per vector slot, 1 per scalar slot
    places: tuple[SlotPlace, ...]  # per row, for trap reports
    scratch_faults: dict[int, int]  # row -> the out-of-range scratch address it touches
    max_scratch_writes: int  # most scratch words / memory words / trace entries one bundle writes
    max_mem_writes: int
    max_trace_writes: int

    @property
    def n_bundles(self) -> int:
        return len(self.bundle_cost)


def _check_pc_operand(value: int, where: str) -> None:
    if not -PC_LIMIT < value < PC_LIMIT:
        raise ValueError(f"{where}: jump operand {value} is beyond the fast engine's range; use engine='reference'")


@dataclass(frozen=True)
class _Row:
    """One distinct slot, decoded."""

    op: int
    args: tuple[int, int, int, int]
    bad_scratch: int | None
    scratch_writes: int
    mem_writes: int
    trace_writes: int
    lane_ops: int


def _decode_slot(spec: OpSpec, args: tuple[Any, ...], params: MachineParams, where: str) -> _Row:
    lanes = params.vlen if is_vector_slot(spec) else 1
    bad = scratch_fault(spec, args, params)
    if bad is not None:  # always traps: the kernel only needs to know that
        return _Row(F_TRAP_SCRATCH, (0, 0, 0, 0), bad, 0, 0, 0, lanes)
    a = list(args) + [0] * (4 - len(args))
    name = spec.name
    if name == "load_offset":
        a = [a[0] + a[2], a[1] + a[2], 0, 0]
    elif name == "const":
        a[1] &= WORD_MASK
    elif name == "add_imm":
        a[2] &= WORD_MASK
    elif name in ("cond_jump", "cond_jump_rel"):
        _check_pc_operand(a[1], where)
    elif name == "jump":
        _check_pc_operand(a[0], where)
    return _Row(
        op=fast_opcode(spec),
        args=(a[0], a[1], a[2], a[3]),
        bad_scratch=None,
        scratch_writes=len(spec.scratch_writes(args, params)),
        mem_writes=params.vlen if name == "vstore" else 1 if name == "store" else 0,
        trace_writes=1 if name == "trace_write" else 0,
        lane_ops=lanes,
    )


def decode_program(program: Program, params: MachineParams, *, enable_debug: bool) -> DecodedProgram:
    ops: list[int] = []
    args: list[tuple[int, int, int, int]] = []
    places: list[SlotPlace] = []
    faults: dict[int, int] = {}
    first = [0]
    cost: list[int] = []
    lane_ops: list[int] = []
    max_sw = max_mw = max_tw = 0
    rows: dict[tuple[Engine, str, tuple[Any, ...]], _Row] = {}  # kernels repeat slots: decode each once
    for b, bundle in enumerate(program):
        sw = mw = tw = lanes = 0
        for engine, index, slot in bundle:
            if engine is Engine.DEBUG:
                if enable_debug and slot.op in ("compare", "vcompare"):
                    raise ValueError(
                        f"bundle {b}, engine debug, slot {index}: the fast engine skips debug compares; "
                        "pass enable_debug=False, or use the reference engine (pymodel.machine.Machine)"
                    )
                continue
            key = (engine, slot.op, slot.args)
            row = rows.get(key)
            if row is None:
                where = f"bundle {b}, engine {engine}, slot {index}"
                row = rows[key] = _decode_slot(slot.spec, slot.args, params, where)
            if row.bad_scratch is not None:
                faults[len(ops)] = row.bad_scratch
            ops.append(row.op)
            args.append(row.args)
            places.append(SlotPlace(engine, index, slot.op))
            sw += row.scratch_writes
            mw += row.mem_writes
            tw += row.trace_writes
            lanes += row.lane_ops
        first.append(len(ops))
        cost.append(1 if bundle.costs_cycle else 0)
        lane_ops.append(lanes)
        max_sw, max_mw, max_tw = max(max_sw, sw), max(max_mw, mw), max(max_tw, tw)
    return DecodedProgram(
        op=np.array(ops, dtype=np.int32),
        args=np.array(args, dtype=np.int64).reshape(len(ops), 4),
        bundle_first=np.array(first, dtype=np.int64),
        bundle_cost=np.array(cost, dtype=np.uint8),
        lane_ops=np.array(lane_ops, dtype=np.int64),
        places=tuple(places),
        scratch_faults=faults,
        max_scratch_writes=max_sw,
        max_mem_writes=max_mw,
        max_trace_writes=max_tw,
    )
