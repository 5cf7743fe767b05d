"""The installed package: a wheel built from the checkout, installed (not editable) into a fresh
virtualenv without network, runs every command from an empty folder.

The wheel is built with this environment's setuptools (``--no-build-isolation``, the ``test``
extra installs it), from a copy of the package so the checkout gets no ``build/`` folder. The new
virtualenv gets the wheel with ``pip install --no-deps --no-index``; its dependencies come from
this environment through a ``.pth`` file that lists this environment's site-packages. A plain path
line in a ``.pth`` file is added to ``sys.path`` but that folder's own ``.pth`` files are not read,
so the editable install's import hook for ``sim`` stays off and ``import sim`` finds the wheel.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = ("outreach-sim", "outreach-sim-report", "outreach-sim-compare", "outreach-sim-validate",
            "outreach-sim-calibrate", "outreach-sim-marginal")
SMALL = ["population.scale=0.002", "months=2"]
USER_SCENARIO = """# @package _global_
# A user's own scenario, in a config folder outside the package.
scenario:
  name: mine
  description: "Ten per cent more association money."
funding:
  multiplier: 1.1
"""


def _run(cmd, *, cwd, env, timeout=600) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def _ok(r: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert r.returncode == 0, f"{r.args}\nstdout:\n{r.stdout[-3000:]}\nstderr:\n{r.stderr[-3000:]}"
    return r


@pytest.fixture(scope="module")
def offline_env(tmp_path_factory) -> dict:
    """No index, no version check, no PYTHONPATH; a private province cache; figures without a display."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env |= {"PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1",
            "OUTREACH_SIM_CACHE": str(tmp_path_factory.mktemp("cache")), "MPLBACKEND": "Agg"}
    return env


@pytest.fixture(scope="module")
def wheel(tmp_path_factory, offline_env) -> Path:
    """The wheel of the checkout, built offline from a copy of the package."""
    try:
        import setuptools  # noqa: F401 - the build backend, used without build isolation (offline)
    except ImportError:
        pytest.fail("the wheel is built offline with this environment's setuptools: pip install -e '.[test]'")
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    shutil.copytree(ROOT / "sim", src / "sim", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    out = tmp_path_factory.mktemp("wheel")
    _ok(_run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
              "-q", "-w", out, src], cwd=src, env=offline_env))
    (whl,) = out.glob("outreach_sim-*.whl")
    return whl


@pytest.fixture(scope="module")
def venv(tmp_path_factory, wheel, offline_env) -> Path:
    """A fresh virtualenv holding the wheel; the dependencies come from this environment (.pth)."""
    root = tmp_path_factory.mktemp("venv") / "venv"
    _ok(_run([sys.executable, "-m", "venv", root], cwd=root.parent, env=offline_env))
    python = root / "bin" / "python"
    site = Path(_ok(_run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                         cwd=root, env=offline_env)).stdout.strip())
    ours = dict.fromkeys(sysconfig.get_paths()[k] for k in ("purelib", "platlib"))
    (site / "outreach_sim_test_deps.pth").write_text("".join(f"{p}\n" for p in ours))
    _ok(_run([python, "-m", "pip", "install", "--no-deps", "--no-index", "-q", wheel], cwd=root, env=offline_env))
    return root


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    """An empty folder outside the checkout, where the commands run."""
    d = tmp_path_factory.mktemp("empty")
    assert not any(d.iterdir())
    return d


