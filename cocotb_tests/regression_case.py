"""Saved fuzz cases (tests/regressions/<seed>.json): a program, its memory
image, the seed it came from and, for a failure, the mismatch it showed."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from pymodel.isa import DEFAULT_PARAMS, MachineParams
from pymodel.program import Program

from .programs import TestProgram

REGRESSIONS = Path(__file__).resolve().parent.parent / "tests" / "regressions"
FORMAT = "vliwsim-fuzz-case/1"


@dataclass
class RegressionCase:
    """``before``: programs run first in the same simulation, in order, each started
    on the core the one before left (a batch-only mismatch is saved as the pair)."""

    seed: int
    test: TestProgram
    mismatch: str  # "" for a known-good case
    generator: str  # what made the program (and how it was shrunk)
    before: list[TestProgram] = field(default_factory=list)
    before_seeds: list[int] = field(default_factory=list)

    @property
    def sequence(self) -> list[TestProgram]:
        return [*self.before, self.test]

    @property
    def file_name(self) -> str:
        return "-".join(str(s) for s in [*self.before_seeds, self.seed]) + ".json"

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = {
            "format": FORMAT,
            "seed": self.seed,
            "generator": self.generator,
            "mismatch": self.mismatch,
        }
        if self.before:
            data["before"] = [
                {"seed": s, "enable_pause": t.enable_pause, "mem": t.mem, "program": t.program.to_json_data()}
                for s, t in zip(self.before_seeds, self.before)
            ]
        data.update(enable_pause=self.test.enable_pause, mem=self.test.mem, program=self.test.program.to_json_data())
        return data

    def write(self, folder: Path = REGRESSIONS) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / self.file_name
        data = self.to_json()
        program, mem = data.pop("program"), data.pop("mem")
        head = json.dumps(data, indent=1)[:-2]  # without the closing brace: memory on one line, a bundle per line
        bundles = ",\n  ".join(json.dumps(b) for b in program)  # type: ignore[union-attr]
        path.write_text(f'{head},\n "mem": {json.dumps(mem)},\n "program": [\n  {bundles}\n ]\n}}\n')
        return path

    @classmethod
    def read(cls, path: Path, params: MachineParams = DEFAULT_PARAMS) -> RegressionCase:
        try:
            data = json.loads(path.read_text())
            if data.get("format") != FORMAT:
                raise ValueError(f"format is {data.get('format')!r}, expected {FORMAT!r}")
            program = Program.from_tuples(data["program"], params)
            test = TestProgram(path.stem, program, [int(w) for w in data["mem"]], bool(data["enable_pause"]))
            before = [
                TestProgram(f"{path.stem}-before-{b['seed']}", Program.from_tuples(b["program"], params),
                            [int(w) for w in b["mem"]], bool(b["enable_pause"]))  # fmt: skip
                for b in data.get("before", [])
            ]
            seeds = [int(b["seed"]) for b in data.get("before", [])]
            return cls(int(data["seed"]), test, str(data["mismatch"]), str(data["generator"]), before, seeds)
        except (ValueError, KeyError, TypeError) as e:
            raise ValueError(f"{path}: not a fuzz regression case: {e}") from e


def saved_cases(folder: Path = REGRESSIONS) -> list[Path]:
    return sorted(folder.glob("*.json")) if folder.is_dir() else []
