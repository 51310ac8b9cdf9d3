"""The protected migration plan: one stack at a time, only after a GO for this exact package.

Renders a reviewable backend config (``-backend-config`` file) and a plan checkpoint listing
the steps an operator runs (snapshot, ``init -migrate-state``, no-op plan) and the rollback.
Writes new files only; never touches a bucket.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pytest_hastate.errors import PlanRefused
from pytest_hastate.io.documents import (
    LoadedDocument,
    load_verdict,
    validate_model,
)
from pytest_hastate.io.evidence import write_atomic
from pytest_hastate.io.profiles import DEFAULT_PROFILE, LoadedProfile
from pytest_hastate.models import EndpointPackage, Status, VerdictRecord
from pytest_hastate.scope.names import (
    bucket_name_problem,
    is_canonical_key,
    is_probe_bucket_of,
    short_id,
)
from pytest_hastate.scope.scratch import protected_of
from pytest_hastate.scope.targets import ProtectedTargets

PLAN_SCHEMA = "pytest_hastate.migration_plan.v1"


@dataclass(frozen=True)
class RenderedPlan:
    backend_file: Path
    plan_file: Path


def stack_of(key: str) -> str:
    return key.removesuffix("/terraform.tfstate")


def _hcl(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_hcl(v)}" for k, v in value.items()) + " }"
    return json.dumps(str(value))  # a JSON string is a valid HCL string for these values


def render_backend(package: EndpointPackage, bucket: str, key: str) -> str:
    settings: dict[str, Any] = {
        "bucket": bucket,
        "key": key,
        "region": package.region,
        "endpoints": {"s3": package.endpoint_url},
        "use_lockfile": True,
        **package.effective_backend_options,
    }
    width = max(len(k) for k in settings)
    lines = [
        f"# OpenTofu S3 backend for the protected stack {stack_of(key)} (rendered by pytest-hastate)."
    ]
    lines.append("# Credentials come from the environment; nothing secret is in this file.")
    lines += [f"{name.ljust(width)} = {_hcl(value)}" for name, value in settings.items()]
    return "\n".join(lines) + "\n"


def make_plan(
    package_document: LoadedDocument,
    profile: LoadedProfile,
    *,
    state_keys: list[str],
    stack: str | None,
    target_bucket: str,
    evidence: Path,
    output_dir: Path,
) -> RenderedPlan:
    """Check every refusal rule, then write the two files (new files only)."""
    package = validate_model(package_document, "endpoint package", EndpointPackage)
    key = _one_protected_key(state_keys, stack, protected_of(profile.model, package))
    _check_target(target_bucket, package)
    record = _go_record(evidence, package_document, profile)
    name = stack_of(key).replace("/", "-")
    backend_file = output_dir / f"backend-{name}.s3.tfbackend"
    plan_file = output_dir / f"migration-plan-{name}.json"
    for path in (backend_file, plan_file):
        if path.exists():
            raise PlanRefused(
                f"{path} exists: a plan is written as a new reviewable file, never over an existing one"
            )
    plan = {
        "plan_schema": PLAN_SCHEMA,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "plan_id": short_id(f"{package_document.sha256}/{key}/{target_bucket}"),
        "stack": stack_of(key),
        "state_key": key,
        "target_bucket": target_bucket,
        "endpoint": package.endpoint_url,
        "package": {"name": package.name, "sha256": package_document.sha256,
                    "basename": package_document.path.name},
        "evidence": {"verdict": record.verdict.value, "run_id": record.run_id, "phase": record.phase},
        "backend_config_file": backend_file.name,
        **_steps(key, backend_file.name, f"{name}-before-migration.tfstate"),
        "non_secret": True,
    }  # fmt: skip
    output_dir.mkdir(parents=True, exist_ok=True)
    write_atomic(backend_file, render_backend(package, target_bucket, key))
    write_atomic(plan_file, json.dumps(plan, indent=2) + "\n")
    return RenderedPlan(backend_file, plan_file)


def _one_protected_key(
    state_keys: list[str], stack: str | None, protected: ProtectedTargets
) -> str:
    """The one state key of the plan: a protected state key, or a canonical key under a
    protected key prefix."""
    if len(state_keys) != 1:
        raise PlanRefused(
            f"one stack per plan: got {len(state_keys)} state keys ({', '.join(state_keys)})"
        )
    key = state_keys[0]
    under_prefix = is_canonical_key(key) and any(
        key.startswith(prefix) and key != prefix for prefix in protected.prefixes
    )
    if key not in protected.keys and not under_prefix:
        known = [*protected.keys, *(f"{prefix}..." for prefix in protected.prefixes)]
        raise PlanRefused(f"state key {key!r} is not a protected stack's key ({', '.join(known)})")
    if stack is not None and stack_of(key) != stack:
        raise PlanRefused(
            f"state key {key!r} belongs to the stack {stack_of(key)!r}, not to {stack!r}"
        )
    return key


def _check_target(target_bucket: str, package: EndpointPackage) -> None:
    problem = bucket_name_problem(target_bucket)
    if problem:
        raise PlanRefused(f"target bucket {target_bucket!r}: {problem}")
    scratch = package.scratch_bucket
    if target_bucket == scratch or is_probe_bucket_of(target_bucket, scratch):
        raise PlanRefused(
            f"target bucket {target_bucket!r} is the proof's scratch scope, not a state bucket"
        )


def _steps(key: str, backend_file: str, snapshot: str) -> dict[str, list[dict[str, str]]]:
    """The operator's steps, and the way back."""
    return {
        "steps": [
            {"step": "freeze", "run": f"stop every pipeline that applies the {stack_of(key)} stack"},
            {"step": "snapshot", "run": f"tofu state pull > {snapshot} && sha256sum {snapshot}"},
            {"step": "migrate", "run": f"tofu init -migrate-state -backend-config={backend_file}"},
            {"step": "verify",
             "run": "tofu plan -detailed-exitcode  # must exit 0: the migrated state matches"},
            {"step": "unfreeze", "run": "re-enable the stack's pipelines on the new backend"},
        ],
        "rollback": [
            {"step": "restore backend", "run": "put the previous backend configuration back"},
            {"step": "migrate back", "run": "tofu init -migrate-state  # or: tofu state push " + snapshot},
            {"step": "verify", "run": "tofu plan -detailed-exitcode  # must exit 0"},
        ],
    }  # fmt: skip


def _go_record(
    evidence: Path, package_document: LoadedDocument, profile: LoadedProfile
) -> VerdictRecord:
    path = evidence / "verdict.json"
    if not path.is_file():
        raise PlanRefused(
            f"no verdict in {evidence}: run the proof (and its maintenance phases) first"
        )
    record = load_verdict(path)
    if record.verdict is not Status.GO:
        raise PlanRefused(
            f"the evidence in {evidence} is {record.verdict.value}, not GO: protected migration stays blocked"
        )
    if record.package_digest != package_document.sha256:
        raise PlanRefused(
            f"the GO in {evidence} was proven with another package (sha256 {str(record.package_digest)[:12]}), not {package_document.path.name}"
        )
    if record.profile_digest is None and profile.reference != DEFAULT_PROFILE:
        raise PlanRefused(
            f"the GO in {evidence} records no profile (it predates profiles: judged by the "
            f"default, {DEFAULT_PROFILE}), not by {profile.label}"
        )
    if record.profile_digest is not None and record.profile_digest != profile.sha256:
        raise PlanRefused(
            f"the GO in {evidence} was judged by profile {record.profile} "
            f"(sha256 {record.profile_digest[:12]}), not by {profile.label}"
        )
    return record
