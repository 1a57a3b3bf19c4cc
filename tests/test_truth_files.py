"""Every hand-written truth file adds up: the identities of the report templates hold in each
transcribed table, except where the truth declares (identity_exceptions) and describes
(source_inconsistencies) that the source itself does not add up. A mistyped cell fails here."""
from __future__ import annotations

import copy
import importlib.util
import json

from conftest import TRUTH

_spec = importlib.util.spec_from_file_location("check_truth", TRUTH / "check_truth.py")
check_truth = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(check_truth)


def test_every_truth_file_is_consistent():
    dirs = check_truth.truth_dirs()
    assert {d.name for d in dirs} >= {"real", "dev", "dev2", "seeds"}
    assert check_truth.check_dirs(dirs) == []


def _huaian():
    return json.loads((TRUTH / "real" / "huaian-gov-2024.json").read_text(encoding="utf-8"))


def test_a_mistyped_cell_breaks_identities():
    t = _huaian()
    assert check_truth.identity_failures(t) == set()
    bad = copy.deepcopy(t)
    bad["t3"]["granted"]["commercial"] = 12  # 21 misread
    assert check_truth.identity_failures(bad) == {"t3.row.granted", "t3.outcomes.commercial"}
    bad = copy.deepcopy(t)
    bad["t3"]["carried_forward"]["total"] = 130
    assert check_truth.identity_failures(bad) == {"t3.row.carried_forward", "t3.balance.total"}
    bad = copy.deepcopy(t)
    bad["t4"]["litigation_direct"]["pending"] = 2
    assert check_truth.identity_failures(bad) == {"t4.litigation_direct"}
    bad = copy.deepcopy(t)
    del bad["t3"]["other_other"]  # an outcome row not transcribed: that identity is not checked
    bad["t3"]["total_handled"]["natural_person"] = 1
    assert "t3.outcomes.natural_person" not in check_truth.identity_failures(bad)


def test_undeclared_and_stale_exceptions_are_reported(tmp_path):
    d = tmp_path / "real"
    d.mkdir()
    t = _huaian()
    t["t4"]["reconsideration"]["total"] = 350
    (d / "huaian-gov-2024.json").write_text(json.dumps(t, ensure_ascii=False), encoding="utf-8")
    probs = check_truth.problems(d / "huaian-gov-2024.json")
    assert len(probs) == 1 and "t4.reconsideration fails and is not declared" in probs[0]
    t["identity_exceptions"] = ["t4.reconsideration"]
    t["source_inconsistencies"] = ["reconsideration total 350 printed, parts add up to 351"]
    (d / "huaian-gov-2024.json").write_text(json.dumps(t, ensure_ascii=False), encoding="utf-8")
    assert check_truth.problems(d / "huaian-gov-2024.json") == []
    t = _huaian()
    t["identity_exceptions"] = ["t4.reconsideration"]
    (d / "huaian-gov-2024.json").write_text(json.dumps(t, ensure_ascii=False), encoding="utf-8")
    probs = check_truth.problems(d / "huaian-gov-2024.json")
    assert any("stale declaration" in p for p in probs) and any("without a source_inconsistencies" in p for p in probs)
