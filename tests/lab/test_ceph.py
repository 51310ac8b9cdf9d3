"""The second real engine: a Ceph RGW 16.2 lab (Debian's packages), and the verdicts it gets.

Ceph ignores ``If-None-Match: *`` in a versioned bucket, so OpenTofu's lockfile cannot lock
there: the live proof is STOP with that cause first, and the lock-contention criterion shows
OpenTofu running through a held lock on its own. The durability sample still survives the loss
of a gateway and an OSD. Without the Ceph binaries these tests are reported as skipped (not
run), never as passed; CI installs the binaries (.ci/run).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_hastate.lab import LabCluster, start
from pytest_hastate.lab.artifacts import environment
from pytest_hastate.lab.ceph import INSTALL, missing_binaries
from pytest_hastate.models import Checkpoint
from pytest_hastate.tools.bundle import check_bundle
from pytest_hastate.tools.demo import run_demo
from tests.support.helpers import check_evidence_pages, needs_tofu, run_proofs

TOFU = ("--run-disposable-tofu", "--use-lockfile")
needs_ceph = pytest.mark.skipif(
    bool(missing_binaries()),
    reason=f"not run: the Ceph binaries are missing ({', '.join(missing_binaries())}); {INSTALL}",
)


@pytest.fixture(scope="module")
def ceph_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabCluster]:
    lab = start(tmp_path_factory.mktemp("ceph-ha"), "ha", engine="ceph", die_with_parent=True)
    try:
        yield lab
    finally:
        lab.down()


@needs_tofu
@needs_ceph
def test_ceph_live_proof_is_stop_because_conditional_writes_are_ignored_when_versioned(
    proofs: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, ceph_lab: LabCluster
) -> None:
    result, verdict = run_proofs(
        proofs, monkeypatch, environment(ceph_lab), ceph_lab.package_path, *TOFU
    )
    assert result.ret == 1
    assert verdict["verdict"] == "STOP"
    first = verdict["reasons"][0]
    assert first.startswith("scratch.conditional_write failed: store ignores If-None-Match"), first
    assert "(GetBucketVersioning hastate-lab-scratch: Enabled)" in first
    criteria = verdict["criteria"]
    assert criteria["tofu.lock_contention"] == "failed"
    lock = next(r for r in verdict["reasons"] if r.startswith("tofu.lock_contention failed"))
    assert "OpenTofu ran (exit 0) while the synthetic lock" in lock
    assert "by dependency" not in lock  # its own observation, through OpenTofu
    for ok in ("boundary.scoped", "scratch.index_consistency", "scratch.versioning",
               "consistency.read_after_write", "tofu.restore", "tofu.first_write"):  # fmt: skip
        assert criteria[ok] == "passed", (ok, verdict["reasons"])
    evidence = verdict["facts"]["list_buckets_evidence"]
    assert evidence.startswith(
        "not used as index evidence for hastate-lab-scratch: owned by lab-admin"
    )


@needs_ceph
def test_ceph_demo_ends_stop_as_expected_and_the_sample_survives(tmp_path: Path) -> None:
    lines: list[str] = []
    code = run_demo(
        "ha", engine="ceph", evidence_root=tmp_path, sample_objects=16, verify_timeout=8,
        say=lines.append,
    )  # fmt: skip
    assert code == 0, "\n".join(lines)
    assert any(line.startswith("demo: ended as expected: STOP") for line in lines), lines
    bundle = next(tmp_path.glob("demo-ceph-ha-*"))
    assert check_bundle(bundle) == []
    checkpoint = Checkpoint.model_validate_json((bundle / "checkpoint.json").read_text())
    post = next(p for p in checkpoint.phases if p.phase == "post-maintenance")
    assert post.maintenance_event == "endpoint-loss"
    assert post.unreachable_endpoints == [checkpoint.endpoints[0]]  # s3-1 was killed
    assert post.criteria["maintenance.verified"].outcome.value == "passed"  # the sample survived
    # the watched window shows the lockfile's problem on its own (docs/guide/watch.md)
    lock = post.criteria["watch.lock_exclusive"]
    assert lock.outcome.value == "failed", lock
    assert "PUT If-None-Match: * acknowledged to two contenders at once" in lock.message, lock
    final = json.loads((bundle / "verdict.json").read_text())
    assert final["verdict"] == "STOP"  # the failure stays in the chain
    assert final["reasons"][0].startswith("scratch.conditional_write failed: ")
    assert final["criteria"]["maintenance.verified"] == "passed"
    check_evidence_pages(bundle)


@needs_tofu
@needs_ceph
def test_a_ceph_singleton_is_never_go(
    proofs: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    lab = start(tmp_path / "lab", "singleton", engine="ceph", die_with_parent=True)
    try:
        result, verdict = run_proofs(proofs, monkeypatch, environment(lab), lab.package_path, *TOFU)
    finally:
        stopped = lab.down()
    assert len(stopped) == 3  # monitor, OSD, gateway
    assert verdict["verdict"] == "STOP", verdict["reasons"]
    assert result.ret == 1
    assert verdict["criteria"]["endpoints.independent"] == "skipped"


def test_without_the_ceph_binaries_one_line_says_what_to_install(tmp_path: Path) -> None:
    bare = tmp_path / "bin"
    bare.mkdir()
    env = {**os.environ, "PATH": str(bare)}
    done = subprocess.run(
        [sys.executable, "-m", "pytest_hastate", "lab", "up", "--engine", "ceph", "--dir",
         str(tmp_path / "lab")],
        capture_output=True, text=True, env=env, check=False, timeout=60,
    )  # fmt: skip
    assert done.returncode == 3
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert INSTALL in lines[0]
    assert not (tmp_path / "lab" / "lab.json").exists()  # nothing was started or written
