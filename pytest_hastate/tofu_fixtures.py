"""Fixtures of the disposable OpenTofu step: the version-gated binary and the workspace.

The binary is gated before anything touches S3: a missing binary skips the step (not proven),
an old one fails every test of it (STOP) before a single write.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import pytest

from pytest_hastate.evidence import write_atomic
from pytest_hastate.guard import ScratchScope
from pytest_hastate.models import EndpointPackage
from pytest_hastate.run import ProofRun

if TYPE_CHECKING:
    from pytest_hastate.disposable import DisposableState
    from pytest_hastate.s3 import S3Access


@pytest.fixture(scope="session")
def hastate_progress(pytestconfig: pytest.Config) -> Callable[[str], None]:
    """Print a progress line now, even while output is captured (long steps say what they do)."""
    reporter = pytestconfig.pluginmanager.get_plugin("terminalreporter")
    capture = pytestconfig.pluginmanager.get_plugin("capturemanager")

    def say(line: str) -> None:
        if reporter is None:
            return
        suspended = (
            capture.global_and_fixture_disabled()
            if capture is not None
            else contextlib.nullcontext()
        )
        with suspended:
            reporter.write_line(f"hastate: {line}")

    return say


@pytest.fixture(scope="session")
def hastate_tofu_binary(hastate_run: ProofRun) -> tuple[Path, str, tuple[int, int, int]]:
    """(binary, product, version), after the version gate."""
    from pytest_hastate.tofu import (
        TofuMissing,
        TofuRunner,
        TofuTooOld,
        base_environment,
        check_version,
        find_binary,
    )

    settings = hastate_run.settings
    if settings.dry_run:
        pytest.skip("dry run: OpenTofu is not run")
    try:
        binary = find_binary(settings.tofu_binary)
    except TofuMissing as exc:
        pytest.skip(str(exc))
    with tempfile.TemporaryDirectory(prefix="hastate-tofu-version-") as scratch:
        env = base_environment(Path(scratch), os.environ)
        runner = TofuRunner(binary, Path(scratch), env, timeout=60)
        try:
            product, version = runner.version()
            check_version(product, version)
        except TofuTooOld as exc:
            pytest.fail(f"{binary}: {exc}", pytrace=False)
    return binary, product, version


@contextlib.contextmanager
def open_workspace(
    run: ProofRun,
    binary: Path,
    package: EndpointPackage,
    access: S3Access,
    scope: ScratchScope,
    clients: dict[str, Any],
    key: str,
    phase: str,
    progress: Callable[[str], None],
) -> Iterator[DisposableState]:
    """A temp workspace (own TF_DATA_DIR) whose S3 backend key is ``key``, through the first of
    ``clients``' endpoints; removed afterwards."""
    from pytest_hastate.disposable import DisposableState
    from pytest_hastate.tofu import TofuRunner, render_configuration, tofu_environment

    endpoint = next(iter(clients))
    config = render_configuration(
        bucket=scope.bucket, key=key, region=access.region, endpoint=endpoint,
        backend_options=package.effective_backend_options,
    )  # fmt: skip
    # OpenTofu's own requests do not pass through boto3: the guard judges the backend as a whole.
    scope.check_backend(config["terraform"]["backend"]["s3"], key=key, endpoint=endpoint)
    workdir = Path(tempfile.mkdtemp(prefix="hastate-tofu-"))
    try:
        (workdir / "main.tf.json").write_text(json.dumps(config, indent=2), "utf-8")
        env = tofu_environment(
            workdir=workdir,
            access_key=access.access_key,
            secret_key=access.secret_key,
            session_token=access.session_token,
            ca_bundle=access.verify if isinstance(access.verify, str) else None,
            checksum_when_required=access.checksum_when_required,
        )
        health = run.health
        runner = TofuRunner(
            binary, workdir, env, redact=run.redact, progress=progress,
            preflight=lambda: health.check(endpoint, "PutObject"), time_left=health.remaining,
        )  # fmt: skip
        yield DisposableState(
            runner=runner, bucket=scope.bucket, key=key, phase=phase, run_id=run.settings.run_id,
            primary=clients[endpoint], clients=clients,
        )  # fmt: skip
        _write_tofu_evidence(run.settings.evidence_dir, runner, phase)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


class WorkspaceOpener(Protocol):
    def __call__(
        self, key: str, phase: str, *, clients: dict[str, Any] | None = None
    ) -> contextlib.AbstractContextManager[DisposableState]: ...


@pytest.fixture(scope="session")
def hastate_open_workspace(
    hastate_run: ProofRun,
    hastate_tofu_binary: tuple[Path, str, tuple[int, int, int]],
    hastate_endpoint_package: EndpointPackage,
    hastate_s3_access: S3Access,
    hastate_scope: ScratchScope,
    hastate_s3: dict[str, Any],
    hastate_scratch_bucket: Any,
    hastate_progress: Callable[[str], None],
) -> WorkspaceOpener:
    """Open a disposable workspace on a state key of the scratch scope:
    ``opener(key, phase, clients=...)`` (default: every endpoint, through the first)."""

    def opener(
        key: str, phase: str, *, clients: dict[str, Any] | None = None
    ) -> contextlib.AbstractContextManager[DisposableState]:
        return open_workspace(
            hastate_run, hastate_tofu_binary[0], hastate_endpoint_package, hastate_s3_access, hastate_scope,
            clients or hastate_s3, key, phase, hastate_progress,
        )  # fmt: skip

    return opener


@pytest.fixture(scope="session")
def hastate_tofu_workspace(
    hastate_run: ProofRun, hastate_scope: ScratchScope, hastate_open_workspace: WorkspaceOpener
) -> Iterator[DisposableState]:
    """The disposable state of this phase: ``<prefix><run-id>/disposable-tofu/<phase>/terraform.tfstate``."""
    from pytest_hastate.disposable import state_key

    phase = hastate_run.settings.phase
    with hastate_open_workspace(
        state_key(hastate_scope.prefix, hastate_run.settings.run_id, phase), phase
    ) as workspace:
        yield workspace


def _write_tofu_evidence(directory: Path, runner: Any, phase: str) -> None:
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
