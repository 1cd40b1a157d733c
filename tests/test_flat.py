"""The flat load path (pymodel.flat): the scanner reads exactly what the
ordinary path reads, or says "not mine" and leaves the file to it.

The property that matters: whenever ``parse_program_bytes`` accepts a text,
``formats.loads_program`` accepts it too and means the same program; files it
does not accept go through ``formats.read_program``, so every error message is
today's.
"""

import json
import random
import tempfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from cocotb_tests.strategies import Case, cases
from pymodel import formats
from pymodel.fast import FastMachine
from pymodel.flat import FlatProgram, parse_program_bytes, read_flat_program
from pymodel.isa import DEFAULT_PARAMS
from pymodel.program import Program

SAMPLE = """[
{"load": [["const", 0, 5], ["const", 1, -1]], "debug": [["comment", "set-up"]]},
{"alu": [["+", 2, 0, 1], ["//", 3, 0, 1]], "valu": [["vbroadcast", 8, 0]], "flow": [["pause"]]},
{"debug": [["compare", 2, ["round", 0, "val"]], ["vcompare", 8, [["k", 0], ["k", 1], 7, "x", [], [[1]], 2, 3]]]},
{"store": [["store", 0, 2]], "load": []},
{},
{"flow": [["cond_jump_rel", 0, -3]], "alu": []}
]
"""


def _same(a: FlatProgram, b: FlatProgram) -> None:
    for name in ("engine", "op", "index", "bundle_first", "bundle_cost"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    ints = a.engine != 5  # debug operands are not kept
    assert np.array_equal(a.args[ints], b.args[ints])


def _check_text(text: str) -> str:
    """Scan ``text``; if the scanner takes it, the ordinary path must read the same program.  Which happened."""
    data = text.encode("utf-8")
    flat = parse_program_bytes(data)
    with tempfile.NamedTemporaryFile(suffix=".json") as f:  # read_program reads files (byte order mark and all)
        f.write(data)
        f.flush()
        try:
            program = formats.read_program(f.name)
        except formats.FormatError:
            program = None
    if program is None:
        assert flat is None, f"the scanner accepted a text the ordinary path refuses: {text!r}"
        return "refused"
    if flat is None:
        return "left to the ordinary path"
    _same(flat, FlatProgram.from_program(program))
    return "scanned"


def test_sample_is_scanned_and_matches():
    assert _check_text(SAMPLE) == "scanned"
    assert _check_text("\ufeff" + SAMPLE.replace(" ", "\t").replace("\n", "\r\n")) == "scanned"
    assert _check_text("[]") == "scanned" and _check_text(" [ ] \n") == "scanned"


@pytest.mark.parametrize(
    "text",
    [
        '[{"alu": [["+", 1, 2, 3.0]]}]',  # a float operand: an error
        '[{"alu": [["+", 1, 2, 3e0]]}]',
        '[{"alu": [["+", 1, 2, true]]}]',
        '[{"alu": [["+", 1, 2, null]]}]',
        '[{"alu": [["+", 1, 2]]}]',  # too few operands
        '[{"alu": [["+", 1, 2, 3, 4]]}]',  # too many
        '[{"alu": [["nope", 1, 2, 3]]}]',  # unknown op
        '[{"alux": [["+", 1, 2, 3]]}]',  # unknown engine
        '[{"alu": [], "alu": [["+", 1, 2, 3]]}]',  # a repeated engine key
        '[{"flow": [["halt"], ["halt"]]}]',  # over the slot limit
        '[{"alu": [["+", 01, 2, 3]]}]',  # not JSON
        '[{"alu": [["+", 1, 2, 3],]}]',
        '[{"alu": [["+", 1, 2, 3]]},]',
        '[{"alu": [["+", 1, 2, 3]]}] x',
        '[{"alu": [["+", 1, 2, 3]]}',
        '{"alu": []}',
        '',
        '[{"alu": [["\\u002b", 1, 2, 3]]}]',  # valid, with an escape: left to the ordinary path
        '[{"alu": [["+", 1, 2, 123456789012345678901234]]}]',  # valid, beyond int64
        '[{"debug": [["comment", "caf\\u00e9"]]}]',
        '[{"debug": [["compare", 1, {"a": 1}]]}]',  # an object key: an error
        '[{"debug": [["compare", 1, 1.5]]}]',
        '[{"load": [["const", 1, -0]]}]',
    ],
)
def test_scanner_never_accepts_what_the_ordinary_path_refuses(text):
    _check_text(text)


def test_random_byte_edits_of_a_valid_program():
    """Single-byte edits of a valid file: each is scanned identically, refused by both, or left to the ordinary path."""
    rng = random.Random(11)
    alphabet = '[]{},:" -0123456789.eE\\aluvdbgfoswt+\n'
    seen: dict[str, int] = {}
    for _ in range(400):
        chars = list(SAMPLE)
        i = rng.randrange(len(chars))
        op = rng.randrange(3)
        if op == 0:
            chars[i] = rng.choice(alphabet)
        elif op == 1:
            del chars[i]
        else:
            chars.insert(i, rng.choice(alphabet))
        outcome = _check_text("".join(chars))
        seen[outcome] = seen.get(outcome, 0) + 1
    assert seen.get("scanned", 0) > 0 and seen.get("refused", 0) > 0, seen


@settings(max_examples=120, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
@given(case=cases())
def test_random_programs_scan_like_the_ordinary_path(case: Case):
    text = formats.dumps_program(Program.from_tuples(case.program, case.params))
    flat = parse_program_bytes(text.encode(), case.params)
    if flat is None:  # only programs with operands beyond int64 are left to the ordinary path
        assert "int" not in text or any(len(t) > 18 for t in text.replace("[", " ").replace("]", " ").replace(",", " ").split())
        return
    _same(flat, FlatProgram.from_program(formats.loads_program(text, case.params)))


def test_bad_files_give_the_ordinary_paths_message(tmp_path):
    for text in ('[{"alu": [["+", 1, 2]]}]', '[{"alu": [["+", 1, 2, 3]]', '[{"flow": [["halt"], ["halt"]]}]'):
        path = tmp_path / "p.json"
        path.write_text(text)
        with pytest.raises(formats.FormatError) as want:
            formats.read_program(path)
        with pytest.raises(formats.FormatError) as got:
            read_flat_program(path)
        assert str(got.value) == str(want.value)


def test_machine_from_a_file_gives_the_typed_program_on_demand(tmp_path):
    path = tmp_path / "p.json"
    path.write_text(SAMPLE)
    fast = FastMachine.from_file(str(path), [0] * 8, enable_debug=False)
    assert fast.decoded.flat.program is None  # not built unless asked for
    assert fast.program == formats.read_program(path)
    assert fast.run() is not None and json.loads(path.read_text())


def test_operands_beyond_int64_from_a_typed_program():
    program = Program.from_tuples([{"load": [("const", 1, 1 << 70)]}, {"alu": [("+", 2, 1, 1)]}], DEFAULT_PARAMS)
    fast = FastMachine(program, [0])
    fast.run()
    assert fast.cores[0].scratch[1] == (1 << 70) & 0xFFFFFFFF == 0
