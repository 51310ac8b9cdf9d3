"""Reading and writing checkpoints: strict on read, atomic on write."""

from __future__ import annotations

from pathlib import Path

from pytest_hastate.documents import LoadedDocument, read_json_object, validate_model
from pytest_hastate.errors import InputError
from pytest_hastate.evidence import write_model
from pytest_hastate.models import Checkpoint, PhaseRecord

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


def save_checkpoint(path: Path, checkpoint: Checkpoint) -> None:
    write_model(path, checkpoint)


def with_phase(checkpoint: Checkpoint, record: PhaseRecord) -> Checkpoint:
    """The checkpoint with ``record`` replacing any earlier record of the same phase."""
    phases = [p for p in checkpoint.phases if p.phase != record.phase] + [record]
    return checkpoint.model_copy(update={"phases": phases})
