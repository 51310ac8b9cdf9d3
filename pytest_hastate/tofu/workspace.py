"""The disposable OpenTofu state: a temp workspace whose S3 backend key lives in the scratch scope.

After every OpenTofu command the lock object is looked up through every endpoint: a released
lock that is still visible is recorded as a stale lock, with its metadata.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import secrets
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from pytest_hastate.errors import DependencyFailed
from pytest_hastate.io.evidence import write_atomic
from pytest_hastate.models import DisposableStateRecord
from pytest_hastate.s3.client import S3Access, S3Client, S3Errors, error_code
from pytest_hastate.s3.health import BackendHealth
from pytest_hastate.s3.scratch import head_status
from pytest_hastate.scope.scratch import ScratchScope, disposable_state_key
from pytest_hastate.timing import BusyTime
from pytest_hastate.tofu.runner import (
    TofuResult,
    TofuRunner,
    render_configuration,
    tofu_environment,
)

T = TypeVar("T")


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


state_key = disposable_state_key


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

    def tofu(self, command: Callable[[], T], name: str) -> T:
        """Run one OpenTofu command, then check that no lock is left behind on any endpoint."""
        try:
            return command()
        finally:
            if self.synthetic_lock is None:
                self._observe_lock(
                    after=self.runner.history[-1].command if self.runner.history else name
                )

    def write_inputs(self, nonce: str) -> None:
        values = {"nonce": nonce, "phase": self.phase, "run_id": self.run_id}
        (self.runner.workdir / "terraform.tfvars.json").write_text(json.dumps(values), "utf-8")

    def init(self) -> TofuResult:
        return self.tofu(self.runner.init, "init")

    def apply(self, nonce: str | None = None) -> AppliedState:
        nonce = nonce or secrets.token_hex(8)
        self.write_inputs(nonce)
        self.tofu(self.runner.apply, "apply")
        state, digest, version = self.current_state()
        applied = AppliedState(
            nonce=nonce,
            version_id=version,
            serial=int(state["serial"]),
            lineage=str(state["lineage"]),
            sha256=digest,
        )
        self.applies.append(applied)
        return applied

    def plan_exit_code(self, nonce: str, *, lock_timeout: str | None = None) -> TofuResult:
        """``plan -detailed-exitcode``: 0 no changes, 2 changes, 1 error (returned, not raised)."""
        self.write_inputs(nonce)
        return self.tofu(lambda: self.runner.plan(lock_timeout=lock_timeout), "plan")

    def outputs(self) -> dict[str, Any]:
        raw = self.tofu(self.runner.output_json, "output")
        return {name: value.get("value") for name, value in raw.items()}

    def last_applied(self) -> AppliedState:
        if not self.applies:
            raise DependencyFailed("no apply has succeeded yet", depends_on="tofu.first_write")
        return self.applies[-1]

    # --- the objects in the bucket ----------------------------------------------------------

    def current_object(self) -> tuple[bytes, str]:
        response = self.primary.get_object(Bucket=self.bucket, Key=self.key)
        return response["Body"].read(), str(response.get("VersionId") or "null")

    def current_state(self) -> tuple[dict[str, Any], str, str]:
        """The state object now: its parsed JSON, its sha256 and its version id."""
        body, version = self.current_object()
        return parse_state(body), hashlib.sha256(body).hexdigest(), version

    def version_bytes(self, version_id: str) -> bytes:
        body: bytes = self.primary.get_object(
            Bucket=self.bucket, Key=self.key, VersionId=version_id
        )["Body"].read()
        return body

    def record(self) -> DisposableStateRecord:
        """What a checkpoint keeps of the current state, for the verify after maintenance."""
        state, digest, version = self.current_state()
        return DisposableStateRecord(
            key=self.key,
            serial=int(state["serial"]),
            lineage=str(state["lineage"]),
            sha256=digest,
            version_id=version,
            nonce=str(state.get("outputs", {}).get("nonce", {}).get("value", "")),
            phase=self.phase,
        )

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

    def stale_lock_problem(self) -> str | None:
        """The first lock observed left behind after a command released it, in words, or None:
        a later lock error follows from it (``tofu.lock_release`` is its root)."""
        if not self.stale:
            return None
        first = self.stale[0]
        return f"the lock left after {first.after} on {first.endpoint} still holds {self.lock_key}"

    def put_synthetic_lock(self) -> str:
        """Hold the state lock the way OpenTofu does (If-None-Match: *), with a known ID. A 412
        while a stale lock is known is that lock's consequence (by dependency). The client's
        retry rule sends the PUT again only when it provably never left: sent again after a
        lost answer, it would meet itself."""
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
        try:
            self.primary.put_object(
                Bucket=self.bucket, Key=self.lock_key, Body=json.dumps(body).encode(),
                IfNoneMatch="*",
            )  # fmt: skip
        except S3Errors as exc:
            stale = self.stale_lock_problem()
            if stale is not None and error_code(exc) == "PreconditionFailed":
                raise DependencyFailed(
                    f"the synthetic lock could not be taken (412): {stale}",
                    depends_on="tofu.lock_release",
                ) from exc
            raise
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


@dataclass(frozen=True)
class WorkspaceSpec:
    """Everything a disposable workspace is opened with, fixed for the run."""

    binary: Path
    access: S3Access
    scope: ScratchScope
    backend_options: Mapping[str, Any]
    mask: Callable[[str], str]
    health: BackendHealth
    evidence_dir: Path
    run_id: str
    evidence_label: str  # the run's phase: a post-maintenance run never overwrites the baseline's
    progress: Callable[[str], None] = lambda line: None
    busy: BusyTime | None = None

    def tofu_busy(self, start: float, end: float) -> None:
        if self.busy is not None:
            self.busy.add("tofu", start, end)


@contextlib.contextmanager
def open_workspace(
    spec: WorkspaceSpec,
    clients: Mapping[str, S3Client],
    key: str,
    phase: str,
) -> Iterator[DisposableState]:
    """A temp workspace (own TF_DATA_DIR) whose S3 backend key is ``key``, through the first of
    ``clients``' endpoints; its evidence is written and the folder removed afterwards."""
    endpoint = next(iter(clients))
    access, scope = spec.access, spec.scope
    config = render_configuration(
        bucket=scope.bucket, key=key, region=access.region, endpoint=endpoint,
        backend_options=spec.backend_options,
    )  # fmt: skip
    # OpenTofu's own requests do not pass through boto3: the guard judges the backend as a whole.
    scope.check_backend(config["terraform"]["backend"]["s3"], key=key, endpoint=endpoint)
    workdir = Path(tempfile.mkdtemp(prefix="hastate-tofu-"))
    try:
        (workdir / "main.tf.json").write_text(json.dumps(config, indent=2), "utf-8")
        env = tofu_environment(
            workdir=workdir, access_key=access.access_key, secret_key=access.secret_key,
            session_token=access.session_token,
            ca_bundle=access.verify if isinstance(access.verify, str) else None,
            checksum_when_required=access.checksum_when_required,
        )  # fmt: skip
        runner = TofuRunner(
            spec.binary, workdir, env, redact=spec.mask, progress=spec.progress,
            preflight=lambda: spec.health.check(endpoint, "PutObject"),
            time_left=spec.health.remaining,
            busy=spec.tofu_busy,
        )  # fmt: skip
        yield DisposableState(
            runner=runner, bucket=scope.bucket, key=key, phase=phase, run_id=spec.run_id,
            primary=clients[endpoint], clients=dict(clients),
        )  # fmt: skip
        write_tofu_evidence(spec.evidence_dir, runner, spec.evidence_label)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def write_tofu_evidence(directory: Path, runner: TofuRunner, phase: str) -> None:
    """Each command, its exit code and time, and its output (masked) into the evidence folder."""
    timings = [
        {"command": r.command, "exit_code": r.code, "seconds": round(r.seconds, 3)}
        for r in runner.history
    ]
    write_atomic(directory / f"tofu-timings-{phase}.json", json.dumps(timings, indent=2) + "\n")
    log = "\n".join(
        f"$ {r.command}\n[exit {r.code}, {r.seconds:.2f} s]\n{r.stdout}{r.stderr}"
        for r in runner.history
    )
    write_atomic(directory / f"tofu-{phase}.log", log + "\n")
