"""Root pytest hooks: the functional-coverage summary at the end of `make test`
(what cocotb_tests' cross-checks and conformance tests exercised), also
written to build/coverage.json and build/coverage.txt."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pymodel.coverage import SESSION, report_text, write_reports

BUILD = Path(__file__).resolve().parent / "build"


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: Any) -> None:
    if SESSION.empty:  # no cross-check or conformance program ran (e.g. only tests/)
        return
    json_path, text_path = write_reports(SESSION.total, BUILD)
    terminalreporter.section("functional coverage")
    terminalreporter.write_line(report_text(SESSION.total, max_holes=20))
    root = BUILD.parent
    terminalreporter.write_line(f"written: {json_path.relative_to(root)}, {text_path.relative_to(root)}")
