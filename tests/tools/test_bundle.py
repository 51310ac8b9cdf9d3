"""``hastate evidence check``: each kind of finding, on small synthetic bundles."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pytest_hastate.cli import main
from pytest_hastate.io.evidence import write_model
from pytest_hastate.io.redact import Masker
from pytest_hastate.models import (
    Checkpoint,
    CleanupRecord,
    CriterionResult,
    Outcome,
    PackageIdentity,
    PhaseRecord,
    Status,
    VerdictRecord,
)
from pytest_hastate.tools.bundle import check_bundle

Recorded = Literal["passed", "failed", "skipped", "missing"]


def verdict(
    phase: str, *, dry_run: bool = False, digest: str = "d" * 64, run_id: str = "r",
    outcome: Recorded = "passed", status: Status | None = None,
) -> VerdictRecord:  # fmt: skip
    return VerdictRecord(
        verdict=status or (Status.GO if not dry_run else Status.INTERIM_ONLY), reasons=[],
        criteria={"static.package": outcome}, run_id=run_id, phase=phase,
        mode="live", package_name="p", package_digest=digest, contract_digest=None, maintenance_event=None,
        dry_run=dry_run, expect_interim=False, exit_code=0, created_at="now",
    )  # fmt: skip


def bundle(
    tmp_path: Path,
    *,
    phases: tuple[str, ...] = ("baseline", "post-maintenance", "cleanup"),
    cleanup: CleanupRecord | None = None,
    attempts: list[PhaseRecord] | None = None,
) -> Path:
    for phase in phases:
        write_model(tmp_path / f"verdict-{phase}.json", verdict(phase))
    recorded = attempts if attempts is not None else [attempt(p) for p in phases]
    write_model(
        tmp_path / "checkpoint.json",
        Checkpoint(
            run_id="r", created_at="now", package=PackageIdentity(name="p", sha256="d" * 64, basename="p.json"),
            contract_sha256=None, endpoints=["https://a"], scratch_bucket="b", scratch_prefix="p/",
            bucket_created_by_this_product=True, cleanup=cleanup or CleanupRecord(done=True),
            phases=recorded,
        ),
    )  # fmt: skip
    return tmp_path


def attempt(phase: str, outcome: Outcome = Outcome.PASSED, number: int = 1) -> PhaseRecord:
    return PhaseRecord(
        phase=phase, mode="live", run_at="now", attempt=number,
        criteria={"static.package": CriterionResult(outcome=outcome)},
    )  # fmt: skip


def test_complete_bundle_is_clean(tmp_path: Path) -> None:
    assert check_bundle(bundle(tmp_path)) == []
    assert main(["evidence", "check", str(tmp_path)]) == 0


def test_missing_phases(tmp_path: Path) -> None:
    problems = " | ".join(
        map(str, check_bundle(bundle(tmp_path, phases=("cleanup",)), require_failure_domain=True))
    )
    assert "no baseline phase" in problems
    assert "no post-maintenance phase" in problems
    assert "no post-failure-domain phase (required)" in problems


def test_dry_run_and_residue_and_other_package(tmp_path: Path) -> None:
    bundle(tmp_path, cleanup=CleanupRecord(done=False, residue=["b/p/r/x@1"]))
    write_model(tmp_path / "verdict-dry.json", verdict("dry", dry_run=True, digest="e" * 64))
    problems = " | ".join(map(str, check_bundle(tmp_path)))
    assert "a dry-run result is in the bundle" in problems
    assert "cleanup left residue: b/p/r/x@1" in problems
    assert "made with another package" in problems


def test_secret_shaped_text_and_private_paths(tmp_path: Path) -> None:
    bundle(tmp_path)
    (tmp_path / "lab-logs").mkdir()
    (tmp_path / "lab-logs" / "a.log").write_text("key AKIAABCDEFGHIJKLMNOP used\n")
    (tmp_path / "lab-logs" / "b.log").write_text("wrote /home/alice/.kube/config\n")
    (tmp_path / "c.log").write_text("the value hunter2-secret-value leaked\n")
    problems = [str(f) for f in check_bundle(tmp_path, masker=Masker(["hunter2-secret-value"]))]
    assert "lab-logs/a.log: contains an AWS-style access key id" in problems
    assert "lab-logs/b.log: contains a home directory path" in problems
    assert "lab-logs/b.log: contains a kubeconfig reference" in problems
    assert "c.log: contains a credential value from the environment" in problems
    assert not any("hunter2" in p for p in problems)
    assert main(["evidence", "check", str(tmp_path)]) == 1


def test_a_chain_whose_files_disagree_is_flagged(tmp_path: Path) -> None:
    bundle(
        tmp_path,
        attempts=[
            attempt("baseline"),
            attempt("post-maintenance", Outcome.FAILED, 1),
            attempt("post-maintenance", Outcome.PASSED, 2),
        ],
    )
    write_model(tmp_path / "verdict-cleanup.json", verdict("cleanup", run_id="another-run"))
    write_model(tmp_path / "verdict-baseline.json", verdict("baseline", outcome="failed"))
    write_model(tmp_path / "verdict.json", verdict("post-maintenance", status=Status.GO))
    problems = " | ".join(map(str, check_bundle(tmp_path)))
    assert "verdict-cleanup.json: from run another-run, the checkpoint is run r" in problems
    assert (
        "verdict-baseline.json: static.package is failed, the checkpoint's chain up to attempt 1 of baseline says passed"
        in problems
    )
    assert (
        "verdict.json: is GO, but the chain failed (post-maintenance attempt 1: static.package)"
        in problems
    )


def test_a_phase_the_checkpoint_never_recorded_is_flagged(tmp_path: Path) -> None:
    bundle(tmp_path, attempts=[attempt("baseline"), attempt("cleanup")])
    problems = " | ".join(map(str, check_bundle(tmp_path)))
    assert "verdict-post-maintenance.json: its phase has no attempt in checkpoint.json" in problems


def test_a_re_run_after_a_failure_is_consistent(tmp_path: Path) -> None:
    """Attempt 1 failed, attempt 2 passed: the verdict of attempt 2 says failed (the chain keeps
    the failure), and that is what the files should say."""
    bundle(
        tmp_path,
        attempts=[
            attempt("baseline"),
            attempt("post-maintenance", Outcome.FAILED, 1),
            attempt("post-maintenance", Outcome.PASSED, 2),
            attempt("cleanup"),
        ],
    )
    write_model(
        tmp_path / "verdict-post-maintenance.json", verdict("post-maintenance", outcome="failed")
    )
    write_model(tmp_path / "verdict-cleanup.json", verdict("cleanup", outcome="failed"))
    write_model(tmp_path / "verdict.json", verdict("cleanup", outcome="failed", status=Status.STOP))
    assert check_bundle(tmp_path) == []
