"""Cycle-by-cycle list scheduler with engine choice and register allocation.

Input: a ``Graph`` (``ir.py``).  Output: one list of ``Slot``s per cycle.

Each cycle, the ops whose producers have all issued are visited in priority
order (``Op.prio``, smaller first) and placed on the first engine that has a
free slot and whose operands are ready (a value written in cycle t is readable
from t+1; a lane written by an ALU or load slot is ready on its own):

* LANEWISE: a VALU slot; if none is free, as many lanes as the ALU has free
  slots (the rest in later cycles, ALU only);
* MUX: the FLOW slot (vselect), else a VALU slot (multiply_add with the
  difference vector);
* BCAST: eight ALU slots when the ALU has room for all of them this cycle,
  else a VALU slot;
* CONST: the FLOW slot (add_imm on the zero word) when it is free, else LOAD;
* GATHER: one load slot per lane, lanes as their address lanes are ready;
* PERMUTE: ALU slots lane by lane, lane k's result into lane perm[k] (never in
  place: a later lane would read a word an earlier one overwrote).

VALU-only ops (multiply_add, and vbroadcast when it may not use the ALU) are
offered the VALU first, because the others can fall back to the ALU or FLOW.

Registers: a value without a fixed address gets pool words when its producer
first issues -- the words of a source whose last reader it is (in place), or
free ones -- and returns them when its last reader has fully issued.  Reads see
the start of the cycle and writes land at its end, so words freed in cycle t
may be written by an op issued in t.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from pymodel.isa import Engine, MachineParams
from pymodel.program import Slot

from .ir import Graph, Op, Unit, Value

NEVER = 1 << 60
STALL_LIMIT = 200  # cycles without any issue: the graph cannot be scheduled in this pool


_SINGLE_ENGINE = {Unit.FLOW: Engine.FLOW, Unit.LOAD: Engine.LOAD, Unit.ALU: Engine.ALU, Unit.STORE: Engine.STORE}


class ScheduleError(RuntimeError):
    """The register pool ran dry for good (names the cycle and the waiting ops)."""


@dataclass
class Pool:
    """Free scratch for values without a fixed address."""

    vectors: list[int]
    scalars: list[int] = field(default_factory=list)

    def take(self, width: int) -> int | None:
        free = self.vectors if width > 1 else self.scalars
        return free.pop() if free else None

    def give(self, width: int, addr: int) -> None:
        (self.vectors if width > 1 else self.scalars).append(addr)


@dataclass
class _OpState:
    waiting: int  # producers not yet fully issued
    lanes_left: int  # lanes still to issue (1 for a whole-vector or scalar slot)
    on_alu: bool = False  # a LANEWISE op that started lane by lane
    lane_done: list[bool] | None = None
    ready_since: int | None = None  # FLOW vselect: first cycle it could have issued
    split_at: int | None = None  # FLOW vselect run as sub + multiply_add: cycle of the sub


@dataclass
class ScheduleStats:
    cycles: int
    valu_lanewise: int = 0  # lanewise ops run on the VALU
    alu_lanewise: int = 0  # lanewise ops run on the ALU (in vectors)
    mux_flow: int = 0
    mux_valu: int = 0
    sel_split: int = 0  # FLOW vselects run as two VALU ops instead
    peak_vectors: int = 0  # most pool vectors in use at once
    const_flow: int = 0  # constants made by FLOW add_imm instead of a load
    bcast_alu: int = 0  # broadcasts run as eight ALU slots


class Scheduler:
    def __init__(
        self,
        graph: Graph,
        params: MachineParams,
        pool: Pool,
        reserve: int = 12,
        flow_only_first: bool = True,
        flow_patience: int | None = None,
        max_active: int | None = None,
    ) -> None:
        self.g = graph
        self.flow_patience = flow_patience
        self.max_active = max_active  # work items started and not finished, at most
        self._started_group: set[int] = set()
        self._active = 0
        self.reserve = reserve
        self.urgent: set[int] = {-1}
        self._flow_wanted = False
        n_groups = max((op.group for op in graph.ops), default=-1) + 1
        self._left_in_group = [0] * n_groups
        for op in graph.ops:
            if op.group >= 0:
                self._left_in_group[op.group] += 1
        self._oldest = 0
        self.flow_only_first = flow_only_first
        self.params = params
        self.vlen = params.vlen
        self.pool = pool
        self.pool_size = len(pool.vectors)
        n = len(graph.values)
        self.ready: list[list[int]] = [[NEVER] * v.width for v in graph.values]
        self.addr: list[int | None] = [v.addr for v in graph.values]
        self.reads_left: list[int] = [len({id(r) for r in v.readers}) for v in graph.values]
        self.donated = [False] * n  # its words passed to the value of its last reader (in place)
        self.state: list[_OpState] = []
        for op in graph.ops:
            producers = {id(s.base or s): (s.base or s).producer for s in op.srcs}
            waiting = sum(1 for p in producers.values() if p is not None) + len(op.after)
            lanes = self.vlen if op.unit is Unit.GATHER else 1
            self.state.append(_OpState(waiting, lanes))
        for v in graph.values:  # fixed-address values nobody writes (never the case today)
            if v.producer is None and v.base is None and v.addr is not None:
                self.ready[v.id] = [0] * v.width
        self.consumers: list[list[Op]] = [[] for _ in graph.ops]
        for op in graph.ops:
            seen: set[int] = set()
            for s in op.srcs:
                p = (s.base or s).producer
                if p is not None and p.id not in seen:
                    seen.add(p.id)
                    self.consumers[p.id].append(op)
            for p in op.after:
                self.consumers[p.id].append(op)
        self.stats = ScheduleStats(0)
        self.finish = [0] * len(graph.ops)  # cycle in which each op's last slot issued
        self.start = [-1] * len(graph.ops)  # cycle in which its first slot issued

    # -- readiness -------------------------------------------------------------

    def _lane_ready(self, v: Value, k: int) -> int:
        if v.base is not None:
            return self.ready[v.base.id][v.offset]
        return self.ready[v.id][k if v.width > 1 else 0]

    def _all_ready(self, v: Value) -> int:
        if v.base is not None:
            return self.ready[v.base.id][v.offset]
        return max(self.ready[v.id])

    def _op_ready(self, op: Op, srcs: Sequence[Value]) -> int:
        t = max((self._all_ready(s) for s in srcs), default=op.not_before)
        t = max(t, op.not_before)
        for p in op.after:
            t = max(t, self.finish[p.id] + 1)
        return t

    def _lane_op_ready(self, op: Op, k: int) -> int:
        t = max((self._lane_ready(s, k) for s in op.srcs), default=op.not_before)
        t = max(t, op.not_before)
        for p in op.after:
            t = max(t, self.finish[p.id] + 1)
        return t

    # -- registers -------------------------------------------------------------

    def _a(self, v: Value) -> int:
        if v.base is not None:
            return self._a(v.base) + v.offset
        a = self.addr[v.id]
        assert a is not None, v
        return a

    def _allocate(self, op: Op, donors: Sequence[Value] | None = None) -> bool:
        """Words for op's result; ``donors``: the sources whose words it may take over."""
        d = op.dst
        if d is None or d.addr is not None or self.addr[d.id] is not None:
            return True
        for s in op.srcs if donors is None else donors:  # in place: this op is the source's last reader
            if (
                s.base is None
                and s.addr is None
                and s.width == d.width
                and self.reads_left[s.id] == 1
                and not s.live_out
                and self.addr[s.id] is not None
                and not self.donated[s.id]
            ):
                self.addr[d.id] = self.addr[s.id]
                self.donated[s.id] = True
                return True
        if (
            d.width > 1
            and len(self.pool.vectors) <= self.reserve
            and op.group not in self.urgent
            and not self._frees_a_vector(op)
        ):
            return False  # the last registers: for the most urgent item and for ops that give one back
        a = self.pool.take(d.width)
        if a is None:
            return False
        self.addr[d.id] = a
        return True

    def _frees_a_vector(self, op: Op) -> bool:
        return any(
            s.base is None and s.addr is None and s.width > 1 and self.reads_left[s.id] == 1 and not s.live_out
            for s in op.srcs
        )

    def _release_sources(self, op: Op) -> None:
        seen: set[int] = set()
        for s in op.srcs:
            root = s.base or s
            if root.id in seen:
                continue
            seen.add(root.id)
            self.reads_left[root.id] -= 1
            if self.reads_left[root.id] == 0 and root.addr is None and not root.live_out:
                if not self.donated[root.id]:
                    a = self.addr[root.id]
                    assert a is not None
                    self.pool.give(root.width, a)

    def _finish(self, op: Op, released: list[Op]) -> None:
        self._release_sources(op)
        d = op.dst
        if d is not None and not d.readers and d.addr is None and not d.live_out:
            self.pool.give(d.width, self.addr[d.id])  # type: ignore[arg-type]  # dead value
        for c in self.consumers[op.id]:
            st = self.state[c.id]
            st.waiting -= 1
            if st.waiting == 0:
                released.append(c)

    # -- the loop --------------------------------------------------------------

    def run(self) -> list[list[Slot]]:
        released = [op for op in self.g.ops if self.state[op.id].waiting == 0]
        remaining = len(self.g.ops)
        bundles: list[list[Slot]] = []
        t = idle = 0
        while remaining:
            free = {e: self.params.slot_limit(e) for e in Engine}
            slots: list[Slot] = []
            done: list[Op] = []
            released.sort(key=lambda o: (o.prio, o.id))
            # The oldest unfinished work item may always take a register: it finishes
            # and frees them, so the pool cannot deadlock.
            while self._oldest < len(self._left_in_group) and not self._left_in_group[self._oldest]:
                self._oldest += 1
            self.urgent = {-1, self._oldest}
            # A ready FLOW-only op keeps the FLOW slot from the multiplexers.
            self._flow_wanted = self.flow_only_first and any(
                op.unit is Unit.FLOW and self._op_ready(op, op.srcs) <= t for op in released
            )
            # VALU-only ops first claim the VALU (the others have fallbacks).
            for op in released:
                if op.unit is Unit.VALU:
                    ready = free[Engine.VALU] and self._op_ready(op, op.srcs) <= t and self._admitted(op)
                    if ready and self._allocate(op):
                        free[Engine.VALU] -= 1
                        self._emit(op, t, slots, self._slot(op, Engine.VALU))
                        done.append(op)
                elif op.unit is Unit.JOIN:
                    when = max((self._all_ready(x) for x in op.srcs), default=t)
                    self.ready[op.dst.id] = [when] * op.dst.width  # type: ignore[union-attr]
                    done.append(op)
            first_pass = {op.id for op in done}
            for op in released:
                if op.id not in first_pass and op.unit is not Unit.VALU:
                    self._issue(op, self.state[op.id], t, free, slots, done)
            newly: list[Op] = []
            for op in done:
                self.finish[op.id] = t
                if op.group >= 0:
                    self._left_in_group[op.group] -= 1
                    if not self._left_in_group[op.group]:
                        self._active -= 1
                self._mark_written(op, t)
                self._finish(op, newly)
            if done:
                done_ids = {op.id for op in done}
                released = [op for op in released if op.id not in done_ids]
                remaining -= len(done)
                idle = 0
            elif not slots:
                idle += 1
                if idle > STALL_LIMIT:
                    waiting = ", ".join(repr(o) for o in released[:5])
                    raise ScheduleError(
                        f"cycle {t}: no op can issue for {STALL_LIMIT} cycles (register pool exhausted); "
                        f"waiting: {waiting}"
                    )
            released.extend(newly)
            self.stats.peak_vectors = max(self.stats.peak_vectors, self.pool_size - len(self.pool.vectors))
            bundles.append(slots)
            t += 1
        while bundles and not bundles[-1]:
            bundles.pop()
        self.stats.cycles = len(bundles)
        return bundles

    def _admitted(self, op: Op) -> bool:
        """A work item starts only while fewer than max_active others are under way
        (each holds registers from its first op to its last)."""
        if self.max_active is None or op.group < 0 or op.group in self._started_group:
            return True
        return self._active < self.max_active

    def _issue(self, op: Op, st: _OpState, t: int, free: dict[Engine, int], slots: list[Slot], done: list[Op]) -> None:
        """Place op (or some of its lanes) in cycle t if an engine it may use has room."""
        if not self._admitted(op):
            return
        u = op.unit
        if u is Unit.LANEWISE:
            if not st.on_alu and free[Engine.VALU] and self._op_ready(op, op.srcs) <= t:
                if self._allocate(op):
                    free[Engine.VALU] -= 1
                    self._emit(op, t, slots, self._slot(op, Engine.VALU))
                    self.stats.valu_lanewise += 1
                    done.append(op)
                return
            if free[Engine.ALU]:
                self._alu_lanes(op, st, t, free, slots, done)
        elif u is Unit.MUX:
            if self._op_ready(op, op.srcs[:3]) > t:
                return
            if free[Engine.FLOW] and not self._flow_wanted:
                if self._allocate(op):
                    free[Engine.FLOW] -= 1
                    self._emit(op, t, slots, self._slot(op, Engine.FLOW))
                    self.stats.mux_flow += 1
                    done.append(op)
            elif free[Engine.VALU] and self._op_ready(op, op.srcs) <= t and self._allocate(op):
                free[Engine.VALU] -= 1
                self._emit(op, t, slots, self._mux_madd(op))
                self.stats.mux_valu += 1
                done.append(op)
        elif u is Unit.PERMUTE:
            if free[Engine.ALU]:
                self._alu_lanes(op, st, t, free, slots, done)
        elif u is Unit.GATHER:
            if free[Engine.LOAD]:
                self._gather_lanes(op, st, t, free, slots, done)
        elif u is Unit.FLOW and op.name == "vselect":
            self._vselect(op, st, t, free, slots, done)
        elif u is Unit.BCAST:
            # ALU first when the whole vector fits in this cycle's free ALU slots: the
            # VALU is the scarcer engine (multiply_add runs nowhere else)
            if not st.on_alu and self._op_ready(op, op.srcs) <= t and free[Engine.VALU] and free[Engine.ALU] < self.vlen:
                if self._allocate(op):
                    free[Engine.VALU] -= 1
                    self._emit(op, t, slots, self._slot(op, Engine.VALU))
                    done.append(op)
                return
            if free[Engine.ALU]:
                self._alu_lanes(op, st, t, free, slots, done)
        elif u is Unit.CONST:
            zero = op.zero
            assert zero is not None and op.dst is not None
            if op.not_before > t:
                return
            on_flow = free[Engine.FLOW] and not self._flow_wanted and self._all_ready(zero) <= t
            engine = Engine.FLOW if on_flow else Engine.LOAD
            if free[engine] and self._allocate(op):
                free[engine] -= 1
                if on_flow:
                    slot = Slot(Engine.FLOW, "add_imm", (self._a(op.dst), self._a(zero), op.imm))
                    self.stats.const_flow += 1
                else:
                    slot = Slot(Engine.LOAD, "const", (self._a(op.dst), op.imm))
                self._emit(op, t, slots, slot)
                done.append(op)
        elif u is Unit.DEBUG:
            if free[Engine.DEBUG] and self._op_ready(op, op.srcs) <= t:
                free[Engine.DEBUG] -= 1
                self._emit(op, t, slots, Slot(Engine.DEBUG, op.name, (self._a(op.srcs[0]), op.key)))
                done.append(op)
        else:
            engine = _SINGLE_ENGINE[u]
            if free[engine] and self._op_ready(op, op.srcs) <= t and self._allocate(op):
                free[engine] -= 1
                self._emit(op, t, slots, self._slot(op, engine))
                done.append(op)

    def _emit(self, op: Op, t: int, slots: list[Slot], slot: Slot) -> None:
        if self.start[op.id] < 0:
            self.start[op.id] = t
            if op.group >= 0 and op.group not in self._started_group:
                self._started_group.add(op.group)
                self._active += 1
        slots.append(slot)

    def _mark_written(self, op: Op, t: int) -> None:
        d = op.dst
        if d is None:
            return
        lane_by_lane = op.unit in (Unit.GATHER, Unit.LANEWISE, Unit.BCAST, Unit.PERMUTE) and self.state[op.id].lane_done is not None
        if op.unit is Unit.JOIN or lane_by_lane:
            return  # marked already
        self.ready[d.id] = [t + 1] * d.width

    def _alu_lanes(self, op: Op, st: _OpState, t: int, free: dict, slots: list[Slot], done: list[Op]) -> None:
        if st.lane_done is None:
            if not self._allocate(op, () if op.unit is Unit.PERMUTE else None):
                return
            st.lane_done = [False] * self.vlen
            st.lanes_left = self.vlen
            st.on_alu = True
        perm = op.perm or tuple(range(self.vlen))
        d = self._a(op.dst)  # type: ignore[arg-type]
        if op.unit is Unit.BCAST:  # lane k = S[s] | S[s]
            s = self._a(op.srcs[0])
            name, lane_args = "|", (lambda k: (d + k, s, s))
        else:
            a, b = (self._a(x) for x in op.srcs)
            name, lane_args = op.name, (lambda k: (d + perm[k], a + k, b + k))
        for k in range(self.vlen):
            if not free[Engine.ALU]:
                break
            if st.lane_done[k] or self._lane_op_ready(op, k) > t:
                continue
            free[Engine.ALU] -= 1
            self._emit(op, t, slots, Slot(Engine.ALU, name, lane_args(k)))
            st.lane_done[k] = True
            st.lanes_left -= 1
            self.ready[op.dst.id][perm[k]] = t + 1  # type: ignore[union-attr]
        if st.lanes_left == 0:
            if op.unit is Unit.BCAST:
                self.stats.bcast_alu += 1
            else:
                self.stats.alu_lanewise += 1
            done.append(op)

    def _gather_lanes(self, op: Op, st: _OpState, t: int, free: dict, slots: list[Slot], done: list[Op]) -> None:
        if st.lane_done is None:
            if not self._allocate(op):
                return
            st.lane_done = [False] * self.vlen
        d, a = self._a(op.dst), self._a(op.srcs[0])  # type: ignore[arg-type]
        for k in range(self.vlen):
            if not free[Engine.LOAD]:
                break
            if st.lane_done[k] or self._lane_op_ready(op, k) > t:
                continue
            free[Engine.LOAD] -= 1
            self._emit(op, t, slots, Slot(Engine.LOAD, "load_offset", (d, a, k)))
            st.lane_done[k] = True
            st.lanes_left -= 1
            self.ready[op.dst.id][k] = t + 1  # type: ignore[union-attr]
        if st.lanes_left == 0:
            done.append(op)

    def _vselect(self, op: Op, st: _OpState, t: int, free: dict, slots: list[Slot], done: list[Op]) -> None:
        """vselect(c, hi, lo) on FLOW; after ``flow_patience`` cycles without the slot,
        as hi - lo (VALU) then c * (hi - lo) + lo (VALU, in place): c is 0 or 1."""
        c, hi, lo = op.srcs
        if st.split_at is not None:  # second half of the split form
            if free[Engine.VALU] and st.split_at < t and self._op_ready(op, op.srcs) <= t:
                free[Engine.VALU] -= 1
                d = self._a(op.dst)  # type: ignore[arg-type]
                self._emit(op, t, slots, Slot(Engine.VALU, "multiply_add", (d, self._a(c), d, self._a(lo))))
                self.stats.sel_split += 1
                done.append(op)
            return
        if self._op_ready(op, op.srcs) > t:
            return
        if free[Engine.FLOW]:
            if self._allocate(op):
                free[Engine.FLOW] -= 1
                self._emit(op, t, slots, self._slot(op, Engine.FLOW))
                done.append(op)
            return
        if st.ready_since is None:
            st.ready_since = t
        patience = self.flow_patience
        # the sub's result must not overwrite c or lo, which the multiply_add reads next
        if patience is not None and t - st.ready_since >= patience and free[Engine.VALU] and self._allocate(op, (hi,)):
            free[Engine.VALU] -= 1
            d = self._a(op.dst)  # type: ignore[arg-type]
            self._emit(op, t, slots, Slot(Engine.VALU, "-", (d, self._a(hi), self._a(lo))))
            st.split_at = t

    def _mux_madd(self, op: Op) -> Slot:
        c, _hi, lo, diff = op.srcs
        d = self._a(op.dst)  # type: ignore[arg-type]
        return Slot(Engine.VALU, "multiply_add", (d, self._a(c), self._a(diff), self._a(lo)))

    def _slot(self, op: Op, engine: Engine) -> Slot:
        args: list[int] = []
        if op.dst is not None:
            args.append(self._a(op.dst))
        srcs = op.srcs[:3] if op.unit is Unit.MUX else op.srcs
        args.extend(self._a(s) for s in srcs)
        if op.imm is not None:
            args.append(op.imm)
        return Slot(engine, op.name, tuple(args))


def schedule(
    graph: Graph,
    params: MachineParams,
    pool: Pool,
    reserve: int = 12,
    flow_only_first: bool = True,
    flow_patience: int | None = None,
    max_active: int | None = None,
) -> tuple[list[list[Slot]], ScheduleStats]:
    s = Scheduler(graph, params, pool, reserve, flow_only_first, flow_patience, max_active)
    bundles = s.run()
    return bundles, s.stats
