"""to_hardware: what the RTL runs behaves like the model program it came from."""

import random

import pytest

from pymodel.encoding import EncodingError, HardwareImage, decode_bundle, read_hex, to_hardware
from pymodel.isa import HW_ENGINES, Engine, MachineParams, RunState
from pymodel.machine import Machine
from pymodel.program import Program

COMMENT = {"debug": [("comment", "dropped")]}


def hw(raw: list) -> tuple[Program, HardwareImage]:
    program = Program.from_tuples(raw)
    return program, to_hardware(program)


def test_drops_zero_cost_bundles_and_reorders_groups():
    program, image = hw(
        [COMMENT, {"flow": [("halt",)], "debug": [("comment", "x")], "alu": [("+", 1, 2, 3)]}, {}, {"store": []}]
    )
    assert image.program.to_tuples() == [{"alu": [("+", 1, 2, 3)], "flow": [("halt",)]}, {"alu": []}]
    assert image.pc_map == [0, 0, 1, 1, 2]
    assert [decode_bundle(w, image.encoding) for w in image.words] == list(image.program)


def test_jump_targets_are_remapped():
    raw = [
        COMMENT,  # 0 -> dropped, maps to hw 0
        {"flow": [("jump", 0)]},  # 1 -> hw 0
        {"flow": [("cond_jump", 1, 3)]},  # 2 -> hw 1; target 3 is dropped -> next kept (model 4 = hw 2)
        {},  # 3 dropped
        {"flow": [("cond_jump_rel", 1, -5)]},  # 4 -> hw 2; target 0 -> hw 0: k = 0 - 3
        {"flow": [("cond_jump_rel", 1, 1)]},  # 5 -> hw 3; target 7 (dropped, last) -> end = hw 5
        {"flow": [("jump", 1000)]},  # 6 -> hw 4; past the end -> new length
        COMMENT,  # 7 dropped
    ]
    _, image = hw(raw)
    assert image.pc_map == [0, 0, 1, 2, 2, 3, 4, 5, 5]
    flows = [b.slots(Engine.FLOW)[0].args for b in image.program]
    assert flows == [(0,), (1, 2), (1, -3), (1, 1), (5,)]


def test_relative_jump_before_zero_still_traps():
    raw = [COMMENT, COMMENT, {"load": [("const", 1, 1)]}, {"flow": [("cond_jump_rel", 1, -6)]}]
    program, image = hw(raw)
    k = image.program[1].slots(Engine.FLOW)[0].args[1]
    assert 1 + 1 + k == 3 + 1 - 6  # the hardware target is the model's target, -2
    for prog in (program, image.program):
        m = Machine(prog, [0])
        assert m.run_to_end() is RunState.TRAPPED and m.trap.value == -2 and m.cycle == 1


def test_jump_indirect_needs_a_stable_numbering():
    with pytest.raises(EncodingError, match=r"^bundle 2, engine flow, slot 0: jump_indirect .* but bundle 1 costs no cycle"):
        hw([{"load": [("const", 1, 0)]}, COMMENT, {"flow": [("jump_indirect", 1)]}])
    # dropped bundles only after the last kept one: numbering unchanged, fine
    _, image = hw([{"load": [("const", 1, 0)]}, {"flow": [("jump_indirect", 1)]}, COMMENT, {}])
    assert image.pc_map == [0, 1, 2, 2, 2]


def test_write_conflict_in_listed_order_is_an_error():
    with pytest.raises(EncodingError, match=r"scratch word 7 .* reorder the bundle's keys to alu, flow .* at bundle 1$"):
        hw([{}, {"flow": [("add_imm", 7, 0, 1)], "alu": [("+", 7, 1, 2)]}])


def test_errors_name_the_model_place():
    with pytest.raises(EncodingError, match=r"scratch address 4000 does not fit .* at bundle 2, engine valu, slot 1$"):
        hw([COMMENT, {}, {"valu": [("vbroadcast", 8, 0), ("vbroadcast", 4000, 0)]}])
    with pytest.raises(EncodingError, match=r"jump target -2147483649 is outside signed 32-bit at bundle 0"):
        hw([{"flow": [("jump", -(2**31) - 1)]}])


def test_imem_depth_limit():
    params = MachineParams(imem_depth=2)
    to_hardware(Program.from_tuples([{"alu": []}, {"alu": []}, COMMENT], params), params)
    with pytest.raises(EncodingError, match=r"has 3 bundles, more than the instruction memory holds \(imem_depth 2\)"):
        to_hardware(Program.from_tuples([{"alu": []}] * 3, params), params)


