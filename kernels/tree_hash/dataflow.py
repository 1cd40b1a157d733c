"""The ``vector`` variant's algorithm written plainly on the dataflow compiler.

What a user writes after reading docs/assembler.md, with nothing tuned: the
same level tricks as ``vector.py`` -- every item of round r is at depth
r mod (H+1), so depth 0 is the root for everyone, depths 1 and 2 are picked
from the top nodes by the branch bits (``multiply_add`` on a difference, a
``select``), deeper nodes are gathered at ``forest_p + idx`` -- and the hash
of ``kernels.hash_values`` (4 ``multiply_add`` and 7 lane-wise ops).  The
compiler chooses the engines and registers and overlaps the 32 vectors.
Compare ``vector`` (the same algorithm as a slot stream, ~1400 cycles) and
``optimized`` (this compiler plus the tree-hash plan of ``plan.py``).
"""

from __future__ import annotations

from pymodel.benchmark import FOREST_P, Shape
from pymodel.isa import MachineParams

from ..compiler import Compiled, Kernel, PriorityConfig, Value
from ..hash_values import emit_hash

MUX_DEPTH = 3  # depths 1..MUX_DEPTH pick the node from the top of the tree; deeper ones gather
STAGGER = 8.0  # due cycles of vector j are offset by STAGGER * j (the guide's "group" priorities)


def build_dataflow(shape: Shape, params: MachineParams, debug: bool = False) -> Compiled:
    k = Kernel(params)
    vlen = params.vlen
    mux_depth = min(MUX_DEPTH, shape.height)
    top = (1 << (mux_depth + 1)) - 1  # nodes of depths 0 .. mux_depth, loaded once
    nodes: list[Value] = []
    for at in range(0, top, vlen):
        if FOREST_P + at + vlen <= shape.mem_len:
            chunk = k.vload(k.const(FOREST_P + at), f"tree[{at}:]")
            nodes += [k.lane(chunk, i) for i in range(min(vlen, top - at))]
        else:
            nodes += [k.load(k.const(FOREST_P + i)) for i in range(at, top)]
    vnode = [k.broadcast(n, f"vnode{i}") for i, n in enumerate(nodes)]

    def pick(d: int, bits: list[Value]) -> Value:
        """Node at depth d on the path ``bits`` (oldest first), from the broadcast top nodes."""
        first = (1 << d) - 1
        half = 1 << (d - 1)
        # the oldest bit picks between nodes whose paths differ in their top bit: n + b * (m - n)
        cands = [k.madd(bits[0], k.broadcast(k.op("-", nodes[first + p + half], nodes[first + p])), vnode[first + p])
                 for p in range(half)]  # fmt: skip
        for b in bits[1:]:
            half //= 2
            cands = [k.select(b, cands[p + half], cands[p]) for p in range(half)]
        return cands[0]

    for j in range(-(-shape.batch // vlen)):
        k.group, k.round = j, 0
        lanes = min(vlen, shape.batch - j * vlen)
        where = shape.values_p + j * vlen
        if lanes == vlen:
            val = k.vload(k.const(where))
        else:  # a tail: word by word
            base = k.fixed(f"tail[{j}]", vlen)
            val = k.join([k.load(k.const(where + i), None, base + i) for i in range(lanes)], base)
        bits: list[Value] = []
        addr: Value | None = None
        for r in range(shape.rounds):
            k.round = r
            d = r % (shape.height + 1)
            if d == 0:
                node, bits, addr = vnode[0], [], None
            elif d <= mux_depth:
                node = pick(d, bits)
            else:
                if addr is None:  # forest_p + 2^d - 1 + path, path = the bits as a binary number
                    path = bits[0]
                    for b in bits[1:]:
                        path = k.madd(path, k.vconst(2), b)
                    addr = k.op("+", path, k.vconst(FOREST_P + (1 << d) - 1))
                else:  # child: forest_p + 2 idx + 1 + t = 2 addr + t + (1 - forest_p)
                    addr = k.op("+", k.madd(addr, k.vconst(2), bits[-1]), k.vconst(1 - FOREST_P))
                node = k.gather(addr)
            val = emit_hash(k, k.op("^", val, node))
            if debug:
                for i in range(lanes):
                    k.compare(k.lane(val, i), (r, j * vlen + i, "hashed_val"))
            if r + 1 < shape.rounds and (r + 1) % (shape.height + 1):
                # the branch: idx' = 2 idx + 1 + t with t = val & 1
                bits.append(k.op("&", val, k.vconst(1)))
        if lanes == vlen:
            k.vstore(k.const(where), val)
        else:
            for i in range(lanes):
                k.store(k.const(where + i), k.lane(val, i))
    return k.compile(mem_len=shape.mem_len, priority=PriorityConfig(stagger=STAGGER, late_round=None))
