"""Runs a ``Graph`` (``ir.py``) directly, without scheduling: the graph's meaning.

Lets a test check the dataflow (algebra, tables, index arithmetic) separately
from the scheduler and register allocation.  Values are lists of words; the
ops' semantics are the ISA table's (``pymodel.isa``).
"""

from __future__ import annotations

from pymodel.isa import WORD_MASK, Engine, lookup

from .ir import Graph, Unit, Value


def interpret(graph: Graph, mem: list[int]) -> list[int]:
    """The memory after running every op of ``graph`` in order on a copy of ``mem``."""
    mem = list(mem)
    vals: dict[int, list[int]] = {}
    fixed: dict[int, int] = {}  # scratch words of fixed-address values (for joins)
    vlen = graph.vlen

    def get(v: Value) -> list[int]:
        if v.base is not None:
            return [get(v.base)[v.offset]]
        if v.id not in vals and v.producer is None:  # a fixed word nobody wrote: any value will do
            return [0x5A5A5A5A] * v.width
        return vals[v.id]

    def put(v: Value, words: list[int]) -> None:
        vals[v.id] = [w & WORD_MASK for w in words]
        if v.addr is not None:
            for i, w in enumerate(vals[v.id]):
                fixed[v.addr + i] = w

    for op in graph.ops:
        src = [get(s) for s in op.srcs]
        if op.unit in (Unit.LANEWISE, Unit.ALU):
            fn = lookup(Engine.ALU, op.name).binop
            put(op.dst, [fn(a, b) for a, b in zip(*src)])  # type: ignore[arg-type]
        elif op.unit is Unit.PERMUTE:
            fn = lookup(Engine.ALU, op.name).binop
            res = [0] * vlen
            for k, (a, b) in enumerate(zip(*src)):  # type: ignore[misc]
                res[op.perm[k]] = fn(a, b)  # type: ignore[index]
            put(op.dst, res)  # type: ignore[arg-type]
        elif op.name == "multiply_add":
            put(op.dst, [a * b + c for a, b, c in zip(*src)])  # type: ignore[arg-type]
        elif op.name == "vbroadcast":
            put(op.dst, src[0] * vlen)  # type: ignore[arg-type]
        elif op.name == "vselect":
            c, hi, lo = src[:3]
            res = [h if cc else lo_ for cc, h, lo_ in zip(c, hi, lo)]
            if op.unit is Unit.MUX:  # the multiply_add form must agree
                alt = [(cc * dd + lo_) & WORD_MASK for cc, dd, lo_ in zip(c, src[3], lo)]
                if alt != res:
                    raise AssertionError(f"{op}: vselect and multiply_add forms differ")
            put(op.dst, res)  # type: ignore[arg-type]
        elif op.name == "const":
            put(op.dst, [op.imm])  # type: ignore[arg-type,list-item]
        elif op.name == "add_imm":
            put(op.dst, [src[0][0] + op.imm])  # type: ignore[arg-type,operator]
        elif op.name == "load":
            put(op.dst, [mem[src[0][0]]])  # type: ignore[arg-type]
        elif op.name == "vload":
            a = src[0][0]
            put(op.dst, mem[a : a + vlen])  # type: ignore[arg-type]
        elif op.name == "load_offset":
            put(op.dst, [mem[a] for a in src[0]])  # type: ignore[arg-type]
        elif op.name == "join":
            a = op.dst.addr  # type: ignore[union-attr]
            put(op.dst, [fixed.get(a + i, 0) for i in range(vlen)])  # type: ignore[arg-type,operator]
        elif op.name == "vstore":
            a = src[0][0]
            mem[a : a + vlen] = src[1]
        elif op.name == "store":
            mem[src[0][0]] = src[1][0]
        elif op.unit is Unit.DEBUG:
            pass
        else:
            raise ValueError(f"interpret: no meaning for {op}")
    return mem
