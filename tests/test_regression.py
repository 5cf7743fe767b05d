"""The regression baseline (tests/regression/baseline.json) still holds: same seeds, same numbers.

A deliberate change of results is recorded with ``python -m tests.regression.baseline --update``.
"""

from __future__ import annotations

import json

import pytest
from regression.baseline import FILE, SCENARIOS, compute, differences

FAST = ("baseline_2021", "staff_plus_20")
"""Checked in the fast tier; every scenario of the baseline is checked with the slow tests."""


def _check(tmp_path, scenarios):
    expected = {k: v for k, v in json.loads(FILE.read_text())["runs"].items() if k.split("/")[0] in scenarios}
    assert expected, "the baseline holds these scenarios"
    diff = differences(expected, compute(str(tmp_path), scenarios))
    assert not diff, f"{len(diff)} numbers changed (first: {diff[:5]}); if deliberate, run " \
                     "python -m tests.regression.baseline --update"


def test_regression_baseline_holds(tmp_path):
    _check(tmp_path, FAST)


@pytest.mark.slow
def test_regression_baseline_holds_for_every_scenario(tmp_path):
    _check(tmp_path, SCENARIOS)


def test_differences_detect_a_change():
    base = {"baseline_2021/seed1": {"coverage.youth_education": 0.25, "cost.total_yuan": 5.0e8}}
    same = json.loads(json.dumps(base))
    assert differences(base, same) == []
    moved = {"baseline_2021/seed1": {"coverage.youth_education": 0.25001, "cost.total_yuan": 5.0e8}}
    assert differences(base, moved) == [
        "baseline_2021/seed1 coverage.youth_education: baseline 0.25, now 0.25001"]
    gone = {"baseline_2021/seed1": {"cost.total_yuan": 5.0e8}}
    assert differences(base, gone) == ["baseline_2021/seed1 coverage.youth_education: no longer reported"]
