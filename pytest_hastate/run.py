"""One proof run: its inputs, loaded once and frozen, and what the run records as it goes.

``ProofInputs`` is everything the options name (settings, package, contract, the contract the
package links, the checkpoint of an earlier phase, their digests), read and checked once in
``pytest_configure``; bad input raises ``InputError`` and nothing is written. ``ProofRun`` is
the session: the inputs, the collector, the backend's health, the measured facts, the scratch
bucket's lifecycle, the checkpoint chain as this run leaves it, and the verdict.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_hastate.errors import HastateError, InputError
from pytest_hastate.gates.contract import check_contract, static_stop_conditions
from pytest_hastate.gates.files import PACKAGE, load_contract, load_linked_contract, load_package
from pytest_hastate.io.documents import LoadedDocument, validate_model
from pytest_hastate.io.evidence import LINKED, linked_entry
from pytest_hastate.io.profiles import LoadedProfile, check_against_package, profile_for
from pytest_hastate.io.redact import Masker
from pytest_hastate.models import (
    Checkpoint,
    CleanupRecord,
    DisposableStateRecord,
    EndpointPackage,
    HaSemantics,
    ObservabilityFacts,
    PackageIdentity,
    ProfileIdentity,
    RunFacts,
    SampleObject,
    SignalEvidence,
    Verdict,
)
from pytest_hastate.models.profile import Profile
from pytest_hastate.modes import Mode
from pytest_hastate.s3.answers import AnswerTally
from pytest_hastate.s3.health import BackendHealth
from pytest_hastate.scope.scratch import ScratchScope, scope_of, scratch_prefix_of
from pytest_hastate.settings import Settings
from pytest_hastate.stash import RUN_KEY
from pytest_hastate.timing import BusyTime
from pytest_hastate.verdict.collector import Collector

if TYPE_CHECKING:
    from pytest_hastate.maintenance.watch_log import WatchRecord
    from pytest_hastate.observability.reader import Scrape
    from pytest_hastate.s3.client import S3Access
    from pytest_hastate.s3.lifecycle import ScratchLifecycle
    from pytest_hastate.tofu.gate import TofuBinary


@dataclass(frozen=True)
class ProofInputs:
    settings: Settings
    roots: tuple[Path, ...]
    mask: Masker
    profile: LoadedProfile
    package: LoadedDocument | None = None
    contract: LoadedDocument | None = None
    linked_contract: LoadedDocument | None = None
    package_model: EndpointPackage | None = None  # None when it fails validation: the gate says why
    checkpoint: Checkpoint | None = None
    static_stops: tuple[str, ...] = ()
    watch: WatchRecord | None = None  # the watched window's log, checked (post-maintenance)

    @classmethod
    def load(
        cls, settings: Settings, roots: tuple[Path, ...], mask: Masker, cwd: Path
    ) -> ProofInputs:
        """Read and check every input the options name, once (``cwd``: where the run was
        started; a ``--profile`` path is relative to it)."""
        _check_outputs(settings)
        package = load_package(settings.endpoint_package) if settings.endpoint_package else None
        contract = load_contract(settings.contract) if settings.contract else None
        linked = _linked_contract(package, roots)
        model = _package_model(package)
        profile = profile_for(
            package, settings.profile, cwd, "--profile (or HASTATE_PROFILE, ini hastate_profile)"
        )
        if package is not None:
            check_against_package(profile, package.data.get("scratch_bucket"))
        checkpoint = _earlier_checkpoint(settings, package, model, profile)
        if checkpoint is not None:
            # Later phases address the same scratch objects: the run id is the checkpoint's.
            settings = dataclasses.replace(settings, run_id=checkpoint.run_id)
        stops = _static_stops(profile.model, settings.allow_template, contract, linked)
        watch = _watch_record(settings, checkpoint)
        return cls(
            settings, roots, mask, profile, package, contract, linked, model, checkpoint, stops,
            watch,
        )  # fmt: skip

    @property
    def has_input(self) -> bool:
        return self.package is not None or self.contract is not None

    @property
    def contract_digest(self) -> str | None:
        document = self.contract or self.linked_contract
        return document.sha256 if document is not None else None

    @property
    def observability_lists(self) -> list[list[str]]:
        """The observability lists of the package and of the contract it links (or is given)."""
        lists: list[list[str]] = []
        for document in (self.package, self.linked_contract, self.contract):
            items = document.data.get("observability") if document is not None else None
            if isinstance(items, list):
                lists.append([item for item in items if isinstance(item, str)])
        return lists

    @property
    def contract_requires_observability(self) -> bool:
        return any(
            document is not None and document.data.get("require_observability") is True
            for document in (self.linked_contract, self.contract)
        )

    @property
    def ha_semantics(self) -> HaSemantics | None:
        return self.package_model.ha_semantics if self.package_model is not None else None


def _linked_contract(
    package: LoadedDocument | None, roots: tuple[Path, ...]
) -> LoadedDocument | None:
    """The contract the package names, if it resolves and loads; else None (the gate says why)."""
    reference = package.data.get("candidate_contract") if package is not None else None
    if package is None or not isinstance(reference, str) or not reference.strip():
        return None
    return load_linked_contract(reference, package.path, roots)[1]


def _package_model(package: LoadedDocument | None) -> EndpointPackage | None:
    if package is None:
        return None
    try:
        model = validate_model(package, PACKAGE, EndpointPackage)
    except InputError:
        return None
    for index, source in enumerate(model.metrics_sources or ()):
        if source.ca_bundle and not (package.path.parent / source.ca_bundle).is_file():
            raise InputError(
                f"{PACKAGE} {package.path}", f"$.metrics_sources[{index}].ca_bundle",
                f"{source.ca_bundle!r} not found next to the package",
            )  # fmt: skip
    return model


def _earlier_checkpoint(
    settings: Settings,
    package: LoadedDocument | None,
    model: EndpointPackage | None,
    profile: LoadedProfile,
) -> Checkpoint | None:
    if settings.from_checkpoint is None:
        return None
    from pytest_hastate.io.checkpoints import (
        check_checkpoint_scope,
        check_package_digest,
        check_profile_digest,
        check_verifiable,
        load_checkpoint,
    )

    checkpoint = load_checkpoint(settings.from_checkpoint)
    assert package is not None  # the settings demand --endpoint-package here
    check_package_digest(checkpoint, package, settings.from_checkpoint)
    check_profile_digest(checkpoint, profile, settings.from_checkpoint)
    if model is None:  # a package that fails validation is a usage error here: say why
        model = validate_model(package, PACKAGE, EndpointPackage)
    check_checkpoint_scope(checkpoint, model, profile.model, settings.from_checkpoint)
    if settings.mode is Mode.POST_MAINTENANCE:
        check_verifiable(checkpoint, settings.from_checkpoint)
    return checkpoint


def _watch_record(settings: Settings, checkpoint: Checkpoint | None) -> WatchRecord | None:
    """The watched window's log for a verify: ``--watch-log``, or the run's own log in the
    evidence folder when there; read and scope-checked now, so a bad log is a usage error."""
    if checkpoint is None or settings.mode is not Mode.POST_MAINTENANCE:
        return None
    from pytest_hastate.maintenance.watch_log import check_watch_scope, log_path, read_watch

    path = settings.watch_log or log_path(settings.evidence_dir, checkpoint.run_id)
    if settings.watch_log is None and not path.exists():
        return None
    label = "--watch-log" if settings.watch_log else "watch log"
    record = read_watch(path, label)
    check_watch_scope(
        record, f"{label} {path}", run_id=checkpoint.run_id, bucket=checkpoint.scratch_bucket,
        run_prefix=checkpoint.run_prefix,
        endpoints=checkpoint.endpoints,
    )  # fmt: skip
    return record


def _static_stops(
    profile: Profile, allow_template: bool, *documents: LoadedDocument | None
) -> tuple[str, ...]:
    """C03/C04/C12 findings of every contract in play, whether or not step 1 runs."""
    found: list[str] = []
    for document in documents:
        if document is None:
            continue
        findings = check_contract(document.data, profile, allow_template=allow_template)
        for finding in static_stop_conditions(findings):
            found.append(f"{document.path.name}: {finding}")
    return tuple(dict.fromkeys(found))


@dataclass
class Selection:
    """What collection found: every step present, and each test's own step markers."""

    collected_steps: set[str] = field(default_factory=set)
    item_steps: dict[str, frozenset[str]] = field(default_factory=dict)


