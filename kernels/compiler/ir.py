"""The compiler's dataflow graph: ops on SSA values (virtual registers).

A kernel is written as a graph rather than a slot stream so the scheduler
(``schedule.py``) may pick, per op and cycle, *which engine* runs it and
*which scratch words* hold its result.  ``Op.unit`` says which engines may:

* a lane-wise binop (``Unit.LANEWISE``) runs as one VALU slot or as eight ALU
  slots (any lanes in any cycles: the ALU has 12 slots, 1.5 vectors' worth);
* a multiplexer with a difference vector (``Unit.MUX``, c in {0, 1}) runs as
  a FLOW ``vselect`` or as a VALU ``multiply_add(c, hi - lo, lo)``;
* a broadcast (``Unit.BCAST``) runs as a VALU ``vbroadcast`` or eight ALU slots;
* a constant (``Unit.CONST``) as a LOAD ``const`` or a FLOW ``add_imm`` on a
  zero word;
* a gather (``Unit.GATHER``) is eight ``load_offset`` slots, one per lane;
* a permuted binop (``Unit.PERMUTE``) is eight ALU slots whose results land in
  permuted lanes (lane ``perm[k]`` = a[k] op b[k]): a lane permutation for free.

``kernel.Kernel`` is the front end users write against (docs/assembler.md).

Values are SSA: each is written by one op.  A value with ``addr`` set lives at
a fixed scratch address (constants, the symbol table's named words); the
others get scratch from the scheduler's register pool when their producer
issues and give it back when their last reader has issued.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Sequence

from pymodel.isa import WORD_MASK


class Unit(str, Enum):
    """Which engines may run an op (the scheduler's choice among them)."""

    LANEWISE = "valu|alu"  # binop: 1 valu slot, or 8 alu slots
    VALU = "valu"  # multiply_add, vbroadcast
    MUX = "flow|valu"  # vselect(c, hi, lo) or multiply_add(c, hi - lo, lo)
    FLOW = "flow"  # vselect on computed inputs, add_imm
    BCAST = "valu|alu broadcast"  # vbroadcast, or eight ALU slots S[d+i] = S[s] | S[s]
    CONST = "load|flow"  # const k, or add_imm(zero, k) on FLOW (``Op.zero``: a word known to hold 0)
    LOAD = "load"  # const, load, vload
    GATHER = "load x8"  # load_offset, lane by lane
    PERMUTE = "alu x8"  # binop as eight ALU slots, lane k's result written to lane perm[k]
    ALU = "alu"  # scalar binop
    STORE = "store"  # store, vstore
    JOIN = "none"  # no slot: a fixed-address vector whose lanes other ops wrote
    DEBUG = "debug"  # compare / vcompare: no cycle, checks a value against the reference


@dataclass(eq=False)
class Value:
    """A scalar (width 1) or vector (width VLEN) result."""

    id: int
    width: int
    name: str
    addr: int | None = None  # fixed scratch address, or None: from the register pool
    readers: list["Op"] = field(default_factory=list)
    producer: "Op | None" = None
    live_out: bool = False  # never freed (read after the graph ends, e.g. by a store elsewhere)
    base: "Value | None" = None  # lane alias: this scalar is lane ``offset`` of vector ``base``
    offset: int = 0

    def __repr__(self) -> str:
        return f"%{self.name}"


@dataclass(eq=False)
class Op:
    """One node of the graph.

    ``name`` is the machine op (for MUX: the name of its FLOW form, vselect).
    ``srcs`` are the values read, in operand order of the machine op; for a
    MUX they are (c, hi, lo, diff) and the two forms read (c, hi, lo) or
    (c, diff, lo).  ``imm`` is an immediate operand (const k, add_imm k).
    """

    id: int
    unit: Unit
    name: str
    dst: Value | None
    srcs: tuple[Value, ...]
    imm: int | None = None
    group: int = 0  # work item (vector) the op belongs to, for priorities (-1: start-up)
    round: int = 0  # round of the work item it belongs to
    prio: float = 0.0  # smaller issues first among ready ops
    after: tuple["Op", ...] = ()  # memory order: issue at least a cycle after these
    key: object = None  # debug compare: the reference key(s)
    not_before: int = 0  # earliest cycle (a placement hint: ``Graph.not_before`` when made)
    zero: "Value | None" = None  # CONST: a scalar holding 0, for the FLOW form (not a source: the LOAD form waits for nothing)
    perm: tuple[int, ...] | None = None  # PERMUTE: lane k's result goes to lane perm[k]
    bias: float = 0.0  # subtracted from the priority (``Graph.bias`` when made): issue sooner

    def __repr__(self) -> str:
        return f"{self.name} {self.dst} <- {', '.join(map(repr, self.srcs))}"


class Graph:
    """Builds the op list; every op's sources must already exist (topological order)."""

    def __init__(self, vlen: int) -> None:
        self.vlen = vlen
        self.ops: list[Op] = []
        self.values: list[Value] = []
        self.group = 0  # stamped on new ops
        self.round = 0
        self.alu_broadcasts = False  # broadcasts may run as eight ALU slots (Unit.BCAST)
        self.not_before = 0  # stamped on new ops: none issues before this cycle
        self.bias = 0.0  # stamped on new ops: cycles earlier than their due cycle (priority hint)

    # -- values --------------------------------------------------------------

    def value(self, width: int, name: str | None = None, addr: int | None = None) -> Value:
        v = Value(len(self.values), width, name or f"t{len(self.values)}", addr)
        self.values.append(v)
        return v

    def _op(
        self,
        unit: Unit,
        name: str,
        dst: Value | None,
        srcs: Sequence[Value],
        imm: int | None = None,
        after: Sequence[Op] = (),
    ) -> Op:
        op = Op(len(self.ops), unit, name, dst, tuple(srcs), imm, self.group, self.round, after=tuple(after),
                not_before=self.not_before, bias=self.bias)  # fmt: skip
        for s in op.srcs:
            root = s.base or s
            if root.producer is None and root.addr is None:
                raise ValueError(f"op {op}: source {s} has no producer")
            root.readers.append(op)
        if dst is not None:
            if dst.producer is not None:
                raise ValueError(f"value {dst} is written twice ({dst.producer} and {op})")
            dst.producer = op
        self.ops.append(op)
        return op

    def _vec(self, name: str | None, addr: int | None = None) -> Value:
        return self.value(self.vlen, name, addr)

    # -- vector ops ----------------------------------------------------------

    def binop(self, op: str, a: Value, b: Value, name: str | None = None) -> Value:
        d = self._vec(name)
        self._op(Unit.LANEWISE, op, d, (a, b))
        return d

    def permute(self, op: str, a: Value, b: Value, perm: Sequence[int], name: str | None = None) -> Value:
        """Lane ``perm[k]`` of the result = a[k] op b[k]: eight ALU slots (a VALU slot
        cannot move lanes), so a lane permutation costs nothing beyond the binop."""
        perm = tuple(perm)
        if sorted(perm) != list(range(self.vlen)):
            raise ValueError(f"permute {name}: {perm} is not a permutation of the {self.vlen} lanes")
        d = self._vec(name)
        self._op(Unit.PERMUTE, op, d, (a, b)).perm = perm
        return d

    def madd(self, a: Value, b: Value, c: Value, name: str | None = None) -> Value:
        """a * b + c, lane-wise."""
        d = self._vec(name)
        self._op(Unit.VALU, "multiply_add", d, (a, b, c))
        return d

    def mux(self, c: Value, hi: Value, lo: Value, diff: Value | None, name: str | None = None, after: Sequence[Op] = ()) -> Value:
        """hi where c != 0 else lo; with ``diff`` = hi - lo (c must be 0 or 1) also as a multiply_add."""
        d = self._vec(name)
        if diff is None:
            self._op(Unit.FLOW, "vselect", d, (c, hi, lo), after=after)
        else:
            self._op(Unit.MUX, "vselect", d, (c, hi, lo, diff), after=after)
        return d

    def broadcast(self, scalar: Value, name: str | None = None, addr: int | None = None) -> Value:
        d = self._vec(name, addr)
        self._op(Unit.BCAST if self.alu_broadcasts else Unit.VALU, "vbroadcast", d, (scalar,))
        return d

    def gather(self, addrs: Value, name: str | None = None, after: Sequence[Op] = ()) -> Value:
        """Lane i = M[addrs lane i]; ``after``: stores that wrote the memory it reads."""
        d = self._vec(name)
        self._op(Unit.GATHER, "load_offset", d, (addrs,), after=after)
        return d

    def vload(self, addr: Value, name: str | None = None, addr_of_dst: int | None = None) -> Value:
        d = self._vec(name, addr_of_dst)
        self._op(Unit.LOAD, "vload", d, (addr,))
        return d

    def vstore(self, addr: Value, src: Value, after: Sequence[Op] = ()) -> Op:
        """``after``: loads of the memory it overwrites."""
        return self._op(Unit.STORE, "vstore", None, (addr, src), after=after)

    # -- scalar ops ----------------------------------------------------------

    def const(self, k: int, name: str | None = None, addr: int | None = None, zero: Value | None = None) -> Value:
        """k as a scalar: a LOAD ``const``; with ``zero`` (a scalar holding 0) it may also
        run as FLOW ``add_imm(zero, k)``."""
        d = self.value(1, name, addr)
        if zero is None:
            self._op(Unit.LOAD, "const", d, (), imm=k & WORD_MASK)
        else:
            self._op(Unit.CONST, "const", d, (), imm=k & WORD_MASK).zero = zero
        return d

    def zero_word(self, addr: int, name: str = "zero") -> Value:
        """A scalar at ``addr`` set to 0 as ``x ^ x`` (ALU) of whatever the word held:
        no load slot, no assumption about scratch at start."""
        junk = self.value(1, f"{name}.before", addr)  # fixed address, no producer: readable at once
        return self.alu("^", junk, junk, name, addr)

    def add_imm(self, a: Value, k: int, name: str | None = None, addr: int | None = None) -> Value:
        d = self.value(1, name, addr)
        self._op(Unit.FLOW, "add_imm", d, (a,), imm=k & WORD_MASK)
        return d

    def alu(self, op: str, a: Value, b: Value, name: str | None = None, addr: int | None = None) -> Value:
        d = self.value(1, name, addr)
        self._op(Unit.ALU, op, d, (a, b))
        return d

    def load(self, addr: Value, name: str | None = None, addr_of_dst: int | None = None) -> Value:
        d = self.value(1, name, addr_of_dst)
        self._op(Unit.LOAD, "load", d, (addr,))
        return d

    def store(self, addr: Value, src: Value) -> None:
        self._op(Unit.STORE, "store", None, (addr, src))

    def compare(self, v: Value, key: object) -> None:
        """Debug check of a scalar (key) or of a vector (VLEN keys) against the reference."""
        op = self._op(Unit.DEBUG, "vcompare" if v.width > 1 else "compare", None, (v,))
        op.key = key

    def lane(self, vector: Value, k: int, name: str | None = None) -> Value:
        """Lane k of ``vector`` as a scalar operand (an alias: no op, no words of its own)."""
        if vector.width == 1 or not 0 <= k < vector.width:
            raise ValueError(f"lane {k} of {vector}: not a lane of a vector")
        v = self.value(1, name)
        v.base, v.offset = vector, k
        return v

    def join(self, lanes: Sequence[Value], addr: int, name: str | None = None) -> Value:
        """The vector at ``addr`` whose first lanes are the fixed-address scalars ``lanes``
        (at addr, addr+1, ...); the remaining lanes hold whatever scratch held."""
        for k, s in enumerate(lanes):
            if s.addr != addr + k:
                raise ValueError(f"join {name}: lane {k} ({s}) is not at scratch {addr + k}")
        d = self._vec(name, addr)
        self._op(Unit.JOIN, "join", d, lanes)
        return d
