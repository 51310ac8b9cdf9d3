"""Reading and writing checkpoints: strict on read, atomic on write."""

from __future__ import annotations

from pathlib import Path

from pytest_hastate.errors import InputError
from pytest_hastate.io.documents import LoadedDocument, read_json_object, validate_model
from pytest_hastate.io.evidence import write_model
from pytest_hastate.io.profiles import LoadedProfile
from pytest_hastate.models import Checkpoint, EndpointPackage, PhaseRecord
from pytest_hastate.models.profile import Profile
from pytest_hastate.scope.names import PHASE_PATTERN, RUN_ID
from pytest_hastate.scope.scratch import disposable_state_key, scope_of, scratch_prefix_of

WHAT = "checkpoint"


def load_checkpoint(path: Path) -> Checkpoint:
    """The checkpoint at ``path``; truncated, not JSON, another schema: one ``InputError`` line."""
    document = read_json_object(path, WHAT)
    schema = document.data.get("checkpoint_schema")
    if schema != "pytest_hastate.checkpoint.v1":
        raise InputError(
            f"{WHAT} {path}",
            "$.checkpoint_schema",
            f"unsupported schema {schema!r} (expected pytest_hastate.checkpoint.v1)",
        )
    return validate_model(document, WHAT, Checkpoint)


def check_package_digest(
    checkpoint: Checkpoint, package: LoadedDocument, checkpoint_path: Path
) -> None:
    """Refuse a package whose bytes differ from the checkpoint's, even with the same coordinates."""
    if package.sha256 != checkpoint.package.sha256:
        raise InputError(
            f"endpoint package {package.path}",
            "sha256",
            f"differs from the package recorded in {checkpoint_path.name} "
            f"({package.sha256[:12]} != {checkpoint.package.sha256[:12]}): a checkpoint is verified only "
            "with the exact package it was made with",
        )


def check_profile_digest(checkpoint: Checkpoint, profile: LoadedProfile, path: Path) -> None:
    """A chain is judged by one profile: another one (other bytes) is refused."""
    recorded = checkpoint.profile
    if recorded is not None and recorded.sha256 != profile.sha256:
        raise InputError(
            f"{WHAT} {path}", "$.profile.sha256",
            f"the chain was judged by profile {recorded.name} (sha256:{recorded.sha256[:12]}), "
            f"this run by {profile.label}: a chain of phases is judged by one profile",
        )  # fmt: skip


def check_checkpoint_scope(
    checkpoint: Checkpoint, package: EndpointPackage, profile: Profile, path: Path
) -> None:
    """Every bucket and key a later phase reads back from the checkpoint must be this run's
    scratch scope: an edited checkpoint must never steer a read or a delete anywhere else."""
    source = f"{WHAT} {path}"
    if checkpoint.scratch_bucket != package.scratch_bucket:
        raise InputError(source, "$.scratch_bucket", "is not the package's scratch bucket")
    if checkpoint.scratch_prefix != scratch_prefix_of(profile, package):
        raise InputError(source, "$.scratch_prefix", "is not the package's scratch prefix")
    if not RUN_ID.match(checkpoint.run_id):
        raise InputError(source, "$.run_id", "is not a run id (a-z, 0-9, '-')")
    if list(checkpoint.endpoints) != list(package.endpoints):
        raise InputError(source, "$.endpoints", "are not the package's endpoints")
    scope = scope_of(profile, package, checkpoint.run_id)

    def in_run(key: str) -> bool:
        return scope.in_run(key) and scope.protected.reason(scope.bucket, key) is None

    for index, item in enumerate(checkpoint.sample):
        if not in_run(item.key):
            raise InputError(
                source, f"$.sample[{index}].key", "is not a key of this run's scratch scope"
            )
    state = checkpoint.disposable_state
    if state is not None:
        if not PHASE_PATTERN.match(state.phase):
            raise InputError(source, "$.disposable_state.phase", "is not a phase label")
        if state.key != disposable_state_key(scope.prefix, scope.run_id, state.phase):
            raise InputError(
                source, "$.disposable_state.key", "is not this run's disposable state key"
            )


def save_checkpoint(path: Path, checkpoint: Checkpoint) -> None:
    write_model(path, checkpoint)


def with_phase(checkpoint: Checkpoint, record: PhaseRecord) -> Checkpoint:
    """The checkpoint with ``record`` appended as the next attempt of its phase: every attempt
    stays in the chain (a failure in any attempt keeps the chain's verdict STOP)."""
    attempt = 1 + sum(1 for p in checkpoint.phases if p.phase == record.phase)
    numbered = record.model_copy(update={"attempt": attempt})
    return checkpoint.model_copy(update={"phases": [*checkpoint.phases, numbered]})


def check_verifiable(checkpoint: Checkpoint, path: Path) -> None:
    """A post-maintenance verify needs what a pre-maintenance run keeps: a durability sample,
    still in the bucket (a chain that was cleaned up has none left)."""
    if checkpoint.cleanup is not None:
        raise InputError(
            f"{WHAT} {path}", "$.cleanup",
            "this chain was cleaned up (its sample objects are deleted): a verify needs a new "
            "chain, from a new pre-maintenance run",
        )  # fmt: skip
    if checkpoint.sample:
        return
    recorded = [p for p in checkpoint.phases if "maintenance.checkpoint" in p.criteria]
    if recorded:
        result = recorded[-1].criteria["maintenance.checkpoint"]
        reason = (
            f"is empty: its {recorded[-1].phase} run did not record a sample "
            f"(maintenance.checkpoint {result.outcome.value}: {result.message or 'no message'}); "
            "run the pre-maintenance phase again"
        )
    else:
        reason = (
            "is empty: this checkpoint was not written by a pre-maintenance run "
            "(--keep-scratch-bucket --checkpoint-file PATH, or -m pre_maintenance)"
        )
    raise InputError(f"{WHAT} {path}", "$.sample", reason)
