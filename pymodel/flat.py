"""Programs as flat arrays: the fast engine's load path, with no Python object per slot.

A ``FlatProgram`` holds one row per slot (engine, op, operands, position in
its engine's list) and one entry per bundle (first row, costs-a-cycle), in
the order the source lists them.  It is made two ways:

* ``parse_program_bytes``: a numba scanner reads the JSON interchange text
  straight into the arrays and checks, while it scans, everything
  ``Program.from_tuples`` checks (engine and op names, operand count and
  kinds, slot limits, repeated engine keys).  It accepts a strict subset of
  JSON (plain ASCII strings, integers of up to 18 digits, debug keys of
  integers, strings and lists) and answers "not mine" on anything else;
* ``FlatProgram.from_program``: from a typed ``Program`` (a Python loop).

``read_flat_program`` ties them together.  Whenever the scanner answers "not
mine" (a malformed file, a bad slot, an unusual spelling) the file goes
through the ordinary path (``formats.read_program``): a bad file gets exactly
today's message, naming the first bad bundle, engine, slot and operand, and
an unusual but valid file is converted from its typed ``Program``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .isa import DEFAULT_PARAMS, OPS, Engine, MachineParams, OperandKind, OpSpec

if TYPE_CHECKING:
    from .program import Program

ENGINES: tuple[Engine, ...] = tuple(Engine)  # engine index in the arrays
ENGINE_INDEX: dict[Engine, int] = {e: i for i, e in enumerate(ENGINES)}
DEBUG = ENGINE_INDEX[Engine.DEBUG]
MAX_OPERANDS = 4
INT64_SAFE = 1 << 62  # operands beyond this are kept as Python ints (``FlatProgram.huge``)


@dataclass
class FlatProgram:
    """One row per slot, source order; ``ops[op[r]]`` is row r's OpSpec."""

    engine: np.ndarray  # int8 [n_slots]: index into ENGINES
    op: np.ndarray  # int16 [n_slots]: index into ``ops``
    args: np.ndarray  # int64 [n_slots, 4]: integer operands, zero-padded (debug keys/text: 0)
    index: np.ndarray  # int16 [n_slots]: position within its engine's slot list
    bundle_first: np.ndarray  # int64 [n_bundles + 1]
    bundle_cost: np.ndarray  # uint8 [n_bundles]: 1 if the bundle has an engine key other than debug
    ops: tuple[OpSpec, ...] = OPS
    # row -> the operands, when one does not fit in int64 (only from a typed Program).
    huge: dict[int, tuple[Any, ...]] = field(default_factory=dict)
    source: str | None = None  # the file it was read from
    program: "Program | None" = None  # the typed program, when it was made from one

    @property
    def n_slots(self) -> int:
        return len(self.op)

    @property
    def n_bundles(self) -> int:
        return len(self.bundle_cost)

    def bundle_of(self, row: int) -> int:
        return int(np.searchsorted(self.bundle_first, row, side="right")) - 1

    def spec(self, row: int) -> OpSpec:
        return self.ops[int(self.op[row])]

    def slot_args(self, row: int) -> tuple[Any, ...]:
        """Row r's integer operands as Python ints (not for debug rows)."""
        if row in self.huge:
            return self.huge[row]
        return tuple(self.args[row, : self.spec(row).arity].tolist())

    def to_program(self, params: MachineParams = DEFAULT_PARAMS) -> "Program":
        """The typed Program (read again from the source file: debug keys are not kept here)."""
        if self.program is None:
            if self.source is None:
                raise ValueError("this FlatProgram has neither a typed program nor a source file")
            from .formats import read_program

            self.program = read_program(self.source, params)
        return self.program

    @classmethod
    def from_program(cls, program: "Program", ops: tuple[OpSpec, ...] = OPS) -> "FlatProgram":
        index_of = {(op.engine, op.name): j for j, op in enumerate(ops)}
        n = sum(len(slots) for b in program for _e, slots in b.groups)
        engine = np.zeros(n, np.int8)
        op = np.zeros(n, np.int16)
        args = np.zeros((n, MAX_OPERANDS), np.int64)
        index = np.zeros(n, np.int16)
        first = np.zeros(len(program) + 1, np.int64)
        cost = np.zeros(len(program), np.uint8)
        huge: dict[int, tuple[Any, ...]] = {}
        r = 0
        for b, bundle in enumerate(program):
            for e, i, slot in bundle:
                engine[r] = ENGINE_INDEX[e]
                op[r] = index_of[(e, slot.op)]  # KeyError: an op outside ``ops`` (a Program from another table)
                index[r] = i
                if e is not Engine.DEBUG:
                    a = slot.args
                    if all(-INT64_SAFE < v < INT64_SAFE for v in a):
                        args[r, : len(a)] = a
                    else:
                        huge[r] = a
                r += 1
            first[b + 1] = r
            cost[b] = bundle.costs_cycle
        return cls(engine, op, args, index, first, cost, ops, huge, None, program)


