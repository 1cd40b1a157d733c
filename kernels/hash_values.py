"""``hash_values``: apply the benchmark hash R times to every word of an array.

The second kernel on the dataflow compiler (``kernels.compiler``), and the one
a user of this machine writes first: stream an array through scratch, do
word-wise arithmetic, store it back.  It reads the benchmark's memory image
(``pymodel.benchmark.Problem``) and hashes its values region in place, R
times (``Shape.rounds``); the tree and the indices are not touched.

Per vector of 8 words and round (the hash written as what it computes):

* a stage ``(a + c) + (a << s)`` is ``a * (1 + 2^s) + c``: one ``multiply_add``;
* such a stage followed by ``(b + c') ^ (b << s')`` is two ``multiply_add`` of
  the same input and one xor (both operands are affine in it);
* any other stage is its three lane-wise ops.

With the benchmark's stages that is 4 ``multiply_add`` and 7 lane-wise ops a
round.  The compiler runs each lane-wise op on the VALU or as eight ALU slots,
allocates the registers and overlaps the vectors; docs/kernels.md has the
bound and the measured figures.
"""

from __future__ import annotations

from typing import Any

from pymodel.benchmark import BENCHMARK_SHAPE, HASH_STAGES, Problem, Shape, hash_value
from pymodel.isa import DEFAULT_PARAMS, WORD_MASK, MachineParams

from .builder import BuildError, BuiltKernel
from .compiler import Kernel, PriorityConfig, Value

NAME = "hash_values"
VARIANTS = {"dataflow": "the hash as multiply_adds and lane-wise ops, scheduled by kernels.compiler"}
DEFAULT_VARIANT = "dataflow"
# vector j's due cycles are offset by STAGGER * j: vectors start one after another
# (the values arrive two vloads a cycle) and finish together.
STAGGER = 1.0


def _affine(op1: str, op2: str, op3: str) -> bool:
    return (op1, op2, op3) == ("+", "+", "<<")


def emit_hash(k: Kernel, x: Value) -> Value:
    """The benchmark hash of every lane of ``x`` (HASH_STAGES, fused where it can)."""
    a, i = x, 0
    while i < len(HASH_STAGES):
        op1, c, op2, op3, s = HASH_STAGES[i]
        mul = (1 + (1 << s)) & WORD_MASK
        nxt = HASH_STAGES[i + 1] if i + 1 < len(HASH_STAGES) else None
        if _affine(op1, op2, op3) and nxt is not None and (nxt[0], nxt[2], nxt[3]) == ("+", "^", "<<"):
            # b = mul*a + c; (b + c2) ^ (b << s2) = (mul*a + c + c2) ^ ((mul << s2)*a + (c << s2))
            _o1, c2, _o2, _o3, s2 = nxt
            p = k.madd(a, k.vconst(mul), k.vconst(c + c2))
            q = k.madd(a, k.vconst(mul << s2), k.vconst(c << s2))
            a, i = k.op("^", p, q), i + 2
            continue
        if _affine(op1, op2, op3):
            a = k.madd(a, k.vconst(mul), k.vconst(c))
        else:
            a = k.op(op2, k.op(op1, a, k.vconst(c)), k.op(op3, a, k.vconst(s)))
        i += 1
    return a


def plan(shape: Shape, params: MachineParams = DEFAULT_PARAMS, debug: bool = False) -> Kernel:
    """The kernel as a dataflow graph, ready for ``Kernel.compile``."""
    k = Kernel(params)
    vlen = params.vlen
    for j in range(-(-shape.batch // vlen)):
        k.group, k.round = j, 0
        first = shape.values_p + j * vlen
        lanes = min(vlen, shape.batch - j * vlen)
        if lanes == vlen:
            x = k.vload(k.const(first), f"v{j}.in")
        else:  # a short tail: word by word (a vload would read past the end of memory)
            base = k.fixed(f"tail[{j}]", vlen)
            words = [k.load(k.const(first + i), f"v{j}.in[{i}]", base + i) for i in range(lanes)]
            x = k.join(words, base, f"v{j}.in")
        for r in range(shape.rounds):
            k.round = r
            x = emit_hash(k, x)
            if debug:
                for i in range(lanes):
                    k.compare(k.lane(x, i), (r, j * vlen + i, "hashed"))
        if lanes == vlen:
            k.vstore(k.const(first), x)
        else:
            for i in range(lanes):
                k.store(k.const(first + i), k.lane(x, i))
    return k


def build(
    variant: str = DEFAULT_VARIANT,
    shape: Shape = BENCHMARK_SHAPE,
    params: MachineParams = DEFAULT_PARAMS,
    *,
    debug_problem: Problem | None = None,
) -> BuiltKernel:
    if variant not in VARIANTS:
        raise BuildError(f"unknown {NAME} variant {variant!r} (variants: {', '.join(VARIANTS)})")
    if debug_problem is not None and debug_problem.shape != shape:
        raise BuildError(f"debug_problem has shape {debug_problem.shape}, the kernel is built for {shape}")
    k = plan(shape, params, debug=debug_problem is not None)
    built = k.compile(mem_len=shape.mem_len, priority=PriorityConfig(stagger=STAGGER, late_round=None))
    values = _debug_values(debug_problem) if debug_problem is not None else None
    return BuiltKernel(NAME, variant, shape, built.program, built.symbols, values)


def reference(mem: list[int], shape: Shape) -> list[int]:
    """The values region after the kernel: every value hashed ``shape.rounds`` times."""
    out = []
    for v in mem[shape.values_p : shape.values_p + shape.batch]:
        for _ in range(shape.rounds):
            v = hash_value(v)
        out.append(v)
    return out


def _debug_values(problem: Problem) -> dict[Any, int]:
    values: dict[Any, int] = {}
    for i, v in enumerate(problem.values):
        for r in range(problem.shape.rounds):
            v = hash_value(v)
            values[(r, i, "hashed")] = v
    return values
