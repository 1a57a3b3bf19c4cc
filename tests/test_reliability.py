"""The reliability battery of issue 17 (tests/reliability.py): hostile inputs and faults, small,
generated and seeded; every case must be handled (no crash, no hang, no lost report, no file
deleted outside the dataset), and README.md must show the battery's table as it runs today
(refresh it with `python tests/reliability.py --readme`)."""
from __future__ import annotations

import pytest

import reliability


@pytest.fixture(scope="module")
def battery(tmp_path_factory):
    return reliability.run(tmp_path_factory.mktemp("reliability"))


def test_every_input_and_fault_is_handled(battery):
    bad = [f"[{c.group}] {c.name}: {c.outcome.detail}" for c in battery.cases if not c.outcome.handled]
    assert not bad, "\n".join(bad)
    assert len(battery.cases) >= 100
    assert {c.group for c in battery.cases} == set(reliability.GROUPS)


def test_the_readme_table_is_the_battery_s(battery):
    text = reliability.README.read_text(encoding="utf-8")
    assert reliability.BEGIN in text, "README.md has no reliability table: run python tests/reliability.py --readme"
    block = text[text.index(reliability.BEGIN) + len(reliability.BEGIN): text.index(reliability.END)].strip()
    assert block == reliability.table(battery), "README.md's reliability table is out of date: run python tests/reliability.py --readme"
