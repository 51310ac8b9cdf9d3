"""Every command line our users already run, verbatim: the public-format package's
proof_commands, the command lines in the contract's proof plan and in the live-candidate status
file, and the runbook lines; each run with `just` against the lab (the lab's package path
substituted for the package placeholders), each ending in its documented outcome and exit code."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_hastate.lab import LabCluster
from pytest_hastate.lab.artifacts import admin, environment
from pytest_hastate.s3.scratch import delete_everything_under
from tests.support.helpers import PUBLIC_CONTRACT, PUBLIC_STATUS, PUBLIC_TEMPLATE, REPO, needs_tofu

VALUE_FLAGS = {"--endpoint-package", "--phase", "--checkpoint-file", "--since"}
PACKAGE = "P"  # stands for the lab's package path in the table below
RUNBOOK = [
    "just rustfs-bucket-index-rca --scratch-probe --since 30m",
    "just tofu-state-ha-readiness --expect-interim",
    "just tofu-state-ha-readiness --expect-interim --endpoint-package P",
    "just ha-state-candidate-proof --endpoint-package P --run-disposable-tofu",
]
# What the status file names in prose gets the argument it needs.
COMPLETIONS = {
    "just ha-state-endpoint-package-check": " P",
    "just ha-state-proof-evidence-check": " evidence",
    "just ha-state-migration-plan": " --endpoint-package P --state-key attic/terraform.tfstate --target-bucket state-ha",
}
# command line -> (exit code, text the output must carry, files it must leave)
EXPECTED: dict[str, tuple[int, str, tuple[str, ...]]] = {
    "just ha-state-credential-boundary-check P --checkpoint-file credential-boundary.json":
        (10, "hastate verdict: INTERIM_ONLY", ("credential-boundary.json", "evidence/verdict-credential-boundary.json")),
    "just ha-state-candidate-proof --endpoint-package P --phase baseline --checkpoint-file scratch-proof-baseline.json":
        (10, "hastate verdict: INTERIM_ONLY", ("scratch-proof-baseline.json",)),
    "just ha-state-candidate-proof --endpoint-package P --run-disposable-tofu --use-lockfile":
        (10, "hastate verdict: INTERIM_ONLY", ("evidence/tofu-timings-baseline.json",)),
    "just ha-state-candidate-proof --endpoint-package P --keep-scratch-bucket --checkpoint-file checkpoint.json":
        (10, "hastate verdict: INTERIM_ONLY", ("checkpoint.json", "evidence/checkpoint.json")),
    "just ha-state-credential-boundary-check P": (10, "hastate verdict: INTERIM_ONLY", ()),
    "just ha-state-candidate-proof --endpoint-package P --phase baseline --checkpoint-file checkpoint.json":
        (10, "hastate verdict: INTERIM_ONLY", ("checkpoint.json",)),
    "just ha-state-candidate-proof --endpoint-package P --run-disposable-tofu":
        (4, "--run-disposable-tofu needs --use-lockfile: add --use-lockfile to the command line", ()),
    "just ha-state-endpoint-package-check P": (0, "passed the package gate", ()),
    "just ha-state-credential-boundary-check": (10, "hastate verdict: INTERIM_ONLY", ()),
    "just ha-state-proof-evidence-check evidence": (1, "evidence: not a folder", ()),
    "just ha-state-migration-plan --endpoint-package P --state-key attic/terraform.tfstate --target-bucket state-ha":
        (1, "refused: no verdict in evidence", ()),
    "just rustfs-bucket-index-rca --scratch-probe --since 30m":
        (10, "store: the log part was not available: no kubeconfig", ()),
    "just tofu-state-ha-readiness --expect-interim": (1, "not ready: no proof evidence in evidence", ()),
    "just tofu-state-ha-readiness --expect-interim --endpoint-package P": (0, "interim as expected", ()),
}  # fmt: skip


def commands_in(text: str) -> list[str]:
    """The `just` command lines in a line of prose (flags, placeholders, files, flag values)."""
    found = []
    for match in re.finditer(r"\bjust ([a-z0-9-]+)", text):
        words, command = text[match.end() :].split(), ["just", match.group(1)]
        while words:
            word = words.pop(0)
            if word in VALUE_FLAGS and words:
                command += [word, words.pop(0)]
            elif word.startswith(("--", "<")) or word.endswith(".json"):
                command.append(word)
            else:
                break
        found.append(" ".join(command))
    return found


def user_command_lines() -> list[str]:
    package = json.loads(PUBLIC_TEMPLATE.read_text())
    contract = json.loads(PUBLIC_CONTRACT.read_text())
    status = json.loads(PUBLIC_STATUS.read_text())
    lines = list(package["proof_commands"])
    lines += [c for entry in contract["proof_plan"] for c in commands_in(entry)]
    lines += [c for entry in status["required_next_evidence"] for c in commands_in(entry)]
    lines = [line + COMPLETIONS.get(line, "") for line in lines]
    substituted = [
        re.sub(
            r"<endpoint-package\.json>|(?<![\w/-])endpoint-package\.json", PACKAGE, line
        ).replace("<path>", "checkpoint.json")
        for line in lines
    ]
    return list(dict.fromkeys([*substituted, *RUNBOOK]))


def test_every_user_command_line_has_a_documented_outcome() -> None:
    assert set(user_command_lines()) == set(EXPECTED)


@needs_tofu
@pytest.mark.parametrize("line", sorted(EXPECTED))
def test_a_user_command_line_runs_verbatim(
    line: str, hastate_lab: LabCluster, tmp_path: Path
) -> None:
    lab = hastate_lab
    (tmp_path / "justfile").write_text(f'import "{REPO / "justfile"}"\n')
    env = {
        **os.environ, **environment(lab),
        "HASTATE_ENDPOINT_PACKAGE": str(lab.package_path),  # for the lines that name no package
        "HOME": str(tmp_path),  # no kubeconfig of the machine's
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }  # fmt: skip
    env.pop("KUBECONFIG", None)
    argv = [str(lab.package_path) if word == PACKAGE else word for word in shlex.split(line)]
    done = subprocess.run(
        argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    output = done.stdout + done.stderr
    try:
        code, text, files = EXPECTED[line]
        assert done.returncode == code, output[-3000:]
        assert text in output, output[-3000:]
        for name in files:
            assert (tmp_path / name).is_file(), name
    finally:
        kept = tmp_path / "checkpoint.json"
        if kept.is_file():  # the kept durability sample of a pre-maintenance line
            run_id = json.loads(kept.read_text())["run_id"]
            delete_everything_under(
                admin(lab), "hastate-lab-scratch", f".gloriousflywheel/ha-state-candidate/{run_id}/"
            )
