"""The CI examples in examples/ci/ as a CI system would meet them: valid against the GitHub
Actions and GitLab CI schemas (check-jsonschema's vendored copies), and every option they pass
to the proofs or to ``hastate`` exists."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from pytest_hastate.options import OPTIONS
from tests.support.helpers import REPO

EXAMPLES = {
    "github-workflow.yml": "vendor.github-workflows",
    "gitlab-ci.yml": "vendor.gitlab-ci",
}
NOT_OURS = {"--depth", "--branch", "--install-method", "--no-install-recommends"}


@pytest.mark.parametrize(("name", "schema"), EXAMPLES.items())
def test_the_example_is_valid_for_its_ci_system(name: str, schema: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema,
         str(REPO / "examples" / "ci" / name)],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("name", EXAMPLES)
def test_every_option_the_example_passes_exists(name: str) -> None:
    text = (REPO / "examples" / "ci" / name).read_text("utf-8")
    assert "pytest pytest-hastate/proofs" in text
    assert "hastate report evidence --output" in text
    known = {spec.flag for spec in OPTIONS} | {"--junitxml", "--output"}
    used = set(re.findall(r"(?<![\w-])--[a-z][a-z-]+", text)) - NOT_OURS
    assert used <= known, sorted(used - known)
    for phase in ("--checkpoint-file", "--verify-existing", "--cleanup-checkpoint"):
        assert phase in used


def test_the_report_command_the_examples_use_exists() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pytest_hastate", "report", "--help"],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0
    assert "--output" in done.stdout
    assert "--format" in done.stdout
