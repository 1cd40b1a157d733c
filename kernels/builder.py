"""The assembler: a typed builder for kernels.

A kernel asks the builder for named scratch (``scalar``, ``vector``,
``array``; ``free`` and ``scope`` give words back), for constants
(``const``/``vconst``: each value loaded once and shared), and emits slots in
program order (``alu``, ``valu``, ``load``, ``store``, ``flow``, ``debug``) with
labels as jump targets.  ``finish`` lays the stream out -- one slot per bundle,
or packed by ``kernels.scheduler`` -- resolves the labels and runs
``kernels.validate`` on the result.

Constants are loaded at a *pool anchor*: the stream starts with one, and
``const_pool_here`` starts a new one; a constant first asked for after an
anchor is loaded there, before the code that uses it.  Put anchors only in
straight-line code that every later use passes through.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator

from pymodel.benchmark import Shape
from pymodel.isa import DEFAULT_PARAMS, WORD_MASK, Engine, MachineParams, UnknownOp, lookup
from pymodel.program import Program, ProgramError, Slot

from .alloc import ScratchAllocator
from .scheduler import schedule as schedule_stream
from .stream import Label, Mark, StreamItem, resolve, sequential
from .validate import IMM_MAX, IMM_MIN, validate


class BuildError(ProgramError):
    """A kernel asked the builder for something invalid; names the stream position."""


@dataclass
class BuiltKernel:
    name: str
    variant: str
    shape: Shape
    program: Program
    symbols: dict[str, tuple[int, int]]  # scratch variable name -> (address, width)
    debug_values: dict[Any, int] | None = None  # for the debug engine's compare slots


@dataclass
class _ConstAnchor:
    """Where the constants first asked for after it are loaded."""

    slots: list[Slot] = field(default_factory=list)


class KernelBuilder:
    def __init__(self, params: MachineParams = DEFAULT_PARAMS) -> None:
        self.params = params
        self.alloc = ScratchAllocator(params.scratch_size)
        self._anchor = _ConstAnchor()
        self._items: list[Slot | Mark | _ConstAnchor] = [self._anchor]
        self._bias: list[float] = [0.0]  # scheduling priority bias of each item
        self._current_bias = 0.0
        self._consts: dict[int, int] = {}  # value -> scalar address
        self._vconsts: dict[int, int] = {}  # value -> vector address
        self._n_slots = 0

    # -- scratch -------------------------------------------------------------

    def scalar(self, name: str) -> int:
        return self.alloc.alloc(name, 1)

    def vector(self, name: str) -> int:
        return self.alloc.alloc(name, self.params.vlen)

    def array(self, name: str, width: int) -> int:
        return self.alloc.alloc(name, width)

    def free(self, addr: int) -> None:
        self.alloc.free(addr)

    def scope(self) -> AbstractContextManager[None]:
        return self.alloc.scope()

    @property
    def symbols(self) -> dict[str, tuple[int, int]]:
        return dict(self.alloc.symbols)

    # -- constants -----------------------------------------------------------

    def const(self, value: int, name: str | None = None) -> int:
        """Address of a scratch word holding ``value`` (loaded once, at the pool anchor)."""
        key = self._const_key(value)
        if key not in self._consts:
            # Shared, so it outlives scopes; loaded at an earlier anchor, so in a fresh word.
            addr = self.alloc.alloc(name or f"const {key:#x}", 1, scoped=False, fresh=True)
            self._anchor.slots.append(self._slot(Engine.LOAD, "const", (addr, key)))
            self._consts[key] = addr
        return self._consts[key]

    def vconst(self, value: int, name: str | None = None) -> int:
        """Address of a vector whose every lane holds ``value``."""
        key = self._const_key(value)
        if key not in self._vconsts:
            scalar = self.const(key)  # loaded at this anchor or an earlier one: before the broadcast
            addr = self.alloc.alloc(name or f"vconst {key:#x}", self.params.vlen, scoped=False, fresh=True)
            self._anchor.slots.append(self._slot(Engine.VALU, "vbroadcast", (addr, scalar)))
            self._vconsts[key] = addr
        return self._vconsts[key]

    def const_pool_here(self) -> None:
        self._anchor = _ConstAnchor()
        self._append(self._anchor)

    @staticmethod
    def _const_key(value: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not IMM_MIN <= value <= IMM_MAX:
            raise BuildError(f"constant {value!r} is not a 32-bit integer")
        return value & WORD_MASK

    # -- emission ------------------------------------------------------------

    def _slot(self, engine: Engine, op: str, args: tuple[Any, ...]) -> Slot:
        where = f"stream slot {self._n_slots}"
        try:
            spec = lookup(engine, op)
        except UnknownOp as e:
            raise BuildError(f"{where}: {e.args[0]}") from None
        if len(args) != spec.arity:
            want = ", ".join(o.name for o in spec.operands)
            raise BuildError(f"{where}: {op} takes {spec.arity} operand(s) ({want}), got {len(args)}")
        self._n_slots += 1
        return Slot(engine, op, args)

    def _append(self, item: Slot | Mark | _ConstAnchor) -> None:
        self._items.append(item)
        self._bias.append(self._current_bias)

    def emit(self, engine: Engine | str, op: str, *args: Any) -> None:
        try:
            eng = Engine(engine)
        except ValueError:
            known = ", ".join(e.value for e in Engine)
            raise BuildError(f"stream slot {self._n_slots}: unknown engine {engine!r} (engines: {known})") from None
        self._append(self._slot(eng, op, args))

    @contextmanager
    def priority(self, bias: float) -> Iterator[None]:
        """Slots emitted inside get ``bias`` added to their scheduling priority
        (in bundles of critical path: lower goes later when slots compete)."""
        outer, self._current_bias = self._current_bias, bias
        try:
            yield
        finally:
            self._current_bias = outer

    def alu(self, op: str, *args: Any) -> None:
        self.emit(Engine.ALU, op, *args)

    def valu(self, op: str, *args: Any) -> None:
        self.emit(Engine.VALU, op, *args)

    def load(self, op: str, *args: Any) -> None:
        self.emit(Engine.LOAD, op, *args)

    def store(self, op: str, *args: Any) -> None:
        self.emit(Engine.STORE, op, *args)

    def flow(self, op: str, *args: Any) -> None:
        self.emit(Engine.FLOW, op, *args)

    def debug(self, op: str, *args: Any) -> None:
        self.emit(Engine.DEBUG, op, *args)

    def comment(self, text: str) -> None:
        self.emit(Engine.DEBUG, "comment", text)

    # -- labels --------------------------------------------------------------

    def label(self, name: str) -> Label:
        """A new label; jump to it from anywhere, ``place`` it once."""
        return Label(name)

    def place(self, label: Label) -> None:
        self._append(Mark(label))

    # -- output --------------------------------------------------------------

    def stream(self) -> list[StreamItem]:
        """The sequential stream, constant loads expanded at their anchors."""
        return self._expanded()[0]

    def _expanded(self) -> tuple[list[StreamItem], list[float]]:
        out: list[StreamItem] = []
        bias: list[float] = []
        for item, item_bias in zip(self._items, self._bias):
            if isinstance(item, _ConstAnchor):
                out.extend(item.slots)
                bias.extend([item_bias] * len(item.slots))
            else:
                out.append(item)
                bias.append(item_bias)
        return out, bias

    def finish(self, *, schedule: bool = True, mem_len: int | None = None) -> Program:
        """The validated program: scheduled, or one slot per bundle in stream order."""
        stream, bias = self._expanded()
        layout = schedule_stream(stream, self.params, bias) if schedule else sequential(stream)
        program = resolve(layout)
        validate(program, self.params, mem_len)
        return program
