"""The optimized tree hash, written on the dataflow compiler (``kernels.compiler``).

This module is only about the tree hash: which depths use multiplexers, memory
tables or gathers, how the hash is fused, the index arithmetic.  Scheduling,
engine choice and register allocation are the compiler's.

Facts it relies on (MACHINE-SPEC.md, "The benchmark kernel"): every index
starts at 0 and the header is as specified, so in round r every item is at
depth r mod (H+1) and the wrap to the root after depth H is static; only the
values region must be right at the end, so the rest of memory (header, the
top of the tree once loaded, the indices region) is free to overwrite.

Per item and round (VLEN items per vector, SSA values):

* hash, 9 ops + 1: stages 0 and 4 are one multiply_add each; stages 2 and 3
  together are two multiply_adds and a xor (stage 3's operands a3 + C3 and
  a3 << 9 are both affine in stage 2's input); stage 1 is a shift and two
  xors; stage 5 is u = a5 ^ (a5 >> 16), the value *without* its constant C5.
* C5 is folded into the next node: x' = u ^ (node ^ C5).  Multiplexer tables
  and the memory tables below hold node ^ C5; nodes gathered from the
  original tree need one more xor.  The branch bit is c = u & 1, the real bit
  flipped when C5 is odd; tables and index arithmetic use c as it is.
* depths 1 .. td-1 (td = ``select_depth``): the node comes from a
  multiplexer tree over the path bits (newest bit at the root); the muxes on
  the oldest bit pick between two constants and run on FLOW or VALU, the
  others are vselects.
* depth td: multiplexers, or a gather from a table of node ^ C5 stored at
  memory address 0, indexed by P = Horner(c_0 .. c_{td-1}) -- no offset to
  add, so the address costs td-1 multiply_adds.
* deeper: addr = base_d + (path within level d); the first from P, then
  addr' = (2*addr + k) -/+ c.  Levels td+1 .. are copied pre-xored into the
  indices region at start-up when it has room (base_d = the copy).
* the last round computes the real value (a5 ^ C5) ^ (a5 >> 16) and stores it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from pymodel.benchmark import FOREST_P, HASH_STAGES, Shape
from pymodel.isa import WORD_MASK, MachineParams

from ..compiler import Kernel
from ..compiler.ir import Op, Value

# (op1, op2, op3) of the six hash stages, as the fusions below assume them
EXPECTED_STAGES = (
    ("+", "+", "<<"),
    ("^", "^", ">>"),
    ("+", "+", "<<"),
    ("+", "^", "<<"),
    ("+", "+", "<<"),
    ("^", "^", ">>"),
)


class PlanError(ValueError):
    """The shape cannot be planned this way (e.g. scratch too small)."""


@dataclass(frozen=True)
class PlanConfig:
    select_depth: int = 4  # td: muxes above it; muxes or the memory table at it (capped at H)
    # (vector, pass) pairs that read depth td from the memory table (pass = round // (H+1));
    # None: every pass-0 descent does, later passes use muxes.
    table_users: tuple[tuple[int, int], ...] | None = None
    copy_levels: int = 3  # levels td+1 .. td+copy_levels copied pre-xored (room permitting)
    # (vector, pass, depth) with 2 <= depth < td that gather from a memory table instead of
    # multiplexing (uses idle load slots at the start of the run)
    shallow_users: tuple[tuple[int, int, int], ...] = ()
    # (vector, pass) table users that gather both candidates of depth td before the newest
    # bit is known (16 loads, then a vselect): the gather leaves the critical path (last rounds)
    spec_users: tuple[tuple[int, int], ...] = ()
    # the copies of levels td+3 and deeper start no earlier than this cycle (the load engine
    # idles while the first vectors hash the rounds before their first gather)
    late_copy_at: int = 0
    # heap layout: depth d >= td read at memory 2^d + P_d (P_d = Horner(c_0..c_{d-1})), the
    # copied levels pre-xored there, so A_{d+1} = 2 A_d + c_d is one multiply_add a level and
    # no C5 xor (False: copies in the indices region, two address ops a level)
    heap: bool = True
    # vectors whose multiplexed rounds from round ``fast_from`` on xor u into both halves of
    # the tree before the root mux: x' = mux(c, u ^ hi, u ^ lo), one op more, one cycle less
    # of latency a round (for the vectors that finish last)
    fast_vectors: tuple[int, ...] = ()
    fast_from: int = 11
    # vectors whose multiplexed rounds of the first descent are short-latency too: the
    # first to reach depth td starts the gather stream, and the run cannot end before
    # that stream (docs/kernels.md, "The floor of this op mix")
    fast_first: tuple[int, ...] = ()
    # priority bias (cycles) of the start: the root's load and the first vectors' value loads
    # and address words go ahead of the constants, so the first hash starts sooner
    early_bias: float = 0.0
    copy_bias: float = 1000.0  # the same for the address words of the copies
    early_vectors: int = 2
    keep_diff: bool = True  # hi - lo vectors so bottom muxes may run on the VALU
    pool_words: int | None = None  # register pool size (default: all free scratch)
    # bottom muxes wait for the start of the hash that makes the tree's newest bit
    # (False: they may run as soon as the oldest bit is known, rounds ahead)
    mux_wait: bool = True
    flow_consts: bool = True  # constants may also be made by FLOW add_imm (kernels.compiler.Kernel)
    alu_broadcasts: bool = True  # broadcasts may also run as eight ALU slots


@dataclass
class Plan:
    kernel: Kernel  # the whole graph, ready for ``Kernel.compile``

    @property
    def graph(self) -> Kernel:
        return self.kernel


def _mul(s: int) -> int:
    return (1 + (1 << s)) & WORD_MASK


def _all_bits(n: int) -> list[tuple[int, ...]]:
    return [tuple((r >> (n - 1 - i)) & 1 for i in range(n)) for r in range(1 << n)]


@dataclass
class _Descent:
    """One vector's walk from the root: path bits, Horner prefixes, node address."""

    bits: list[Value] = field(default_factory=list)  # c_0, c_1, ... (u & 1 of each round)
    prefix: list[Value] = field(default_factory=list)  # P_1, P_2, ... (Horner over the bits)
    addr: Value | None = None  # forest address of the node, once gathering
    heap: list[Value] = field(default_factory=list)  # A_1, A_2, ...: A_d = 2^d + P_d


