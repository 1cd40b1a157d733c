"""Issue priorities for the list scheduler (``Op.prio``: smaller first).

An op's priority is a *due cycle*: its work item's offset minus its height
(the longest chain of ops from it to the end of the graph, in cycles).  The
work item is ``Op.group`` (``Graph.group`` when the op was made, e.g. one
vector of a batch), its phase ``Op.round``.  A kernel may instead pass its own
function to ``Kernel.compile(priority=...)``: this module is the default hook.

Why offsets: with height alone every group would move in lockstep, so all
of them would gather (load-bound) at the same time and hash (VALU-bound) at
the same time.  Giving group j the offset ``stagger * j`` spreads their
gather rounds over the run.  Near the end the opposite is wanted -- every
vector finishing together, none left to run its last rounds alone at the
latency limit -- so rounds from ``late_round`` on use a smaller stagger
(``late_stagger``) plus a shift that defers them (``late_shift``);
``late_round=None`` keeps one phase.  Start-up ops (group -1) use their height
only.  ``offsets`` adds a per-group tweak and ``round_offsets`` one per (group,
round) -- e.g. the first vectors' first rounds sooner, one vector's last rounds
later (found by a search: ``kernels.compiler.search``, ``kernels.tree_hash.tune``).

Multiplexer trees: every mux of a tree gets its root's priority, so a tree is
built depth-first (ties break by op order) instead of all its bottom muxes
first, which would hold many registers at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from .ir import Graph, Unit

GATHER_LATENCY = 4  # eight lanes over two load slots


@dataclass(frozen=True)
class PriorityConfig:
    stagger: float = 7.0
    late_round: int | None = 10  # None: one phase, offsets stagger * group throughout
    late_stagger: float = 5.0
    late_shift: float = 60.0
    offsets: tuple[float, ...] = ()  # per vector, added to its offset
    # per (group, round): (group, round, cycles) added on top of the group's offset
    round_offsets: tuple[tuple[int, int, float], ...] = ()


def heights(graph: Graph) -> list[int]:
    """Cycles from each op's issue to the end of the graph along data and memory edges."""
    after_succ: list[list[int]] = [[] for _ in graph.ops]
    for op in graph.ops:
        for p in op.after:
            after_succ[p.id].append(op.id)
    h = [0] * len(graph.ops)
    for op in reversed(graph.ops):  # ops are in topological order
        latency = GATHER_LATENCY if op.unit is Unit.GATHER else 0 if op.unit is Unit.JOIN else 1
        best = 0
        if op.dst is not None:
            for r in op.dst.readers:
                best = max(best, h[r.id])
        for i in after_succ[op.id]:
            best = max(best, h[i])
        h[op.id] = best + latency
    return h


def assign(graph: Graph, cfg: PriorityConfig) -> None:
    h = heights(graph)
    tweak = {(j, r): dt for j, r, dt in cfg.round_offsets}
    for op in graph.ops:
        j = op.group
        if j < 0:
            offset = 0.0
        elif cfg.late_round is None or op.round < cfg.late_round:
            offset = cfg.stagger * j
        else:
            offset = cfg.late_stagger * j + cfg.late_shift + (cfg.stagger - cfg.late_stagger) * 16
        if 0 <= j < len(cfg.offsets):
            offset += cfg.offsets[j]
        offset += tweak.get((j, op.round), 0.0)
        op.prio = offset - h[op.id] - op.bias
    for op in reversed(graph.ops):  # a mux feeding a mux takes its reader's priority
        if op.name == "vselect" and op.dst is not None and len(op.dst.readers) == 1:
            reader = op.dst.readers[0]
            if reader.name == "vselect":
                op.prio = reader.prio
