"""The JSON interchange files: programs, memory images and symbol tables.

MACHINE-SPEC.md, "Interchange format": a program is an array of bundles, a
bundle an object from engine name to an array of slots, a slot an array
``[op, operand, ...]``; a memory image is an array of integers.  Files are
parsed as data only (the ``json`` module, nothing executable), with a size
limit and a nesting limit, and every error names the file and the place.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

from .isa import DEFAULT_PARAMS, WORD_MASK, Engine, MachineParams
from .program import Program, ProgramError, place

MAX_FILE_BYTES = 256 << 20
# program > bundle > slots > slot is 4 levels; a debug key may nest a few more.
MAX_DEPTH = 32
MEMORY_WORDS_PER_LINE = 16


class FormatError(ProgramError):
    """A file that is not a valid interchange file; the message names file and place."""


class _DuplicateKeys(dict):
    """An object whose source repeated a key (json keeps only the last one,
    which would silently lose a slot group); ``duplicate`` is the first such key."""

    duplicate: str = ""


def _object_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            dup = _DuplicateKeys(out)
            dup.duplicate = key
            return dup
        out[key] = value
    return out


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.S)


def _too_deep_at(text: str, limit: int) -> tuple[int, int] | None:
    """line, column of the first bracket that opens level ``limit + 1``."""
    depth = 0
    for m in _TOKEN.finditer(text):
        tok = m.group()
        if tok in "[{":
            depth += 1
            if depth > limit:
                line = text.count("\n", 0, m.start()) + 1
                return line, m.start() - (text.rfind("\n", 0, m.start()) + 1) + 1
        elif tok in "]}":
            depth -= 1
    return None


def _depth(value: Any) -> int:
    """Nesting depth of lists/objects in ``value`` (iterative: no recursion limit)."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, (list, tuple, dict)):
            deepest = max(deepest, d)
            if d > MAX_DEPTH:
                return d
            stack.extend((c, d + 1) for c in (v.values() if isinstance(v, dict) else v))
    return deepest


def parse_json(text: str, source: str) -> Any:
    """Parse JSON text as plain data; FormatError gives source:line:col."""
    try:
        return json.loads(text, object_pairs_hook=_object_pairs, parse_constant=_reject_constant)
    except json.JSONDecodeError as e:
        raise FormatError(f"{source}:{e.lineno}:{e.colno}: malformed JSON: {e.msg}") from None
    except RecursionError:
        at = _too_deep_at(text, MAX_DEPTH)
        where = f":{at[0]}:{at[1]}" if at else ""
        raise FormatError(f"{source}{where}: nesting deeper than {MAX_DEPTH} levels") from None
    except ValueError as e:  # NaN/Infinity, integers with too many digits
        digits = sys.get_int_max_str_digits()
        if digits and "integer string conversion" in str(e):
            at = _first_outside_strings(text, rf"\d{{{digits + 1},}}")
            raise FormatError(f"{source}: invalid JSON value: an integer with more than {digits} digits{at}") from None
        raise FormatError(f"{source}: invalid JSON value: {e}") from None


def _first_outside_strings(text: str, pattern: str) -> str:
    """" at line L, column C" of the first match of ``pattern`` outside JSON strings, or ""."""
    for m in re.finditer(rf'"(?:[^"\\]|\\.)*"|(?:{pattern})', text, re.S):
        if not m.group().startswith('"'):
            line = text.count("\n", 0, m.start()) + 1
            column = m.start() - text.rfind("\n", 0, m.start())
            return f" at line {line}, column {column}"
    return ""


def read_text(path: str | os.PathLike[str], max_bytes: int | None = None) -> str:
    """The UTF-8 text of a file, refusing files over ``max_bytes`` (default MAX_FILE_BYTES)."""
    if max_bytes is None:
        max_bytes = MAX_FILE_BYTES
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size  # 0 for pipes: the bounded read still guards
            data = f.read(max_bytes + 1) if size <= max_bytes else b""
    except OSError as e:
        raise FormatError(f"{path}: cannot read: {e.strerror or e}") from None
    if size > max_bytes or len(data) > max_bytes:
        raise FormatError(f"{path}: file is larger than the limit of {max_bytes} bytes")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise FormatError(f"{path}: not UTF-8 text (byte {e.start})") from None


def check_writable(path: str | os.PathLike[str] | None) -> None:
    """FormatError if ``path`` clearly cannot be written (no such folder, a
    folder itself, no permission): commands check their outputs before a long
    run, so the work is not lost at the end.  None is fine (no output asked)."""
    if path is None or path == "":
        return
    target = Path(path)
    if target.is_dir():
        raise FormatError(f"{path}: cannot write: Is a directory")
    if not target.parent.is_dir():
        raise FormatError(f"{path}: cannot write: no directory {str(target.parent)!r}")
    if not os.access(target.parent, os.W_OK | os.X_OK) or (target.exists() and not os.access(target, os.W_OK)):
        raise FormatError(f"{path}: cannot write: Permission denied")


