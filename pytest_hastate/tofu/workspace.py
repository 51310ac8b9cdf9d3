"""The disposable OpenTofu state: a temp workspace whose S3 backend key lives in the scratch scope.

After every OpenTofu command the lock object is looked up through every endpoint: a released
lock that is still visible is recorded as a stale lock, with its metadata.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from python_terraform import IsFlagged

from pytest_hastate.s3.client import S3Client, S3Errors, error_code
from pytest_hastate.s3.scratch import head_status
from pytest_hastate.tofu.runner import TofuResult, TofuRunner


@dataclass(frozen=True)
class AppliedState:
    """What one apply left in the bucket."""

    nonce: str
    version_id: str
    serial: int
    lineage: str
    sha256: str


@dataclass(frozen=True)
class StaleLock:
    after: str
    endpoint: str
    metadata: str


def state_key(prefix: str, run_id: str, phase: str) -> str:
    return f"{prefix}{run_id}/disposable-tofu/{phase}/terraform.tfstate"


@dataclass
class DisposableState:
    runner: TofuRunner
    bucket: str
    key: str
    phase: str
    run_id: str
    primary: S3Client
    clients: dict[str, S3Client]
    applies: list[AppliedState] = field(default_factory=list)
    stale: list[StaleLock] = field(default_factory=list)
    synthetic_lock: str | None = None

    @property
    def lock_key(self) -> str:
        return self.key + ".tflock"

    # --- OpenTofu ---------------------------------------------------------------------------

    def tofu(
        self, command: str, *args: str, expect: tuple[int, ...] = (0,), **options: Any
    ) -> TofuResult:
        """Run one OpenTofu command, then check that no lock is left behind on any endpoint."""
        try:
            return self.runner.run(command, *args, expect=expect, **options)
        finally:
            if self.synthetic_lock is None:
                self._observe_lock(
                    after=self.runner.history[-1].command if self.runner.history else command
                )

    def write_inputs(self, nonce: str) -> None:
        values = {"nonce": nonce, "phase": self.phase, "run_id": self.run_id}
        (self.runner.workdir / "terraform.tfvars.json").write_text(json.dumps(values), "utf-8")

    def init(self) -> TofuResult:
        return self.tofu("init")

    def apply(self, nonce: str | None = None) -> AppliedState:
        nonce = nonce or secrets.token_hex(8)
        self.write_inputs(nonce)
        self.tofu("apply", auto_approve=IsFlagged)
        body, version = self.current_object()
        state = parse_state(body)
        applied = AppliedState(
            nonce=nonce,
            version_id=version,
            serial=int(state["serial"]),
            lineage=str(state["lineage"]),
            sha256=hashlib.sha256(body).hexdigest(),
        )
        self.applies.append(applied)
        return applied

    def plan_exit_code(self, nonce: str, **options: Any) -> TofuResult:
        """``plan -detailed-exitcode``: 0 no changes, 2 changes, 1 error (returned, not raised)."""
        self.write_inputs(nonce)
        return self.tofu("plan", expect=(0, 1, 2), detailed_exitcode=IsFlagged, **options)

    def outputs(self) -> dict[str, Any]:
        raw = self.tofu("output", json=IsFlagged).json()
        return {name: value.get("value") for name, value in raw.items()}

    def last_applied(self) -> AppliedState:
        if not self.applies:
            raise AssertionError("no apply has succeeded yet (see tofu.first_write)")
        return self.applies[-1]

    # --- the objects in the bucket ----------------------------------------------------------

    def current_object(self) -> tuple[bytes, str]:
        response = self.primary.get_object(Bucket=self.bucket, Key=self.key)
        return response["Body"].read(), str(response.get("VersionId") or "null")

    def version_bytes(self, version_id: str) -> bytes:
        body: bytes = self.primary.get_object(
            Bucket=self.bucket, Key=self.key, VersionId=version_id
        )["Body"].read()
        return body

    def restore(self, version_id: str) -> str:
        """Server-side copy of an earlier version onto the key; returns the new version id."""
        response = self.primary.copy_object(
            Bucket=self.bucket,
            Key=self.key,
            CopySource={"Bucket": self.bucket, "Key": self.key, "VersionId": version_id},
        )
        return str(response.get("VersionId") or "null")

    def lock_status(self) -> dict[str, int]:
        return {
            endpoint: head_status(s3, self.bucket, self.lock_key)
            for endpoint, s3 in self.clients.items()
        }

    def lock_metadata(self) -> str:
        try:
            body = self.primary.get_object(Bucket=self.bucket, Key=self.lock_key)["Body"].read()
            info = json.loads(body)
        except (S3Errors, ValueError) as exc:  # type: ignore[misc]
            return f"unreadable ({error_code(exc)})"
        return ", ".join(
            f"{k}={info.get(k)}" for k in ("ID", "Operation", "Who", "Created", "Path") if k in info
        )

    def _observe_lock(self, after: str) -> None:
        for endpoint, code in self.lock_status().items():
            if code == 200:
                self.stale.append(
                    StaleLock(after=after, endpoint=endpoint, metadata=self.lock_metadata())
                )

    def put_synthetic_lock(self) -> str:
        """Hold the state lock the way OpenTofu does (If-None-Match: *), with a known ID."""
        lock_id = str(uuid.uuid4())
        body = {
            "ID": lock_id,
            "Operation": "OperationTypeApply",
            "Info": "synthetic lock held by the pytest-hastate contention proof",
            "Who": "pytest-hastate",
            "Version": "1.11.0",
            "Created": datetime.now(UTC).isoformat(),
            "Path": f"{self.bucket}/{self.key}",
        }
        self.primary.put_object(
            Bucket=self.bucket, Key=self.lock_key, Body=json.dumps(body).encode(), IfNoneMatch="*"
        )
        self.synthetic_lock = lock_id
        return lock_id

    def remove_synthetic_lock(self) -> None:
        self.primary.delete_object(Bucket=self.bucket, Key=self.lock_key)
        self.synthetic_lock = None


def parse_state(body: bytes) -> dict[str, Any]:
    """The state document; refuses what is not an OpenTofu state."""
    if not body.strip():
        raise AssertionError("the state object is empty (a ghost read looks like 'no state')")
    state = json.loads(body)
    if not isinstance(state, dict) or "serial" not in state or "lineage" not in state:
        raise AssertionError("the state object is not an OpenTofu state (no serial or lineage)")
    return state
