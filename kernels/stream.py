"""The assembler's intermediate form: a sequential stream of typed slots.

A stream is what the kernel author writes, in program order: ``Slot``s
(``pymodel.program.Slot``) and ``Mark``s (a label's position).  A jump's
target operand may be a ``Label`` until the stream is laid out into bundles
(one slot per bundle, or by the scheduler); ``resolve`` then turns labels into
bundle indices and builds the ``Program``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

from pymodel.isa import HW_ENGINES, Engine, OperandKind
from pymodel.program import Bundle, Program, ProgramError, Slot

# Engines in the order a bundle lists them (debug last: it never costs a cycle).
BUNDLE_ORDER: tuple[Engine, ...] = (*HW_ENGINES, Engine.DEBUG)


class LabelError(ProgramError):
    """A label used but never placed, or placed twice."""


@dataclass(frozen=True, eq=False)
class Label:
    """A jump target; identity, not the name, tells labels apart."""

    name: str

    def __str__(self) -> str:
        return f"@{self.name}"


@dataclass(frozen=True)
class Mark:
    """``label`` is at this point of the stream: the next slot starts its bundle."""

    label: Label


StreamItem = Union[Slot, Mark]


@dataclass
class Layout:
    """Slots placed into bundles (in execution order) plus where each label landed."""

    bundles: list[list[Slot]] = field(default_factory=list)
    labels: dict[Label, int] = field(default_factory=dict)

    def place_label(self, label: Label) -> None:
        if label in self.labels:
            raise LabelError(f"label {label.name!r} is placed twice")
        self.labels[label] = len(self.bundles)


def sequential(stream: list[StreamItem]) -> Layout:
    """One slot per bundle, in stream order (a debug slot alone costs no cycle)."""
    layout = Layout()
    for item in stream:
        if isinstance(item, Mark):
            layout.place_label(item.label)
        else:
            layout.bundles.append([item])
    return layout


def _resolve_slot(slot: Slot, bundle: int, labels: dict[Label, int]) -> Slot:
    if not any(isinstance(a, Label) for a in slot.args):
        return slot
    args = []
    for spec, value in zip(slot.spec.operands, slot.args):
        if isinstance(value, Label):
            if value not in labels:
                raise LabelError(f"label {value.name!r} is used by {slot.op} but never placed")
            target = labels[value]
            if spec.kind is OperandKind.REL:
                value = target - (bundle + 1)  # relative to the next bundle
            elif spec.kind in (OperandKind.TARGET, OperandKind.IMM):
                value = target
            else:
                raise LabelError(f"{slot.op} operand {spec.name} ({spec.kind.value}) cannot be a label")
        args.append(value)
    return Slot(slot.engine, slot.op, tuple(args))


def resolve(layout: Layout) -> Program:
    """The Program of a layout: labels become bundle indices, engines in BUNDLE_ORDER."""
    bundles = []
    for b, slots in enumerate(layout.bundles):
        by_engine: dict[Engine, list[Slot]] = {}
        for slot in slots:
            by_engine.setdefault(slot.engine, []).append(_resolve_slot(slot, b, layout.labels))
        groups = tuple((e, tuple(by_engine[e])) for e in BUNDLE_ORDER if e in by_engine)
        bundles.append(Bundle(groups))
    return Program(tuple(bundles))
