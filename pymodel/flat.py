"""Programs as flat arrays: the fast engine's load path, with no Python object per slot.

A ``FlatProgram`` holds one row per slot (engine, op, operands, position in
its engine's list) and one entry per bundle (first row, costs-a-cycle), in
the order the source lists them.  It is made two ways:

* ``parse_program_bytes``: a compiled scanner (``fast_kernel.scan``, built
  ahead of time by ``fast_native``) reads the JSON interchange text
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
_INT = {int}  # operand types of a well-formed slot (not bool, not float)
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
    well_formed: bool = True  # see from_program
    # per bundle: its engine groups are non-debug, have slots and come in HW_ENGINES order
    # (the hardware image's canonical shape); only from a typed Program
    plain: np.ndarray | None = None

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
        """The arrays of a typed Program (kept with it: the engines and the encoder share them).

        ``well_formed`` tells whether every slot sits under its own engine with
        integer operands of the op's count (always, for a Program from
        ``from_tuples``; a hand-built Bundle may differ)."""
        cache = program.__dict__.get("_flat")
        if cache is not None and cache.ops is ops:
            return cache
        # Keyed by engine index, then op name: hashing an Engine (an Enum) runs Python code.
        keys: list[dict[str, tuple[int, int]]] = [{} for _ in ENGINES]
        for j, spec in enumerate(ops):
            keys[ENGINE_INDEX[spec.engine]][spec.name] = (j, spec.arity)
        engine_index = {id(e): i for i, e in enumerate(ENGINES)}
        pad = [(0,) * (MAX_OPERANDS - k) for k in range(MAX_OPERANDS + 1)]
        engine: list[int] = []
        op: list[int] = []
        index: list[int] = []
        rows: list[tuple[Any, ...]] = []
        first = [0]
        cost: list[int] = []
        well_formed = True
        debug = Engine.DEBUG
        shape: list[bool] = []
        for bundle in program.bundles:
            costs = 0
            last = -1
            plain = True
            for e, slots in bundle.groups:
                ei = engine_index[id(e)]
                names = keys[ei]
                plain = plain and ei > last and ei != DEBUG and len(slots) > 0
                last = ei
                if e is debug:
                    for i, slot in enumerate(slots):
                        engine.append(ei)
                        op.append(keys[engine_index[id(slot.engine)]][slot.op][0])  # KeyError: an op outside ``ops``
                        index.append(i)
                        rows.append(pad[0])
                    continue
                costs = 1
                for i, slot in enumerate(slots):
                    a = slot.args
                    if slot.engine is e:
                        j, arity = names[slot.op]
                    else:  # listed under another engine (a hand-built Bundle): its own op
                        j, arity = keys[engine_index[id(slot.engine)]][slot.op]
                        well_formed = False
                    if len(a) != arity or not set(map(type, a)) <= _INT:
                        well_formed = False
                    engine.append(ei)
                    op.append(j)
                    index.append(i)
                    rows.append(a + pad[len(a)] if len(a) <= MAX_OPERANDS else pad[0])
            first.append(len(op))
            cost.append(costs)
            shape.append(plain)
        huge: dict[int, tuple[Any, ...]] = {}
        try:
            args = np.array(rows, dtype=np.int64).reshape(len(rows), MAX_OPERANDS)
        except (OverflowError, TypeError, ValueError):  # operands beyond int64 (or not integers)
            args = np.zeros((len(rows), MAX_OPERANDS), np.int64)
            for r, a in enumerate(rows):
                if all(type(v) is int and -INT64_SAFE < v < INT64_SAFE for v in a):
                    args[r] = a
                else:
                    huge[r] = tuple(v for v in a)[: ops[op[r]].arity]
                    if not all(type(v) is int for v in a):
                        well_formed = False
        flat = cls(
            np.array(engine, np.int8), np.array(op, np.int16), args, np.array(index, np.int16),
            np.array(first, np.int64), np.array(cost, np.uint8), ops, huge, None, program,
        )  # fmt: skip
        flat.well_formed = well_formed
        flat.plain = np.array(shape, bool)
        program.__dict__["_flat"] = flat  # a frozen dataclass: the cache is not a field (equality ignores it)
        return flat


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
                    formats.check_config_tag(bytes(data[:400]).decode("utf-8", "replace"), params, str(path))
                    flat = parse_program_bytes(data, params, ops)
    except OSError:
        flat = None  # read_program names the problem
    if flat is None:
        flat = FlatProgram.from_program(formats.read_program(path, params), ops)
    flat.source = str(path)
    return flat
