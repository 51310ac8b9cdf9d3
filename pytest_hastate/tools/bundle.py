"""The evidence bundle: validation (``hastate evidence check``) and readiness from it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pytest_hastate.errors import InputError
from pytest_hastate.exit_codes import ExitCode
from pytest_hastate.io.checkpoints import load_checkpoint
from pytest_hastate.io.documents import load_verdict
from pytest_hastate.io.redact import Masker
from pytest_hastate.models import Checkpoint, Outcome, Status, VerdictRecord

POST_PHASES = ("post-maintenance", "post-failure-domain")
SCAN_LIMIT = 20 * 1024 * 1024
_SECRET_SHAPES = (
    (re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"), "an AWS-style access key id"),
    (re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----"), "a private key"),
    (
        re.compile(
            r"(TOFU_HA_STATE_SECRET_KEY|TOFU_HA_STATE_ACCESS_KEY|AWS_SECRET_ACCESS_KEY|AWS_ACCESS_KEY_ID)=\S"
        ),
        "a credential assignment",
    ),
)
_PRIVATE_PATHS = (
    (re.compile(r"/home/[^/\s\"']+/"), "a home directory path"),
    (re.compile(r"/Users/[^/\s\"']+/"), "a home directory path"),
    (re.compile(r"(?<![\w.])/root/"), "root's home directory path"),
    (re.compile(r"\.kube/config|kubeconfig", re.I), "a kubeconfig reference"),
)


@dataclass(frozen=True)
class BundleFinding:
    where: str
    problem: str

    def __str__(self) -> str:
        return f"{self.where}: {self.problem}"


def check_bundle(
    directory: Path, *, masker: Masker | None = None, require_failure_domain: bool = False
) -> list[BundleFinding]:
    """Every problem of the bundle; empty when it is complete, consistent and clean."""
    findings: list[BundleFinding] = []
    if not directory.is_dir():
        return [BundleFinding(str(directory), "not a folder")]
    records: dict[str, VerdictRecord] = {}
    for path in sorted(directory.glob("verdict-*.json")):
        try:
            record = load_verdict(path)
        except InputError as exc:
            findings.append(BundleFinding(path.name, f"not a valid verdict record ({exc.reason})"))
            continue
        records[record.phase] = record
        if record.dry_run:
            findings.append(
                BundleFinding(
                    path.name, "a dry-run result is in the bundle; a dry run proves nothing"
                )
            )
    if "baseline" not in records:
        findings.append(BundleFinding(str(directory), "no baseline phase (verdict-baseline.json)"))
    if not any(p in records for p in POST_PHASES):
        findings.append(BundleFinding(str(directory), "no post-maintenance phase"))
    if require_failure_domain and "post-failure-domain" not in records:
        findings.append(BundleFinding(str(directory), "no post-failure-domain phase (required)"))
    checkpoint_path = directory / "checkpoint.json"
    if not checkpoint_path.is_file():
        findings.append(BundleFinding(str(directory), "no checkpoint.json"))
    else:
        try:
            checkpoint = load_checkpoint(checkpoint_path)
        except InputError as exc:
            findings.append(BundleFinding("checkpoint.json", f"invalid ({exc.reason})"))
        else:
            digests = {r.package_digest for r in records.values()}
            if digests - {checkpoint.package.sha256}:
                findings.append(
                    BundleFinding(
                        "checkpoint.json", "verdicts of the bundle were made with another package"
                    )
                )
            findings += chain_findings(records, checkpoint, directory)
            if checkpoint.cleanup is None:
                findings.append(
                    BundleFinding(
                        "checkpoint.json", "cleanup was not run (hastate: --cleanup-checkpoint)"
                    )
                )
            elif not checkpoint.cleanup.done or checkpoint.cleanup.residue:
                findings.append(
                    BundleFinding(
                        "checkpoint.json",
                        f"cleanup left residue: {', '.join(checkpoint.cleanup.residue[:5])}",
                    )
                )
    findings += scan_files(directory, masker or Masker())
    return findings


def chain_findings(
    records: Mapping[str, VerdictRecord], checkpoint: Checkpoint, directory: Path
) -> list[BundleFinding]:
    """Where the files of one chain disagree: verdicts of another run, a phase the checkpoint
    never recorded, a criterion one file says passed and the other failed, a failure in any
    attempt that the latest verdict does not carry."""
    findings: list[BundleFinding] = []
    last = {p.phase: index for index, p in enumerate(checkpoint.phases)}
    chain_phases = {"baseline", *POST_PHASES, "cleanup"} | set(last)
    for phase, record in sorted(records.items()):
        if phase in chain_phases:  # others are separate evidence (static gate, boundary)
            findings += _phase_findings(
                f"verdict-{phase}.json", record, checkpoint, last.get(phase)
            )
    findings += _latest_findings(directory / "verdict.json", checkpoint)
    return findings


def _phase_findings(
    name: str, record: VerdictRecord, checkpoint: Checkpoint, index: int | None
) -> list[BundleFinding]:
    if record.run_id != checkpoint.run_id:
        return [
            BundleFinding(
                name, f"from run {record.run_id}, the checkpoint is run {checkpoint.run_id}"
            )
        ]
    if index is None:
        return [BundleFinding(name, "its phase has no attempt in checkpoint.json")]
    attempt = checkpoint.phases[index]
    # The verdict of an attempt carries every earlier attempt: a failure stays a failure.
    earlier_failed = {
        cid
        for p in checkpoint.phases[:index]
        for cid, r in p.criteria.items()
        if r.outcome is Outcome.FAILED
    }
    findings = []
    for cid, result in attempt.criteria.items():
        expected = "failed" if cid in earlier_failed else result.outcome.value
        said = record.criteria.get(cid)
        if said is not None and said != expected:
            findings.append(
                BundleFinding(
                    name,
                    f"{cid} is {said}, the checkpoint's chain up to attempt {attempt.attempt} "
                    f"of {attempt.phase} says {expected}",
                )
            )
    return findings


def _latest_findings(latest: Path, checkpoint: Checkpoint) -> list[BundleFinding]:
    failed = [
        f"{p.phase} attempt {p.attempt}: {cid}"
        for p in checkpoint.phases
        for cid, r in p.criteria.items()
        if r.outcome is Outcome.FAILED
    ]
    if not failed or not latest.is_file():
        return []
    try:
        record = load_verdict(latest)
    except InputError:
        return []
    if record.run_id == checkpoint.run_id and record.verdict is not Status.STOP:
        return [
            BundleFinding(
                "verdict.json",
                f"is {record.verdict.value}, but the chain failed ({'; '.join(failed[:3])})",
            )
        ]
    return []


def scan_files(directory: Path, masker: Masker) -> list[BundleFinding]:
    """Secret-shaped text and private paths in any file of the bundle (values never repeated)."""
    findings: list[BundleFinding] = []
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        text = path.read_bytes()[:SCAN_LIMIT].decode("utf-8", errors="replace")
        name = str(path.relative_to(directory))
        if masker.leaks(text):
            findings.append(BundleFinding(name, "contains a credential value from the environment"))
        for pattern, what in (*_SECRET_SHAPES, *_PRIVATE_PATHS):
            if pattern.search(text):
                findings.append(BundleFinding(name, f"contains {what}"))
    return findings


@dataclass(frozen=True)
class Readiness:
    ok: bool
    exit_code: int
    message: str


EXIT_NOT_READY = ExitCode.STOP
"""Not ready: a STOP, no evidence at all, or (with --expect-interim) a status that moved on."""


def readiness(directory: Path, *, expect_interim: bool) -> Readiness:
    """Strict: ready only on GO. With ``expect_interim``: INTERIM_ONLY passes, GO and STOP fail.
    No evidence at all is an answer too: not ready."""
    if not (directory / "verdict.json").is_file():
        return Readiness(
            False, EXIT_NOT_READY,
            f"not ready: no proof evidence in {directory} (run: hastate prove "
            "--endpoint-package PACKAGE, or capture it now: hastate readiness "
            "--endpoint-package PACKAGE)",
        )  # fmt: skip
    record = load_verdict(directory / "verdict.json")
    status = record.verdict
    summary = f"{status.value} (phase {record.phase}, run {record.run_id})"
    if expect_interim:
        if status is Status.INTERIM_ONLY:
            return Readiness(True, ExitCode.OK, f"interim as expected: {summary}")
        if status is Status.GO:
            return Readiness(
                False, EXIT_NOT_READY, f"status moved on: drop --expect-interim ({summary})"
            )
        return Readiness(
            False, EXIT_NOT_READY, f"not ready: {summary}: " + "; ".join(record.reasons[:3])
        )
    if status is Status.GO:
        return Readiness(True, ExitCode.OK, f"ready: {summary}")
    code = ExitCode.STOP if status is Status.STOP else ExitCode.INTERIM_ONLY
    return Readiness(False, code, f"not ready: {summary}: " + "; ".join(record.reasons[:3]))
