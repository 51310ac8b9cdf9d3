"""Installed beside another project's test suite, the plugin is inert: a session that collects
no proof test behaves as it does without the plugin (exit code, output, files, its own -m
markers), whatever the HASTATE_* variables say; the proof suite still runs with plugin
autoloading off."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.helpers import SELECTED_CONTRACT

OTHER_PROJECT_INI = """[pytest]
markers =
    static: the project's own static checks
    scratch: the project's own scratch tests
    cleanup: the project's own cleanup tests
    pre_maintenance: the project's own maintenance tests
"""
OTHER_PROJECT_TESTS = """
import pytest

@pytest.mark.cleanup
def test_cleans(): pass

@pytest.mark.static
def test_static(): pass

@pytest.mark.pre_maintenance
def test_before(): pass

def test_plain(): pass
"""
HASTATE_ENV = {
    "HASTATE_ENDPOINT_PACKAGE": "endpoint-package.json",
    "HASTATE_CONTRACT": "contract.json",
    "HASTATE_FROM_CHECKPOINT": "checkpoint.json",
    "HASTATE_RUN_DISPOSABLE_TOFU": "true",
    "HASTATE_EVIDENCE_DIR": "evidence",
}


def run_pytest(folder: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:randomly", *args],
        cwd=folder, env=env, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip


def comparable(output: str) -> list[str]:
    """pytest's output without what differs from run to run (times, the plugins line)."""
    lines = []
    for line in output.splitlines():
        if line.startswith("plugins:"):
            continue
        lines.append(re.sub(r"in [0-9.]+s", "in Ns", line))
    return lines


@pytest.fixture
def other_project(tmp_path: Path) -> Path:
    (tmp_path / "pytest.ini").write_text(OTHER_PROJECT_INI)
    (tmp_path / "test_theirs.py").write_text(OTHER_PROJECT_TESTS)
    return tmp_path


@pytest.mark.parametrize(
    "args",
    [[], ["-m", "cleanup"], ["-m", "not cleanup"], ["-m", "static"], ["-m", "pre_maintenance"],
     ["-m", "scratch"], ["-m", "static or cleanup", "--strict-markers"]],
    ids=["all", "cleanup", "not-cleanup", "static", "pre_maintenance", "none-selected", "strict"],
)  # fmt: skip
def test_another_suite_runs_as_without_the_plugin(other_project: Path, args: list[str]) -> None:
    env = {**os.environ, **HASTATE_ENV}
    before = sorted(p.name for p in other_project.iterdir())
    with_plugin = run_pytest(other_project, *args, env=env)
    assert sorted(p.name for p in other_project.iterdir()) == before  # nothing written
    without = run_pytest(other_project, "-p", "no:hastate", *args, env=env)
    assert with_plugin.returncode == without.returncode, with_plugin.stdout + with_plugin.stderr
    assert comparable(with_plugin.stdout) == comparable(without.stdout)
    assert with_plugin.stderr == without.stderr
    assert "hastate" not in with_plugin.stdout.replace("hastate-", "")


CLASHING_CONFTEST = """
def pytest_addoption(parser):
    parser.addoption("--dry-run", action="store_true")
    parser.addoption("--phase", default="theirs")
    parser.addoption("--contract", default=None)
"""
CLASHING_TESTS = """
import pytest

@pytest.mark.cleanup
def test_their_options_are_theirs(request):
    assert request.config.getoption("--phase") == "mine"
    assert request.config.getoption("--dry-run") is True
"""


@pytest.mark.parametrize(
    "args", [["--phase", "mine", "--dry-run"], ["--phase", "mine", "--dry-run", "--strict-markers"]],
    ids=["their-options", "unregistered-marker-strict"],
)  # fmt: skip
def test_a_project_with_options_and_markers_named_like_ours(
    tmp_path: Path, args: list[str]
) -> None:
    """Their conftest's --dry-run / --phase / --contract stay theirs, and their unregistered
    marker named like a proof step fails --strict-markers exactly as without the plugin."""
    (tmp_path / "conftest.py").write_text(CLASHING_CONFTEST)
    (tmp_path / "test_theirs.py").write_text(CLASHING_TESTS)
    env = {**os.environ, **HASTATE_ENV}
    with_plugin = run_pytest(tmp_path, *args, env=env)
    without = run_pytest(tmp_path, "-p", "no:hastate", *args, env=env)
    assert with_plugin.returncode == without.returncode, with_plugin.stdout + with_plugin.stderr
    assert comparable(with_plugin.stdout) == comparable(without.stdout)
    assert "Traceback" not in with_plugin.stdout + with_plugin.stderr


def test_naming_a_package_without_the_proof_suite_says_how_to_run_it(tmp_path: Path) -> None:
    (tmp_path / "test_plain.py").write_text("def test_plain():\n    pass\n")
    done = run_pytest(tmp_path, "--endpoint-package", "p.json", env=dict(os.environ))
    assert done.returncode == pytest.ExitCode.USAGE_ERROR
    assert done.stderr.strip().splitlines() == [
        "ERROR: pytest-hastate: --endpoint-package was given but no proof test was collected: "
        "run the installed proof suite (pytest --pyargs pytest_hastate.proofs ..., or hastate "
        "prove ...), or give the proofs/ folder of a checkout"
    ]
    assert not (tmp_path / "evidence").exists()


def test_the_installed_suite_runs_with_plugin_autoloading_off(tmp_path: Path) -> None:
    """``-p hastate`` alone is enough: the plugin brings pytest-order, which the proofs'
    ordering needs, when autoloading is off."""
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    done = run_pytest(
        tmp_path, "-p", "hastate", "--pyargs", "pytest_hastate.proofs", "-m", "static",
        "--contract", str(SELECTED_CONTRACT), "--expect-interim", env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "hastate verdict: INTERIM_ONLY" in done.stdout
    assert (tmp_path / "evidence" / "verdict.json").is_file()