def test_write_hex(tmp_path):
    _, image = hw([{"alu": [("+", 1, 2, 3)]}, {"flow": [("halt",)]}, COMMENT])
    path = tmp_path / "imem.hex"
    image.write_hex(path)
    header, *lines = path.read_text().splitlines()
    assert header == "//vliwsim-image:isa2:default:1472"  # ISA version, config, bundle bits
    assert len(lines) == 2 and all(len(line) == image.encoding.bundle_bits // 4 == 368 for line in lines)
    assert int(lines[0], 16) == image.words[0] and lines[0].endswith("30040041")  # + 1 2 3: 1 | 1 << 6 | 2 << 17 | 3 << 28
    assert read_hex(path, image.encoding) == image.words
    path.write_text("zz\n")
    with pytest.raises(EncodingError, match=r"imem.hex:1: expected 368 hex digits"):
        read_hex(path, image.encoding)


# --------------------------------------------------------------------------
# Random programs: the model and the hardware image end the same way.

N_BUNDLES = 12


def random_program(rng: random.Random) -> list:
    def addr() -> int:
        return rng.randrange(24)

    def target() -> int:
        return rng.randrange(-2, N_BUNDLES + 3)

    makers = {
        Engine.ALU: lambda: (rng.choice(["+", "-", "^", "<", "*", "=="] * 8 + ["%"]), addr(), addr(), addr()),
        Engine.VALU: lambda: rng.choice([("vbroadcast", addr(), addr()), ("+", addr(), addr(), addr())]),
        Engine.LOAD: lambda: rng.choice([("const", addr(), rng.randrange(-3, 40)), ("load", addr(), addr())]),
        Engine.STORE: lambda: ("store", addr(), addr()),
        Engine.FLOW: lambda: rng.choice(
            [
                ("cond_jump", addr(), target()),
                ("cond_jump_rel", addr(), target() - N_BUNDLES // 2),
                ("jump", target()),
                ("add_imm", addr(), addr(), rng.randrange(-2, 3)),
                ("trace_write", addr()),
                ("pause",),
                ("halt",),
            ]
        ),
    }
    raw = []
    for _ in range(N_BUNDLES):
        kind = rng.random()
        if kind < 0.15:
            raw.append(COMMENT)
            continue
        if kind < 0.2:
            raw.append({})
            continue
        bundle = {}
        engines = list(HW_ENGINES)
        if rng.random() < 0.3:
            rng.shuffle(engines)
        for engine in engines:
            n = rng.randrange(3) if engine is not Engine.FLOW else rng.randrange(2)
            if rng.random() < 0.5:
                bundle[engine.value] = [makers[engine]() for _ in range(n)]
        if rng.random() < 0.2:
            bundle["debug"] = [("comment", "c")]
        raw.append(bundle)
    return raw


def outcome(machine: Machine, pc_map: list[int] | None) -> tuple:
    trap = machine.trap
    trap_at = None if trap is None else (trap.cycle, pc_map[trap.pc] if pc_map else trap.pc)
    return machine.state, machine.cycle, machine.mem, machine.cores[0].trace, trap_at


def test_random_programs_behave_the_same_on_the_hardware_image():
    rng = random.Random(7)
    compared = 0
    for _ in range(400):
        program = Program.from_tuples(random_program(rng))
        try:
            image = to_hardware(program)
        except EncodingError as e:
            assert "reorder the bundle's keys" in str(e)
            continue
        mem = [rng.randrange(40) for _ in range(32)]
        model, chip = Machine(program, mem), Machine(image.program, mem)
        model.run_to_end(max_cycles=200)
        chip.run_to_end(max_cycles=200)
        assert outcome(model, image.pc_map) == outcome(chip, None)
        if model.trap is not None and in_hw_order(program[model.trap.pc]):
            # same first trapping slot; a reordered bundle may report another of its slots
            t, u = model.trap, chip.trap
            assert (t.cause, t.value, t.engine, t.slot) == (u.cause, u.value, u.engine, u.slot)
        compared += 1
    assert compared > 300


def in_hw_order(bundle) -> bool:
    listed = [e for e in bundle.engines() if e is not Engine.DEBUG]
    return listed == [e for e in HW_ENGINES if e in listed]
