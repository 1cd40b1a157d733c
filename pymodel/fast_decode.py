"""Pre-decoding a program into flat integer arrays for the fast engine.

The fast engine's op set comes from the ISA table (``FastOpTable``, built
from any table of ``OpSpec``s, ``isa.OPS`` by default).  An op has a compiled
form in ``fast_kernel`` when ``COMPILED`` names it *and* its operand kinds are
the ones that form was written for; every other op of the table (a new op, an
extension op, an op whose operands changed) is GENERIC: a bundle holding one
runs through the reference semantics (``OpSpec.execute``, see
``fast.FastMachine``).  So adding an op to the table never needs an edit here,
and an op is never dispatched to another op's branch.

Each non-debug slot becomes one row: a kernel code (``K_*``) and four int64
operands.  Each bundle is a range of rows plus whether it costs a cycle and
whether it needs the generic path.  Work that the reference does the same way
every time a slot runs is done once here, in bulk (numba, ``_decode``):

* a slot touching a scratch address out of range becomes ``K_TRAP_SCRATCH``
  (scratch addresses are static operands, so that slot always traps);
* ``load_offset d a k`` becomes its effective addresses ``d+k``, ``a+k``;
* immediates of ``const`` and ``add_imm`` are reduced mod 2^32.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .context import scratch_fault
from .flat import DEBUG, ENGINES, MAX_OPERANDS, FlatProgram
from .isa import OPS, WORD_MASK, Access, Engine, MachineParams, OperandKind, OpSpec
from .program import Program

# Kernel dispatch codes: one per compiled form of fast_kernel.run_cycles.
(K_TRAP_SCRATCH, K_ALU_BINOP, K_VALU_BINOP, K_VBROADCAST, K_MULTIPLY_ADD, K_LOAD, K_VLOAD, K_CONST, K_STORE,
 K_VSTORE, K_SELECT, K_VSELECT, K_ADD_IMM, K_HALT, K_PAUSE, K_TRACE_WRITE, K_COND_JUMP, K_COND_JUMP_REL, K_JUMP,
 K_JUMP_INDIRECT, K_COREID, K_GENERIC, K_LOAD_OFFSET) = range(23)  # fmt: skip
K_SKIP = -1  # a debug slot: no row

# Binary ops with a compiled form (fast_kernel.binop); the id goes in operand 3.
(B_ADD, B_SUB, B_MUL, B_FLOORDIV, B_CDIV, B_XOR, B_AND, B_OR, B_SHL, B_SHR, B_MOD, B_LT, B_EQ) = range(13)  # fmt: skip
BINOPS: dict[str, int] = {
    "+": B_ADD, "-": B_SUB, "*": B_MUL, "//": B_FLOORDIV, "cdiv": B_CDIV, "^": B_XOR, "&": B_AND, "|": B_OR,
    "<<": B_SHL, ">>": B_SHR, "%": B_MOD, "<": B_LT, "==": B_EQ,
}  # fmt: skip

# The compiled forms: (engine, op) -> (kernel code, the operand kinds the form was written for).
# S scalar, V vector, O offset, I immediate, T jump target, R relative offset.
COMPILED: dict[tuple[Engine, str], tuple[int, str]] = {
    **{(Engine.ALU, name): (K_ALU_BINOP, "SSS") for name in BINOPS},
    **{(Engine.VALU, name): (K_VALU_BINOP, "VVV") for name in BINOPS},
    (Engine.VALU, "vbroadcast"): (K_VBROADCAST, "VS"),
    (Engine.VALU, "multiply_add"): (K_MULTIPLY_ADD, "VVVV"),
    (Engine.LOAD, "load"): (K_LOAD, "SS"),
    (Engine.LOAD, "load_offset"): (K_LOAD_OFFSET, "SSO"),  # runs as K_LOAD on its effective addresses
    (Engine.LOAD, "vload"): (K_VLOAD, "VS"),
    (Engine.LOAD, "const"): (K_CONST, "SI"),
    (Engine.STORE, "store"): (K_STORE, "SS"),
    (Engine.STORE, "vstore"): (K_VSTORE, "SV"),
    (Engine.FLOW, "select"): (K_SELECT, "SSSS"),
    (Engine.FLOW, "vselect"): (K_VSELECT, "VVVV"),
    (Engine.FLOW, "add_imm"): (K_ADD_IMM, "SSI"),
    (Engine.FLOW, "halt"): (K_HALT, ""),
    (Engine.FLOW, "pause"): (K_PAUSE, ""),
    (Engine.FLOW, "trace_write"): (K_TRACE_WRITE, "S"),
    (Engine.FLOW, "cond_jump"): (K_COND_JUMP, "ST"),
    (Engine.FLOW, "cond_jump_rel"): (K_COND_JUMP_REL, "SR"),
    (Engine.FLOW, "jump"): (K_JUMP, "T"),
    (Engine.FLOW, "jump_indirect"): (K_JUMP_INDIRECT, "S"),
    (Engine.FLOW, "coreid"): (K_COREID, "S"),
}
_KIND_LETTER = {
    OperandKind.SCALAR: "S", OperandKind.VECTOR: "V", OperandKind.OFFSET: "O", OperandKind.IMM: "I",
    OperandKind.TARGET: "T", OperandKind.REL: "R", OperandKind.KEY: "K", OperandKind.KEYS: "K", OperandKind.TEXT: "X",
}  # fmt: skip

# fast_kernel.run_cycles: why it returned
STOP_IDLE = 0  # no core is RUNNING
STOP_LIMIT = 1  # the cycle counter reached the limit
STOP_TRAP = 2  # trap_out holds the trap
STOP_GENERIC = 3  # core trap_out[TRAP_CORE] is about to run bundle trap_out[TRAP_PC], which needs the generic path
STOP_INTERNAL = 4  # a row code the loop does not know (trap_out[TRAP_ROW]): a decoder bug, never a guess
# trap_out layout
TRAP_CAUSE, TRAP_CORE, TRAP_PC, TRAP_ROW, TRAP_VALUE, TRAP_AUX = range(6)
TRAP_FIELDS = 6
# resume layout: a generic bundle's core was run in Python mid-cycle; go on with the next core.
RESUME_CORE, RESUME_COSTED = range(2)

# pc values live in int64: larger jump targets/offsets are refused.
PC_LIMIT = 1 << 60

# Operand codes for _decode: scratch operands by access, the rest by what decoding does with them.
O_NONE, O_READ, O_WRITE, O_READ_VEC, O_WRITE_VEC, O_OFFSET, O_IMM, O_PC = range(8)


def _code_of(fn: Any) -> Any:
    return getattr(fn, "__code__", None)


# The semantics each compiled form was written for: the code objects of isa.py's own
# ``execute`` (and ``binop``) of that op.  An OpSpec under the same name with other
# semantics (a modified copy of the table) does not match and takes the generic path.
_WRITTEN_FOR: dict[tuple[Engine, str], tuple[Any, Any]] = {
    (op.engine, op.name): (_code_of(op.execute), _code_of(op.binop)) for op in OPS if (op.engine, op.name) in COMPILED
}


def compiled_form(spec: OpSpec) -> tuple[int, int] | None:
    """(kernel code, binop id) of the op's compiled form, or None: the generic path.

    A form is used only for the op it was written for: same engine and name,
    same operand kinds, same semantics functions as in isa.py."""
    entry = COMPILED.get((spec.engine, spec.name))
    if entry is None:
        return None
    code, kinds = entry
    if "".join(_KIND_LETTER[o.kind] for o in spec.operands) != kinds:
        return None  # the table changed this op's operands: the compiled form no longer fits
    if _WRITTEN_FOR.get((spec.engine, spec.name)) != (_code_of(spec.execute), _code_of(spec.binop)):
        return None  # other semantics under the same name
    if code in (K_ALU_BINOP, K_VALU_BINOP):
        return code, BINOPS[spec.name]
    return code, 0


@dataclass(frozen=True)
class FastOpTable:
    """Per op of ``ops``: its kernel code and what decoding needs, as arrays."""

    ops: tuple[OpSpec, ...]
    params: MachineParams
    code: np.ndarray  # int64 [n_ops]: K_* (K_GENERIC: no compiled form; K_SKIP: debug)
    sub: np.ndarray  # int64 [n_ops]: binop id
    operand: np.ndarray  # int64 [n_ops, 4]: O_* per operand
    offset_arg: np.ndarray  # int64 [n_ops]: operand added to scratch addresses (load_offset's k), or -1
    lanes: np.ndarray  # int64 [n_ops]: lane-ops per execution (VLEN with a vector operand, else 1)
    mem_writes: np.ndarray  # int64 [n_ops]
    trace_writes: np.ndarray  # int64 [n_ops]
    compare: np.ndarray  # uint8 [n_ops]: a debug op that reads scratch (compare, vcompare)
    has: np.ndarray  # uint8 [n_ops]: the machine ``params`` has this op (its config)

    @classmethod
    def build(cls, ops: tuple[OpSpec, ...], params: MachineParams) -> "FastOpTable":
        n = len(ops)
        code = np.full(n, K_GENERIC, np.int64)
        sub = np.zeros(n, np.int64)
        operand = np.zeros((n, MAX_OPERANDS), np.int64)
        offset_arg = np.full(n, -1, np.int64)
        lanes = np.ones(n, np.int64)
        mem_writes = np.zeros(n, np.int64)
        trace_writes = np.zeros(n, np.int64)
        compare = np.zeros(n, np.uint8)
        has = np.array([params.has(op) for op in ops], np.uint8)
        for j, spec in enumerate(ops):
            vector = any(o.kind is OperandKind.VECTOR for o in spec.operands)
            lanes[j] = params.vlen if vector else 1
            if spec.name == "load_offset":  # as OpSpec._touched: S[d+k] = M[S[a+k]]
                offset_arg[j] = 2
            for k, o in enumerate(spec.operands):
                if o.kind.is_scratch and o.access is not Access.NONE:
                    w = o.access is Access.WRITE
                    v = o.kind is OperandKind.VECTOR
                    operand[j, k] = (O_WRITE_VEC if v else O_WRITE) if w else (O_READ_VEC if v else O_READ)
                elif o.kind is OperandKind.OFFSET:
                    operand[j, k] = O_OFFSET
                elif o.kind is OperandKind.IMM:
                    operand[j, k] = O_IMM
                elif o.kind in (OperandKind.TARGET, OperandKind.REL):
                    operand[j, k] = O_PC
            if spec.engine is Engine.DEBUG:
                code[j] = K_SKIP
                compare[j] = any(o.kind.is_scratch for o in spec.operands)
                continue
            form = compiled_form(spec)
            if form is not None:
                code[j], sub[j] = form
                mem_writes[j] = params.vlen if code[j] == K_VSTORE else 1 if code[j] == K_STORE else 0
                trace_writes[j] = 1 if code[j] == K_TRACE_WRITE else 0
        return cls(ops, params, code, sub, operand, offset_arg, lanes, mem_writes, trace_writes, compare, has)


_TABLES: dict[tuple[int, MachineParams], FastOpTable] = {}  # by id(ops): OpSpecs do not hash


def fast_table(params: MachineParams, ops: tuple[OpSpec, ...] = OPS) -> FastOpTable:
    key = (id(ops), params)
    table = _TABLES.get(key)
    if table is None or table.ops is not ops:
        table = _TABLES[key] = FastOpTable.build(ops, params)
    return table


def fast_opcode(spec: OpSpec) -> int:
    """A dispatch key, unique per op: its compiled form (kernel code and binop id),
    or, for an op that runs through the generic path, GENERIC plus its table index."""
    form = compiled_form(spec)
    if form is not None:
        return form[0] * 64 + form[1]
    return (K_GENERIC << 16) + OPS.index(spec)


def is_vector_slot(spec: OpSpec) -> bool:
    return any(o.kind is OperandKind.VECTOR for o in spec.operands)


@dataclass(frozen=True)
class SlotPlace:
    engine: Engine
    index: int  # position within its engine's slot list
    op: str


@dataclass(frozen=True)
class DecodedProgram:
    op: np.ndarray  # int32 [n_rows]: K_*
    args: np.ndarray  # int64 [n_rows, 4]
    bundle_first: np.ndarray  # int64 [n_bundles + 1]: rows of bundle b are bundle_first[b]:bundle_first[b+1]
    bundle_cost: np.ndarray  # uint8 [n_bundles]
    bundle_generic: np.ndarray  # uint8 [n_bundles]: has an op with no compiled form (runs on OpSpec.execute)
    lane_ops: np.ndarray  # int64 [n_bundles]: VLEN per vector slot, 1 per scalar slot
    row_slot: np.ndarray  # int64 [n_rows]: the row's slot in ``flat``
    flat: FlatProgram
    scratch_faults: dict[int, int]  # row -> the out-of-range scratch address it touches
    max_scratch_writes: int  # most scratch words / memory words / trace entries one bundle writes
    max_mem_writes: int
    max_trace_writes: int

    @property
    def n_bundles(self) -> int:
        return len(self.bundle_cost)

    @property
    def n_slots(self) -> int:
        return self.flat.n_slots

    def place(self, row: int) -> SlotPlace:
        s = int(self.row_slot[row])
        return SlotPlace(ENGINES[int(self.flat.engine[s])], int(self.flat.index[s]), self.flat.spec(s).name)


# Errors _decode reports: (kind, slot)
E_NONE, E_DEBUG_COMPARE, E_PC_RANGE = 0, 1, 2


def _place_of(flat: FlatProgram, s: int) -> str:
    return f"bundle {flat.bundle_of(s)}, engine {ENGINES[int(flat.engine[s])]}, slot {int(flat.index[s])}"


def decode_flat(flat: FlatProgram, params: MachineParams, *, enable_debug: bool) -> DecodedProgram:
    table = fast_table(params, flat.ops)
    n = flat.n_slots
    args = flat.args
    forced = np.zeros(n, np.uint8)
    faults: dict[int, int] = {}  # slot -> fault address, for operands beyond int64
    huge_error: int | None = None
    if flat.huge:
        args = args.copy()
        for s, a in sorted(flat.huge.items()):
            spec = flat.spec(s)
            bad = scratch_fault(spec, a, params)
            if bad is not None:
                forced[s] = 1
                faults[s] = bad
            elif huge_error is None:
                pcs = [v for o, v in zip(spec.operands, a) if o.kind in (OperandKind.TARGET, OperandKind.REL)]
                if any(not -PC_LIMIT < v < PC_LIMIT for v in pcs):
                    huge_error = s
            # What remains past int64 is an immediate (taken mod 2^32) or does not matter (a trap row).
            args[s, : len(a)] = [v if -(1 << 62) < v < (1 << 62) else v & WORD_MASK for v in a]
    dop = np.empty(n, np.int32)
    dargs = np.empty((n, MAX_OPERANDS), np.int64)
    row_slot = np.empty(n, np.int64)
    rfirst = np.empty(flat.n_bundles + 1, np.int64)
    lane_ops = np.empty(flat.n_bundles, np.int64)
    generic = np.zeros(flat.n_bundles, np.uint8)
    fault = np.zeros(n, np.int64)
    out = np.zeros(6, np.int64)
    from .fast_native import kernels

    kernels().decode(flat.op, args, flat.bundle_first, flat.bundle_cost, forced,
            table.code, table.sub, table.operand, table.offset_arg, table.lanes, table.mem_writes,
            table.trace_writes, table.compare, params.vlen, params.scratch_size, enable_debug, PC_LIMIT,
            dop, dargs, row_slot, rfirst, lane_ops, generic, fault, out)  # fmt: skip
    error, slot = int(out[4]), int(out[5])
    if huge_error is not None and (error == E_NONE or huge_error < slot):
        error, slot = E_PC_RANGE, huge_error
    if error == E_DEBUG_COMPARE:
        raise ValueError(
            f"{_place_of(flat, slot)}: the fast engine skips debug compares; "
            "pass enable_debug=False, or use the reference engine (pymodel.machine.Machine)"
        )
    if error == E_PC_RANGE:
        value = next(v for o, v in zip(flat.spec(slot).operands, flat.slot_args(slot))
                     if o.kind in (OperandKind.TARGET, OperandKind.REL))  # fmt: skip
        raise ValueError(
            f"{_place_of(flat, slot)}: jump operand {value} is beyond the fast engine's range; use engine='reference'"
        )
    rows = int(out[0])
    dop, dargs, row_slot, fault = dop[:rows], dargs[:rows], row_slot[:rows], fault[:rows]
    trap_rows = np.flatnonzero(dop == K_TRAP_SCRATCH)
    scratch_faults = {int(r): faults.get(int(row_slot[r]), int(fault[r])) for r in trap_rows}
    return DecodedProgram(
        op=dop,
        args=dargs,
        bundle_first=rfirst,
        bundle_cost=flat.bundle_cost,
        bundle_generic=generic,
        lane_ops=lane_ops,
        row_slot=row_slot,
        flat=flat,
        scratch_faults=scratch_faults,
        max_scratch_writes=int(out[1]),
        max_mem_writes=int(out[2]),
        max_trace_writes=int(out[3]),
    )


def decode_program(program: Program | FlatProgram, params: MachineParams, *, enable_debug: bool) -> DecodedProgram:
    flat = program if isinstance(program, FlatProgram) else FlatProgram.from_program(program)
    return decode_flat(flat, params, enable_debug=enable_debug)


def first_missing_op(flat: FlatProgram, params: MachineParams) -> int | None:
    """The first slot whose op the machine ``params`` lacks (another config's op), or None."""
    has = fast_table(params, flat.ops).has
    if has.all():
        return None
    bad = np.flatnonzero(has[flat.op] == 0)
    return int(bad[0]) if len(bad) else None


__all__ = ["FastOpTable", "fast_table", "DecodedProgram", "decode_flat", "decode_program", "fast_opcode"]
