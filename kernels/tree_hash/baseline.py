"""The scalar baseline, slot for slot as MACHINE-SPEC.md describes it.

One slot per bundle: set-up (each header word: ``const tmp, i`` then
``load``; then the constants 0, 1, 2), a ``pause``, every other constant the
body uses in order of first use (item numbers, hash constants, shift amounts;
one word per value), the fully unrolled body, and a final ``pause``.  At
H=10, R=16, B=256 that is 277 + 36 x 4096 + 1 = 147734 cycles.

The rounds and the batch size are unrolled from the build-time shape; the
pointers and ``n_nodes`` are read from the memory header at run time, as the
reference does.  With ``debug`` the body also carries the reference's
``compare`` slots (each alone in a bundle, which costs no cycle); their
expected values are ``reference_trace.debug_values(problem)``.
"""

from __future__ import annotations

from pymodel.benchmark import HASH_STAGES, Shape

from ..builder import KernelBuilder

HEADER_NAMES = ("rounds", "n_nodes", "batch_size", "forest_height", "forest_values_p", "inp_indices_p", "inp_values_p")


def emit_baseline(b: KernelBuilder, shape: Shape, debug: bool = False) -> None:
    tmp1, tmp2, tmp3 = b.scalar("tmp1"), b.scalar("tmp2"), b.scalar("tmp3")
    header = {name: b.scalar(name) for name in HEADER_NAMES}
    for i, name in enumerate(HEADER_NAMES):
        b.load("const", tmp1, i)
        b.load("load", header[name], tmp1)
    b.const_pool_here()
    zero, one, two = b.const(0), b.const(1), b.const(2)
    b.flow("pause")  # the reference's first yield: the initial memory
    b.comment("Starting loop")
    b.const_pool_here()  # the body's constants load here, in order of first use

    idx, val = b.scalar("tmp_idx"), b.scalar("tmp_val")
    node, addr = b.scalar("tmp_node_val"), b.scalar("tmp_addr")
    indices_p, values_p = header["inp_indices_p"], header["inp_values_p"]

    def check(word: int, *key: object) -> None:
        if debug:
            b.debug("compare", word, key)

    for r in range(shape.rounds):
        for i in range(shape.batch):
            item = b.const(i)
            b.alu("+", addr, indices_p, item)
            b.load("load", idx, addr)
            check(idx, r, i, "idx")
            b.alu("+", addr, values_p, item)
            b.load("load", val, addr)
            check(val, r, i, "val")
            b.alu("+", addr, header["forest_values_p"], idx)
            b.load("load", node, addr)
            check(node, r, i, "node_val")
            b.alu("^", val, val, node)
            for stage, (op1, c, op2, op3, s) in enumerate(HASH_STAGES):
                b.alu(op1, tmp1, val, b.const(c))
                b.alu(op3, tmp2, val, b.const(s))
                b.alu(op2, val, tmp1, tmp2)
                check(val, r, i, "hash_stage", stage)
            check(val, r, i, "hashed_val")
            b.alu("%", tmp1, val, two)
            b.alu("==", tmp1, tmp1, zero)
            b.flow("select", tmp3, tmp1, one, two)
            b.alu("*", idx, idx, two)
            b.alu("+", idx, idx, tmp3)
            check(idx, r, i, "next_idx")
            b.alu("<", tmp1, idx, header["n_nodes"])
            b.flow("select", idx, tmp1, idx, zero)
            check(idx, r, i, "wrapped_idx")
            b.alu("+", addr, indices_p, item)
            b.store("store", addr, idx)
            b.alu("+", addr, values_p, item)
            b.store("store", addr, val)
    b.flow("pause")  # the reference's final yield

