"""JSON interchange files: lossless round trips and errors that name file and place."""

import json

import pytest

from pymodel import formats, isa
from pymodel.formats import FormatError
from pymodel.isa import DEFAULT_PARAMS, Engine
from pymodel.program import Program, ProgramError


def every_op_program_data() -> list:
    """One bundle per op (its OpSpec example), plus the awkward shapes."""
    data: list = [{op.engine.value: [list(op.example)]} for op in isa.OPS]
    data += [
        {},  # no keys: 0 cycles
        {"alu": []},  # empty engine key: 1 cycle
        {"debug": [["compare", 3, ["round", [0, [1, "x"]], 2.5, None, True]]]},
        {"flow": [["halt"]], "valu": [["vbroadcast", 16, 3]], "alu": [["+", 1, 2, 3]]},  # listed order kept
        {"debug": [["comment", "unicode: \u00e9\u4e2d \"quoted\"\n"]]},
    ]
    return data


def test_program_round_trip_is_lossless(tmp_path):
    data = every_op_program_data()
    text = json.dumps(data)
    program = formats.loads_program(text)
    assert program.to_json_data() == data
    path = tmp_path / "p.json"
    formats.write_program(path, program)
    again = formats.read_program(path)
    assert again == program
    assert json.loads(path.read_text()) == data
    # engine order within a bundle survives
    assert list(json.loads(path.read_text())[-2]) == ["flow", "valu", "alu"]


def test_dumps_is_one_bundle_per_line():
    program = formats.loads_program('[{"alu": [["+", 1, 2, 3]]}, {"flow": [["halt"]]}]')
    assert formats.dumps_program(program).splitlines() == [
        "[", '{"alu": [["+", 1, 2, 3]]},', '{"flow": [["halt"]]}', "]"
    ]
    assert formats.dumps_program(Program(())) == "[]\n"
    assert formats.loads_program("[]") == Program(())


def test_memory_round_trip(tmp_path):
    mem = [0, 1, 2**32 - 1] + list(range(40))
    path = tmp_path / "m.json"
    formats.write_memory(path, mem)
    assert formats.read_memory(path) == mem
    assert formats.loads_memory("[]") == []


@pytest.mark.parametrize(
    "text, message",
    [
        ("[1, 2, -1]", "m.json: word 2 must be an integer 0..2^32-1, got -1"),
        ("[0, 4294967296]", "m.json: word 1 must be an integer 0..2^32-1, got 4294967296"),
        ("[1, true]", "m.json: word 1 must be an integer 0..2^32-1, got true"),
        ("[1.0]", "m.json: word 0 must be an integer 0..2^32-1, got 1.0"),
        ("[[1]]", "m.json: word 0 must be an integer 0..2^32-1, got [1]"),
        ('{"a": 1}', "m.json: a memory image must be an array of integers, got an object"),
        ("[1,\n 2,\n 3", "m.json:3:3: malformed JSON"),
        ("[NaN]", "m.json: invalid JSON value: NaN"),
    ],
)
def test_memory_errors_name_file_and_word(text, message):
    with pytest.raises(FormatError) as e:
        formats.loads_memory(text, source="m.json")
    assert str(e.value).startswith(message)


def test_write_memory_rejects_bad_words(tmp_path):
    with pytest.raises(FormatError, match="word 1 must be an integer"):
        formats.write_memory(tmp_path / "m.json", [0, -5])
    assert not (tmp_path / "m.json").exists()