# --------------------------------------------------------------------------
# The scanner


class _Table:
    """The names and operand kinds the scanner checks against, as arrays."""

    def __init__(self, ops: tuple[OpSpec, ...], params: MachineParams) -> None:
        names = [e.value.encode() for e in ENGINES] + [op.name.encode() for op in ops]
        self.name_off = np.zeros(len(names) + 1, np.int64)
        self.name_off[1:] = np.cumsum([len(n) for n in names])
        self.name_buf = np.frombuffer(b"".join(names), np.uint8).copy()
        # Op lookup: cand[cand_first[e*256+c] : cand_first[e*256+c+1]] are the ops of engine e
        # whose name starts with byte c.
        keys = sorted((ENGINE_INDEX[op.engine] * 256 + op.name.encode()[0], j) for j, op in enumerate(ops) if op.name)
        self.cand = np.array([j for _k, j in keys], np.int64)
        self.cand_first = np.searchsorted(np.array([k for k, _j in keys], np.int64), np.arange(len(ENGINES) * 256 + 1))
        self.arity = np.array([op.arity for op in ops], np.int64)
        # operand kind: 1 integer, 2 text, 3 any debug key
        kinds = np.zeros((len(ops), MAX_OPERANDS), np.int64)
        for j, op in enumerate(ops):
            if op.arity > MAX_OPERANDS:
                raise ValueError(f"op {op.name}: the fast engine takes at most {MAX_OPERANDS} operands")
            for k, o in enumerate(op.operands):
                kinds[j, k] = 1 if o.kind.is_integer else 2 if o.kind is OperandKind.TEXT else 3
        self.kinds = kinds
        self.limits = np.array([params.slot_limit(e) for e in ENGINES], np.int64)


# _scan's verdict (fast_kernel.scan)
OK, NOT_MINE = 0, 1


_TABLES: dict[tuple[int, MachineParams], tuple[tuple[OpSpec, ...], _Table]] = {}  # by id(ops): OpSpecs do not hash


def parse_program_bytes(data: bytes | bytearray, params: MachineParams = DEFAULT_PARAMS, ops: tuple[OpSpec, ...] = OPS) -> FlatProgram | None:
    """The FlatProgram of JSON program text, or None when the scanner cannot
    vouch for it (then ``formats.read_program`` decides: error or program)."""
    key = (id(ops), params)
    if key not in _TABLES:
        _TABLES[key] = (ops, _Table(ops, params))
    table = _TABLES[key][1]
    from .fast_native import kernels

    d = np.frombuffer(data, np.uint8) if isinstance(data, bytearray) else np.frombuffer(bytearray(data), np.uint8)
    max_slots = int(np.count_nonzero(d == 91))  # every slot opens a bracket
    max_bundles = int(np.count_nonzero(d == 123))
    engine = np.empty(max_slots, np.int8)
    op = np.empty(max_slots, np.int16)
    args = np.empty((max_slots, MAX_OPERANDS), np.int64)
    index = np.empty(max_slots, np.int16)
    first = np.empty(max_bundles + 1, np.int64)
    cost = np.empty(max_bundles, np.uint8)
    out = np.zeros(2, np.int64)
    status = kernels().scan(d, table.name_buf, table.name_off, len(ENGINES), table.cand_first, table.cand, table.arity,
                            table.kinds, table.limits, engine, op, args, index, first, cost, out)  # fmt: skip
    if status != OK:
        return None
    nb, ns = int(out[0]), int(out[1])
    # Copies of the used parts: the upper-bound buffers would keep their full size.
    return FlatProgram(engine[:ns].copy(), op[:ns].copy(), args[:ns].copy(), index[:ns].copy(),
                       first[: nb + 1].copy(), cost[:nb].copy(), ops)  # fmt: skip


def read_flat_program(path: str | os.PathLike[str], params: MachineParams = DEFAULT_PARAMS,
                      ops: tuple[OpSpec, ...] = OPS) -> FlatProgram:  # fmt: skip
    """A program file as a FlatProgram; a bad file raises ``formats.FormatError``
    with the same message as ``formats.read_program``."""
    from . import formats

    flat = None
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if 0 < size <= formats.MAX_FILE_BYTES:
                data = bytearray(size)
                if f.readinto(data) == size and not f.read(1):  # the whole file, as fstat said
                    flat = parse_program_bytes(data, params, ops)
    except OSError:
        flat = None  # read_program names the problem
    if flat is None:
        flat = FlatProgram.from_program(formats.read_program(path, params), ops)
    flat.source = str(path)
    return flat