def _new_file_mode(target: Path) -> int:
    try:
        return target.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _atomic_write(path: str | os.PathLike[str], text: str) -> None:
    """Write via a temporary file, so a failed write never leaves half a file."""
    target = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent or ".")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            os.chmod(tmp, _new_file_mode(target))  # mkstemp makes 0600; give what open() would
            os.replace(tmp, target)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError as e:
        raise FormatError(f"{path}: cannot write: {e.strerror or e}") from None


# --------------------------------------------------------------------------
# Programs


def _check_program_data(raw: Any) -> None:
    """What Program.from_tuples cannot see: repeated engine keys (lost by the
    JSON parser) and debug operands that are objects or nest too deep."""
    if not isinstance(raw, list):
        return  # from_tuples names the problem
    for b, bundle in enumerate(raw):
        if isinstance(bundle, _DuplicateKeys):
            raise ProgramError(f"{place(b)}: engine key {bundle.duplicate!r} appears more than once")
        if not isinstance(bundle, dict):
            continue
        for name, slots in bundle.items():
            if name != Engine.DEBUG.value or not isinstance(slots, list):
                continue  # only debug operands may be lists (keys)
            for i, slot in enumerate(slots):
                if not isinstance(slot, list):
                    continue
                for operand in slot[1:]:
                    if _depth(operand) > MAX_DEPTH - 4:
                        raise ProgramError(f"{place(b, name, i)}: debug operand nests deeper than {MAX_DEPTH - 4} levels")
                    if _has_object(operand):
                        raise ProgramError(f"{place(b, name, i)}: a debug key must be numbers, strings and lists, not an object")


def _has_object(value: Any) -> bool:
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, dict):
            return True
        if isinstance(v, list):
            stack.extend(v)
    return False


# A program built for a machine other than the spec's starts with a zero-cost debug comment that
# names its config: the file stays in the spec's interchange format, and a run on another machine
# is refused instead of computing something else (a VLEN-16 vload read as VLEN 8, say).
CONFIG_TAG = "vliwsim-config:"
_CONFIG_TAG_RE = re.compile(r'"vliwsim-config: ([A-Za-z0-9_+\-]+) (isa\d+) params=([0-9a-f]{12})"')


def _params_digest(params: MachineParams) -> str:
    import hashlib

    return hashlib.sha256(repr(params).encode()).hexdigest()[:12]


def config_tag(params: MachineParams) -> str | None:
    """The comment that opens a program file for ``params`` (None on the spec's machine)."""
    if params == DEFAULT_PARAMS:
        return None
    from .configs import config_name
    from .isa import ISA_VERSION

    return f"{CONFIG_TAG} {config_name(params)} isa{ISA_VERSION} params={_params_digest(params)}"


def check_config_tag(head: str, params: MachineParams, source: str) -> None:
    """FormatError when the program text starting with ``head`` is tagged for another machine."""
    head = head.split("}", 1)[0]  # the first bundle only
    if CONFIG_TAG not in head:
        return
    found = _CONFIG_TAG_RE.search(head)
    if found is None:
        return
    if found.group(0)[1:-1] == config_tag(params):
        return
    from .configs import config_name
    from .isa import ISA_VERSION

    name, isa = found.group(1), found.group(2)
    if isa != f"isa{ISA_VERSION}":
        raise FormatError(f"{source}: this program was written for ISA version {isa[3:]} (its first bundle says "
                          f"{found.group(0)}); this build is ISA version {ISA_VERSION}: rebuild it")  # fmt: skip
    run = config_name(params)
    raise FormatError(
        f"{source}: this program was built for machine config {name!r} (its first bundle says so), not {run!r}: "
        f"run it with --config {name} (make sim CONFIG={name})"
    )


def program_from_data(raw: Any, params: MachineParams = DEFAULT_PARAMS, source: str = "<data>") -> Program:
    """Program from parsed JSON data; FormatError is prefixed with ``source``."""
    if isinstance(raw, list) and raw and isinstance(raw[0], dict) and isinstance(raw[0].get("debug"), list):
        check_config_tag(json.dumps(raw[0]["debug"][:1]), params, source)
    try:
        _check_program_data(raw)
        return Program.from_tuples(raw, params)
    except ProgramError as e:
        raise FormatError(f"{source}: {_clip(str(e))}") from None


def loads_program(text: str, params: MachineParams = DEFAULT_PARAMS, source: str = "<string>") -> Program:
    return program_from_data(parse_json(text, source), params, source)


