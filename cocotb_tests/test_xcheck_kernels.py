"""Kernels on the dataflow compiler beyond the tree hash, RTL vs golden model.

``hash_values`` (kernels/hash_values.py) at the benchmark shape on two seeds
and on a shape with a tail, plus the user guide's example kernel
(docs/assembler.md): each program runs on Verilator and on the model, compared
bit for bit (xcheck.cross_check), and the values are checked against the
kernel's pure-Python reference.
"""

from __future__ import annotations

import random

import pytest

from kernels import hash_values
from pymodel.benchmark import BENCHMARK_SHAPE, Problem, Shape, hash_value, values_region

from .simbuild import SimBuild
from .xcheck import cross_check

pytestmark = pytest.mark.rtl


@pytest.mark.parametrize(("shape", "seed"), [(BENCHMARK_SHAPE, 123), (BENCHMARK_SHAPE, 9), (Shape(3, 5, 45), 4)])
def test_hash_values(verilator: SimBuild, shape: Shape, seed: int) -> None:
    kernel = hash_values.build(shape=shape)
    mem = Problem.generate(shape, seed).memory_image()
    report = cross_check(verilator, kernel.program, mem, name=f"hash_values-{shape.batch}-{seed}")
    assert report.ok, report.summary()
    assert report.model.cycle == report.rtl.cycle == len(kernel.program)
    assert values_region(report.rtl.mem, shape) == hash_values.reference(mem, shape)


def test_user_guide_example(verilator: SimBuild) -> None:
    from tests.test_assembler_doc import guide_namespace

    ns = guide_namespace()
    program, n, base = ns["built"].program, ns["N"], ns["BASE"]
    rng = random.Random(5)
    mem = [0] * base + [rng.getrandbits(32) for _ in range(n)]
    report = cross_check(verilator, program, mem, name="assembler-guide")
    assert report.ok, report.summary()
    assert report.rtl.mem[base:] == [hash_value(v) for v in mem[base:]]
