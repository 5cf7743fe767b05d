"""The uncertainty file: parsing, checks that name the key, and the distributions' quantiles."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.config import RunConfig
from sim.errors import ConfigError, UserError
from sim.uncertainty import UNCERTAINTY_FILE, Uncertain, load_uncertainty, parse_param


def test_the_package_file_loads_with_sources_and_a_default_subset_of_eight():
    u = load_uncertainty()
    assert u.path == str(UNCERTAINTY_FILE)
    assert len(u.default) == 8
    assert all(p.source for p in u.params.values())
    kinds = {p.kind for p in u.params.values()}
    assert kinds == {"fitted", "assumed"}
    # every fitted parameter of the calibration has a range around its fitted value
    import yaml

    from sim.compose import CONF_DIR

    fitted = yaml.safe_load((CONF_DIR / "calibration" / "fitted.yaml").read_text())["activities"]
    for p in u.params.values():
        if p.kind == "fitted":
            name = p.key.split(".", 1)[1]
            assert p.low < fitted[name] < p.high and p.mode == pytest.approx(fitted[name]), p.key
    # the defaults of the assumed parameters lie in their ranges
    cfg = RunConfig()
    for p in u.params.values():
        if p.kind == "assumed":
            group, _, name = p.key.partition(".")
            assert p.low <= getattr(getattr(cfg, group), name) <= p.high, p.key


def test_select_keeps_order_and_refuses_unknown_and_repeated_names():
    u = load_uncertainty()
    assert [p.key for p in u.select(["diffusion.theta", "diffusion.q"])] == ["diffusion.theta", "diffusion.q"]
    with pytest.raises(ConfigError, match="--params='diffusion.nope'"):
        u.select(["diffusion.nope"])
    with pytest.raises(ConfigError, match="must not repeat"):
        u.select(["diffusion.q", "diffusion.q"])


@pytest.mark.parametrize("key, spec, message", [
    ("diffusion.nope", {"low": 0, "high": 1}, "parameters.diffusion.nope='diffusion.nope' is not allowed: is not a "
                                              "parameter of the run config"),
    ("nope", {"low": 0, "high": 1}, "is not a parameter of the run config"),
    ("diffusion.q", {"low": 0.5, "high": 0.5}, "parameters.diffusion.q.low=0.5 is not allowed: must be below high=0.5"),
    ("diffusion.q", {"low": 0.6, "high": 0.5}, "must be below high=0.5"),
    ("diffusion.q", {"low": 0.1, "high": 0.5, "dist": "normal"},
     "parameters.diffusion.q.dist='normal' is not allowed: must be one of ['uniform', 'loguniform', 'triangular']"),
    ("diffusion.q", {"low": 0.0, "high": 0.5, "dist": "loguniform"}, "must be above 0 for a loguniform"),
    ("diffusion.q", {"low": 0.1, "high": 0.5, "dist": "triangular"}, "needs a mode"),
    ("diffusion.q", {"low": 0.1, "high": 0.5, "dist": "triangular", "mode": 0.7}, "must be in [0.1, 0.5]"),
    ("diffusion.q", {"low": 0.1, "high": 0.5, "mode": 0.2}, "only a triangular distribution has a mode"),
    ("diffusion.q", {"low": 0.1, "high": 0.5, "kind": "guessed"}, "must be one of ['fitted', 'assumed']"),
    ("diffusion.q", {"low": "a", "high": 0.5}, "parameters.diffusion.q.low='a' is not allowed: must be a number"),
    ("diffusion.q", {"low": float("nan"), "high": 0.5}, "must be a finite number"),
    ("diffusion.q", {"low": 0.1}, "needs high"),
    ("diffusion.q", {"low": 0.1, "high": 0.5, "sd": 1}, "parameters.diffusion.q.sd=1 is not allowed: is not a field"),
    ("diffusion.theta", {"low": 0.1, "high": 1.5}, "parameters.diffusion.theta.high=1.5 is not allowed: is outside "
                                                  "the parameter's own range"),
    ("diffusion.policy_announce_month", {"low": 1, "high": 5}, "is a whole-number parameter"),
    ("scenario.name", {"low": 1, "high": 5}, "is not a real-valued"),
])
def test_bad_entries_name_the_key_and_what_is_allowed(key, spec, message):
    with pytest.raises(ConfigError) as e:
        parse_param(key, spec, RunConfig())
    assert message in str(e.value)
    assert "\n" not in str(e.value)


def test_bad_files_are_one_line(tmp_path):
    f = tmp_path / "u.yaml"
    f.write_text("parameters: [1, 2")
    with pytest.raises(UserError, match="not valid YAML"):
        load_uncertainty(f)
    f.write_text("params: {}\n")
    with pytest.raises(UserError, match="needs a 'parameters:' mapping"):
        load_uncertainty(f)
    f.write_text("parameters: {diffusion.q: {low: 0.1, high: 0.5}}\nextra: 1\n")
    with pytest.raises(UserError, match="unknown top-level key 'extra'"):
        load_uncertainty(f)
    f.write_text("parameters: {diffusion.q: {low: 0.1, high: 0.5}}\ndefault: [diffusion.p_ext]\n")
    with pytest.raises(ConfigError, match="--params='diffusion.p_ext'"):
        load_uncertainty(f)
    with pytest.raises(UserError, match="cannot read the uncertainty file"):
        load_uncertainty(tmp_path / "missing.yaml")


def test_uniform_loguniform_and_triangular_quantiles_exactly():
    u = Uncertain("x", 2.0, 8.0, "uniform")
    assert u.value([0, 0.5, 1]).tolist() == [2.0, 5.0, 8.0]
    lu = Uncertain("x", 1.0, 100.0, "loguniform")
    assert lu.value([0, 0.5, 1]) == pytest.approx([1.0, 10.0, 100.0])
    t = Uncertain("x", 0.0, 4.0, "triangular", mode=1.0)
    # F(1) = (1 - 0)^2 / (4 * 1) = 0.25: the mode is the 25 % quantile
    assert t.value([0, 0.25, 1]) == pytest.approx([0.0, 1.0, 4.0])
    # median of triangular(0, 1, 4): 4 - sqrt(0.5 * 4 * 3)
    assert t.value(0.5) == pytest.approx(4 - math.sqrt(6))


@settings(max_examples=60, deadline=None)
@given(low=st.floats(0.01, 10), width=st.floats(0.01, 100), c=st.floats(0, 1),
       dist=st.sampled_from(["uniform", "loguniform", "triangular"]))
def test_value_and_quantile_are_inverse_and_monotone(low, width, c, dist):
    high = low + width
    p = Uncertain("x", low, high, dist, mode=low + c * width if dist == "triangular" else None)
    u = np.linspace(0, 1, 41)
    v = p.value(u)
    assert v[0] == pytest.approx(low) and v[-1] == pytest.approx(high)
    assert np.all(np.diff(v) >= -1e-12 * high)
    assert np.allclose(p.quantile(v), u, atol=1e-7)


def test_a_large_uniform_sample_has_the_distributions_mean():
    rng = np.random.default_rng(3)
    u = rng.random(200_000)
    t = Uncertain("x", 0.0, 4.0, "triangular", mode=1.0)
    assert t.value(u).mean() == pytest.approx((0 + 1 + 4) / 3, abs=0.01)
    lu = Uncertain("x", 1.0, math.e ** 2, "loguniform")
    assert lu.value(u).mean() == pytest.approx((math.e ** 2 - 1) / 2, abs=0.02)
