"""The benchmark's tree-hash problem: inputs, memory image and the reference result.

Pure Python, written to read like the spec (MACHINE-SPEC.md, "The benchmark
kernel").  Kernels are checked against ``reference_final_memory``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from .isa import WORD_MASK

HEADER_WORDS = 7
FOREST_P = HEADER_WORDS

# (op1, constant, op2, op3, shift): a = op2(op1(a, constant), op3(a, shift))
HASH_STAGES: tuple[tuple[str, int, str, str, int], ...] = (
    ("+", 0x7ED55D16, "+", "<<", 12),
    ("^", 0xC761C23C, "^", ">>", 19),
    ("+", 0x165667B1, "+", "<<", 5),
    ("+", 0xD3A2646C, "^", "<<", 9),
    ("+", 0xFD7046C5, "+", "<<", 3),
    ("^", 0xB55A4F09, "^", ">>", 16),
)

_OPS = {
    "+": lambda a, b: (a + b) & WORD_MASK,
    "^": lambda a, b: a ^ b,
    "<<": lambda a, b: (a << b) & WORD_MASK,
    ">>": lambda a, b: a >> b,
}


def hash_value(a: int) -> int:
    for op1, c, op2, op3, s in HASH_STAGES:
        a = _OPS[op2](_OPS[op1](a, c), _OPS[op3](a, s))
    return a


@dataclass(frozen=True)
class Shape:
    height: int = 10
    rounds: int = 16
    batch: int = 256

    def __post_init__(self) -> None:
        if not 0 <= self.height <= 20:
            raise ValueError(f"height must be 0..20, got {self.height}")
        if self.rounds < 0 or self.batch < 1:
            raise ValueError(f"need rounds >= 0 and batch >= 1, got rounds={self.rounds} batch={self.batch}")

    @property
    def n_nodes(self) -> int:
        return (1 << (self.height + 1)) - 1

    @property
    def indices_p(self) -> int:
        return FOREST_P + self.n_nodes

    @property
    def values_p(self) -> int:
        return FOREST_P + self.n_nodes + self.batch

    @property
    def mem_len(self) -> int:
        return HEADER_WORDS + self.n_nodes + 2 * self.batch


BENCHMARK_SHAPE = Shape()


@dataclass(frozen=True)
class Problem:
    shape: Shape
    seed: int
    nodes: tuple[int, ...]
    values: tuple[int, ...]

    @classmethod
    def generate(cls, shape: Shape = BENCHMARK_SHAPE, seed: int = 123) -> "Problem":
        rng = random.Random(seed)  # same stream as random.seed(seed) + random.randint
        nodes = tuple(rng.randint(0, 2**30 - 1) for _ in range(shape.n_nodes))
        values = tuple(rng.randint(0, 2**30 - 1) for _ in range(shape.batch))
        return cls(shape, seed, nodes, values)

    def memory_image(self) -> list[int]:
        s = self.shape
        header = [s.rounds, s.n_nodes, s.batch, s.height, FOREST_P, s.indices_p, s.values_p]
        return header + list(self.nodes) + [0] * s.batch + list(self.values)


def reference_run(mem: list[int]) -> list[int]:
    """Run the reference semantics on a memory image; returns the final image."""
    mem = list(mem)
    rounds, n_nodes, batch, _height, forest_p, indices_p, values_p = mem[:HEADER_WORDS]
    for _ in range(rounds):
        for i in range(batch):
            idx = mem[indices_p + i]
            val = hash_value(mem[values_p + i] ^ mem[forest_p + idx])
            idx = 2 * idx + (1 if val % 2 == 0 else 2)
            if idx >= n_nodes:
                idx = 0
            mem[values_p + i] = val
            mem[indices_p + i] = idx
    return mem


def reference_final_memory(problem: Problem) -> list[int]:
    return reference_run(problem.memory_image())


def values_region(mem: list[int], shape: Shape) -> list[int]:
    return mem[shape.values_p : shape.values_p + shape.batch]
