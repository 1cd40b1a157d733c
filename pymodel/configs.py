"""Named machine configurations: ``MachineParams`` plus a set of ISA extensions.

A config names one machine the whole project can target: the model, the
assembler and validator, the encoder (field widths follow the params), the RTL,
the docs and the cross-check all take its ``params``.  ``default`` is the
spec's machine (MACHINE-SPEC.md), bit for bit.

    make sim CONFIG=vgather      # the config's best kernel on model and RTL
    make dse                     # every config: cycles, Verilog size, build time, Yosys cost

Adding a config is one entry in ``CONFIGS``; adding an op to an extension is
three edits (docs/EXTENDING.md).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Iterable

from .isa import DEFAULT_PARAMS, EXTENSIONS, ISA_VERSION, OPS, Engine, MachineParams, OpSpec


class UnknownConfig(LookupError):
    def __str__(self) -> str:  # not KeyError's quoting
        return str(self.args[0])


@dataclass(frozen=True)
class MachineConfig:
    name: str
    summary: str
    params: MachineParams
    # The make-sim kernel name this machine runs best (kernels.registry.resolve).
    kernel: str = "default"

    @property
    def extensions(self) -> tuple[str, ...]:
        return self.params.extensions

    def has(self, op: OpSpec) -> bool:
        return self.params.has(op)


CONFIGS: dict[str, MachineConfig] = {
    c.name: c
    for c in (
        MachineConfig("default", "the spec's machine (MACHINE-SPEC.md)", DEFAULT_PARAMS),
        MachineConfig(
            "vgather",
            "the spec's machine + the load-engine op vgather (S[d+i] = M[S[a+i]], one slot)",
            replace(DEFAULT_PARAMS, extensions=("vgather",)),
            kernel="tree_hash:vgather",
        ),
        MachineConfig("valu8", "8 VALU slots instead of 6", replace(DEFAULT_PARAMS, valu_slots=8), kernel="tree_hash:valu8"),
        MachineConfig(
            "vgather_valu8",
            "vgather and 8 VALU slots: the two limits of the default kernel relaxed together",
            replace(DEFAULT_PARAMS, valu_slots=8, extensions=("vgather",)),
            kernel="tree_hash:vgather",
        ),
        MachineConfig("vlen16", "VLEN = 16 (vector ops and vload/vstore move 16 words)", replace(DEFAULT_PARAMS, vlen=16)),
    )
}
DEFAULT_CONFIG = CONFIGS["default"]


def get_config(name: str) -> MachineConfig:
    """The named config; UnknownConfig lists the known ones."""
    try:
        return CONFIGS[name]
    except (KeyError, TypeError):
        raise UnknownConfig(f"unknown machine config {name!r} (configs: {', '.join(CONFIGS)})") from None


def config_name(params: MachineParams) -> str:
    """The name of the config whose params these are, or a description of a custom machine."""
    for c in CONFIGS.values():
        if c.params == params:
            return c.name
    return "custom" + (f"+{'+'.join(params.extensions)}" if params.extensions else "")


def configs_with(op: OpSpec) -> list[str]:
    return [c.name for c in CONFIGS.values() if c.has(op)]


def missing_op_message(op: OpSpec, params: MachineParams) -> str:
    """Why ``op`` cannot run on ``params``: names the op, this config and the configs that have it."""
    others = configs_with(op)
    where = f"config(s) {', '.join(others)}" if others else "no named config"
    return (
        f"op {op.name} ({op.engine}) is in ISA extension {op.extension!r}, which config "
        f"{config_name(params)!r} does not have; {where} has it"
    )


# Extension op names per engine, for a quick scan of a program.
_EXT_OPS: dict[tuple[Engine, str], OpSpec] = {(op.engine, op.name): op for op in OPS if op.extension is not None}


def first_missing_op(
    slots: Iterable[tuple[int, Engine, int, str]], params: MachineParams
) -> tuple[int, Engine, int, OpSpec] | None:
    """(bundle, engine, slot, op) of the first slot whose op ``params`` lacks, or None.

    ``slots``: (bundle, engine, slot index, op name)."""
    for b, engine, i, name in slots:
        op = _EXT_OPS.get((engine, name))
        if op is not None and not params.has(op):
            return b, engine, i, op
    return None


def check_program_ops(program: object, params: MachineParams) -> None:
    """ValueError (pymodel.program.ProgramError) naming op, bundle and configs when
    ``program`` (a pymodel.program.Program) uses an op this machine does not have."""
    from .program import ProgramError, place

    if all(params.has(op) for op in _EXT_OPS.values()):
        return
    slots = (
        (b, engine, i, slot.op)
        for b, bundle in enumerate(program.bundles)  # type: ignore[attr-defined]
        for engine, group in bundle.groups
        for i, slot in enumerate(group)
    )
    found = first_missing_op(slots, params)
    if found is not None:
        b, engine, i, op = found
        raise ProgramError(f"{place(b, engine, i)}: {missing_op_message(op, params)}")


def image_tag(params: MachineParams) -> str:
    """What a hardware image records about its machine: ISA version and config."""
    return f"isa{ISA_VERSION}:{config_name(params)}"


def describe_extensions() -> list[tuple[str, str, list[OpSpec]]]:
    """(name, summary, ops) of every ISA extension, for docs."""
    return [(e.name, e.summary, [op for op in OPS if op.extension == e.name]) for e in EXTENSIONS.values()]
