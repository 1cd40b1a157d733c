"""Machine configs and ISA extensions: names, refusals, stable opcodes, the vgather op, images."""

from __future__ import annotations

import dataclasses

import pytest

from pymodel import isa
from pymodel.configs import CONFIGS, UnknownConfig, config_name, get_config
from pymodel.encoding import EncodingError, read_hex, to_hardware
from pymodel.isa import DEFAULT_PARAMS, Engine, MachineParams, RunState, TrapCause
from pymodel.machine import Machine
from pymodel.program import Program, ProgramError

VGATHER = get_config("vgather").params

# Every op's opcode as first published.  Adding an op must never change a line
# here (saved images would decode differently): append released ops, never edit.
PINNED_OPCODES = {
    ("alu", "+"): 1, ("alu", "-"): 2, ("alu", "*"): 3, ("alu", "//"): 4, ("alu", "cdiv"): 5, ("alu", "^"): 6,
    ("alu", "&"): 7, ("alu", "|"): 8, ("alu", "<<"): 9, ("alu", ">>"): 10, ("alu", "%"): 11, ("alu", "<"): 12,
    ("alu", "=="): 13,
    ("valu", "+"): 1, ("valu", "-"): 2, ("valu", "*"): 3, ("valu", "//"): 4, ("valu", "cdiv"): 5, ("valu", "^"): 6,
    ("valu", "&"): 7, ("valu", "|"): 8, ("valu", "<<"): 9, ("valu", ">>"): 10, ("valu", "%"): 11, ("valu", "<"): 12,
    ("valu", "=="): 13, ("valu", "vbroadcast"): 14, ("valu", "multiply_add"): 15,
    ("load", "load"): 1, ("load", "load_offset"): 2, ("load", "vload"): 3, ("load", "const"): 4,
    ("load", "vgather"): 5,
    ("store", "store"): 1, ("store", "vstore"): 2,
    ("flow", "select"): 1, ("flow", "vselect"): 2, ("flow", "add_imm"): 3, ("flow", "halt"): 4, ("flow", "pause"): 5,
    ("flow", "trace_write"): 6, ("flow", "cond_jump"): 7, ("flow", "cond_jump_rel"): 8, ("flow", "jump"): 9,
    ("flow", "jump_indirect"): 10, ("flow", "coreid"): 11,
    ("debug", "compare"): 1, ("debug", "vcompare"): 2, ("debug", "comment"): 3,
}  # fmt: skip


def test_opcodes_are_pinned():
    table = {(op.engine.value, op.name): op.opcode for op in isa.OPS}
    moved = {k: (v, table[k]) for k, v in PINNED_OPCODES.items() if k in table and table[k] != v}
    assert not moved, f"opcodes moved (pinned, now): {moved}"
    assert set(PINNED_OPCODES) <= set(table), f"ops removed: {set(PINNED_OPCODES) - set(table)}"
    # A new op goes into an ISA extension (the base ISA is the spec's) with an unused
    # opcode (isa.check_table); its own tests pin it, and it is added here when released.
    new = [k for k in set(table) - set(PINNED_OPCODES) if isa.lookup(*k).extension is None]
    assert not new, f"ops outside any extension that the spec does not have: {sorted(new)}"


def _op(**kw) -> isa.OpSpec:
    base = isa.lookup("load", "vload")
    return dataclasses.replace(base, **kw)


@pytest.mark.parametrize(
    "extra, says",
    [
        (_op(name="vload2", opcode=3), "opcode 3 is already vload's"),
        (_op(name="big", opcode=64), "opcode 64 outside 1..63"),
        (_op(name="zero", opcode=0), "opcode 0 outside"),
        (_op(name="x", opcode=60, extension="nope"), "unknown extension 'nope'"),
        (_op(opcode=61), "op vload is in the load table twice"),
    ],
)
def test_table_check_refuses_bad_entries(extra, says):
    with pytest.raises(isa.TableError, match=says):
        isa.check_table(isa.OPS + (extra,))


def test_unknown_config_lists_known_ones():
    with pytest.raises(UnknownConfig, match=r"unknown machine config 'big' \(configs: default, vgather, valu8, vgather_valu8, vlen16\)"):
        get_config("big")


def test_default_config_is_the_spec_machine():
    assert get_config("default").params == DEFAULT_PARAMS == MachineParams()
    assert [op.name for op in isa.ops_of(Engine.LOAD)] == ["load", "load_offset", "vload", "const"]
    assert "vgather" in [op.name for op in isa.ops_of(Engine.LOAD, VGATHER)]
    assert config_name(VGATHER) == "vgather" and config_name(MachineParams(vlen=4)) == "custom"
    assert {c.name for c in CONFIGS.values()} >= {"default", "vgather", "valu8", "vlen16"}


def test_params_extensions_checked_and_normalized():
    with pytest.raises(ValueError, match=r"unknown ISA extension 'simd9' \(known: vgather"):
        MachineParams(extensions=("simd9",))
    with pytest.raises(ValueError, match="must be a list of extension names"):
        MachineParams(extensions="vgather")  # type: ignore[arg-type]
    assert MachineParams(extensions=["vgather", "vgather"]) == VGATHER  # a JSON list, as the testbench passes it


GATHER_PROGRAM = [
    {"load": [("const", 0, 5), ("const", 1, 2)]},
    {"load": [("vgather", 16, 0)]},
    {"flow": [("halt",)]},
]


