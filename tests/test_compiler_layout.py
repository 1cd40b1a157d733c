"""One compiler path: the tree-hash package keeps tree-hash knowledge only."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMPILER_NAMES = {"Graph", "Scheduler", "Pool", "Value", "Op", "Unit", "PriorityConfig", "Kernel"}


def test_tree_hash_defines_no_scheduler_or_ir_of_its_own() -> None:
    for path in sorted((ROOT / "kernels" / "tree_hash").glob("*.py")):
        tree = ast.parse(path.read_text())
        classes = {n.name for n in ast.walk(tree) if isinstance(n, ast.ClassDef)}
        assert not classes & COMPILER_NAMES, (path.name, classes & COMPILER_NAMES)
        functions = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
        assert not functions & {"schedule", "interpret", "heights", "assign", "local_search"}, path.name
    assert not list((ROOT / "kernels" / "tree_hash").glob("opt_*.py"))


def test_every_kernel_ends_in_the_one_validator_and_program_type() -> None:
    """The compiler and the slot-stream builder both go through kernels.stream.resolve
    and kernels.validate.validate."""
    for rel in ("kernels/compiler/kernel.py", "kernels/builder.py"):
        text = (ROOT / rel).read_text()
        assert "from ..stream import" in text or "from .stream import" in text, rel
        assert "validate(program" in text, rel
