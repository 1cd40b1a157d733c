"""Chrome trace events from a reference-model run."""

import json

from pymodel.isa import MachineParams
from pymodel.machine import Machine
from pymodel.program import Program
from pymodel.tracing import TraceRecorder, chrome_trace, track_ids

PROGRAM = Program.from_tuples(
    [
        {"load": [("const", 1, 5), ("const", 2, 7)]},
        {"debug": [("comment", "free")]},
        {"flow": [("pause",)], "alu": [("+", 3, 1, 2)], "valu": [("vbroadcast", 8, 1)]},
        {"flow": [("halt",)], "debug": [("comment", "not drawn")]},
    ]
)
SYMBOLS = {"a": (1, 1), "sum": (3, 1), "vec": (8, 8), "unused": (100, 1)}


def run_trace(program=PROGRAM, mem=(0,), params=None) -> dict:
    kw = {} if params is None else {"params": params}
    recorder = TraceRecorder(program, SYMBOLS, **kw)
    Machine(program, list(mem), **kw).run_to_end(on_retire=recorder)
    return recorder.chrome_trace()


def test_one_complete_event_per_executed_slot():
    events = run_trace()["traceEvents"]
    slots = [e for e in events if e["ph"] == "X"]
    tids = track_ids()
    assert [(e["ts"], e["name"], e["tid"]) for e in slots] == [
        (0, "const", tids[("load", 0)]),
        (0, "const", tids[("load", 1)]),
        (1, "pause", tids[("flow", 0)]),
        (1, "+", tids[("alu", 0)]),
        (1, "vbroadcast", tids[("valu", 0)]),
        (2, "halt", tids[("flow", 0)]),
    ]
    assert all(e["dur"] == 1 and e["pid"] == 0 for e in slots)
    assert slots[3]["args"] == {"d": 3, "a": 1, "b": 2}
    names = {e["tid"]: e["args"]["name"] for e in events if e["name"] == "thread_name"}
    assert names[tids[("alu", 11)]] == "alu[11]" and names[tids[("flow", 0)]] == "flow" and len(names) == 23


def test_counters_for_pc_and_named_variables():
    events = run_trace()["traceEvents"]
    counters = [(e["ts"], e["name"], e["args"]) for e in events if e["ph"] == "C"]
    assert [c for c in counters if c[1] == "pc"] == [(0, "pc", {"pc": 0}), (1, "pc", {"pc": 2}), (2, "pc", {"pc": 3})]
    assert (1, "a", {"a": 5}) in counters  # value visible from the cycle after the write
    assert (2, "sum", {"sum": 12}) in counters
    assert (2, "vec", {f"vec[{i}]": 5 for i in range(8)}) in counters
    assert not [c for c in counters if c[1] == "unused"]
    instants = [(e["ts"], e["name"]) for e in events if e["ph"] == "i"]
    assert instants == [(1, "pause"), (2, "halt")]


def test_trap_is_marked_and_file_is_valid_json(tmp_path):
    program = Program.from_tuples([{"alu": [("+", 1, 1, 1)]}, {"alu": [("//", 2, 1, 3)], "load": [("const", 4, 1)]}])
    recorder = TraceRecorder(program)
    m = Machine(program, [0])
    m.run_to_end(on_retire=recorder)
    assert m.trap is not None
    path = tmp_path / "trace.json"
    recorder.write(path)
    trace = json.loads(path.read_text())
    assert trace == json.loads(json.dumps(recorder.chrome_trace()))
    trapped = [e for e in trace["traceEvents"] if e["ph"] == "X" and e["ts"] == 1]
    assert {e["name"] for e in trapped} == {"//", "const"} and all("DIV_ZERO" in e["args"]["trap"] for e in trapped)
    assert [e["name"] for e in trace["traceEvents"] if e["ph"] == "i"] == ["trap"]
    assert trace["otherData"]["cycles"] == 1 == m.cycle


def test_two_cores_get_two_processes():
    params = MachineParams(n_cores=2)
    program = Program.from_tuples([{"flow": [("coreid", 1)]}, {"flow": [("halt",)]}], params)
    events = run_trace(program, params=params)["traceEvents"]
    assert {e["pid"] for e in events if e["ph"] == "X"} == {0, 1}
    assert sorted(e["args"]["name"] for e in events if e["name"] == "process_name") == ["core 0", "core 1"]
    assert chrome_trace(program, [], params=params)["traceEvents"][0]["args"] == {"name": "core 0"}
