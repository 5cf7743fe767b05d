"""One-line errors: check_range and check_choice name the key and what is allowed."""

from __future__ import annotations

import pytest

from sim.config import RunConfig
from sim.errors import ConfigError, check_choice, check_range


@pytest.mark.parametrize("value, message", [
    (float("inf"), "x=inf is not allowed: must be a finite number in [0, inf)"),
    (float("nan"), "x=nan is not allowed: must be a finite number in [0, inf)"),
    (1e400, "x=inf is not allowed: must be a finite number in [0, inf)"),
    (-1, "x=-1 is not allowed: must be in [0, inf)"),
    ("abc", "x='abc' is not allowed: must be a number"),
    (None, "x=None is not allowed: must be a number"),
])
def test_bad_numbers_are_refused_in_one_line(value, message):
    with pytest.raises(ConfigError) as e:
        check_range("x", value, 0)
    assert str(e.value) == message and e.value.key == "x"


def test_whole_numbers_compare_exactly_at_the_bounds():
    check_range("seed", 2**63 - 1, 0, 2**63 - 1)  # the schema's own maximum is allowed
    with pytest.raises(ConfigError, match=r"seed=9223372036854775808 is not allowed: must be in "
                                          r"\[0, 9223372036854775807\]"):
        check_range("seed", 2**63, 0, 2**63 - 1)
    assert RunConfig(seed=2**63 - 1).seed == 2**63 - 1


def test_open_and_closed_bounds():
    check_range("s", 1.0, 0, 1, low_open=True)
    with pytest.raises(ConfigError, match=r"must be in \(0, 1\]"):
        check_range("s", 0.0, 0, 1, low_open=True)
    with pytest.raises(ConfigError, match=r"must be in \[0, 1\)"):
        check_range("s", 1.0, 0, 1, high_open=True)


def test_choice_lists_the_allowed_values():
    check_choice("k", "b", ("a", "b"))
    with pytest.raises(ConfigError) as e:
        check_choice("k", "z", ("b", "a"))
    assert str(e.value) == "k='z' is not allowed: must be one of ['a', 'b']"
