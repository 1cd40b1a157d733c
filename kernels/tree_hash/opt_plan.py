"""The optimized tree hash as a dataflow graph (``opt_ir``).

Facts it relies on (MACHINE-SPEC.md, "The benchmark kernel"): every index
starts at 0 and the header is as specified, so in round r every item is at
depth r mod (H+1), the wrap to the root after depth H is static, and only the
values region must be right at the end.

Per item and round (VLEN items per vector, SSA values):

* hash, 11 ops: stages 0 and 4 are one multiply_add each; stages 2 and 3
  together are two multiply_adds and a xor, because stage 3's operands
  a3 + C3 and a3 << 9 are both affine in stage 2's input (a3 = 33*a2 + C2);
  stages 1 and 5 are a shift and two xors.
* stage 5's constant is folded into the next node: u = a5 ^ (a5 >> 16) is the
  value without C5, so next x = u ^ (node ^ C5), with node ^ C5 taken from
  tables made at start-up (depths <= ``select_depth``) or u ^ C5 ^ gathered
  node.  The branch bit is c = u & 1, which is the real bit flipped when C5 is
  odd; tables and index arithmetic use c as it is.
* depths 1..select_depth: the node comes from a multiplexer tree over the
  bits of the path (newest bit at the root, so the lower muxes run ahead);
  the muxes on the oldest bit pick between two constants and may run on FLOW
  or VALU, the others are vselects.
* deeper: the node address (forest_p + idx) is formed once from the path bits
  (Horner over the bits, multiply_adds) and then updated per level as
  addr' = (2*addr + k) -/+ c; the node is gathered lane by lane.
* the last round computes the real value ((a5 ^ C5) ^ (a5 >> 16)) and stores it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pymodel.benchmark import FOREST_P, HASH_STAGES, Shape
from pymodel.isa import WORD_MASK, MachineParams

from ..alloc import ScratchAllocator
from .opt_ir import Graph, Value

EXPECTED_STAGES = (("+", "+", "<<"), ("^", "^", ">>"), ("+", "+", "<<"), ("+", "^", "<<"), ("+", "+", "<<"), ("^", "^", ">>"))


class PlanError(ValueError):
    """The shape cannot be planned this way (e.g. scratch too small)."""


@dataclass(frozen=True)
class PlanConfig:
    select_depth: int = 4  # depths 1..this take the node from multiplexers (if <= H)
    # (vector, pass) -> first depth that gathers in that descent (pass = round // (H+1));
    # below select_depth + 1 it trades multiplexer work (FLOW/VALU) for loads.
    first_gather: tuple[tuple[tuple[int, int], int], ...] = ()
    keep_diff: bool = True  # keep hi - lo tables so bottom muxes may run on the VALU
    stagger: float = 6.0  # priority (cycles) each vector cedes to the one before it
    pool_words: int | None = None  # register pool size (default: all free scratch)


@dataclass
class Plan:
    graph: Graph
    alloc: ScratchAllocator
    pool_base: int
    pool_vectors: int


def _mul(s: int) -> int:
    return (1 + (1 << s)) & WORD_MASK


class _Consts:
    """Scalar and broadcast constants at fixed scratch addresses, each made once."""

    def __init__(self, g: Graph, alloc: ScratchAllocator) -> None:
        self.g, self.alloc = g, alloc
        self.scalars: dict[int, Value] = {}
        self.vectors: dict[int, Value] = {}

    def scalar(self, k: int) -> Value:
        k &= WORD_MASK
        if k not in self.scalars:
            self.scalars[k] = self.g.const(k, f"c{k:#x}", self.alloc.alloc(f"c{k:#x}", 1))
        return self.scalars[k]

    def vector(self, k: int) -> Value:
        k &= WORD_MASK
        if k not in self.vectors:
            s = self.scalar(k)
            self.vectors[k] = self.g.broadcast(s, f"v{k:#x}", self.alloc.alloc(f"v{k:#x}", self.g.vlen))
        return self.vectors[k]

    def broadcast_of(self, s: Value, name: str) -> Value:
        return self.g.broadcast(s, name, self.alloc.alloc(name, self.g.vlen))


@dataclass
class _Tables:
    """Per depth: leaf vectors T[cbits] = node ^ C5 and bottom differences."""

    root: Value  # node 0, for the first round
    root_c5: Value  # node 0 ^ C5, after a wrap
    leaves: dict[int, dict[tuple[int, ...], Value]] = field(default_factory=dict)
    diffs: dict[int, dict[tuple[int, ...], Value]] = field(default_factory=dict)


class TreeHashPlan:
    def __init__(self, shape: Shape, params: MachineParams, cfg: PlanConfig) -> None:
        self.shape, self.params, self.cfg = shape, params, cfg
        self.vlen = params.vlen
        stages = tuple((op1, op2, op3) for op1, _c, op2, op3, _s in HASH_STAGES)
        if stages != EXPECTED_STAGES:
            raise PlanError("the hash stages are not of the form this plan fuses")
        self.C = [c for _o1, c, _o2, _o3, _s in HASH_STAGES]
        self.S = [s for _o1, _c, _o2, _o3, s in HASH_STAGES]
        self.inv = self.C[5] & 1  # c = u & 1 is the branch bit xor this
        self.g = Graph(self.vlen)
        self.alloc = ScratchAllocator(params.scratch_size)
        self.k = _Consts(self.g, self.alloc)
        self.levels = shape.height + 1
        self.sel_depth = min(cfg.select_depth, shape.height)
        self.first_gather = {key: max(1, d) for key, d in cfg.first_gather}

    # -- start-up ------------------------------------------------------------

    def _node_scalars(self) -> list[Value]:
        """Nodes 0 .. 2^(sel_depth+1)-2 as fixed scalars (vload where memory allows)."""
        s, g, vlen = self.shape, self.g, self.vlen
        count = min(s.n_nodes, (1 << (self.sel_depth + 1)) - 1)
        base = self.alloc.alloc("node[0:]", -(-count // vlen) * vlen)
        out: list[Value] = []
        for first in range(0, count, vlen):
            if FOREST_P + first + vlen <= s.mem_len:
                vec = g.vload(self.k.scalar(FOREST_P + first), f"node[{first}:]", base + first)
                out.extend(g.lane(vec, k, f"node[{first + k}]") for k in range(min(vlen, count - first)))
            else:
                for i in range(first, count):
                    out.append(g.load(self.k.scalar(FOREST_P + i), f"node[{i}]", base + i))
        return out

    def _tables(self) -> _Tables:
        g, k = self.g, self.k
        self.nodes = self._node_scalars()
        self.c5 = k.scalar(self.C[5])
        self.xored: dict[int, Value] = {}  # node index -> scalar node ^ C5
        return _Tables(root=k.broadcast_of(self.nodes[0], "vnode[0]"), root_c5=k.broadcast_of(self._node_c5(0), "vnode[0]^C5"))

    def _node_c5(self, i: int) -> Value:
        if i not in self.xored:
            name = f"node[{i}]^C5"
            self.xored[i] = self.g.alu("^", self.nodes[i], self.c5, name, self.alloc.alloc(name, 1))
        return self.xored[i]

    def _depth_tables(self, d: int) -> None:
        """Leaf vectors and bottom differences of depth d, made on first use (start-up work)."""
        t, g, k = self.tables, self.g, self.k
        if d in t.leaves:
            return
        group, g.group = g.group, -1
        leaves: dict[tuple[int, ...], Value] = {}
        diffs: dict[tuple[int, ...], Value] = {}
        for cbits in _all_bits(d):  # c_0 .. c_{d-1}
            idx = self._node_index(d, cbits)
            leaves[cbits] = k.broadcast_of(self._node_c5(idx), f"T{d}[{idx}]")
        if self.cfg.keep_diff:
            for upper in _all_bits(d - 1):
                i_hi, i_lo = (self._node_index(d, b) for b in ((1, *upper), (0, *upper)))
                name = f"D{d}[{''.join(map(str, upper))}]"
                sc = g.alu("-", self._node_c5(i_hi), self._node_c5(i_lo), name, self.alloc.alloc(name, 1))
                diffs[upper] = k.broadcast_of(sc, "v" + name)
        t.leaves[d], t.diffs[d] = leaves, diffs
        g.group = group

    def _node_index(self, d: int, cbits: tuple[int, ...]) -> int:
        r = 0
        for c in cbits:
            r = 2 * r + (c ^ self.inv)
        return (1 << d) - 1 + r

    # -- per vector ------------------------------------------------------------

    def _hash(self, x: Value, tag: str) -> tuple[Value, Value]:
        """(a5, a5 >> 16) for input x: stages 0..4 and the shift of stage 5."""
        g, v, C, S = self.g, self.k.vector, self.C, self.S
        a1 = g.madd(x, v(_mul(S[0])), v(C[0]), f"{tag}a1")
        sh = g.binop(">>", a1, v(S[1]), f"{tag}s1")
        xc = g.binop("^", a1, v(C[1]), f"{tag}x1")
        a2 = g.binop("^", xc, sh, f"{tag}a2")
        p = g.madd(a2, v(_mul(S[2])), v(C[2] + C[3]), f"{tag}p")
        q = g.madd(a2, v((_mul(S[2]) << S[3]) & WORD_MASK), v((C[2] << S[3]) & WORD_MASK), f"{tag}q")
        a4 = g.binop("^", p, q, f"{tag}a4")
        a5 = g.madd(a4, v(_mul(S[4])), v(C[4]), f"{tag}a5")
        h = g.binop(">>", a5, v(S[5]), f"{tag}h")
        return a5, h

    def _select(self, d: int, bits: list[Value], tag: str) -> Value:
        """Node ^ C5 at depth d for path bits c_0..c_{d-1} (u-form)."""
        g, t = self.g, self.tables
        self._depth_tables(d)

        def tree(j: int, upper: tuple[int, ...]) -> Value:
            # bits c_j .. c_{d-1} fixed to ``upper``; split on c_{j-1}
            if j == 1:
                hi, lo = t.leaves[d][(1, *upper)], t.leaves[d][(0, *upper)]
                diff = t.diffs[d].get(upper)
                return g.mux(bits[0], hi, lo, diff, f"{tag}m{d}.{''.join(map(str, upper))}")
            hi = tree(j - 1, (1, *upper))
            lo = tree(j - 1, (0, *upper))
            return g.mux(bits[j - 1], hi, lo, None, f"{tag}m{d}.{''.join(map(str, upper))}")

        return tree(d, ())

    def _first_address(self, d: int, bits: list[Value], tag: str) -> Value:
        """forest_p + idx at depth d from the path bits (d of them)."""
        g, v = self.g, self.k.vector
        sign = -1 if self.inv else 1
        # idx = 2^d - 1 + r, r = sum b_i 2^(d-1-i), b_i = c_i ^ inv
        # inv: r = (2^d - 1) - P ; else r = P ; P = 2 P' + c_last
        base = FOREST_P + (1 << d) - 1 + ((1 << d) - 1 if self.inv else 0)
        if d == 1:
            w = v(base)
        else:
            p = bits[0]
            for i, c in enumerate(bits[1:-1], start=1):
                p = g.madd(p, v(2), c, f"{tag}P{i}")
            w = g.madd(p, v(2 * sign), v(base), f"{tag}W{d}")
        return g.binop("-" if self.inv else "+", w, bits[-1], f"{tag}addr{d}")

    def _next_address(self, addr: Value, c: Value, d: int, tag: str) -> Value:
        g, v = self.g, self.k.vector
        # addr' = forest_p + 2 idx + 1 + b = 2 addr + 1 - forest_p + b; b = c ^ inv
        k = 1 - FOREST_P + (1 if self.inv else 0)
        w = g.madd(addr, v(2), v(k), f"{tag}W{d}")
        return g.binop("-" if self.inv else "+", w, c, f"{tag}addr{d}")

    def _vector(self, j: int, lanes: int, addr_word: Value) -> None:
        g, s, v = self.g, self.shape, self.k.vector
        g.group = j
        tag = f"v{j}."
        if lanes == self.vlen:
            val = g.vload(addr_word, f"{tag}in")
        else:
            base = self.alloc.alloc(f"tail_in[{j}]", self.vlen)
            words = [
                g.load(self.k.scalar(s.values_p + j * self.vlen + i), f"{tag}in[{i}]", base + i) for i in range(lanes)
            ]
            val = g.join(words, base, f"{tag}in")
        x = g.binop("^", val, self.tables.root, f"{tag}x0")
        bits: list[Value] = []
        addr: Value | None = None
        for r in range(s.rounds):
            rt = f"{tag}r{r}."
            a5, h = self._hash(x, rt)
            if r == s.rounds - 1:
                t5 = g.binop("^", a5, v(self.C[5]), f"{rt}t5")
                out = g.binop("^", t5, h, f"{rt}out")
                self._store(j, lanes, addr_word, out)
                return
            nd = (r + 1) % self.levels
            u = g.binop("^", a5, h, f"{rt}u")
            if nd == 0:
                x = g.binop("^", u, self.tables.root_c5, f"{tag}x{r + 1}")
                bits, addr = [], None
                continue
            c = g.binop("&", u, v(1), f"{rt}c")
            bits.append(c)
            npass = (r + 1) // self.levels
            selected = nd < self.first_gather.get((j, npass), self.sel_depth + 1)
            if selected:
                node = self._select(nd, bits, rt)
                x = g.binop("^", u, node, f"{tag}x{r + 1}")
            else:
                addr = self._first_address(nd, bits, rt) if addr is None else self._next_address(addr, c, nd, rt)
                node = g.gather(addr, f"{rt}node")
                uc = g.binop("^", u, v(self.C[5]), f"{rt}uc")
                x = g.binop("^", uc, node, f"{tag}x{r + 1}")
        # rounds == 0 cannot reach here (handled by the caller)

    def _store(self, j: int, lanes: int, addr_word: Value, out: Value) -> None:
        g, s = self.g, self.shape
        if lanes == self.vlen:
            g.vstore(addr_word, out)
        else:
            for i in range(lanes):
                g.store(self.k.scalar(s.values_p + j * self.vlen + i), g.lane(out, i, f"out[{j}][{i}]"))

    def build(self) -> Plan:
        s, g, vlen = self.shape, self.g, self.vlen
        g.group = -1
        self.tables = self._tables()
        n_vec = -(-s.batch // vlen)
        full = s.batch // vlen
        addr_words: list[Value] = []
        if full:  # a chain of ALU adds: the FLOW slot is the multiplexers'
            addr_words.append(self.k.scalar(s.values_p))
            step = self.k.scalar(vlen)
            for j in range(1, full):
                name = f"&values[{j * vlen}]"
                addr_words.append(g.alu("+", addr_words[-1], step, name, self.alloc.alloc(name, 1)))
        for j in range(n_vec):
            lanes = min(vlen, s.batch - j * vlen)
            self._vector(j, lanes, addr_words[j] if lanes == vlen else None)  # type: ignore[arg-type]
        words = self.cfg.pool_words
        free = self.alloc.largest_free
        if words is None:
            words = free
        n_pool = min(words, free) // vlen
        if n_pool < 8:
            raise PlanError(f"only {free} scratch words left for the register pool")
        pool_base = self.alloc.alloc("pool", n_pool * vlen)
        return Plan(g, self.alloc, pool_base, n_pool)


def _all_bits(n: int) -> list[tuple[int, ...]]:
    return [tuple((r >> (n - 1 - i)) & 1 for i in range(n)) for r in range(1 << n)]