@dataclass
class _Level:
    """Where the nodes of one gathered depth are read from."""

    base: int  # memory address of the level's first node
    xored: bool  # holds node ^ C5 (a copy), or the raw nodes (the tree)
    stores: list[Op] = field(default_factory=list)  # the copy's stores (gathers follow them)
    heap: bool = False  # at 2^d + P_d (the heap layout), reached by the A chain


class TreeHashPlan:
    def __init__(self, shape: Shape, params: MachineParams, cfg: PlanConfig, debug: bool = False) -> None:
        self.shape, self.params, self.cfg = shape, params, cfg
        self.debug = debug  # debug compares of stage 4 each round and of the result
        self.vlen = params.vlen
        stages = tuple((op1, op2, op3) for op1, _c, op2, op3, _s in HASH_STAGES)
        if stages != EXPECTED_STAGES:
            raise PlanError("the hash stages are not of the form this plan fuses")
        self.C = [c for _o1, c, _o2, _o3, _s in HASH_STAGES]
        self.S = [s for _o1, _c, _o2, _o3, s in HASH_STAGES]
        self.inv = self.C[5] & 1  # c = u & 1 is the branch bit xor this
        self.g = Kernel(params, flow_consts=cfg.flow_consts, alu_broadcasts=cfg.alu_broadcasts)
        self.alloc = self.g.alloc
        self.levels = shape.height + 1
        self.td = min(cfg.select_depth, shape.height)
        if cfg.table_users is None:
            self.table_users = {(j, 0) for j in range(-(-shape.batch // self.vlen))}
        else:
            self.table_users = set(cfg.table_users)
        self.shallow_users = set(cfg.shallow_users)
        self.leaves: dict[int, dict[tuple[int, ...], Value]] = {}
        self.diffs: dict[int, dict[tuple[int, ...], Value]] = {}
        self.xored: dict[int, Value] = {}  # node index -> scalar node ^ C5
        self.raw_loads: list[tuple[int, int, Op]] = []  # [lo, hi) of memory read at start-up, by op

    # -- start-up ------------------------------------------------------------

    def _node_scalars(self) -> None:
        """Nodes 0 .. 2^(td+1)-2 as fixed scalars (vload where memory allows)."""
        s, g, vlen = self.shape, self.g, self.vlen
        count = min(s.n_nodes, (1 << (self.td + 1)) - 1)
        base = self.alloc.alloc("node[0:]", -(-count // vlen) * vlen)
        self.nodes: list[Value] = []
        self.node_loads: list[Op] = []
        for first in range(0, count, vlen):
            if FOREST_P + first + vlen <= s.mem_len:
                g.bias = self.cfg.early_bias if first == 0 else 0.0  # the root: the first xor needs it
                vec = g.vload(self.g.const(FOREST_P + first), f"node[{first}:]", base + first)
                g.bias = 0.0
                self.node_loads.append(vec.producer)  # type: ignore[arg-type]
                self.raw_loads.append((FOREST_P + first, FOREST_P + first + vlen, vec.producer))
                self.nodes.extend(g.lane(vec, k, f"node[{first + k}]") for k in range(min(vlen, count - first)))
            else:
                for i in range(first, count):
                    v = g.load(self.g.const(FOREST_P + i), f"node[{i}]", base + i)
                    self.node_loads.append(v.producer)  # type: ignore[arg-type]
                    self.raw_loads.append((FOREST_P + i, FOREST_P + i + 1, v.producer))
                    self.nodes.append(v)

    def _node_c5(self, i: int, addr: int | None = None) -> Value:
        if i not in self.xored or addr is not None:
            name = f"node[{i}]^C5" + ("" if addr is None else f"@{addr}")
            where = addr if addr is not None else self.alloc.alloc(name, 1)
            v = self.g.alu("^", self.nodes[i], self.g.const(self.C[5]), name, where)
            if addr is not None:
                return v
            self.xored[i] = v
        return self.xored[i]

    def _node_index(self, d: int, cbits: tuple[int, ...]) -> int:
        r = 0
        for c in cbits:
            r = 2 * r + (c ^ self.inv)
        return (1 << d) - 1 + r

    def _depth_tables(self, d: int) -> None:
        """Multiplexer leaf vectors and bottom differences of depth d, made on first use."""
        g = self.g
        if d in self.leaves:
            return
        group, g.group = g.group, -1  # start-up work, even when made on first use
        leaves: dict[tuple[int, ...], Value] = {}
        diffs: dict[tuple[int, ...], Value] = {}
        for cbits in _all_bits(d):  # c_0 .. c_{d-1}
            idx = self._node_index(d, cbits)
            leaves[cbits] = g.broadcast_fixed(self._node_c5(idx), f"T{d}[{idx}]")
        if self.cfg.keep_diff:
            for upper in _all_bits(d - 1):
                i_hi, i_lo = (self._node_index(d, b) for b in ((1, *upper), (0, *upper)))
                name = f"D{d}[{''.join(map(str, upper))}]"
                sc = g.alu("-", self._node_c5(i_hi), self._node_c5(i_lo), name, self.alloc.alloc(name, 1))
                diffs[upper] = g.broadcast_fixed(sc, "v" + name)
        self.leaves[d], self.diffs[d] = leaves, diffs
        g.group = group

    def _memory_table(self, depths: list[int], heap: bool = False) -> list[Op]:
        """node ^ C5 of depth td at memory P = Horner(c_0..c_{td-1}), then of each
        shallower depth in ``depths`` at its own base (``table_base``); returns the stores.

        The tables overwrite the header and the top of the tree, which were read
        into scratch first (the stores follow those loads)."""
        g, vlen = self.g, self.vlen
        layout = [(d, 0 if d == self.td else None) for d in depths]
        words_used = 0
        for i, (d, _b) in enumerate(layout):
            layout[i] = (d, words_used)
            words_used += 1 << d
        words = -(-words_used // vlen) * vlen
        base = self.alloc.alloc("tables", words)
        lanes = []
        for d, first in layout:
            self.table_base[d] = first
            for p in range(1 << d):
                cbits = tuple((p >> (d - 1 - i)) & 1 for i in range(d))
                lanes.append(self._node_c5(self._node_index(d, cbits), base + first + p))
        stores = []
        self.heap_table = [] if heap else None
        for first in range(0, words_used, vlen):
            vec = g.join(lanes[first : first + vlen], base + first, f"tables[{first}:]")
            stores.append(g.vstore(g.const(first), vec, after=self._overwrites(first, first + vlen)))
            if heap:  # the same words again at 2^td + P (the heap layout)
                at = (1 << self.td) + first
                self.heap_table.append(g.vstore(g.const(at), vec, after=self._overwrites(at, at + vlen)))
        return stores

    def _copies(self) -> dict[int, _Level]:
        """Levels to gather from: pre-xored copies in the indices region where they fit."""
        s, g, vlen = self.shape, self.g, self.vlen
        out: dict[int, _Level] = {}
        free, end = s.indices_p, s.indices_p + s.batch
        for d in range(self.td + 1, s.height + 1):
            first = FOREST_P + (1 << d) - 1
            size = 1 << d
            words = -(-size // vlen) * vlen
            copy = d <= self.td + self.cfg.copy_levels and free + words <= end and first + words <= s.mem_len
            if not copy:
                out[d] = _Level(first, False)
                continue
            level = _Level(free, True)
            g.not_before = self.cfg.late_copy_at if d >= self.td + 3 else 0
            c5, step = g.vconst(self.C[5]), g.const(vlen)
            src, dst = g.const(first), g.const(free)
            for off in range(0, words, vlen):
                if off:  # addresses by ALU adds: const would take load slots
                    src = g.alu("+", src, step, f"&L{d}[{off}]", self.alloc.alloc(f"&L{d}[{off}]", 1))
                    dst = g.alu("+", dst, step, f"&L{d}copy[{off}]", self.alloc.alloc(f"&L{d}copy[{off}]", 1))
                raw = g.vload(src, f"L{d}[{off}:]")
                x = g.binop("^", raw, c5, f"L{d}^C5[{off}:]")
                level.stores.append(g.vstore(dst, x))
            g.not_before = 0
            out[d] = level
            free += words
        return out

    def _heap_ok(self) -> bool:
        s = self.shape
        return self.cfg.heap and (1 << self.td) % self.vlen == 0 and self.td < s.height and s.rounds > self.td + 2

    def _overwrites(self, lo: int, hi: int) -> list[Op]:
        """Start-up loads of memory [lo, hi): a store there must follow them."""
        return [op for a, b, op in self.raw_loads if a < hi and lo < b]

    def _heap(self) -> tuple[list[Op], dict[int, _Level]]:
        """The heap layout (low memory, over the header and the top of the tree):
        node ^ C5 of depth d at 2^d + P_d for depth td (a table, for descents that go
        deeper) and the copied levels below it; P_d orders a level by its path bits
        c_0 .. c_{d-1} (u-form), so a level is the raw level reversed (C5 odd) or as is.
        Returns levels td+1 .. H (``_memory_table`` stores the depth-td table).

        A copy is vload, xor with C5 as eight ALU slots writing the lanes in heap
        order (``Kernel.permute``), vstore -- the same cost as a plain copy."""
        s, g, vlen = self.shape, self.g, self.vlen
        deepest = min(self.td + self.cfg.copy_levels, s.height)
        levels: dict[int, _Level] = {}
        loads: list[tuple[int, Value]] = []
        for d in range(self.td + 1, deepest + 1):
            if (1 << d) % vlen:
                break
            g.not_before = self.cfg.late_copy_at if d >= self.td + 3 else 0
            level = _Level(1 << d, True, heap=True)
            firsts = list(range(0, 1 << d, vlen))
            blocks = []
            for first in firsts:
                raw = [FOREST_P + self._node_index(d, tuple((p >> (d - 1 - i)) & 1 for i in range(d)))
                       for p in range(first, first + vlen)]  # fmt: skip
                lo = min(raw)
                if max(raw) - lo != vlen - 1:
                    raise PlanError(f"level {d}: a heap block is not one contiguous raw block")
                blocks.append((lo, [raw.index(lo + k) for k in range(vlen)]))
            srcs = self._addresses([lo for lo, _p in blocks], f"L{d}")
            for first, (lo, perm), src in zip(firsts, blocks, srcs):
                vec = g.vload(src, f"L{d}[{lo - FOREST_P}:]")
                self.raw_loads.append((lo, lo + vlen, vec.producer))  # type: ignore[arg-type]
                loads.append((first, g.permute("^", vec, g.vconst(self.C[5]), perm, f"H{d}[{first}:]")))
            g.not_before = 0
            dsts = self._addresses([(1 << d) + first for first in firsts], f"H{d}")
            for (first, x), dst in zip(loads, dsts):
                addr = (1 << d) + first
                level.stores.append(g.vstore(dst, x, after=self._overwrites(addr, addr + vlen)))
            loads.clear()
            levels[d] = level
        for d in range(self.td + 1, s.height + 1):
            levels.setdefault(d, _Level(FOREST_P + (1 << d) - 1, False))
        return levels

    def _addresses(self, addrs: list[int], tag: str) -> list[Value]:
        """Scalar words holding ``addrs`` (a run with a constant step): one constant, then
        ALU adds, word i from word i - 2^k (2^k the largest power of two <= i), so the
        chain is log-deep (constants would take load or FLOW slots)."""
        g = self.g
        bias, g.bias = g.bias, self.cfg.copy_bias  # cheap scalars: made while the ALU idles at the start
        out = [g.const(addrs[0])] if addrs else []
        for i in range(1, len(addrs)):
            k = 1 << (i.bit_length() - 1)
            step = addrs[i] - addrs[i - k]
            name = f"&{tag}[{i}]"
            out.append(g.alu("+" if step > 0 else "-", out[i - k], g.const(abs(step)), name, self.alloc.alloc(name, 1)))
        g.bias = bias
        return out

    def _heap_shallow(self, depths: list[int]) -> None:
        """node ^ C5 of the shallow ``depths`` at 2^d + P (heap layout, inside the room
        of the depth-td table at 0, which is stored after the shallow reads)."""
        g, vlen = self.g, self.vlen
        if not depths or not self.table_stores:
            return
        words = 1 << self.td
        where: dict[int, int] = {}  # memory word -> node index
        for d in depths:
            for p in range(1 << d):
                where[(1 << d) + p] = self._node_index(d, tuple((p >> (d - 1 - i)) & 1 for i in range(d)))
        base = self.alloc.alloc("heap shallow", words)
        stores = []
        for first in range(0, words, vlen):
            if not any(first <= w < first + vlen for w in where):
                continue
            lanes = [self._node_c5(where.get(w, 0), base + w) for w in range(first, first + vlen)]
            vec = g.join(lanes, base + first, f"heap[{first}:]")
            stores.append(g.vstore(g.const(first), vec, after=self._overwrites(first, first + vlen)))
        for d in depths:
            self.heap_shallow[d] = stores

    def _heap_addr(self, bits: list[Value], walk: "_Descent", tag: str) -> Value:
        """A_n = 2^n + P_n for n = len(bits): A_1 = c_0 + 2, A_{i+1} = 2 A_i + c_i."""
        g, v = self.g, self.g.vconst
        return self._doubling_chain(bits, walk.heap, lambda: g.binop("+", bits[0], v(2), f"{tag}A1"), f"{tag}A")

    def _doubling_chain(self, bits: list[Value], chain: list[Value], first: Callable[[], Value], name: str) -> Value:
        """chain[i] = 2 chain[i-1] + bits[i] (one multiply_add each), chain[0] = first(); ``chain``
        caches the prefixes of one descent, so later depths extend it."""
        g, v = self.g, self.g.vconst
        if not chain:
            chain.append(first())
        while len(chain) < len(bits):
            i = len(chain)
            chain.append(g.madd(chain[-1], v(2), bits[i], f"{name}{i + 1}"))
        return chain[len(bits) - 1]

    def _from_heap(self, d: int, level: _Level, a: Value, c: Value, tag: str) -> Value:
        """Raw address at depth d from A_{d-1} (heap position of the parent) and its bit c."""
        g, v = self.g, self.g.vconst
        if self.inv:  # pos_{d-1} = 2^d - 1 - A, b = 1 - c: base + 2 pos + b
            w = g.madd(a, v(-2), v(level.base + (1 << (d + 1)) - 1), f"{tag}W{d}")
            return g.binop("-", w, c, f"{tag}addr{d}")
        w = g.madd(a, v(2), v(level.base - (1 << d)), f"{tag}W{d}")  # pos = A - 2^(d-1), b = c
        return g.binop("+", w, c, f"{tag}addr{d}")

    # -- per vector ------------------------------------------------------------

    def _hash(self, x: Value, tag: str) -> tuple[Value, Value]:
        """(a5, a5 >> 16) for input x: stages 0..4 and the shift of stage 5 (a1's op: self.round_start)."""
        g, v, C, S = self.g, self.g.vconst, self.C, self.S
        a1 = g.madd(x, v(_mul(S[0])), v(C[0]), f"{tag}a1")
        self.round_start = a1.producer
        sh = g.binop(">>", a1, v(S[1]), f"{tag}s1")
        xc = g.binop("^", a1, v(C[1]), f"{tag}x1")
        a2 = g.binop("^", xc, sh, f"{tag}a2")
        p = g.madd(a2, v(_mul(S[2])), v(C[2] + C[3]), f"{tag}p")
        q = g.madd(a2, v((_mul(S[2]) << S[3]) & WORD_MASK), v((C[2] << S[3]) & WORD_MASK), f"{tag}q")
        a4 = g.binop("^", p, q, f"{tag}a4")
        a5 = g.madd(a4, v(_mul(S[4])), v(C[4]), f"{tag}a5")
        h = g.binop(">>", a5, v(S[5]), f"{tag}h")
        return a5, h

    def _select(self, d: int, bits: list[Value], tag: str, not_before: Op | None = None, u: Value | None = None) -> Value:
        """Node ^ C5 at depth d for path bits c_0..c_{d-1} (u-form), by multiplexers.

        ``not_before``: the bottom muxes wait for it (the start of the hash that
        makes the newest bit), so a tree is not built rounds ahead holding registers.
        ``u``: return x' = u ^ node instead, as mux(c, u ^ hi, u ^ lo) (shorter latency)."""
        g = self.g
        self._depth_tables(d)
        after = (not_before,) if not_before is not None and self.cfg.mux_wait else ()

        def tree(j: int, upper: tuple[int, ...]) -> Value:
            # bits c_j .. c_{d-1} fixed to ``upper``; split on c_{j-1}
            name = f"{tag}m{d}.{''.join(map(str, upper))}"
            if j == 1:
                hi, lo = self.leaves[d][(1, *upper)], self.leaves[d][(0, *upper)]
                return g.mux(bits[0], hi, lo, self.diffs[d].get(upper), name, after)
            return g.mux(bits[j - 1], tree(j - 1, (1, *upper)), tree(j - 1, (0, *upper)), None, name)

        if u is None:
            return tree(d, ())
        if d == 1:
            hi, lo = self.leaves[d][(1,)], self.leaves[d][(0,)]
        else:
            hi, lo = tree(d - 1, (1,)), tree(d - 1, (0,))
        xh, xl = g.binop("^", u, hi, f"{tag}xh"), g.binop("^", u, lo, f"{tag}xl")
        return g.mux(bits[d - 1], xh, xl, None, f"{tag}xm")

    def _horner(self, bits: list[Value], prefix: list[Value], tag: str) -> Value:
        """P = sum c_i 2^(n-1-i); ``prefix`` caches P_1, P_2, ... of this descent."""
        return self._doubling_chain(bits, prefix, lambda: bits[0], f"{tag}P")

    def _first_address(self, d: int, level: _Level, p: Value, c: Value, tag: str) -> Value:
        """base_d + path at depth d from P over the first d-1 bits and the newest bit c."""
        g, v = self.g, self.g.vconst
        # path = 2 r + b, r = (2^(d-1) - 1) - P (inverted bits) or P; b = 1 - c or c
        if self.inv:
            w = g.madd(p, v(-2), v(level.base + (1 << d) - 1), f"{tag}W{d}")
            return g.binop("-", w, c, f"{tag}addr{d}")
        w = g.madd(p, v(2), v(level.base), f"{tag}W{d}")
        return g.binop("+", w, c, f"{tag}addr{d}")

    def _next_address(self, addr: Value, prev: _Level, level: _Level, c: Value, d: int, tag: str) -> Value:
        g, v = self.g, self.g.vconst
        # path' = 2 path + b: addr' = 2 addr + (base' - 2 base) + b, b = 1 - c or c
        k = level.base - 2 * prev.base + (1 if self.inv else 0)
        w = g.madd(addr, v(2), v(k), f"{tag}W{d}")
        return g.binop("-" if self.inv else "+", w, c, f"{tag}addr{d}")

    def _vector(self, j: int, lanes: int, addr_word: Value | None) -> None:
        """Every round of vector j (items 8j ..): load, hash and walk, store."""
        g, s, v = self.g, self.shape, self.g.vconst
        g.group, g.round = j, 0
        tag = f"v{j}."
        if addr_word is not None:
            bias, g.bias = g.bias, (self.cfg.early_bias if j < self.cfg.early_vectors else 0.0)
            val = g.vload(addr_word, f"{tag}in")
            g.bias = bias
        else:  # a tail shorter than VLEN: vload would read past the end of memory
            base = self.alloc.alloc(f"tail_in[{j}]", self.vlen)
            first = s.values_p + j * self.vlen
            words = [g.load(self.g.const(first + i), f"{tag}in[{i}]", base + i) for i in range(lanes)]
            val = g.join(words, base, f"{tag}in")
        x = g.binop("^", val, self.root, f"{tag}x0")
        walk = _Descent()
        for r in range(s.rounds):
            g.round = r
            rt = f"{tag}r{r}."
            a5, h = self._hash(x, rt)
            if self.debug:
                self._compare(a5, j, lanes, lambda i, r=r: (r, i, "hash_stage", 4))
            if r == s.rounds - 1:
                t5 = g.binop("^", a5, v(self.C[5]), f"{rt}t5")
                out = g.binop("^", t5, h, f"{rt}out")
                if self.debug:
                    self._compare(out, j, lanes, lambda i, r=r: (r, i, "hashed_val"))
                self._store(j, lanes, addr_word, out)
                return
            u = g.binop("^", a5, h, f"{rt}u")
            nd = (r + 1) % self.levels
            if nd == 0:  # after the leaves: back to the root
                x = g.binop("^", u, self.root_c5, f"{tag}x{r + 1}")
                walk = _Descent()
                continue
            walk.bits.append(g.binop("&", u, v(1), f"{rt}c"))
            fast = (j in self.cfg.fast_vectors and r >= self.cfg.fast_from) or (
                j in self.cfg.fast_first and r < self.levels
            )
            node, u = self._next_node(j, (r + 1) // self.levels, nd, u, walk, rt, fast)
            x = node if u is None else g.binop("^", u, node, f"{tag}x{r + 1}")

    def _next_node(
        self, j: int, npass: int, d: int, u: Value, walk: "_Descent", rt: str, fast: bool = False
    ) -> tuple[Value, Value | None]:
        """(node ^ C5 at depth d, u) -- or (raw node, u ^ C5) when gathered from the tree;
        (x', None) for a ``fast`` multiplexed round (``_select`` with u)."""
        g, v, bits = self.g, self.g.vconst, walk.bits
        from_table = bool(self.table_stores) and (j, npass) in self.table_users
        deeper = npass * self.levels + self.td + 2 <= self.shape.rounds  # the descent passes td
        if d < self.td and d in self.heap_shallow and (j, npass, d) in self.shallow_users and deeper:
            # heap layout: A_d is on this descent's way anyway, so the read costs no op
            node = g.gather(self._heap_addr(bits, walk, rt), f"{rt}node", after=self.heap_shallow[d])
            self.shallow_gathers.append(node.producer)  # type: ignore[arg-type]
            return node, u
        if d < self.td and d in self.table_base and (j, npass, d) in self.shallow_users:
            # P plus the table's base: one add more than depth td's table
            where = g.binop("+", self._horner(bits, walk.prefix, rt), v(self.table_base[d]), f"{rt}T{d}addr")
            return g.gather(where, f"{rt}node", after=self.table_stores), u
        if d < self.td or (d == self.td and not from_table):
            if fast:
                return self._select(d, bits, rt, self.round_start, u), None
            return self._select(d, bits, rt, self.round_start), u
        if d == self.td and (j, npass) in self.cfg.spec_users and d >= 2:
            half = g.binop("+", *(2 * [self._horner(bits[:-1], walk.prefix, rt)]), f"{rt}T0addr")
            lo = g.gather(half, f"{rt}node0", after=self.table_stores)
            hi = g.gather(g.binop("+", half, v(1), f"{rt}T1addr"), f"{rt}node1", after=self.table_stores)
            return g.mux(bits[-1], hi, lo, None, f"{rt}node"), u
        if d == self.td:
            if self.heap_table and deeper:
                where = self._heap_addr(bits, walk, rt)
                return g.gather(where, f"{rt}node", after=self.heap_table), u
            return g.gather(self._horner(bits, walk.prefix, rt), f"{rt}node", after=self.table_stores), u
        level = self.level[d]
        if level.heap:
            return g.gather(self._heap_addr(bits, walk, rt), f"{rt}node", after=level.stores), u
        if walk.addr is None and self.heap_table is not None:
            a = self._heap_addr(bits[:-1], walk, rt)
            walk.addr = self._from_heap(d, level, a, bits[-1], rt)
        elif walk.addr is None:
            p = self._horner(bits[:-1], walk.prefix, rt) if d > 1 else v(0)
            walk.addr = self._first_address(d, level, p, bits[-1], rt)
        else:
            walk.addr = self._next_address(walk.addr, self.level[d - 1], level, bits[-1], d, rt)
        node = g.gather(walk.addr, f"{rt}node", after=level.stores)
        if not level.xored:
            u = g.binop("^", u, v(self.C[5]), f"{rt}uc")
        return node, u

    def _compare(self, v: Value, j: int, lanes: int, key) -> None:
        items = [j * self.vlen + i for i in range(lanes)]
        if lanes == self.vlen:
            self.g.compare(v, tuple(key(i) for i in items))
        else:
            for k, i in enumerate(items):
                self.g.compare(self.g.lane(v, k, f"{v.name}[{k}]"), key(i))

    def _store(self, j: int, lanes: int, addr_word: Value | None, out: Value) -> None:
        g, s = self.g, self.shape
        if addr_word is not None:
            g.vstore(addr_word, out)
        else:
            for i in range(lanes):
                g.store(self.g.const(s.values_p + j * self.vlen + i), g.lane(out, i, f"out[{j}][{i}]"))

    def build(self) -> Plan:
        s, g, vlen = self.shape, self.g, self.vlen
        g.group = -1
        self._node_scalars()
        self.root = self.g.broadcast_fixed(self.nodes[0], "vnode[0]")
        self.root_c5 = self.g.broadcast_fixed(self._node_c5(0), "vnode[0]^C5")
        self.table_base: dict[int, int] = {}
        depths = [] if self.td < 1 or not self.table_users else [self.td]
        shallow = sorted({d for _j, _p, d in self.cfg.shallow_users if 2 <= d < self.td}, reverse=True)
        room = FOREST_P + (1 << (self.td + 1)) - 1  # the tree below depth td stays intact
        for d in shallow:
            if depths and sum(1 << x for x in depths) + (1 << d) <= room - (vlen - 1):
                depths.append(d)
        self.heap_table: list[Op] | None = None  # the depth-td table at 2^td + P (heap layout)
        heap = self._heap_ok()
        if heap:
            depths = depths[:1]  # the heap occupies the room shallow tables would use
            self.level = self._heap()
        self.table_stores = self._memory_table(depths, heap) if depths and s.rounds > 1 else []
        self.heap_shallow: dict[int, list[Op]] = {}
        self.shallow_gathers: list[Op] = []
        if heap:
            self.heap_table = self.heap_table or []
            self._heap_shallow(shallow)
        elif s.rounds > self.td + 1:
            self.level = self._copies()
        else:
            self.level = {}
        n_vec = -(-s.batch // vlen)
        full = s.batch // vlen
        addr_words: list[Value] = []
        if full:  # a chain of ALU adds: the FLOW slot is the multiplexers'
            g.bias = self.cfg.early_bias
            addr_words.append(self.g.const(s.values_p))
            g.bias = 0.0
            step = self.g.const(vlen)
            for j in range(1, full):
                name = f"&values[{j * vlen}]"
                addr_words.append(g.alu("+", addr_words[-1], step, name, self.alloc.alloc(name, 1)))
        for j in range(n_vec):
            lanes = min(vlen, s.batch - j * vlen)
            self._vector(j, lanes, addr_words[j] if lanes == vlen else None)
        if self.shallow_gathers:  # the depth-td table overwrites the shallow heap tables
            for st in self.table_stores:
                st.after = st.after + tuple(self.shallow_gathers) + tuple(self.heap_shallow[min(self.heap_shallow)])
        free = self.alloc.largest_free
        words = free if self.cfg.pool_words is None else min(self.cfg.pool_words, free)
        if words // vlen < 16:
            raise PlanError(f"only {free} scratch words left for the register pool")
        return Plan(g)
