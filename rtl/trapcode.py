"""The trap cause as an amaranth enum, generated from ``isa.TrapCause`` so
the RTL's ``trap_cause`` port carries the same codes as the model."""

from __future__ import annotations

import types

from amaranth.lib import enum

from pymodel.isa import TrapCause

CAUSE_BITS = 3


def _make() -> type[enum.Enum]:
    if max(TrapCause) >= 1 << CAUSE_BITS:
        raise ValueError(f"isa.TrapCause no longer fits the {CAUSE_BITS}-bit trap_cause port")

    def body(ns: dict) -> None:
        for cause in TrapCause:
            ns[cause.name] = int(cause)

    return types.new_class("TrapCode", (enum.Enum,), {"shape": CAUSE_BITS}, body)


TrapCode = _make()
