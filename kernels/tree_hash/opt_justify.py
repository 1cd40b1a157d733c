"""Priorities for the list scheduler from a backward pass (forward-backward improvement).

A forward list schedule packs the start of the program well and leaves a
ragged end: the last items' chains run alone at the latency limit.  Scheduling
the *reversed* graph (an op may issue once all its readers have) with the
forward finish cycles as priorities (latest first) packs the end instead; each
op's backward cycle then gives its latest start, and a forward pass that issues
ops in order of latest start keeps both ends tight.  The backward pass ignores
registers (the forward pass allocates them) and places whole ops, a lanewise
op either in one VALU slot or as eight ALU slots in one cycle.
"""

from __future__ import annotations

import heapq
from typing import Sequence

from pymodel.isa import Engine, MachineParams

from .opt_ir import Graph, Op, Unit


def latest_starts(graph: Graph, params: MachineParams, finish: Sequence[int]) -> list[int]:
    """Latest start cycle of every op (a larger makespan shifts all of them alike)."""
    ops = graph.ops
    n = len(ops)
    readers: list[set[int]] = [set() for _ in range(n)]
    producers: list[set[int]] = [set() for _ in range(n)]
    for op in ops:
        for s in op.srcs:
            p = (s.base or s).producer
            if p is not None:
                producers[op.id].add(p.id)
                readers[p.id].add(op.id)
    waiting = [len(readers[i]) for i in range(n)]
    earliest = [0] * n  # backward cycle at which an op may issue
    heap = [(-finish[i], i) for i in range(n) if waiting[i] == 0]
    heapq.heapify(heap)
    back = [0] * n
    t = 0
    deferred: list[tuple[int, int]] = []
    loads_taken: dict[int, int] = {}  # gathers reserve load slots of later backward cycles
    done = 0
    while done < n:
        free = {
            Engine.VALU: params.valu_slots,
            Engine.ALU: params.alu_slots,
            Engine.LOAD: params.load_slots - loads_taken.pop(t, 0),
            Engine.STORE: params.store_slots,
            Engine.FLOW: params.flow_slots,
        }
        placed: list[tuple[int, int]] = []  # (op, last backward cycle it occupies)
        deferred.clear()
        while heap:
            key, i = heapq.heappop(heap)
            op = ops[i]
            if earliest[i] > t:
                deferred.append((key, i))
                continue
            if not any(free.values()):
                deferred.append((key, i))
                break
            if op.unit is Unit.GATHER:
                if not free[Engine.LOAD]:
                    deferred.append((key, i))
                    continue
                lanes = params.vlen
                take = min(lanes, free[Engine.LOAD])
                free[Engine.LOAD] -= take
                lanes -= take
                end = t
                while lanes:
                    end += 1
                    take = min(lanes, params.load_slots - loads_taken.get(end, 0))
                    loads_taken[end] = loads_taken.get(end, 0) + take
                    lanes -= take
                placed.append((i, end))
            elif _place(op, free, params.vlen):
                placed.append((i, t))
            else:
                deferred.append((key, i))
        for item in deferred:
            heapq.heappush(heap, item)
        for i, end in placed:
            back[i] = t
            done += 1
            for p in producers[i]:
                waiting[p] -= 1
                earliest[p] = max(earliest[p], end + (0 if ops[i].unit is Unit.JOIN else 1))
                if waiting[p] == 0:
                    heapq.heappush(heap, (-finish[p], p))
        t += 1
    makespan = max(back) + 1
    return [makespan - 1 - b for b in back]


def _place(op: Op, free: dict[Engine, int], vlen: int) -> bool:
    u = op.unit
    if u is Unit.JOIN:
        return True
    if u is Unit.LANEWISE:
        if free[Engine.VALU]:
            free[Engine.VALU] -= 1
            return True
        if free[Engine.ALU] >= vlen:
            free[Engine.ALU] -= vlen
            return True
        return False
    if u is Unit.MUX:
        for e in (Engine.FLOW, Engine.VALU):
            if free[e]:
                free[e] -= 1
                return True
        return False
    engine = {Unit.VALU: Engine.VALU, Unit.FLOW: Engine.FLOW, Unit.LOAD: Engine.LOAD, Unit.ALU: Engine.ALU, Unit.STORE: Engine.STORE}[u]
    if free[engine]:
        free[engine] -= 1
        return True
    return False
