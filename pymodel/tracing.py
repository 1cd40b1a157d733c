"""Chrome trace-event files (Perfetto, chrome://tracing) of a reference-model run.

    recorder = TraceRecorder(program, symbols)
    Machine(program, mem).run_to_end(on_retire=recorder)
    recorder.write("trace.json")

One process per core; one track per hardware slot position (``alu[0]`` ..
``flow``), each executed slot a complete event (``ts`` = cycle, ``dur`` = 1,
name = op, args = operands by name); a ``pc`` counter; one counter per named
scratch variable showing its value from the cycle after each write.  Time
unit: one microsecond of the viewer's time line is one machine cycle.
Debug slots cost no time and are not drawn.
"""

from __future__ import annotations

import json
import os
from typing import Any, Iterable, Mapping

from .events import RetireRecord
from .isa import DEFAULT_PARAMS, Encoding, Engine, MachineParams
from .program import Program

Event = dict[str, Any]
Symbols = Mapping[str, tuple[int, int]]


class TraceRecorder:
    """An ``on_retire`` hook collecting records, and the trace built from them."""

    def __init__(self, program: Program, symbols: Symbols | None = None, params: MachineParams = DEFAULT_PARAMS) -> None:
        self.program = program
        self.symbols = dict(symbols or {})
        self.params = params
        self.records: list[RetireRecord] = []

    def __call__(self, record: RetireRecord) -> None:
        self.records.append(record)

    def chrome_trace(self) -> dict[str, Any]:
        return chrome_trace(self.program, self.records, self.symbols, self.params)

    def write(self, path: str | os.PathLike[str]) -> None:
        write_chrome_trace(path, self.program, self.records, self.symbols, self.params)


def _thaw(value: Any) -> Any:
    return [_thaw(v) for v in value] if isinstance(value, tuple) else value


def track_ids(params: MachineParams = DEFAULT_PARAMS) -> dict[tuple[Engine, int], int]:
    """(engine, slot index) -> tid, in hardware slot-position order from 1."""
    return {pos: tid for tid, pos in enumerate(Encoding(params).slot_positions(), start=1)}


def _track_name(engine: Engine, index: int, params: MachineParams) -> str:
    return f"{engine}[{index}]" if params.slot_limit(engine) > 1 else str(engine)


def _metadata(cores: Iterable[int], params: MachineParams) -> list[Event]:
    out: list[Event] = []
    for core in cores:
        out.append({"ph": "M", "name": "process_name", "pid": core, "tid": 0, "args": {"name": f"core {core}"}})
        for (engine, index), tid in track_ids(params).items():
            name = _track_name(engine, index, params)
            out.append({"ph": "M", "name": "thread_name", "pid": core, "tid": tid, "args": {"name": name}})
            out.append({"ph": "M", "name": "thread_sort_index", "pid": core, "tid": tid, "args": {"sort_index": tid}})
    return out


def _slot_events(program: Program, record: RetireRecord, tids: Mapping[tuple[Engine, int], int]) -> list[Event]:
    out: list[Event] = []
    for engine, index, slot in program[record.pc]:
        if engine is Engine.DEBUG:
            continue
        args = {o.name: _thaw(v) for o, v in zip(slot.spec.operands, slot.args)}
        if record.trap is not None:
            args["trap"] = str(record.trap)
        out.append(
            {"name": slot.op, "ph": "X", "ts": record.cycle, "dur": 1, "pid": record.core,
             "tid": tids[(engine, index)], "args": args}
        )
    return out


def chrome_trace(
    program: Program,
    records: Iterable[RetireRecord],
    symbols: Symbols | None = None,
    params: MachineParams = DEFAULT_PARAMS,
) -> dict[str, Any]:
    """The trace-event JSON object of a run, from its retire records."""
    tids = track_ids(params)
    owner: dict[int, list[tuple[str, int]]] = {}  # scratch address -> [(symbol, lane)]
    widths = {name: width for name, (_base, width) in (symbols or {}).items()}
    for name, (base, width) in (symbols or {}).items():
        for lane in range(width):
            owner.setdefault(base + lane, []).append((name, lane))
    values: dict[tuple[int, str], list[int]] = {}  # (core, symbol) -> current lane values
    events: list[Event] = []
    cores: set[int] = set()
    last_cycle = 0
    for record in records:
        cores.add(record.core)
        if record.trap is None:
            last_cycle = max(last_cycle, record.cycle + 1)
        events.extend(_slot_events(program, record, tids))
        events.append({"name": "pc", "ph": "C", "ts": record.cycle, "pid": record.core, "args": {"pc": record.pc}})
        if record.trap is not None:
            events.append(_instant("trap", record, {"trap": str(record.trap)}))
            continue
        if record.halted or record.paused:
            events.append(_instant("halt" if record.halted else "pause", record, {"pc": record.pc}))
        changed: set[str] = set()
        for w in record.scratch_writes:
            for name, lane in owner.get(w.addr, ()):
                lanes = values.setdefault((record.core, name), [0] * widths[name])  # scratch starts zeroed
                lanes[lane] = w.value
                changed.add(name)
        for name in sorted(changed):
            lanes = values[(record.core, name)]
            args = {name: lanes[0]} if len(lanes) == 1 else {f"{name}[{i}]": v for i, v in enumerate(lanes)}
            events.append({"name": name, "ph": "C", "ts": record.cycle + 1, "pid": record.core, "args": args})
    return {
        "traceEvents": _metadata(sorted(cores) or [0], params) + events,
        "otherData": {"time unit": "1 us = 1 machine cycle", "cycles": last_cycle},
    }


def _instant(name: str, record: RetireRecord, args: dict[str, Any]) -> Event:
    return {"name": name, "ph": "i", "s": "p", "ts": record.cycle, "pid": record.core, "tid": 0, "args": args}


def write_chrome_trace(
    path: str | os.PathLike[str],
    program: Program,
    records: Iterable[RetireRecord],
    symbols: Symbols | None = None,
    params: MachineParams = DEFAULT_PARAMS,
) -> None:
    trace = chrome_trace(program, records, symbols, params)
    with open(path, "w", encoding="utf-8") as f:
        f.write('{"traceEvents": [\n')
        f.write(",\n".join(json.dumps(e, separators=(",", ":")) for e in trace["traceEvents"]))
        f.write("\n], ")
        f.write(json.dumps({k: v for k, v in trace.items() if k != "traceEvents"})[1:])
        f.write("\n")