@dataclass
class ProofRun:
    inputs: ProofInputs
    collector: Collector = field(default_factory=Collector)
    health: BackendHealth = field(default_factory=BackendHealth)
    busy: BusyTime = field(default_factory=BusyTime)
    selection: Selection = field(default_factory=Selection)
    facts: RunFacts = field(default_factory=RunFacts)
    access: S3Access | None = None
    scratch: ScratchLifecycle | None = None
    checkpoint: Checkpoint | None = None  # the chain as this run leaves it
    verdict: Verdict | None = None
    exit_code: int | None = None
    verdict_file: Path | None = None
    servers: dict[str, str] = field(default_factory=dict)  # endpoint -> its Server header
    answers: AnswerTally = field(default_factory=AnswerTally)  # what the backend answered
    tofu: tuple[str, str] | None = None  # (binary, "<product> <version>") once gated
    tofu_gate: TofuBinary | HastateError | None = None  # the binary gate's outcome

    def __post_init__(self) -> None:
        if self.checkpoint is None:
            self.checkpoint = self.inputs.checkpoint

    @property
    def settings(self) -> Settings:
        return self.inputs.settings

    @property
    def maintenance_event(self) -> str | None:
        """The event this phase names, else the one an earlier phase declared in the chain."""
        declared = self.checkpoint.declared_event() if self.checkpoint else None
        return self.settings.maintenance_event or declared

    @property
    def mask(self) -> Masker:
        return self.inputs.mask

    def record(self, **facts: Any) -> None:
        """Add measured facts (typed by ``RunFacts``) to what the run reports."""
        self.facts = RunFacts.model_validate({**self.facts.model_dump(), **facts})

    def record_signal(
        self, evidence: SignalEvidence, before: Mapping[str, Scrape], after: Mapping[str, Scrape]
    ) -> None:
        """What the metrics showed of one signal, and what each source's scrapes found."""
        facts = self.facts.observability or ObservabilityFacts()
        sources = dict(facts.sources)
        for url in dict.fromkeys([*before, *after]):
            found = [f"{when}: {s.fact}" for when, s in (("before", before.get(url)),
                     ("after", after.get(url))) if s is not None]  # fmt: skip
            sources[url] = "; ".join(found)
        signals = [s for s in facts.signals if s.signal != evidence.signal]
        self.record(observability=ObservabilityFacts(sources=sources, signals=[*signals, evidence]))

    def connect(self) -> None:
        """Read the credentials for the live steps (only when one was selected); refuses before
        any S3 call when they are missing or the endpoint/region overrides disagree."""
        inputs = self.inputs
        if inputs.package_model is None or inputs.package is None:
            return
        if self.settings.dry_run or self.access is not None:
            return
        from pytest_hastate.s3.access import access_from, warm

        self.access = access_from(inputs.package_model, inputs.package.path, os.environ)
        warm(self.access, functools.partial(self.scratch_scope, inputs.package_model))

    def scratch_scope(self, package: EndpointPackage) -> ScratchScope:
        """Where this run of ``package`` may write, and what it must never touch."""
        return scope_of(
            self.inputs.profile.model, package, self.settings.run_id,
            allow_bucket_delete=self.settings.delete_scratch_bucket,
        )  # fmt: skip

    def gate_tofu(self) -> None:
        """Gate the OpenTofu binary now, before any test sends a request. A CI wrapper is bad
        input (``WrappedBinary`` raised); a missing, old or failing binary is kept for the
        disposable step's tests to report."""
        from pytest_hastate.errors import TofuError, TofuMissing, TofuTooOld
        from pytest_hastate.tofu.gate import gated_binary

        try:
            self.tofu_gate = gated_binary(self.settings.tofu_binary)
        except (TofuMissing, TofuTooOld, TofuError) as exc:
            self.tofu_gate = exc

    def new_checkpoint(self) -> Checkpoint | None:
        """A checkpoint for this run (no sample yet): the start of a new chain."""
        package, document = self.inputs.package_model, self.inputs.package
        if package is None or document is None:
            return None
        return Checkpoint(
            run_id=self.settings.run_id,
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            package=PackageIdentity(
                name=package.name, sha256=document.sha256, basename=document.path.name
            ),
            profile=ProfileIdentity(
                name=self.inputs.profile.name, sha256=self.inputs.profile.sha256
            ),
            contract_sha256=self.inputs.contract_digest,
            endpoints=list(package.endpoints),
            scratch_bucket=package.scratch_bucket,
            scratch_prefix=scratch_prefix_of(self.inputs.profile.model, package),
            bucket_created_by_this_product=bool(
                self.scratch and self.scratch.bucket and self.scratch.bucket.created_by_this_run
            ),
        )

    def begin_chain(
        self, sample: list[SampleObject], disposable: DisposableStateRecord | None
    ) -> Checkpoint:
        """The pre-maintenance checkpoint: this run's sample and disposable state, kept for the
        verify; the chain this run leaves (written again, with the phase, at the end)."""
        base = self.new_checkpoint()
        assert base is not None  # a live run has a valid package
        self.checkpoint = base.model_copy(update={"sample": sample, "disposable_state": disposable})
        return self.checkpoint

    def finish_chain(self, cleanup: CleanupRecord) -> None:
        """The cleanup's record, into the chain this run leaves."""
        assert self.checkpoint is not None  # cleanup runs from a checkpoint
        self.checkpoint = self.checkpoint.model_copy(update={"cleanup": cleanup})


