"""Speed of the model's engines (part of `make bench`).

Two workloads, each on the reference interpreter and the fast engine:

* baseline: the spec's scalar baseline kernel (147734 cycles, one slot per
  bundle): ``kernels.tree_hash.build("baseline")`` when that imports, else
  this file's own rendering of the spec's description (``baseline_program``);
* dense: a counted loop of dense valid bundles (12 alu + 6 valu + 2 load +
  1 store + 1 flow slots each), ``dense_program``.

Lane-ops count VLEN per executed vector slot and 1 per scalar slot.  The
fast engine is warmed up first, so numba compile time is excluded.  The
reference runs the dense loop only up to ``REFERENCE_DENSE_CYCLES`` (it is a
rate; the full loop would take a long while there).
"""

from __future__ import annotations

import random
import sys
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from pymodel.benchmark import BENCHMARK_SHAPE, HASH_STAGES, Problem, Shape
from pymodel.fast import FastMachine
from pymodel.fast_decode import decode_program
from pymodel.isa import DEFAULT_PARAMS, MachineParams, RunState
from pymodel.machine import Machine
from pymodel.program import Program

# The reference simulator's speed on this machine class (MACHINE-SPEC.md).
SPEC_CYCLES_PER_S = {"baseline": 120_000.0, "dense": 15_600.0}
REFERENCE_DENSE_CYCLES = 20_000
BASELINE_CYCLES = 147734


# --------------------------------------------------------------------------
# Workloads


def baseline_program(shape: Shape = BENCHMARK_SHAPE) -> Program:
    """The spec's scalar baseline kernel, one slot per bundle, as the spec describes it."""
    header = ["rounds", "n_nodes", "batch", "height", "forest_p", "indices_p", "values_p"]
    var = {name: i for i, name in enumerate(header)}
    tmp1, tmp2, tmp3, t_idx, t_val, t_node, t_addr = range(len(header), len(header) + 7)
    next_free = len(header) + 7
    setup: list[tuple[str, tuple[Any, ...]]] = []
    consts: dict[int, int] = {}

    def const(value: int) -> int:  # one word per distinct constant, loaded once, in order of first use
        nonlocal next_free
        if value not in consts:
            consts[value] = next_free
            setup.append(("load", ("const", next_free, value)))
            next_free += 1
        return consts[value]

    for i, name in enumerate(header):
        setup += [("load", ("const", tmp1, i)), ("load", ("load", var[name], tmp1))]
    zero, one, two = const(0), const(1), const(2)
    setup.append(("flow", ("pause",)))
    body: list[tuple[str, tuple[Any, ...]]] = []
    for _round in range(shape.rounds):
        for i in range(shape.batch):
            item = const(i)
            body += [
                ("alu", ("+", t_addr, var["indices_p"], item)), ("load", ("load", t_idx, t_addr)),
                ("alu", ("+", t_addr, var["values_p"], item)), ("load", ("load", t_val, t_addr)),
                ("alu", ("+", t_addr, var["forest_p"], t_idx)), ("load", ("load", t_node, t_addr)),
                ("alu", ("^", t_val, t_val, t_node)),
            ]  # fmt: skip
            for op1, c, op2, op3, s in HASH_STAGES:
                body += [
                    ("alu", (op1, tmp1, t_val, const(c))),
                    ("alu", (op3, tmp2, t_val, const(s))),
                    ("alu", (op2, t_val, tmp1, tmp2)),
                ]
            body += [
                ("alu", ("%", tmp1, t_val, two)), ("alu", ("==", tmp1, tmp1, zero)),
                ("flow", ("select", tmp3, tmp1, one, two)),
                ("alu", ("*", t_idx, t_idx, two)), ("alu", ("+", t_idx, t_idx, tmp3)),
                ("alu", ("<", tmp1, t_idx, var["n_nodes"])), ("flow", ("select", t_idx, tmp1, t_idx, zero)),
                ("alu", ("+", t_addr, var["indices_p"], item)), ("store", ("store", t_addr, t_idx)),
                ("alu", ("+", t_addr, var["values_p"], item)), ("store", ("store", t_addr, t_val)),
            ]  # fmt: skip
    slots = setup + body + [("flow", ("pause",))]
    return Program.from_tuples([{engine: [slot]} for engine, slot in slots])


