"""A (1+1) local search over a kernel's knobs (a tuning tool, never run by a build).

The list scheduler is greedy, so small changes of priorities or of a kernel's
choices move the cycle count by a few percent, not smoothly.  ``local_search``
mutates the best configuration so far, evaluates the mutant (usually: build
and count bundles) and keeps it when it is no worse.  A kernel supplies the
configuration type, ``mutate`` and ``evaluate`` (``kernels.tree_hash.tune``).
"""

from __future__ import annotations

import random
import sys
import time
from typing import Callable, TextIO, TypeVar

C = TypeVar("C")


def local_search(
    start: C,
    evaluate: Callable[[C], int],
    mutate: Callable[[C, random.Random], C],
    evals: int,
    seed: int = 1,
    log: TextIO = sys.stdout,
) -> tuple[C, int]:
    """The best configuration found and its cost (smaller is better)."""
    rng = random.Random(seed)
    best, best_cost = start, evaluate(start)
    print(f"start: {best_cost}", file=log, flush=True)
    t0 = time.time()
    for i in range(evals):
        cand = mutate(best, rng)
        cost = evaluate(cand)
        if cost <= best_cost:
            if cost < best_cost:
                print(f"eval {i}: {cost} ({time.time() - t0:.0f}s)", file=log, flush=True)
            best, best_cost = cand, cost
    return best, best_cost