def read_program(path: str | os.PathLike[str], params: MachineParams = DEFAULT_PARAMS) -> Program:
    return loads_program(read_text(path), params, str(path))


def dumps_program(program: Program, params: MachineParams = DEFAULT_PARAMS) -> str:
    """One bundle per line (diffable); ``loads_program`` gives the same Program back.
    For a machine other than the spec's the file opens with its config tag (a zero-cost comment)."""
    data = program.to_json_data()
    tag = config_tag(params)
    if tag is not None and not (data and CONFIG_TAG in json.dumps(data[0].get("debug", [])[:1])):
        data = [{"debug": [["comment", tag]]}, *data]
    try:
        lines = [json.dumps(b, allow_nan=False) for b in data]
    except (TypeError, ValueError) as e:
        raise FormatError(f"program cannot be written as JSON: {e}") from None
    return "[\n" + ",\n".join(lines) + "\n]\n" if lines else "[]\n"


def write_program(path: str | os.PathLike[str], program: Program, params: MachineParams = DEFAULT_PARAMS) -> None:
    _atomic_write(path, dumps_program(program, params))


# --------------------------------------------------------------------------
# Memory images


def _bad_word(v: Any) -> bool:
    return type(v) is not int or not 0 <= v <= WORD_MASK  # bool is not a word


def memory_from_data(raw: Any, source: str = "<data>") -> list[int]:
    if not isinstance(raw, list):
        raise FormatError(f"{source}: a memory image must be an array of integers, got {_json_type(raw)}")
    for i, v in enumerate(raw):
        if _bad_word(v):
            raise FormatError(f"{source}: word {i} must be an integer 0..2^32-1, got {_show(v)}")
    return raw


def loads_memory(text: str, source: str = "<string>") -> list[int]:
    return memory_from_data(parse_json(text, source), source)


def read_memory(path: str | os.PathLike[str]) -> list[int]:
    return loads_memory(read_text(path), str(path))


def dumps_memory(mem: list[int]) -> str:
    memory_from_data(list(mem), "memory image")
    n = MEMORY_WORDS_PER_LINE
    rows = [", ".join(str(v) for v in mem[i : i + n]) for i in range(0, len(mem), n)]
    return "[\n" + ",\n".join(rows) + "\n]\n" if rows else "[]\n"


def write_memory(path: str | os.PathLike[str], mem: list[int]) -> None:
    _atomic_write(path, dumps_memory(mem))


# --------------------------------------------------------------------------
# Symbol tables (BuiltKernel.symbols: name -> (scratch address, width))

Symbols = dict[str, tuple[int, int]]


def symbols_from_data(raw: Any, source: str = "<data>", params: MachineParams = DEFAULT_PARAMS) -> Symbols:
    if not isinstance(raw, dict):
        raise FormatError(f"{source}: a symbol table must be an object name: [address, width], got {_json_type(raw)}")
    out: Symbols = {}
    for name, entry in raw.items():
        ok = isinstance(entry, list) and len(entry) == 2 and not any(_bad_word(x) for x in entry)
        if not ok or entry[1] < 1 or entry[0] + entry[1] > params.scratch_size:
            raise FormatError(
                f"{source}: symbol {name!r} must be [address, width] inside scratch (0..{params.scratch_size}), "
                f"got {_show(entry)}"
            )
        out[name] = (entry[0], entry[1])
    return out


def read_symbols(path: str | os.PathLike[str], params: MachineParams = DEFAULT_PARAMS) -> Symbols:
    source = str(path)
    return symbols_from_data(parse_json(read_text(path), source), source, params)


def write_symbols(path: str | os.PathLike[str], symbols: Symbols) -> None:
    _atomic_write(path, json.dumps({k: [a, w] for k, (a, w) in symbols.items()}, indent=1) + "\n")


# --------------------------------------------------------------------------


def _json_type(v: Any) -> str:
    names: dict[type, str] = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", float: "a number"}
    if v is None:
        return "null"
    return next((n for t, n in names.items() if isinstance(v, t)), type(v).__name__)


def _clip(text: str, limit: int = 400) -> str:
    """Messages may quote the bad value; a huge one must not flood the terminal."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _show(v: Any, limit: int = 60) -> str:
    try:
        text = json.dumps(v)
    except (TypeError, ValueError):
        text = repr(v)
    return text if len(text) <= limit else text[: limit - 3] + "..."


__all__ = [
    "FormatError", "MAX_FILE_BYTES", "MAX_DEPTH", "read_program", "write_program", "loads_program", "dumps_program",
    "program_from_data", "read_memory", "write_memory", "loads_memory", "dumps_memory", "memory_from_data",
    "read_symbols", "write_symbols", "symbols_from_data", "parse_json", "read_text", "check_writable",
]
