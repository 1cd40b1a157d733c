"""docs/ISA.md: every op is documented and the generated tables are current."""

from pathlib import Path

import pytest

from pymodel import docgen, isa
from pymodel.isa import HW_ENGINES, Encoding, RunState, TrapCause

ISA_MD = Path(__file__).resolve().parent.parent / "docs" / "ISA.md"


def test_generated_tables_are_up_to_date():
    text = ISA_MD.read_text(encoding="utf-8")
    assert docgen.update(text) == text, "run: python -m pymodel.docgen --write docs/ISA.md"


def test_every_op_appears_with_its_example_and_opcode():
    text = ISA_MD.read_text(encoding="utf-8")
    for op in isa.OPS:  # an extension's ops are in its own section, with their opcodes
        heading = f"### Extension `{op.extension}`" if op.extension else f"### Engine `{op.engine.value}`"
        section = text.split(heading)[1].split("###")[0]
        if op.extension:
            assert f"| {op.opcode} |" in section, op
        assert f"| `{op.name.replace('|', chr(92) + '|')}` |" in section, op
        assert op.summary.replace("|", "\\|") in section, op
    for engine in HW_ENGINES:
        table = text.split(f"Engine `{engine.value}`:\n")[1].split("\n\n")[0]
        for op in isa.ops_of(engine):
            assert f"| {op.opcode} | `{op.name.replace('|', chr(92) + '|')}` |" in table, op


def test_every_state_cause_and_parameter_is_explained():
    for state in RunState:
        assert state in docgen.RUN_STATE_MEANINGS
    for cause in TrapCause:
        assert cause in docgen.TRAP_MEANINGS
    assert docgen.UNDOCUMENTED not in ISA_MD.read_text(encoding="utf-8")


def test_encoding_numbers_come_from_the_isa():
    text = ISA_MD.read_text(encoding="utf-8")
    enc = Encoding()
    assert f"Bundle word: {enc.bundle_bits} bits" in text
    assert f"| src1 | {enc.field_lsb(isa.Field.SRC1)} | {enc.addr_bits} |" in text


def test_quirks_are_described():
    text = ISA_MD.read_text(encoding="utf-8").lower()
    for phrase in ("pc + 1 before execute", "end of the cycle", "canonical order", "costs zero cycles",
                   "halt mid-bundle", "pausing disabled", "at or past the end", "jump_negative", "trace_full",
                   "several cores", "readmemh", "jump_indirect"):
        assert phrase in text, phrase


def test_update_keeps_prose_and_rejects_bad_markers():
    doc = "".join(
        f"prose {name}\n<!-- BEGIN GENERATED: {name} -->\nstale\n<!-- END GENERATED: {name} -->\n"
        for name in docgen.SECTIONS
    )
    new = docgen.update(doc)
    assert "stale" not in new and all(f"prose {name}\n" in new for name in docgen.SECTIONS)
    assert docgen.update(new) == new
    with pytest.raises(docgen.DocError, match=r"x.md:1: unknown generated section 'nope'"):
        docgen.update("<!-- BEGIN GENERATED: nope -->", source="x.md")
    with pytest.raises(docgen.DocError, match="section ops has no END marker"):
        docgen.update("<!-- BEGIN GENERATED: ops -->\n")
    with pytest.raises(docgen.DocError, match="no generated section for"):
        docgen.update("just prose\n")


def test_check_mode(tmp_path, capsys):
    stale = tmp_path / "ISA.md"
    stale.write_text(ISA_MD.read_text(encoding="utf-8").replace("| `vlen` | 8 |", "| `vlen` | 9 |"))
    assert docgen.main(["--check", str(stale)]) == 1
    assert "out of date" in capsys.readouterr().err
    assert docgen.main(["--write", str(stale)]) == 0
    assert docgen.main(["--check", str(stale)]) == 0
    assert docgen.main(["--check", str(tmp_path / "missing.md")]) == 2
