"""A list scheduler: packs a sequential stream into VLIW bundles.

The stream is cut into regions at labels (a jump may land there) and after
control slots (``OpSpec.control``: jumps, halt, pause), which end their region
and share its last bundle at most.  Within a region each slot becomes a node
of a dependence graph whose edges carry a minimum bundle distance, from the
end-of-cycle rule (reads see the start of the bundle, writes land at its end):

* RAW (read after write, scratch or memory): 1 -- the reader comes a bundle later;
* WAR (write after read): 0 -- the writer may share the reader's bundle;
* WAW (write after write): 1 -- never one bundle, order kept;
* side effects (``trace_write``): 1, in program order.

Memory ops are ordered loads-vs-stores and stores-vs-stores unless their
addresses are provably disjoint: the address word holds a value known from
``const`` and arithmetic on known words earlier in the region.

Nodes are placed in order of priority -- their longest path to the region's
end (critical path first), plus an optional per-slot bias from the kernel
(``KernelBuilder.priority``), never above a predecessor's; program order
breaks ties, so the order is topological -- each into the earliest bundle its
edges allow that still has a free slot on its engine
(``MachineParams.slot_limit``).  Bundles left empty are dropped: they would
cost a cycle and order nothing.
"""

from __future__ import annotations

from typing import Callable, Sequence

from pymodel.isa import Engine, MachineParams
from pymodel.program import Slot

from .known import MemRange, apply_writes, mem_footprint, slot_writes
from .stream import BUNDLE_ORDER, Layout, Mark, StreamItem

# Past this many unresolved memory ops a store is treated as touching any
# address (orders after everything): keeps the disambiguation linear-ish.
MAX_PENDING_LOADS = 4096
MAX_PENDING_STORES = 128

Edges = dict[int, int]  # predecessor node -> minimum bundle distance


def schedule(stream: Sequence[StreamItem], params: MachineParams, bias: Sequence[float] | None = None) -> Layout:
    """Pack ``stream``; ``bias[k]`` (optional) is added to stream item k's priority."""
    if bias is not None and len(bias) != len(stream):
        raise ValueError(f"bias has {len(bias)} entries for a stream of {len(stream)} items")
    layout = Layout()
    region: list[Slot] = []
    region_bias: list[float] = []
    for k, item in enumerate(stream):
        if isinstance(item, Mark):
            layout.bundles.extend(schedule_region(region, None, params, region_bias))
            region, region_bias = [], []
            layout.place_label(item.label)
        elif item.spec.control:
            layout.bundles.extend(schedule_region(region, item, params, region_bias))
            region, region_bias = [], []
        else:
            region.append(item)
            region_bias.append(bias[k] if bias is not None else 0.0)
    layout.bundles.extend(schedule_region(region, None, params, region_bias))
    return layout


def _may_alias(a: MemRange | None, b: MemRange | None) -> bool:
    return a is None or b is None or a.overlaps(b)


class _DependenceBuilder:
    """Walks a region in program order and gives each slot its predecessor edges."""

    def __init__(self, params: MachineParams) -> None:
        self.params = params
        self.last_write: dict[int, int] = {}
        self.readers: dict[int, list[int]] = {}  # word -> nodes reading it since its last write
        self.known: dict[int, int] = {}
        # (node, the memory it touches if known) since the last store of unknown address
        self.loads: list[tuple[int, MemRange | None]] = []
        self.stores: list[tuple[int, MemRange | None]] = []
        self.last_side_effect: int | None = None

    def add(self, i: int, slot: Slot) -> Edges:
        spec, params = slot.spec, self.params
        edges: Edges = {}

        def need(p: int, distance: int) -> None:
            if edges.get(p, -1) < distance:
                edges[p] = distance

        reads = spec.scratch_reads(slot.args, params)
        writes = spec.scratch_writes(slot.args, params)
        for w in reads:
            if w in self.last_write:
                need(self.last_write[w], 1)
        for w in writes:
            for r in self.readers.get(w, ()):
                need(r, 0)
            if w in self.last_write:
                need(self.last_write[w], 1)
        if spec.reads_mem or spec.writes_mem:
            self._memory(i, slot, need)
        if spec.side_effect:
            if self.last_side_effect is not None:
                need(self.last_side_effect, 1)
            self.last_side_effect = i
        apply_writes(self.known, slot_writes(slot, self.known, params))
        for w in reads:
            self.readers.setdefault(w, []).append(i)
        for w in writes:
            self.last_write[w] = i
            self.readers[w] = []
        edges.pop(i, None)
        return edges

    def _memory(self, i: int, slot: Slot, need: Callable[[int, int], None]) -> None:
        spec = slot.spec
        foot = mem_footprint(slot, self.known, self.params)
        if spec.reads_mem:
            for s, f in self.stores:
                if _may_alias(f, foot):
                    need(s, 1)
            self.loads.append((i, foot))
        if spec.writes_mem:
            if len(self.loads) > MAX_PENDING_LOADS or len(self.stores) > MAX_PENDING_STORES:
                foot = None
            for ld, f in self.loads:
                if _may_alias(f, foot):
                    need(ld, 0)
            for s, f in self.stores:
                if _may_alias(f, foot):
                    need(s, 1)
            if foot is None:
                # Ordered after every earlier memory op: it stands for all of them.
                self.loads, self.stores = [], [(i, None)]
            else:
                self.stores.append((i, foot))


