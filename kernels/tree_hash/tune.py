"""Tuning the optimized variant's configuration (a dev tool; the search loop is
``kernels.compiler.search``, the tree-hash knobs are here).

    python -m kernels.tree_hash.tune --evals 400 --seed 1 [--start FILE] --out FILE

The scheduler is a greedy list scheduler, so small changes of priorities or of
which (vector, pass) reads the depth-td table move the cycle count by a few
percent, not smoothly.  This does a (1+1) search: mutate one or a few knobs of
the best configuration so far, schedule, keep the mutant if it is no slower.
The output file holds the best configuration as JSON (``config_from_json``
reads it); the tuned values in ``optimized.py`` came from such runs.  Only the
schedule length is measured here -- the winner is then checked on the model
(the test suite runs it on 20 seeds).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from dataclasses import asdict, replace

from pymodel.benchmark import BENCHMARK_SHAPE, Shape
from pymodel.isa import DEFAULT_PARAMS

from ..compiler import CompileError, PriorityConfig
from ..compiler.search import local_search
from .plan import PlanConfig, PlanError
from .optimized import OptConfig, build_program, default_config


def config_to_json(cfg: OptConfig) -> dict:
    return asdict(cfg)


def config_from_json(data: dict) -> OptConfig:
    plan = dict(data["plan"])
    if plan.get("table_users") is not None:
        plan["table_users"] = tuple(tuple(x) for x in plan["table_users"])
    plan["shallow_users"] = tuple(tuple(x) for x in plan.get("shallow_users", ()))
    plan["fast_vectors"] = tuple(plan.get("fast_vectors", ()))
    plan["fast_first"] = tuple(plan.get("fast_first", ()))
    prio = dict(data["priority"])
    prio["offsets"] = tuple(prio.get("offsets", ()))
    prio["round_offsets"] = tuple(tuple(x) for x in prio.get("round_offsets", ()))
    rest = {k: data[k] for k in ("reserve", "flow_patience", "max_active") if k in data}
    return OptConfig(PlanConfig(**plan), PriorityConfig(**prio), **rest)


def evaluate(cfg: OptConfig, shape: Shape = BENCHMARK_SHAPE) -> int:
    try:
        _program, _symbols, stats = build_program(shape, DEFAULT_PARAMS, cfg, check=False)
    except (PlanError, CompileError):
        return 1 << 30
    return stats.cycles


def _shift_rounds(prio: PriorityConfig, j: int, rounds: range, dt: float) -> PriorityConfig:
    """``round_offsets`` with ``dt`` added to rounds ``rounds`` of vector j."""
    tweak = {(g, r): x for g, r, x in prio.round_offsets}
    for r in rounds:
        tweak[(j, r)] = tweak.get((j, r), 0.0) + dt
        if not tweak[(j, r)]:
            del tweak[(j, r)]
    return replace(prio, round_offsets=tuple(sorted((g, r, x) for (g, r), x in tweak.items())))


def _mutate_phases(cfg: OptConfig, rng: random.Random, n_vectors: int) -> OptConfig | None:
    """The start and the end of the run (None: mutate the other knobs instead)."""
    plan, prio = cfg.plan, cfg.priority
    x = rng.random()
    if x < 0.35:  # one of the first vectors' first descent, sooner or later (when the gathers start)
        j, dt, last = rng.randrange(min(8, n_vectors)), rng.choice((-4, -2, 2, 4)), rng.choice((3, 4))
        return replace(cfg, priority=_shift_rounds(prio, j, range(last + 1), dt))
    if x < 0.5:  # one vector's last rounds (who finishes with whom)
        rounds = BENCHMARK_SHAPE.rounds
        j, dt, first = rng.randrange(n_vectors), rng.choice((-4, -2, 2, 4)), rounds - rng.choice((5, 3, 2))
        return replace(cfg, priority=_shift_rounds(prio, j, range(first, rounds), dt))
    if x < 0.6:  # short-latency first descent for one of the first vectors (or not)
        flip = {rng.randrange(min(8, n_vectors))}
        return replace(cfg, plan=replace(plan, fast_first=tuple(sorted(set(plan.fast_first) ^ flip))))
    if x < 0.65:
        return replace(cfg, plan=replace(plan, copy_bias=max(0.0, plan.copy_bias + rng.choice((-10, -5, 5, 10)))))
    if x < 0.7 and plan.table_users:  # move one depth-td table read to another (vector, pass): same count
        users = set(plan.table_users)
        users.discard(rng.choice(sorted(users)))
        free = [(j, p) for j in range(n_vectors) for p in (0, 1) if (j, p) not in users]
        users.add(rng.choice(free))
        return replace(cfg, plan=replace(plan, table_users=tuple(sorted(users))))
    return None


def mutate(cfg: OptConfig, rng: random.Random, n_vectors: int) -> OptConfig:
    phased = _mutate_phases(cfg, rng, n_vectors)
    if phased is not None:
        return phased
    plan, prio, reserve, patience = cfg.plan, cfg.priority, cfg.reserve, cfg.flow_patience
    for _ in range(rng.choice((1, 1, 2, 3))):
        kind = rng.randrange(8)
        if kind == 7 and plan.heap and rng.random() < 0.3:  # when the copies below the heap table start
            plan = replace(plan, late_copy_at=max(0, plan.late_copy_at + rng.choice((-5, 5))))
            continue
        if kind == 7 and plan.heap and rng.random() < 0.5:  # a late vector with the short-latency multiplexed rounds (or not)
            flip = {n_vectors - 1 - rng.randrange(min(8, n_vectors))}
            plan = replace(plan, fast_vectors=tuple(sorted(set(plan.fast_vectors) ^ flip)))
            continue
        if kind == 7:  # a shallow table read in an early round of an early vector (idle load slots)
            flip = {(rng.randrange(min(8, n_vectors)), 0, rng.choice((2, 3)))}
            plan = replace(plan, shallow_users=tuple(sorted(set(plan.shallow_users) ^ flip)))
            continue
        if kind == 0:  # flip one (vector, pass) between table and muxes, or move a range end
            users = set(plan.table_users or ())
            if rng.random() < 0.5:
                users.symmetric_difference_update({(rng.randrange(n_vectors), rng.randrange(2))})
            else:
                pas = rng.randrange(2)
                mine = sorted(j for j, p in users if p == pas)
                lo, hi = (mine[0], mine[-1] + 1) if mine else (0, 0)
                lo, hi = (lo + rng.choice((-1, 1)), hi) if rng.random() < 0.5 else (lo, hi + rng.choice((-1, 1)))
                lo, hi = max(0, lo), min(n_vectors, hi)
                users = {(j, p) for j, p in users if p != pas} | {(j, pas) for j in range(lo, hi)}
            plan = replace(plan, table_users=tuple(sorted(users)))
        elif kind == 1:
            offsets = list(prio.offsets) or [0.0] * n_vectors
            offsets[rng.randrange(n_vectors)] += rng.choice((-8, -4, -2, 2, 4, 8))
            prio = replace(prio, offsets=tuple(offsets))
        elif kind == 2:
            prio = replace(prio, stagger=max(1.0, prio.stagger + rng.choice((-0.5, -0.25, 0.25, 0.5))))
        elif kind == 3:
            prio = replace(prio, late_stagger=max(0.0, prio.late_stagger + rng.choice((-0.5, 0.5, -1, 1))))
        elif kind == 4:
            prio = replace(prio, late_shift=prio.late_shift + rng.choice((-20, -10, 10, 20)))
        elif kind == 5:
            prio = replace(prio, late_round=min(15, max(1, prio.late_round + rng.choice((-1, 1)))))
        else:
            if rng.random() < 0.5:
                plan = replace(plan, copy_levels=min(3, max(0, plan.copy_levels + rng.choice((-1, 1)))))
            elif rng.random() < 0.5:
                reserve = min(24, max(8, reserve + rng.choice((-2, 2))))
            else:
                patience = rng.choice((None, 1, 2, 3, 4, 6, 8))
    return replace(cfg, plan=plan, priority=prio, reserve=reserve, flow_patience=patience)


def search(start: OptConfig, evals: int, seed: int, log=sys.stdout) -> tuple[OptConfig, int]:
    n_vectors = -(-BENCHMARK_SHAPE.batch // DEFAULT_PARAMS.vlen)
    return local_search(start, evaluate, lambda cfg, rng: mutate(cfg, rng, n_vectors), evals, seed, log)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m kernels.tree_hash.tune", description=__doc__.split("\n\n")[0])
    p.add_argument("--evals", type=int, default=200)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--start", help="JSON configuration to start from (default: the built-in one)")
    p.add_argument("--out", required=True, help="where to write the best configuration (JSON)")
    args = p.parse_args(argv)
    start = default_config(BENCHMARK_SHAPE)
    if args.start:
        with open(args.start) as f:
            start = config_from_json(json.load(f))
    best, cycles = search(start, args.evals, args.seed)
    with open(args.out, "w") as f:
        json.dump({"cycles": cycles, **config_to_json(best)}, f)
    print(f"best: {cycles} cycles -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
