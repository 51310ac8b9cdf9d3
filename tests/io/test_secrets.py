"""No credential value in anything the product produces, on every proof path: run each path
as an operator would (real CLI processes against a real lab, a proof that even prints the
secret and fails with it), then scan every file and every output for the values."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

from pytest_hastate.lab import LabCluster
from pytest_hastate.lab.artifacts import environment
from tests.support.helpers import REPO, lab_package, needs_tofu
from tests.support.k8s_api import RecordedApiServer, write_kubeconfig
from tests.tools.test_inventory import ALL

# The lab keeps the credentials an operator sources in these files, by design (0600).
CREDENTIAL_FILES = frozenset({"lab.env", "credentials.json", "s3.json"})

LEAKY_TEST = """
import os, pytest

@pytest.mark.static
def test_that_prints_and_fails_with_the_secret():
    secret = os.environ["TOFU_HA_STATE_SECRET_KEY"]
    print("the secret is", secret, os.environ["TOFU_HA_STATE_ACCESS_KEY"])
    raise AssertionError("leaking " + secret)
"""

CAPTURE_SHIM = """#!/bin/sh
# terraform, after a copy of its working directory (as it is before the product removes it)
mkdir -p "{capture}" && cp -r . "{capture}/$$-$1" 2>/dev/null
exec terraform "$@"
"""


def scan(root: Path, secrets: list[str], *, skip: frozenset[str] = frozenset()) -> list[str]:
    found = []
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p.name not in skip):
        data = path.read_bytes()
        found += [f"{path}" for secret in secrets if secret.encode() in data]
    return found


@needs_tofu
def test_no_credential_value_leaves_the_process_on_any_path(
    hastate_lab: LabCluster, tmp_path: Path
) -> None:
    lab = hastate_lab
    env = {**os.environ, **environment(lab)}
    secrets = [env["TOFU_HA_STATE_ACCESS_KEY"], env["TOFU_HA_STATE_SECRET_KEY"]]
    work = tmp_path / "operator"
    shutil.copytree(REPO / "proofs", work / "proofs", ignore=shutil.ignore_patterns("__pycache__"))
    (work / "tox.ini").write_text("[pytest]\n")
    (work / "leak").mkdir()
    (work / "leak" / "test_leak.py").write_text(LEAKY_TEST)
    package = lab_package(lab, work)
    capture = tmp_path / "tofu-workdirs"
    shim = tmp_path / "bin" / "tofu"
    shim.parent.mkdir()
    shim.write_text(CAPTURE_SHIM.format(capture=capture))
    shim.chmod(0o755)
    evidence = work / "evidence"
    checkpoint = evidence / "checkpoint.json"
    outputs: list[str] = []

    def run(*argv: str, ok: tuple[int, ...]) -> None:
        done = subprocess.run(argv, cwd=work, env=env, capture_output=True, text=True, check=False)
        outputs.extend((done.stdout, done.stderr))
        assert done.returncode in ok, (argv, done.stdout[-2000:], done.stderr[-2000:])

    pytest_ = (
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "--endpoint-package",
        str(package),
    )
    run(*pytest_, "proofs/", "-m", "static", "--junitxml", "junit-static.xml", ok=(10,))
    run(
        *pytest_,
        "proofs/",
        "--credential-boundary-check",
        "--junitxml",
        "junit-boundary.xml",
        "--checkpoint-file",
        str(work / "credential-boundary.json"),
        ok=(10,),
    )
    run(*pytest_, "leak/", "--junitxml", "junit-leak.xml", "-o", "junit_logging=all", ok=(1,))
    leak_output = outputs[-2]
    run(
        *pytest_,
        "proofs/",
        "--run-disposable-tofu",
        "--use-lockfile",
        "--tofu-binary",
        str(shim),
        "-m",
        "pre_maintenance",
        "--checkpoint-file",
        str(checkpoint),
        "--sample-objects",
        "4",
        "--junitxml",
        "junit-pre.xml",
        ok=(10,),
    )
    run(
        *pytest_,
        "proofs/",
        "-m",
        "post_maintenance",
        "--from-checkpoint",
        str(checkpoint),
        "--maintenance-event",
        "endpoint-loss",
        "--tofu-binary",
        str(shim),
        "--junitxml",
        "junit-post.xml",
        ok=(0,),
    )
    run(
        *pytest_,
        "proofs/",
        "-m",
        "cleanup",
        "--from-checkpoint",
        str(checkpoint),
        "--junitxml",
        "junit-cleanup.xml",
        ok=(0,),
    )
    hastate = (sys.executable, "-m", "pytest_hastate")
    run(*hastate, "readiness", "--evidence", str(evidence), ok=(0,))
    run(*hastate, "evidence", "check", str(evidence), ok=(0,))
    run(*hastate, "migration-plan", "--endpoint-package", str(package), "--state-key",
        "attic/terraform.tfstate", "--target-bucket", "state-ha", "--evidence", str(evidence),
        "--output-dir", str(work / "migration"), ok=(0,))  # fmt: skip
    with RecordedApiServer(ALL) as api:
        kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", api.url)
        run(*hastate, "inventory", "--kubeconfig", str(kubeconfig), "--output",
            str(work / "inventory.json"), ok=(0,))  # fmt: skip

    # The leaky proof really carried the secret (so the masking was exercised) ...
    junit = (work / "junit-leak.xml").read_text()
    assert "leaking ***" in junit
    assert "the secret is *** ***" in junit  # captured output, in the junit XML
    assert "the secret is *** ***" in leak_output  # and on the terminal
    # ... and nothing anywhere holds a value.
    assert any(capture.iterdir()), "the shim saw no OpenTofu working directory"
    assert scan(work, secrets) == []
    assert scan(capture, secrets) == []
    assert [o for o in outputs if any(s in o for s in secrets)] == []
    assert scan(lab.directory, secrets, skip=CREDENTIAL_FILES) == []
    for name in CREDENTIAL_FILES:
        mode = stat.S_IMODE((lab.directory / name).stat().st_mode)
        assert mode == 0o600, (name, oct(mode))
    record = json.loads((evidence / "verdict.json").read_text())
    assert record["verdict"] == "GO", record["reasons"]