def test_the_wheel_holds_the_configs_and_the_data(wheel):
    """Every file of the package folder is in the wheel: code, sim/conf/** and sim/data/*."""
    names = set(zipfile.ZipFile(wheel).namelist())
    package = {p.relative_to(ROOT).as_posix() for p in (ROOT / "sim").rglob("*")
               if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"}
    assert {"sim/__init__.py", "sim/compose.py", "sim/conf/config.yaml", "sim/conf/calibrate.yaml",
            "sim/conf/calibration/fitted.yaml", "sim/conf/scenario/baseline_2021.yaml",
            "sim/data/hunan_admin.csv", "sim/data/SOURCES.md"} <= package
    assert package <= names, sorted(package - names)
    entry_points = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    for command in COMMANDS:
        assert f"{command} = " in entry_points


def test_import_sim_is_the_installed_wheel(venv, workdir, offline_env):
    code = ("import json, sim, sim.compose; "
            "print(json.dumps({'sim': sim.__file__, 'conf': str(sim.compose.CONF_DIR)}))")
    got = json.loads(_ok(_run([venv / "bin" / "python", "-c", code], cwd=workdir, env=offline_env)).stdout)
    site = venv.resolve()
    assert Path(got["sim"]).resolve().is_relative_to(site), got
    assert Path(got["conf"]).resolve().is_relative_to(site) and (Path(got["conf"]) / "config.yaml").is_file()
    assert not Path(got["sim"]).resolve().is_relative_to(ROOT)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_starts_from_an_empty_folder(command, venv, workdir, offline_env):
    r = _ok(_run([venv / "bin" / command, "--help"], cwd=workdir, env=offline_env))
    if command == "outreach-sim":  # Hydra's help lists the installed config groups
        assert "== Configuration groups ==" in r.stdout and "budget_plus_20" in r.stdout
    else:
        assert r.stdout.startswith(f"usage: {command}")


def test_run_compare_and_report_from_an_empty_folder(venv, workdir, offline_env):
    bin_ = venv / "bin"
    r = _ok(_run([bin_ / "outreach-sim", *SMALL, "hydra/launcher=basic"], cwd=workdir, env=offline_env))
    (summary,) = (workdir / "outputs" / "baseline_2021").glob("*/summary.json")
    assert str(summary.parent) in r.stdout
    s = json.loads(summary.read_text())
    assert s["scenario"] == "baseline_2021" and s["months"] == 2 and s["scale"] == 0.002
    r = _ok(_run([bin_ / "outreach-sim-compare", "outputs"], cwd=workdir, env=offline_env))
    assert "read 1 complete runs" in r.stdout
    assert (workdir / "outputs" / "compare.csv").is_file()
    _ok(_run([bin_ / "outreach-sim-report", "outputs", "--out", "memo"], cwd=workdir, env=offline_env))
    assert (workdir / "memo" / "memo.html").is_file()


def test_a_users_config_dir(venv, workdir, offline_env):
    conf = workdir / "myconf"
    (conf / "scenario").mkdir(parents=True)
    (conf / "scenario" / "mine.yaml").write_text(USER_SCENARIO)
    _ok(_run([venv / "bin" / "outreach-sim", "--config-dir", "myconf", "scenario=mine", *SMALL,
              "hydra/launcher=basic"], cwd=workdir, env=offline_env))
    (config,) = (workdir / "outputs" / "mine").glob("*/config.json")
    assert json.loads(config.read_text())["funding"]["multiplier"] == pytest.approx(1.1)
    r = _run([venv / "bin" / "outreach-sim", f"--config-dir={conf}", "scenario=nope"], cwd=workdir, env=offline_env)
    assert r.returncode == 2
    assert r.stderr.startswith("error: scenario='nope' is not allowed: must be one of [") and "'mine'" in r.stderr


def test_validate_marginal_and_calibrate_from_an_empty_folder(venv, workdir, offline_env):
    bin_ = venv / "bin"
    r = _run([bin_ / "outreach-sim-validate", *SMALL, "--seeds", "1", "--out", "validate"], cwd=workdir,
             env=offline_env)
    assert r.returncode in (0, 1), r.stderr  # 1: figures off at this tiny scale
    assert (workdir / "validate" / "validation.json").is_file()
    _ok(_run([bin_ / "outreach-sim-marginal", *SMALL, "--seeds", "1", "--out", "marginal"], cwd=workdir,
             env=offline_env))
    assert (workdir / "marginal" / "marginal.csv").is_file()
    # The default output is the installed package's fitted.yaml (not the checkout's); the ODD,
    # which is not installed, is skipped.
    ours = (ROOT / "sim" / "conf" / "calibration" / "fitted.yaml").read_bytes()
    r = _run([bin_ / "outreach-sim-calibrate", *SMALL, "--max-evaluations", "2"], cwd=workdir, env=offline_env)
    assert r.returncode in (0, 1), r.stderr  # 1: figures off at this tiny scale
    (fitted,) = venv.resolve().glob("lib/python*/site-packages/sim/conf/calibration/fitted.yaml")
    assert f"wrote {fitted}" in r.stdout and "calibration table" not in r.stdout
    assert "Scale 0.002" in fitted.read_text()
    assert (ROOT / "sim" / "conf" / "calibration" / "fitted.yaml").read_bytes() == ours

