"""Disassembly: one line per bundle, slots in execution order, optional symbol names."""

from pymodel import isa
from pymodel.disasm import ScratchNames, disassemble, format_bundle
from pymodel.program import Program


def test_example_line():
    program = Program.from_tuples(
        [{}] * 12 + [{"alu": [("+", 20, 21, 22)], "load": [("const", 0, 1), ("vload", 16, 3)], "flow": [("halt",)]}]
    )
    assert disassemble(program)[12] == "0012: alu[0] + 20 21 22 | load[0] const 0 1 | load[1] vload 16 3 | flow halt"


def test_every_op_disassembles_with_its_operands():
    program = Program.from_tuples([{op.engine.value: [op.example]} for op in isa.OPS])
    lines = disassemble(program)
    assert len(lines) == len(isa.OPS)
    for line, op in zip(lines, isa.OPS):
        assert f" {op.name}" in line and line.startswith(f"{lines.index(line):04d}: {op.engine.value}")
    assert "const 20 0x7ed55d16" in "\n".join(lines)  # big immediates in hex
    assert 'debug[0] compare 20 ["round",0,"val"]' in "\n".join(lines)
    assert 'comment "set-up done"' in "\n".join(lines)


def test_special_bundles_and_relative_targets():
    program = Program.from_tuples([{}, {"store": []}, {"debug": [("comment", "x")]}, {"flow": [("cond_jump_rel", 1, -3)]}])
    assert disassemble(program) == [
        "0000: (no engines: 0 cycles)",
        "0001: store -",
        '0002: debug[0] comment "x"',
        "0003: flow cond_jump_rel 1 -3 (->1)",
    ]
    assert len(disassemble(Program.from_tuples([{}] * 12345))[-1].split(":")[0]) == 5  # pc column widens


def test_symbols_name_scratch_operands_only():
    symbols = {"val": (16, 8), "idx": (16, 1), "tmp": (3, 1)}
    names = ScratchNames(symbols)
    assert [names(a) for a in (16, 17, 23, 24, 3)] == ["idx", "val+1", "val+7", "24", "tmp"]  # narrowest wins
    program = Program.from_tuples([{"valu": [("vbroadcast", 17, 3)], "load": [("const", 3, 3)]}])
    line = format_bundle(program[0], 0, names)
    assert line == "0000: valu[0] vbroadcast val+1 tmp | load[0] const tmp 3"  # the immediate 3 stays a number
    assert disassemble(program, symbols) == [line]


def test_names_with_spaces_stay_one_word():
    names = ScratchNames({"vconst 0x10": (40, 8)})
    assert names(40) == "<vconst 0x10>" and names(41) == "<vconst 0x10>+1"