def test_program_with_another_configs_op_is_refused():
    mem = list(range(100, 140))
    with pytest.raises(ProgramError, match=r"bundle 1, engine load, slot 0: op vgather \(load\) is in ISA extension "
                       r"'vgather', which config 'default' does not have; config\(s\) vgather, vgather_valu8 has it"):  # fmt: skip
        Machine(GATHER_PROGRAM, mem)
    with pytest.raises(EncodingError, match="bundle 1, engine load, slot 0: op vgather"):
        to_hardware(Program.from_tuples(GATHER_PROGRAM), DEFAULT_PARAMS)


def test_vgather_semantics():
    mem = list(range(100, 140))
    m = Machine(GATHER_PROGRAM, mem, VGATHER)
    m.run_to_end()
    assert m.state is RunState.HALTED
    # S[0..7] = 5, 2, 0, 0, ...: lanes read M[5], M[2], M[0], ...
    assert m.cores[0].scratch[16:24] == [105, 102, 100, 100, 100, 100, 100, 100]
    spec = isa.lookup("load", "vgather")
    assert spec.scratch_reads((16, 0), VGATHER) == list(range(0, 8))
    assert spec.scratch_writes((16, 0), VGATHER) == list(range(16, 24))


def test_vgather_lane_out_of_range_traps_naming_the_lane():
    program = [{"load": [("const", 3, 40)]}, {"load": [("vgather", 16, 0)]}, {"flow": [("halt",)]}]
    m = Machine(program, list(range(40)), VGATHER)
    m.run_to_end()
    assert m.trap is not None and m.trap.cause is TrapCause.MEM_RANGE
    assert "vgather lane 3: memory address 40 is outside the memory image" in str(m.trap)


def test_stale_image_is_refused(tmp_path):
    program = Program.from_tuples([{"alu": [("+", 1, 2, 3)]}, {"flow": [("halt",)]}])
    path = tmp_path / "prog.hex"
    to_hardware(program, VGATHER).write_hex(path)
    assert read_hex(path, isa.Encoding(VGATHER))  # its own machine reads it
    with pytest.raises(EncodingError, match=r"stale or foreign hardware image: written for isa2:vgather:1472, "
                       r"this machine is isa2:default:1472"):  # fmt: skip
        read_hex(path, isa.Encoding(DEFAULT_PARAMS))
    text = path.read_text().replace(f"isa{isa.ISA_VERSION}:", "isa1:")
    path.write_text(text)
    with pytest.raises(EncodingError, match="written for isa1:vgather"):
        read_hex(path, isa.Encoding(VGATHER))


def test_encoding_widths_follow_the_config():
    assert isa.Encoding(get_config("valu8").params).bundle_bits == isa.Encoding().bundle_bits + 2 * 64
    vlen16 = get_config("vlen16").params
    assert isa.lookup("valu", "+").scratch_writes((0, 16, 32), vlen16) == list(range(16))


def test_sim_tool_unknown_config_is_one_line(capsys):
    from tools.sim import main

    assert main(["--config", "nope"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: unknown machine config 'nope' (configs: default, vgather") and "\n" not in err


@pytest.mark.parametrize("name", list(CONFIGS))
def test_random_generator_follows_the_config(name):
    """The fuzz generator draws every op of the config (extensions included) and no other:
    an extension op reaches the random campaign with no edit to the generator."""
    from cocotb_tests.randprog import FUZZ_CONFIG, generate, model_ending

    params = get_config(name).params
    cfg = dataclasses.replace(FUZZ_CONFIG, params=params)
    want = {(op.engine.value, op.name) for e in isa.HW_ENGINES for op in isa.ops_of(e, params)}
    seen: set[tuple[str, str]] = set()
    for seed in range(60):
        for bundle in generate(seed, cfg).bundles:
            seen |= {(e, s[0]) for e, slots in bundle.items() if e != "debug" for s in slots}
    assert seen <= want, f"ops of another machine: {sorted(seen - want)}"
    assert want - seen == set(), f"never drawn in 60 programs: {sorted(want - seen)}"
    # and they run on the config's model without a generator-made error
    assert all(model_ending(seed, cfg)[0] != "ILLEGAL_OP" for seed in range(20))


def test_program_file_records_its_config_and_is_refused_on_another(tmp_path):
    from pymodel import formats
    from pymodel.flat import read_flat_program

    vlen16 = get_config("vlen16").params
    program = Program.from_tuples([{"load": [("vload", 16, 0)]}, {"flow": [("halt",)]}], vlen16)
    path = tmp_path / "p.json"
    formats.write_program(path, program, vlen16)
    assert "vliwsim-config: vlen16 isa" in path.read_text().splitlines()[1]
    back = formats.read_program(path, vlen16)  # same machine: read, the tag a zero-cost comment
    assert [b for b in back.bundles if b.costs_cycle] == list(program.bundles)
    for other in ("default", "vgather"):
        for read in (formats.read_program, read_flat_program):
            with pytest.raises(formats.FormatError, match=r"built for machine config 'vlen16'.*not "
                               rf"'{other}': run it with --config vlen16"):  # fmt: skip
                read(path, get_config(other).params)
    # the spec's machine: no tag, the file is the spec's plain interchange format
    formats.write_program(path, program, DEFAULT_PARAMS)
    assert "vliwsim-config" not in path.read_text()