class _ReservationTable:
    """Free slots per engine and bundle; finds the first bundle >= c with room."""

    def __init__(self, params: MachineParams) -> None:
        self.limit = {e: params.slot_limit(e) for e in Engine}
        self.used: dict[Engine, list[int]] = {e: [] for e in Engine}
        self.parent: dict[Engine, list[int]] = {e: [] for e in Engine}  # union-find: next candidate

    def place(self, engine: Engine, earliest: int) -> int:
        used, parent = self.used[engine], self.parent[engine]
        while len(used) <= earliest + 1:
            parent.append(len(used))
            used.append(0)
        c = earliest
        while parent[c] != c:  # path halving
            parent[c] = parent[parent[c]]
            c = parent[c]
        if c + 1 >= len(used):
            parent.append(len(used))
            used.append(0)
        used[c] += 1
        if used[c] == self.limit[engine]:
            parent[c] = c + 1
        return c


def schedule_region(
    slots: Sequence[Slot], terminator: Slot | None, params: MachineParams, bias: Sequence[float] | None = None
) -> list[list[Slot]]:
    """Bundles for one straight-line region; ``terminator`` (a control slot) goes last.

    A node's priority is its height (critical path to the end) plus ``bias``;
    it is clamped so a node never outranks a predecessor (the order stays
    topological).
    """
    nodes = list(slots)
    deps = _DependenceBuilder(params)
    preds = [deps.add(i, s) for i, s in enumerate(nodes)]
    if terminator is not None:
        edges = deps.add(len(nodes), terminator)
        has_succ = {p for e in preds for p in e}
        for i in range(len(nodes)):
            if i not in has_succ:  # every slot before it reaches it through a sink
                edges.setdefault(i, 0)
        nodes.append(terminator)
        preds.append(edges)
    if not nodes:
        return []

    height = [1] * len(nodes)  # bundles from a node's to the region's last, inclusive
    for i in range(len(nodes) - 1, -1, -1):
        for p, distance in preds[i].items():
            if height[p] < distance + height[i]:
                height[p] = distance + height[i]

    priority = [float(h) for h in height]
    if bias:
        for i in range(len(nodes)):
            if i < len(bias):  # the terminator has no bias of its own
                priority[i] += bias[i]
            for p in preds[i]:
                priority[i] = min(priority[i], priority[p])
    table = _ReservationTable(params)
    cycle = [0] * len(nodes)
    for i in sorted(range(len(nodes)), key=lambda i: (-priority[i], i)):
        earliest = max((cycle[p] + d for p, d in preds[i].items()), default=0)
        cycle[i] = table.place(nodes[i].engine, earliest)

    placed: list[list[int]] = [[] for _ in range(max(cycle) + 1)]
    for i, c in enumerate(cycle):
        placed[c].append(i)
    rank = {e: k for k, e in enumerate(BUNDLE_ORDER)}
    # Empty bundles carry no ordering: dropping them keeps every edge's order.
    return [[nodes[i] for i in sorted(ids, key=lambda i: (rank[nodes[i].engine], i))] for ids in placed if ids]
