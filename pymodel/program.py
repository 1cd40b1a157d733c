"""Typed programs: Slot, Bundle, Program.

The reference world's tuple form (a list of ``{engine: [(op, *operands)]}``)
is only an import/export format: ``Program.from_tuples`` checks it and builds
the typed form, ``Program.to_tuples`` gives it back losslessly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

from .isa import DEFAULT_PARAMS, OPS, Engine, MachineParams, OperandKind, OpSpec, UnknownOp, lookup


class ProgramError(ValueError):
    """A malformed program; the message names the place (bundle, engine, slot)."""


def place(bundle: int | None = None, engine: Engine | str | None = None, slot: int | None = None) -> str:
    parts = []
    if bundle is not None:
        parts.append(f"bundle {bundle}")
    if engine is not None:
        parts.append(f"engine {engine}")
    if slot is not None:
        parts.append(f"slot {slot}")
    return ", ".join(parts)


class _SpecInfo:
    """Per-op facts the fast path of Slot.parse needs, computed once."""

    __slots__ = ("length", "int_positions", "has_text", "has_keys")

    def __init__(self, spec: OpSpec) -> None:
        self.length = spec.arity + 1  # with the op name
        self.int_positions = tuple(i + 1 for i, o in enumerate(spec.operands) if o.kind.is_integer)
        self.has_text = any(o.kind is OperandKind.TEXT for o in spec.operands)
        self.has_keys = any(o.kind in (OperandKind.KEY, OperandKind.KEYS) for o in spec.operands)


_SPECS: dict[tuple[Engine, str], _SpecInfo] = {(op.engine, op.name): _SpecInfo(op) for op in OPS}


def _freeze(value: Any) -> Any:
    """JSON lists inside debug keys become tuples, so keys are hashable."""
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


def _thaw(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_thaw(v) for v in value]
    return value


@dataclass(frozen=True, slots=True)
class Slot:
    engine: Engine
    op: str
    args: tuple[Any, ...]

    @property
    def spec(self) -> OpSpec:
        return lookup(self.engine, self.op)

    def to_tuple(self) -> tuple[Any, ...]:
        return (self.op, *self.args)

    def __str__(self) -> str:
        return " ".join([self.op, *(repr(a) if isinstance(a, str) else str(a) for a in self.args)])

    @classmethod
    def parse(cls, engine: Engine, raw: Any, where: str | Callable[[], str] = "") -> "Slot":
        """Check one slot of the tuple/JSON form against the ISA table.

        ``where`` names the place for error messages; a callable is only
        called on error (building 150k place strings costs seconds).
        """
        if isinstance(raw, (list, tuple)) and raw:
            info = _SPECS.get((engine, raw[0]))
            if (
                info is not None
                and len(raw) == info.length
                and not info.has_text
                and all(type(raw[i]) is int for i in info.int_positions)
            ):
                args = tuple(raw[1:])
                return cls(engine, raw[0], tuple(_freeze(a) for a in args) if info.has_keys else args)
        return cls._parse_slow(engine, raw, where() if callable(where) else where)

    @classmethod
    def _parse_slow(cls, engine: Engine, raw: Any, where: str) -> "Slot":
        at = f" at {where}" if where else ""
        if not isinstance(raw, (tuple, list)) or not raw:
            raise ProgramError(f"a slot must be a non-empty list [op, operand, ...]{at}, got {raw!r}")
        name, *args = raw
        if not isinstance(name, str):
            raise ProgramError(f"op name must be a string{at}, got {name!r}")
        try:
            spec = lookup(engine, name)
        except UnknownOp as e:
            raise ProgramError(f"{e.args[0]}{at}") from None
        if len(args) != spec.arity:
            want = ", ".join(o.name for o in spec.operands)
            raise ProgramError(f"{name} takes {spec.arity} operand(s) ({want}){at}, got {len(args)}")
        for o, value in zip(spec.operands, args):
            if o.kind.is_integer and (isinstance(value, bool) or not isinstance(value, int)):
                raise ProgramError(f"{name} operand {o.name} ({o.kind.value}) must be an integer{at}, got {value!r}")
            if o.kind is OperandKind.TEXT and not isinstance(value, str):
                raise ProgramError(f"{name} operand {o.name} must be text{at}, got {value!r}")
        return cls(engine, name, tuple(_freeze(a) for a in args))


@dataclass(frozen=True, slots=True)
class Bundle:
    """Slots grouped by engine, in the order the source listed the engines.

    An engine may be present with no slots: it still costs the cycle.
    """

    groups: tuple[tuple[Engine, tuple[Slot, ...]], ...]

    @classmethod
    def of(cls, groups: Mapping[Engine | str, Iterable[Slot]]) -> "Bundle":
        return cls(tuple((Engine(e), tuple(s)) for e, s in groups.items()))

    def engines(self) -> tuple[Engine, ...]:
        return tuple(e for e, _ in self.groups)

    def slots(self, engine: Engine) -> tuple[Slot, ...]:
        for e, s in self.groups:
            if e is engine:
                return s
        return ()

    def __iter__(self) -> Iterator[tuple[Engine, int, Slot]]:
        """(engine, slot index, slot) in execution order."""
        for e, slots in self.groups:
            for i, s in enumerate(slots):
                yield e, i, s

    @property
    def costs_cycle(self) -> bool:
        """Spec rule 5: any engine key other than debug costs the cycle, even with no slots."""
        return any(e is not Engine.DEBUG for e, _ in self.groups)

    def to_dict(self) -> dict[str, list[tuple[Any, ...]]]:
        return {e.value: [s.to_tuple() for s in slots] for e, slots in self.groups}


@dataclass(frozen=True)
class Program:
    bundles: tuple[Bundle, ...]

    def __len__(self) -> int:
        return len(self.bundles)

    def __getitem__(self, i: int) -> Bundle:
        return self.bundles[i]

    def __iter__(self) -> Iterator[Bundle]:
        return iter(self.bundles)

    @classmethod
    def from_tuples(cls, raw: Any, params: MachineParams = DEFAULT_PARAMS) -> "Program":
        """Build from the interchange form; ProgramError names the bad place.

        Checks shape, engine and op names, operand count and type, and slot
        limits.  Address ranges are run-time traps in the model (as in the
        reference) and are checked statically by ``kernels.validate``.
        """
        if not isinstance(params, MachineParams):
            raise ValueError(f"params must be a pymodel.isa.MachineParams, got {type(params).__name__}")
        if not isinstance(raw, (list, tuple)):
            raise ProgramError(f"a program must be a list of bundles, got {type(raw).__name__}")
        bundles = []
        engines = {e.value: e for e in Engine}
        limits = {e: params.slot_limit(e) for e in Engine}
        for b, raw_bundle in enumerate(raw):
            if type(raw_bundle) is not dict and not isinstance(raw_bundle, Mapping):
                raise ProgramError(f"{place(b)}: a bundle must be an object of engine: [slots], got {raw_bundle!r}")
            groups = []
            for name, raw_slots in raw_bundle.items():
                engine = engines.get(name) if isinstance(name, str) else None
                if engine is None:
                    known = ", ".join(e.value for e in Engine)
                    raise ProgramError(f"{place(b)}: unknown engine {name!r} (engines: {known})") from None
                if not isinstance(raw_slots, (list, tuple)):
                    raise ProgramError(f"{place(b, engine)}: slots must be a list, got {raw_slots!r}")
                limit = limits[engine]
                if len(raw_slots) > limit:
                    raise ProgramError(f"{place(b, engine)}: {len(raw_slots)} slots exceed the limit of {limit}")
                slots = tuple(
                    Slot.parse(engine, s, lambda i=i: place(b, engine, i)) for i, s in enumerate(raw_slots)
                )
                groups.append((engine, slots))
            bundles.append(Bundle(tuple(groups)))
        return cls(tuple(bundles))

    def to_tuples(self) -> list[dict[str, list[tuple[Any, ...]]]]:
        return [b.to_dict() for b in self.bundles]

    def to_json_data(self) -> list[dict[str, list[list[Any]]]]:
        return [{e.value: [[s.op, *(_thaw(a) for a in s.args)] for s in slots] for e, slots in b.groups} for b in self.bundles]


def as_program(program: Program | Sequence[Mapping[str, Any]], params: MachineParams = DEFAULT_PARAMS) -> Program:
    return program if isinstance(program, Program) else Program.from_tuples(program, params)
