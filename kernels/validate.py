"""Static checks of a program against the machine's rules.

``validate`` rejects what the machine would trap on or silently get wrong,
naming the bundle, engine and slot: slot limits, unknown ops, operand count
and kind, scratch ranges (a vector's last lane, load_offset's d+k and a+k),
two writes to one scratch word in one bundle (the assembler's rule; imported
programs may pass ``same_word_writes=True``: the model and the RTL agree that
the later slot wins, engines in bundle order), jump targets outside
0..len(program) (len is a jump to the end: a normal stop), immediates outside
32 bits.  With ``mem_len``, loads and stores whose address is statically known
(set by ``const`` and arithmetic on known words, in straight-line code) are
checked against the memory size too.
"""

from __future__ import annotations

from typing import Any

from pymodel.isa import DEFAULT_PARAMS, WORD_BITS, Engine, MachineParams, OperandKind, OpSpec, UnknownOp, lookup
from pymodel.program import Bundle, Program, ProgramError, Slot, place

from .known import apply_writes, mem_footprint, slot_writes

IMM_MIN = -(1 << (WORD_BITS - 1))  # immediates are taken mod 2^32: signed or unsigned 32-bit
IMM_MAX = (1 << WORD_BITS) - 1
REL_MAX = (1 << (WORD_BITS - 1)) - 1


class ValidationError(ProgramError):
    """The program breaks a machine rule; the message names bundle, engine and slot."""


def validate(
    program: Program,
    params: MachineParams = DEFAULT_PARAMS,
    mem_len: int | None = None,
    *,
    same_word_writes: bool = False,
) -> None:
    if not isinstance(program, Program):
        raise ValidationError(f"validate needs a pymodel.program.Program, got {type(program).__name__}")
    if not isinstance(params, MachineParams):
        raise ValueError(f"params must be a pymodel.isa.MachineParams, got {type(params).__name__}")
    if mem_len is not None and (isinstance(mem_len, bool) or not isinstance(mem_len, int) or mem_len < 0):
        raise ValueError(f"mem_len must be a non-negative integer (words in the memory image), got {mem_len!r}")
    n = len(program)
    for b, bundle in enumerate(program):
        if not isinstance(bundle, Bundle):
            raise ValidationError(f"{place(b)}: a bundle must be a pymodel.program.Bundle, got {bundle!r}")
        _check_bundle(b, bundle, n, params, same_word_writes)
    if mem_len is not None:
        _check_known_addresses(program, params, mem_len)


def _check_bundle(b: int, bundle: Bundle, n_bundles: int, params: MachineParams, same_word_writes: bool) -> None:
    seen: set[Engine] = set()
    writer: dict[int, tuple[Engine, int, str]] = {}  # scratch word -> first slot writing it
    for engine, slots in bundle.groups:
        if engine in seen:
            raise ValidationError(f"{place(b, engine)}: engine listed twice in one bundle")
        seen.add(engine)
        limit = params.slot_limit(engine)
        if len(slots) > limit:
            raise ValidationError(f"{place(b, engine)}: {len(slots)} slots exceed the limit of {limit}")
        for i, slot in enumerate(slots):
            where = place(b, engine, i)
            spec = _check_slot(slot, engine, where, b, n_bundles, params)
            if same_word_writes:
                continue
            for word in spec.scratch_writes(slot.args, params):
                if word in writer:
                    e0, i0, op0 = writer[word]
                    raise ValidationError(
                        f"{where}: {slot.op} writes scratch word {word}, already written in this bundle by "
                        f"{op0} at engine {e0}, slot {i0} (two writes to one word in one bundle)"
                    )
                writer[word] = (engine, i, slot.op)