def run_of(config: pytest.Config) -> ProofRun:
    run = config.stash.get(RUN_KEY, None)
    if run is None:
        raise pytest.UsageError("pytest-hastate is not configured for this session")
    return run


def _writable_folder_problem(path: Path) -> str | None:
    """Why files cannot be written into ``path`` (created if missing), or None."""
    if path.exists() and not path.is_dir():
        return "exists and is not a folder"
    existing = path
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        return f"cannot be written ({existing} is not a writable folder)"
    return None


def _check_outputs(settings: Settings) -> None:
    """Where the run will write, checked before anything runs (never a crash at the end)."""
    problem = _writable_folder_problem(settings.evidence_dir)
    if problem:
        raise InputError(f"--evidence-dir {settings.evidence_dir}", "", problem)
    linked = linked_entry(settings.evidence_dir)
    if linked is not None:
        raise InputError(f"--evidence-dir {settings.evidence_dir}", linked.name, LINKED)
    target = settings.checkpoint_file
    if target is not None:
        if target.exists() or target.is_symlink():
            raise InputError(
                f"--checkpoint-file {target}",
                "",
                "exists: a new chain of phases starts in a new checkpoint file (the existing "
                "chain is evidence: move it away or pick another path; later phases use "
                "--from-checkpoint)",
            )
        problem = _writable_folder_problem(target.parent)
        if problem:
            raise InputError(f"--checkpoint-file {target}", "", f"its folder {problem}")