@pytest.mark.parametrize(
    "text, message",
    [
        ('[\n{"alu": [["+", 1, 2, 3]]},\n{"alu": [["+", 1 2]]}\n]', "p.json:3:18: malformed JSON: Expecting ','"),
        ('[{"alu": [], "alu": [["+", 1, 2, 3]]}]', "p.json: bundle 0: engine key 'alu' appears more than once"),
        ('[{"alu": [["+", 1, 2]]}]', "p.json: + takes 3 operand(s) (d, a, b) at bundle 0, engine alu, slot 0, got 2"),
        ('[{}, {"vector": []}]', "p.json: bundle 1: unknown engine 'vector'"),
        ('[{"alu": [["nop"]]}]', "p.json: unknown op 'nop' on engine alu"),
        ('[{"load": [["const", 1, 2.0]]}]', "p.json: const operand k (imm) must be an integer at bundle 0, engine load"),
        ('[{"load": [["const", 1, true]]}]', "p.json: const operand k (imm) must be an integer"),
        ('[{"flow": [["halt"], ["halt"]]}]', "p.json: bundle 0, engine flow: 2 slots exceed the limit of 1"),
        ('{"alu": []}', "p.json: a program must be a list of bundles, got dict"),
        ('[[]]', "p.json: bundle 0: a bundle must be an object"),
        ('[{"alu": [["+", 1, 2, Infinity]]}]', "p.json: invalid JSON value: Infinity"),
        ('[{"debug": [["compare", 1, {"k": 1}]]}]', "p.json: bundle 0, engine debug, slot 0: a debug key must be"),
        ('[{"alu": [["__import__(\'os\')", 1, 2, 3]]}]', "p.json: unknown op \"__import__('os')\""),
        ('[{"alu": [["+", 1, 2, 3' + "0" * 5000 + ']]}]', "p.json: invalid JSON value"),
    ],
)
def test_program_errors_name_file_and_place(text, message):
    with pytest.raises(FormatError) as e:
        formats.loads_program(text, DEFAULT_PARAMS, source="p.json")
    assert str(e.value).startswith(message), str(e.value)
    assert isinstance(e.value, ProgramError)


def test_nesting_limits():
    deep_key = "[" * 40 + "]" * 40
    with pytest.raises(FormatError, match=r"p.json: bundle 0, engine debug, slot 1: debug operand nests deeper"):
        formats.loads_program('[{"debug": [["comment", "x"], ["compare", 1, ' + deep_key + "]]}]", source="p.json")
    # deep enough to break a recursive parser: a clean error with the position
    text = "[\n" + "[" * 5000 + "]" * 5000 + "]"
    with pytest.raises(FormatError, match=r"^p.json:2:32: nesting deeper than 32 levels$"):
        formats.loads_program(text, source="p.json")
    # a key a few levels deep is fine
    ok = formats.loads_program('[{"debug": [["compare", 1, [[[[["a"]]]]]]]}]')
    assert ok[0].slots(Engine.DEBUG)[0].args[1] == ((((("a",),),),),)


def test_file_errors(tmp_path, monkeypatch):
    missing = tmp_path / "missing.json"
    with pytest.raises(FormatError, match=r"missing.json: cannot read: No such file"):
        formats.read_program(missing)
    binary = tmp_path / "bin.json"
    binary.write_bytes(b"[\xff]")
    with pytest.raises(FormatError, match=r"bin.json: not UTF-8 text \(byte 1\)"):
        formats.read_memory(binary)
    big = tmp_path / "big.json"
    big.write_text("[" + "0, " * 50 + "0]")
    monkeypatch.setattr(formats, "MAX_FILE_BYTES", 100)
    with pytest.raises(FormatError, match=r"big.json: file is larger than the limit of 100 bytes"):
        formats.read_memory(big)
    with pytest.raises(FormatError, match="cannot write"):
        formats.write_memory(tmp_path / "no" / "dir" / "m.json", [1])


def test_long_bad_values_are_clipped_in_messages():
    text = json.dumps([{"alu": [["+", 1, 2, "x" * 10000]]}])
    with pytest.raises(FormatError) as e:
        formats.loads_program(text, source="p.json")
    assert len(str(e.value)) < 500 and "bundle 0, engine alu, slot 0" in str(e.value)


def test_symbols_round_trip_and_errors(tmp_path):
    symbols = {"val": (16, 8), "tmp": (3, 1)}
    path = tmp_path / "s.json"
    formats.write_symbols(path, symbols)
    assert formats.read_symbols(path) == symbols
    for bad in ('{"v": [1]}', '{"v": [1, 0]}', '{"v": [1530, 8]}', '{"v": ["a", 1]}', "[1, 2]"):
        with pytest.raises(FormatError, match="s.json: "):
            formats.symbols_from_data(json.loads(bad), "s.json")