def _check_slot(slot: Any, engine: Engine, where: str, b: int, n_bundles: int, params: MachineParams) -> OpSpec:
    if not isinstance(slot, Slot):
        raise ValidationError(f"{where}: a slot must be a pymodel.program.Slot, got {slot!r}")
    if slot.engine is not engine:
        raise ValidationError(f"{where}: slot {slot} belongs to engine {slot.engine}, listed under {engine}")
    try:
        spec = lookup(engine, slot.op)
    except UnknownOp as e:
        raise ValidationError(f"{where}: {e.args[0]}") from None
    if len(slot.args) != spec.arity:
        want = ", ".join(o.name for o in spec.operands)
        raise ValidationError(f"{where}: {slot.op} takes {spec.arity} operand(s) ({want}), got {len(slot.args)}")
    size = params.scratch_size
    offset = slot.args[2] if slot.op == "load_offset" else 0
    if isinstance(offset, bool) or not isinstance(offset, int):
        offset = 0  # the operand loop below names the bad k
    if offset < 0:
        raise ValidationError(f"{where}: load_offset offset k={offset} must not be negative")
    for o, value in zip(spec.operands, slot.args):
        what = f"{slot.op} operand {o.name}={value!r}"
        if o.kind.is_integer and (isinstance(value, bool) or not isinstance(value, int)):
            raise ValidationError(f"{where}: {what} ({o.kind.value}) must be an integer")
        if o.kind.is_scratch:
            first = value + offset
            last = first + o.width(params) - 1
            if first < 0 or last >= size:
                lane = f" (last lane {last})" if o.kind is OperandKind.VECTOR else ""
                plus = f" + k={offset} = {first}" if offset else ""
                raise ValidationError(f"{where}: {what}{plus}{lane} is outside scratch 0..{size - 1}")
        elif o.kind is OperandKind.IMM and not IMM_MIN <= value <= IMM_MAX:
            raise ValidationError(f"{where}: {what} is outside the 32-bit immediate range {IMM_MIN}..{IMM_MAX}")
        elif o.kind is OperandKind.TARGET and not 0 <= value <= n_bundles:
            raise ValidationError(f"{where}: {what}: jump target outside bundles 0..{n_bundles}")
        elif o.kind is OperandKind.REL:
            target = b + 1 + value
            if not -REL_MAX - 1 <= value <= REL_MAX or not 0 <= target <= n_bundles:
                raise ValidationError(
                    f"{where}: {what}: relative jump to bundle {target}, outside bundles 0..{n_bundles}"
                )
        elif o.kind is OperandKind.KEYS and (not isinstance(value, (list, tuple)) or len(value) != params.vlen):
            raise ValidationError(f"{where}: {what} must be a list of {params.vlen} keys")
        elif o.kind is OperandKind.TEXT and not isinstance(value, str):
            raise ValidationError(f"{where}: {what} must be text")
    return spec


def _jump_targets(program: Program) -> set[int] | None:
    """Bundles a jump can land on; None if some target is only known at run time."""
    targets: set[int] = set()
    for b, bundle in enumerate(program):
        for _e, _i, slot in bundle:
            if slot.op in ("jump", "cond_jump"):
                targets.add(slot.args[-1])
            elif slot.op == "cond_jump_rel":
                targets.add(b + 1 + slot.args[1])
            elif slot.op == "jump_indirect":
                return None
    return targets


def _check_known_addresses(program: Program, params: MachineParams, mem_len: int) -> None:
    targets = _jump_targets(program)
    if targets is None:
        return  # a jump_indirect may land anywhere: no value is known anywhere
    known: dict[int, int] = {}
    for b, bundle in enumerate(program):
        if b in targets:
            known.clear()  # reached from elsewhere too
        writes: dict[int, int | None] = {}
        for engine, i, slot in bundle:
            foot = mem_footprint(slot, known, params)
            if foot is not None and foot.start + foot.length > mem_len:  # known values are unsigned
                last = foot.start + foot.length - 1
                memory = f"memory 0..{mem_len - 1}" if mem_len else "the memory (mem_len 0: empty)"
                where = place(b, engine, i)
                raise ValidationError(f"{where}: {slot} touches memory {foot.start}..{last}, outside {memory}")
            writes.update(slot_writes(slot, known, params))  # reads see the start-of-bundle state
        apply_writes(known, writes)
        if any(slot.op in ("jump", "halt") for _e, _i, slot in bundle):
            known.clear()  # the next bundle is reached only by a jump
