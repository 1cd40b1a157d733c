"""Expected values for the kernels' debug ``compare`` slots.

The keys follow the reference kernel's trace: ``(round, item, name)`` with
name one of idx, val, node_val, hashed_val, next_idx, wrapped_idx, and
``(round, item, "hash_stage", stage)``.
"""

from __future__ import annotations

from typing import Any

from pymodel.benchmark import HASH_STAGES, Problem
from pymodel.isa import WORD_MASK

_OPS = {
    "+": lambda a, b: (a + b) & WORD_MASK,
    "^": lambda a, b: a ^ b,
    "<<": lambda a, b: (a << b) & WORD_MASK,
    ">>": lambda a, b: a >> b,
}


def debug_values(problem: Problem) -> dict[Any, int]:
    shape = problem.shape
    nodes = problem.nodes
    idx = [0] * shape.batch
    val = list(problem.values)
    out: dict[Any, int] = {}
    for r in range(shape.rounds):
        for i in range(shape.batch):
            out[(r, i, "idx")] = idx[i]
            out[(r, i, "val")] = val[i]
            node = nodes[idx[i]]
            out[(r, i, "node_val")] = node
            a = val[i] ^ node
            for stage, (op1, c, op2, op3, s) in enumerate(HASH_STAGES):
                a = _OPS[op2](_OPS[op1](a, c), _OPS[op3](a, s))
                out[(r, i, "hash_stage", stage)] = a
            out[(r, i, "hashed_val")] = a
            nxt = 2 * idx[i] + (1 if a % 2 == 0 else 2)
            out[(r, i, "next_idx")] = nxt
            idx[i] = 0 if nxt >= shape.n_nodes else nxt
            out[(r, i, "wrapped_idx")] = idx[i]
            val[i] = a
    return out
