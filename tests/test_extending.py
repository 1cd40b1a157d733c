"""docs/EXTENDING.md cannot rot: its diffs are replayed on a scratch copy of the project.

* the vgather diffs (edits 1 and 2 of "How vgather was added") must be exactly what the
  committed tree has: they reverse-apply cleanly;
* the toy op's three edits apply to a copy of the committed tree; after ``make docs``
  (docgen) the change touches exactly those three files plus docs/ISA.md; the op's own
  tests -- including its Verilator cross-check -- and the table, config and docs tests
  pass in the copy.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
GUIDE = REPO / "docs" / "EXTENDING.md"
TOY_FILES = {"pymodel/isa.py", "rtl/lsu.py", "tests/test_vload_splat.py", "docs/ISA.md"}


def _diff_blocks(text: str, section: str) -> list[str]:
    """The ```diff blocks of one ``## `` section of the guide."""
    start = text.index(f"\n## {section}")
    end = text.find("\n## ", start + 1)
    body = text[start : end if end >= 0 else len(text)]
    return [m.group(1) for m in re.finditer(r"```diff\n(.*?)```", body, re.S)]


def _git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t"}  # fmt: skip
    done = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, f"git {' '.join(args)}: {done.stderr.strip()}"
    return done.stdout


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The committed project (git archive HEAD) in a fresh repository."""
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("needs git and a git checkout of the project")
    dest = tmp_path_factory.mktemp("extending") / "project"
    dest.mkdir()
    archive = subprocess.run(["git", "archive", "HEAD"], cwd=REPO, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    _git(dest, "init", "-q")
    _git(dest, "add", "-A")
    _git(dest, "commit", "-q", "-m", "base")
    return dest


def _apply(cwd: Path, patch: str, *flags: str) -> None:
    (cwd / "guide.diff").write_text(patch)
    try:
        _git(cwd, "apply", "-C1", *flags, "guide.diff")
    finally:
        (cwd / "guide.diff").unlink()


def test_vgather_diffs_match_the_tree(copy: Path) -> None:
    blocks = _diff_blocks((copy / "docs/EXTENDING.md").read_text(), "How `vgather` was added")
    assert len(blocks) == 2, "the guide shows the table edit and the RTL edit of vgather"
    for block in blocks:
        _apply(copy, block, "-R", "--check")


@pytest.mark.rtl
def test_toy_op_walkthrough(copy: Path) -> None:
    blocks = _diff_blocks((copy / "docs/EXTENDING.md").read_text(), "Walk-through")
    assert len(blocks) == 3, "the walk-through has three edits"
    for block in blocks:
        _apply(copy, block)
    run = lambda *args: subprocess.run([sys.executable, *args], cwd=copy, capture_output=True, text=True)  # noqa: E731
    docs = run("-m", "pymodel.docgen", "--write", "docs/ISA.md")
    assert docs.returncode == 0, docs.stderr
    _git(copy, "add", "-A")
    changed = set(_git(copy, "diff", "--cached", "--name-only").split())
    assert changed == TOY_FILES, f"the toy op touched {sorted(changed)}"
    assert "### Extension `splat`" in (copy / "docs/ISA.md").read_text()
    # The copy's modules, not the project's: python -m puts the copy first on sys.path.
    where = run("-c", "import pymodel.isa as m; print(m.__file__)")
    assert Path(where.stdout.strip()).resolve().is_relative_to(copy.resolve()), where
    # One simulator build at a time on the machine: the copy builds under this project's lock.
    from cocotb_tests.simbuild import build_lock

    with build_lock():
        tests = run("-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_vload_splat.py",
                    "tests/test_isa_table.py", "tests/test_configs.py", "tests/test_docs.py")  # fmt: skip
    assert tests.returncode == 0, tests.stdout[-3000:] + tests.stderr[-2000:]
    assert "passed" in tests.stdout and "failed" not in tests.stdout
