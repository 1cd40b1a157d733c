"""A take-home ``KernelBuilder`` as it is: build its kernel in a child process, check it fits this machine.

    kernel = load_takehome("path/to/perf_takehome.py", Shape(10, 16, 256))
    kernel.program      # pymodel.program.Program, checked against MACHINE-SPEC (not the user's problem.py)
    kernel.symbols      # name -> (scratch address, width), from debug_info().scratch_map when present

The user's module runs in a child (``tools/takehome_child.py``) with its own
folder first on ``sys.path``, so it imports the ``problem`` module beside it
and nothing it does (prints, sys.path edits, sys.exit, a crash) reaches this
process.  The program then runs on *this* machine: a kernel that relies on an
edited ``problem.py`` (more slots, a bigger scratch) is refused by the
project's validator, naming the rule, bundle and slot.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kernels.validate import validate
from pymodel.benchmark import Shape
from pymodel.formats import FormatError, program_from_data
from pymodel.isa import DEFAULT_PARAMS, HW_ENGINES, MachineParams
from pymodel.program import Program, ProgramError

CHILD = Path(__file__).with_name("takehome_child.py")
DEFAULT_MODULE = "perf_takehome.py"
BUILD_TIMEOUT_S = 600
_NOT_THEIRS = "this machine: {}; the problem.py beside the kernel is not used"


class TakehomeError(Exception):
    """The module is not a usable take-home kernel; one line, naming the file and place."""


class UserCodeError(TakehomeError):
    """The user's own code raised; ``traceback`` is theirs (this loader's frames left out)."""

    def __init__(self, message: str, traceback: str) -> None:
        super().__init__(message)
        self.traceback = traceback


@dataclass(frozen=True)
class TakehomeKernel:
    path: Path
    shape: Shape
    program: Program
    symbols: dict[str, tuple[int, int]]  # name -> (scratch address, width)
    build_seconds: float
    notes: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.path.stem

    def scratch_name(self, addr: int) -> str | None:
        """``name`` or ``name[lane]`` of a scratch word, from the user's scratch map."""
        for name, (base, width) in self.symbols.items():
            if base <= addr < base + width:
                return name if width == 1 else f"{name}[{addr - base}]"
        return None


def find_module(path: str | os.PathLike[str]) -> Path:
    """The take-home module: ``path`` itself, or ``perf_takehome.py`` in the folder ``path``."""
    p = Path(path)
    if p.is_dir():
        p = p / DEFAULT_MODULE
        if not p.is_file():
            raise TakehomeError(f"{path}: the folder has no {DEFAULT_MODULE}")
    elif not p.exists():
        raise TakehomeError(f"{path}: no such file or folder")
    elif not p.is_file():
        raise TakehomeError(f"{path}: not a file")
    if p.suffix != ".py":
        raise TakehomeError(f"{path}: not a Python file (expected a perf_takehome.py with a KernelBuilder)")
    if not os.access(p, os.R_OK):
        raise TakehomeError(f"{p}: cannot read: Permission denied")
    return p.resolve()


def machine_rules(params: MachineParams = DEFAULT_PARAMS) -> str:
    slots = ", ".join(f"{params.slot_limit(e)} {e}" for e in HW_ENGINES)
    return f"slots per bundle {slots}; scratch {params.scratch_size} words; VLEN {params.vlen}; {params.n_cores} core"


def _symbols(raw: dict[str, list[Any]] | None, params: MachineParams) -> dict[str, tuple[int, int]]:
    out: dict[str, tuple[int, int]] = {}
    for addr_text, (name, length) in (raw or {}).items():
        addr = int(addr_text)
        if length < 1 or addr < 0 or addr + length > params.scratch_size:
            continue  # outside this machine's scratch: the validator names any use of it
        key = name if name not in out else f"{name}@{addr}"
        out[key] = (addr, length)
    return out


def _run_child(module: Path, shape: Shape, timeout: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="vliwsim-takehome-") as tmp:
        out = Path(tmp) / "result.json"
        args = [str(module), str(shape.height), str(shape.n_nodes), str(shape.batch), str(shape.rounds), str(out)]
        try:
            proc = subprocess.run(
                [sys.executable, str(CHILD), *args], capture_output=True, text=True, timeout=timeout, cwd=module.parent
            )
        except subprocess.TimeoutExpired:
            raise TakehomeError(f"{module}: build_kernel did not return within {timeout:.0f} s (stopped)") from None
        if not out.exists():
            tail = " | ".join((proc.stderr or proc.stdout).strip().splitlines()[-3:])
            raise TakehomeError(
                f"{module}: the module ended the process (exit status {proc.returncode}) before build_kernel returned"
                + (f"; its last output: {tail}" if tail else "")
            )
        try:
            return json.loads(out.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise TakehomeError(f"{module}: the loader's result could not be read: {e}") from None


def load_takehome(
    path: str | os.PathLike[str],
    shape: Shape,
    params: MachineParams = DEFAULT_PARAMS,
    timeout: float = BUILD_TIMEOUT_S,
) -> TakehomeKernel:
    """Build the user's kernel for ``shape`` and check it against this machine's rules."""
    module = find_module(path)
    t0 = time.perf_counter()
    result = _run_child(module, shape, timeout)
    seconds = time.perf_counter() - t0
    if not result.get("ok"):
        if result.get("kind") == "user_error":
            stage = result.get("stage", "build_kernel")
            raise UserCodeError(
                f"{module}: {stage} raised an exception in your code (the traceback above is yours, not the simulator's)",
                result.get("traceback", ""),
            )
        message = str(result.get("message", "not a take-home kernel"))
        raise TakehomeError(message if message.startswith(str(module)) else f"{module}: {message}")
    source = f"{module}: KernelBuilder.instrs"
    try:
        program = program_from_data(result["instrs"], params, source)
    except FormatError as e:
        raise TakehomeError(f"{e} ({_NOT_THEIRS.format(machine_rules(params))})") from None
    if len(program) == 0:
        raise TakehomeError(f"{source} is empty after build_kernel: no bundle to run")
    try:
        validate(program, params, mem_len=shape.mem_len, same_word_writes=True)
    except ProgramError as e:
        raise TakehomeError(
            f"{source}: {e} ({_NOT_THEIRS.format(machine_rules(params))})"
        ) from None
    return TakehomeKernel(module, shape, program, _symbols(result.get("scratch_map"), params), seconds,
                          list(result.get("notes", [])))  # fmt: skip