@dataclass(frozen=True)
class Workload:
    name: str
    source: str  # where the program came from
    program: Program
    mem: list[int]


def baseline_workload() -> Workload:
    mem = Problem.generate(BENCHMARK_SHAPE, seed=123).memory_image()
    try:
        from kernels.tree_hash import build

        return Workload("baseline", "kernels.tree_hash.build('baseline')", build("baseline").program, mem)
    except Exception as e:  # noqa: BLE001 - any failure there falls back to our own rendering
        source = f"tools.bench_model.baseline_program (kernels.tree_hash unusable: {type(e).__name__})"
        return Workload("baseline", source, baseline_program(), mem)


def dense_program(
    iterations: int = 500, body_bundles: int = 200, params: MachineParams = DEFAULT_PARAMS, seed: int = 1
) -> tuple[Program, list[int]]:
    """A counted loop of ``body_bundles`` dense bundles run ``iterations`` times.

    Every bundle fills 12 alu, 6 valu, 2 load (vload + load), 1 store (vstore)
    and 1 flow slot, with distinct destinations (no write conflicts) and
    divisors taken from a read-only pool of non-zero constants, so it never traps.
    """
    vlen = params.vlen
    rng = random.Random(seed)
    counter, one, p_load, p_vload, p_vstore = 0, 1, 2, 3, 4
    pool = range(16, 16 + 8 * vlen)  # read-only non-zero constants
    work_first = pool.stop
    blocks = [work_first + vlen * k for k in range((params.scratch_size - work_first) // vlen)]
    if len(blocks) < 9:
        raise ValueError("scratch too small for the dense workload")
    readable_vec = list(range(pool.start, params.scratch_size - vlen + 1))
    readable = list(range(pool.start, params.scratch_size))
    ops = ["+", "-", "*", "//", "cdiv", "^", "&", "|", "<<", ">>", "%", "<", "=="]
    mem = [rng.randrange(1 << 32) for _ in range(256)]
    pro: list[dict[str, list[tuple[Any, ...]]]] = []
    inits = [(counter, iterations), (one, 1), (p_load, 5), (p_vload, 16), (p_vstore, 128)]
    inits += [(a, rng.randrange(1, 1 << 32)) for a in pool]
    for k in range(0, len(inits), 2):
        pro.append({"load": [("const", d, v) for d, v in inits[k : k + 2]]})
    body = []
    for b in range(body_bundles):
        chosen = rng.sample(blocks, 9)
        vec_dsts, scalar_dsts = chosen[:7], [chosen[7] + i for i in range(vlen)] + [chosen[8] + i for i in range(vlen)]

        def binop_slot(dst: int, vector: bool) -> tuple[Any, ...]:
            op = rng.choice(ops)
            src = readable_vec if vector else readable
            divisors = range(pool.start, pool.stop - (vlen if vector else 1) + 1)
            b_src = rng.choice(divisors) if op in ("//", "cdiv", "%") else rng.choice(src)
            return (op, dst, rng.choice(src), b_src)

        alu = [binop_slot(scalar_dsts[i], False) for i in range(12)]
        if b == 0:
            alu[0] = ("-", counter, counter, one)
        valu = [binop_slot(vec_dsts[i], True) for i in range(5)]
        valu.append(("multiply_add", vec_dsts[5], *(rng.choice(readable_vec) for _ in range(3))))
        load = [("vload", vec_dsts[6], p_vload), ("load", scalar_dsts[12], p_load)]
        store = [("vstore", p_vstore, rng.choice(readable_vec))]
        if b == body_bundles - 1:
            flow = [("cond_jump_rel", counter, -body_bundles)]
        elif b % 2:
            flow = [("select", scalar_dsts[13], rng.choice(readable), rng.choice(readable), rng.choice(readable))]
        else:
            flow = [("add_imm", scalar_dsts[13], rng.choice(readable), rng.randrange(1 << 32))]
        body.append({"alu": alu, "valu": valu, "load": load, "store": store, "flow": flow})
    return Program.from_tuples(pro + body + [{"flow": [("halt",)]}], params), mem


def dense_workload() -> Workload:
    program, mem = dense_program()
    return Workload("dense", "tools.bench_model.dense_program(500 x 200 bundles)", program, mem)


# --------------------------------------------------------------------------
# Measuring


def _lane_ops(program: Program, bundle_counts: np.ndarray) -> int:
    per_bundle = decode_program(program, DEFAULT_PARAMS, enable_debug=False).lane_ops
    return int(np.dot(per_bundle, bundle_counts))


def _measure(engine: str, work: Workload, max_cycles: int | None) -> tuple[Any, float]:
    cls = Machine if engine == "reference" else FastMachine
    machine = cls(work.program, work.mem, enable_debug=False)
    start = time.perf_counter()
    state = machine.run_to_end(max_cycles)
    seconds = time.perf_counter() - start
    if state not in (RunState.HALTED, RunState.RUNNING):
        raise RuntimeError(f"{engine} on {work.name} stopped {state.name}: {machine.trap}")
    return machine, seconds


def bench_model() -> list[dict]:
    """One row per (engine, workload): cycles, seconds, cycles/s, lane-ops/s, ratio to the spec's reference."""
    rows = []
    FastMachine([{"alu": [("+", 0, 0, 0)]}], [0]).run()  # warm-up: load or compile the numba loop
    for work in (baseline_workload(), dense_workload()):
        fast, fast_s = _measure("fast", work, None)
        if fast.state is not RunState.HALTED:
            raise RuntimeError(f"fast engine did not finish {work.name}")
        # Lane-ops come from the fast engine's bundle counts (both engines execute the same
        # bundles); for the reference's capped dense run, from a fast run to the same cap.
        cap = REFERENCE_DENSE_CYCLES if work.name == "dense" else None
        ref, ref_s = _measure("reference", work, cap)
        if cap is None:
            if (ref.cycle, ref.mem) != (fast.cycle, fast.mem):
                raise RuntimeError(f"engines disagree on {work.name}: cycles {ref.cycle} vs {fast.cycle}")
            ref_counts = fast.bundle_counts
        else:
            capped = FastMachine(work.program, work.mem, enable_debug=False)
            capped.run_to_end(cap)
            if (ref.cycle, ref.mem) != (capped.cycle, capped.mem):
                raise RuntimeError(f"engines disagree on {work.name} at cycle {cap}")
            ref_counts = capped.bundle_counts
        runs = (("reference", ref, ref_s, ref_counts), ("fast", fast, fast_s, fast.bundle_counts))
        for engine, machine, seconds, counts in runs:
            cps = machine.cycle / seconds
            rows.append(
                dict(
                    engine=engine,
                    workload=work.name,
                    source=work.source,
                    cycles=machine.cycle,
                    seconds=seconds,
                    cycles_per_s=cps,
                    lane_ops_per_s=_lane_ops(work.program, counts) / seconds,
                    vs_spec_reference=cps / SPEC_CYCLES_PER_S[work.name],
                )
            )
    return rows


def main() -> int:
    rows = bench_model()
    print("model engines (fast engine warmed up first: numba compile time excluded; wall s = the run only,")
    print("program decoding excluded; debug slots off)")
    for source in dict.fromkeys(f"{r['workload']}: {r['source']}" for r in rows):
        print(f"  {source}")
    head = f"{'engine':<10} {'workload':<9} {'cycles':>9} {'wall s':>8} {'cycles/s':>12} {'lane-ops/s':>13}"
    head += f" {'x spec ref':>10}"
    print(head)
    print("-" * len(head))
    for r in rows:
        print(
            f"{r['engine']:<10} {r['workload']:<9} {r['cycles']:>9} {r['seconds']:>8.3f} "
            f"{r['cycles_per_s']:>12,.0f} {r['lane_ops_per_s']:>13,.0f} {r['vs_spec_reference']:>10.2f}"
        )
    spec = ", ".join(f"{name} {cps:,.0f} cycles/s" for name, cps in SPEC_CYCLES_PER_S.items())
    print(f"(x spec ref: cycles/s over the spec's reference simulator figures: {spec})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
