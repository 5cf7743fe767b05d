"""Shared fixtures: one small province built once per test session, in a temporary cache.

Every build in the tests passes an explicit ``cache_dir`` (or ``use_cache=False``), so the
suite never reads or writes ``~/.cache/outreach-sim``. Also the rule that turns a missing
Chromium or CJK font from a skip into a failure in CI (see "test tiers" below).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.admin import Admin, data_path, load_admin
from sim.config import NetworkConfig, PopulationConfig
from sim.province import Province, build_province

# --------------------------------------------------------------------------- test tiers
# The default run (addopts in pyproject.toml) deselects the markers ``integration`` and ``slow``;
# ``pytest -m "integration or slow"`` runs the rest and ``pytest -m ""`` runs everything.
# A test marked ``requires_system("...")`` skips, with its reason, when that program or font is
# missing; in CI (``CI`` or ``OUTREACH_SIM_REQUIRE_BROWSER`` set, as .ci/run does) that skip is a
# failure, so CI cannot pass without the memo screenshot and the Chinese memo being checked.

_TRUE = {"1", "true", "yes", "on"}


def system_requirements_enforced() -> bool:
    """``OUTREACH_SIM_REQUIRE_BROWSER`` decides when it is set (``1``/``0``); otherwise ``CI``."""
    flag = os.environ.get("OUTREACH_SIM_REQUIRE_BROWSER")
    if flag is not None and flag.strip():
        return flag.strip().lower() in _TRUE
    return os.environ.get("CI", "").strip().lower() in _TRUE


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    marker = item.get_closest_marker("requires_system")
    if (marker is None or not report.skipped or hasattr(report, "wasxfail")
            or not system_requirements_enforced()):
        return
    what = ", ".join(map(str, marker.args)) or "a system package"
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    reason = reason.removeprefix("Skipped: ")
    report.outcome = "failed"
    report.longrepr = (f"{what} is required here (CI or OUTREACH_SIM_REQUIRE_BROWSER=1), but the test "
                       f"skipped: {reason}")


SCALE = 0.01
"""Scale of the session province (about 229,000 simulated families)."""

N_PREFECTURES = 14
N_COUNTIES = 122
N_TOWNSHIPS = 1919
N_VILLAGES = 29213
PROVINCE_POPULATION = 66_444_864


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
    """A session-wide cache directory (empty at the start of the session)."""
    return tmp_path_factory.mktemp("province-cache")


@pytest.fixture(scope="session")
def province(cache_dir) -> Province:
    """The default province at scale 0.01, built once into the session cache."""
    p = build_province(PopulationConfig(scale=SCALE, cache_dir=str(cache_dir)), NetworkConfig(),
                       progress=False)
    assert not p.cache_hit, "the session cache must start empty"
    return p


@pytest.fixture(scope="session")
def admin() -> Admin:
    return load_admin()


@pytest.fixture(scope="session")
def raw_admin() -> pd.DataFrame:
    """The county table exactly as embedded (``pop_2020`` is NaN where there is no census figure)."""
    return pd.read_csv(data_path("hunan_admin.csv"))


def assert_arrays_equal(a, b, what: str = "") -> None:
    """Every array field of two dataclass instances (or dicts of arrays) is identical."""
    da = a if isinstance(a, dict) else vars(a)
    db = b if isinstance(b, dict) else vars(b)
    assert da.keys() == db.keys()
    for name, x in da.items():
        y = db[name]
        if isinstance(x, np.ndarray):
            assert x.dtype == y.dtype, f"{what}{name}: dtype {x.dtype} != {y.dtype}"
            assert np.array_equal(x, y), f"{what}{name} differs"
        else:
            assert x == y, f"{what}{name}: {x!r} != {y!r}"


def assert_networks_equal(a, b) -> None:
    if a is None or b is None:
        assert a is None and b is None
        return
    assert a.shape == b.shape
    assert a.nnz == b.nnz
    assert (a != b).nnz == 0


def assert_provinces_equal(p, q) -> None:
    assert_arrays_equal(p.villages, q.villages, "villages.")
    assert_arrays_equal(p.families, q.families, "families.")
    assert_networks_equal(p.network, q.network)


def assert_provinces_differ(p, q) -> None:
    """Every random array of the villages and families differs between two builds."""
    for name in ("x", "y", "population", "households", "digital_share", "migrant_share",
                 "special_share", "hardship_share", "remoteness_min"):
        assert not np.array_equal(getattr(p.villages, name), getattr(q.villages, name)), name
    for name in ("size", "n_elderly", "special", "hardship", "migrant", "digital"):
        a, b = getattr(p.families, name), getattr(q.families, name)
        assert len(a) != len(b) or not np.array_equal(a, b), name


# --------------------------------------------------------------------------- a Ray head for a test
RAY = Path(sys.executable).parent / "ray"


def ray_available() -> bool:
    """Whether the ``ray`` extra (the package and its command) is installed."""
    import importlib.util

    return importlib.util.find_spec("ray") is not None and shutil.which("ray", path=str(RAY.parent)) is not None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        assert proc.poll() is None, "the Ray head exited"
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                time.sleep(3)  # the GCS accepts connections a moment before it serves them
                return
        time.sleep(0.5)
    raise AssertionError(f"the Ray head did not open port {port} within {timeout} s")


@contextlib.contextmanager
def ray_head(env: dict, num_cpus: int = 2) -> Iterator[tuple[str, dict]]:
    """A Ray head on 127.0.0.1 for the duration of a test; yields its address and the environment
    (``RAY_TMPDIR``, ``RAY_ADDRESS``) for its clients. Stopped by its process id: SIGTERM lets it stop
    its processes, then SIGKILL takes the rest of its process group."""
    port = _free_port()
    ray_tmp = tempfile.mkdtemp(prefix="ray-", dir="/tmp")  # short: Ray's socket paths must stay < 108 chars
    head_env = {k: v for k, v in env.items() if k != "RAY_ADDRESS"} | {"RAY_TMPDIR": ray_tmp}
    head = subprocess.Popen([str(RAY), "start", "--head", "--block", "--node-ip-address=127.0.0.1", f"--port={port}",
                             f"--num-cpus={num_cpus}", "--include-dashboard=false", "--disable-usage-stats"],
                            env=head_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        _wait_for_port(port, head, timeout=90)
        address = f"127.0.0.1:{port}"
        yield address, head_env | {"RAY_ADDRESS": address}
    finally:
        if head.poll() is None:
            head.send_signal(signal.SIGTERM)
            try:
                head.wait(timeout=60)
            except subprocess.TimeoutExpired:
                pass
        with contextlib.suppress(ProcessLookupError):
            os.killpg(head.pid, signal.SIGKILL)
        head.wait(timeout=10)
        shutil.rmtree(ray_tmp, ignore_errors=True)
