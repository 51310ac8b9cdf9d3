"""Which tests a run keeps: the mode's steps, pytest's own -m / -k, and what a selected test
stands on. Called by the collection hooks of ``plugin.py``; every refusal is a ``UsageError``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from pytest_hastate.modes import PHASE_MARKERS
from pytest_hastate.options import CRITERION_MARKER
from pytest_hastate.settings import CRITERION_ID
from pytest_hastate.steps import BY_ID, BY_MARKER

if TYPE_CHECKING:
    from pytest_hastate.run import ProofRun

PREFIX = "pytest-hastate"
LIVE_STEPS = frozenset(BY_MARKER) - {"static"}
PHASE_OF_MODE = {mode: marker for marker, (mode, _flag) in PHASE_MARKERS.items()}
# Fixtures that reach the backend: a test using one is a live test, marked or not.
BACKEND_FIXTURES = frozenset(
    {
        "hastate_s3_access", "hastate_s3", "hastate_s3_primary", "hastate_s3_factory",
        "hastate_s3_answering", "hastate_scratch_bucket", "hastate_scratch_lifecycle",
        "hastate_reachability", "hastate_tofu_workspace", "hastate_open_workspace",
        "hastate_sample_verification", "hastate_checkpoint_workspace",
    }
)  # fmt: skip


def steps_of(item: pytest.Item) -> set[str]:
    return {m.name for m in item.iter_markers() if m.name in BY_MARKER}


def criteria_of(item: pytest.Item) -> list[str]:
    """The criteria a test declares; a malformed or unknown id is a usage error (a typo must
    not leave a criterion silently unproven)."""
    criteria: list[str] = []
    for mark in item.iter_markers(CRITERION_MARKER):
        for cid in mark.args:
            if not isinstance(cid, str) or not CRITERION_ID.match(cid):
                raise pytest.UsageError(f"{PREFIX}: {item.nodeid}: invalid criterion id {cid!r}")
            if cid not in BY_ID:
                raise pytest.UsageError(
                    f"{PREFIX}: {item.nodeid}: unknown criterion {cid!r} (the catalogue: "
                    f"{', '.join(BY_ID)})"
                )
            criteria.append(cid)
    return criteria


def mark_phase(run: ProofRun, items: list[pytest.Item]) -> None:
    """Before pytest's -m: note every test's own steps, and in a phase mode give every test
    the phase runs the phase marker, so ``-m pre_maintenance`` selects the whole phase."""
    settings, selection = run.settings, run.selection
    phase = PHASE_OF_MODE.get(settings.mode)
    for item in items:
        criteria_of(item)  # every collected test, selected or not
        steps = steps_of(item)
        selection.item_steps[item.nodeid] = frozenset(steps)
        selection.collected_steps |= steps
        if phase is not None and steps & settings.steps and phase not in steps:
            item.add_marker(phase)


def note_deselected(run: ProofRun, items: list[pytest.Item]) -> None:
    """Criteria whose tests the operator's selection (-m, -k, paths) left out, although the
    mode runs them: a reason then says so, instead of how to run the proof."""
    for item in items:
        steps = own_steps(run, item)
        if not steps or steps & run.settings.steps:
            run.collector.deselected.update(criteria_of(item))


def own_steps(run: ProofRun, item: pytest.Item) -> set[str]:
    """The step markers the test itself carries (not the phase marker a phase mode adds)."""
    return set(run.selection.item_steps.get(item.nodeid, steps_of(item)))


def keep_mode_steps(run: ProofRun, items: list[pytest.Item]) -> list[pytest.Item]:
    """After pytest's -m / -k: drop the tests of steps the mode does not run (deselected, never
    skipped) and register what each kept test claims. Returns the dropped tests."""
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    for item in items:
        steps = steps_of(item)
        if steps and not steps & run.settings.steps:
            drop.append(item)
            continue
        keep.append(item)
        criteria = criteria_of(item)
        if criteria:
            run.collector.expect(item.nodeid, tuple(dict.fromkeys(criteria)))
    items[:] = keep
    return drop


def check_needs(config: pytest.Config, run: ProofRun, kept: list[pytest.Item]) -> None:
    """A selected test whose prerequisite steps were deselected (by -m or -k) would prove
    nothing, or crash: a usage error naming what is missing."""
    present: set[str] = set()
    for item in kept:
        present |= own_steps(run, item)
    for step in sorted(present):
        wanted = BY_MARKER[step].needs & run.settings.steps
        missing = sorted(wanted - present)
        if missing:
            raise pytest.UsageError(
                f"{PREFIX}: {_selection_words(config)} leaves out the {', '.join(missing)} "
                f"tests, which the {step} tests stand on (run the whole phase: the proofs/ "
                f"folder, with -m {step} or its flags)"
            )


def _selection_words(config: pytest.Config) -> str:
    """How the tests were selected, in the words the operator typed."""
    words = [
        f"{flag} {value!r}"
        for flag, value in (("-m", config.option.markexpr), ("-k", config.option.keyword))
        if value
    ]
    if getattr(config.option, "deselect", None):
        words.append("--deselect")
    if any("::" in arg or arg.endswith(".py") for arg in config.args):
        words.append("the test paths given")
    return " and ".join(words) or "the selection"


def needs_backend(item: pytest.Item) -> bool:
    if any(m.name in LIVE_STEPS for m in item.iter_markers()):
        return True
    return bool(BACKEND_FIXTURES & set(getattr(item, "fixturenames", ())))


def check_backend(run: ProofRun, kept: list[pytest.Item]) -> None:
    """Tests that reach the backend need a package and credentials, read now (before any test)."""
    backend = [item for item in kept if needs_backend(item)]
    if not backend:
        return
    if run.inputs.package is None:
        raise pytest.UsageError(
            f"{PREFIX}: {backend[0].nodeid} needs a backend (a live step or an S3 fixture): "
            "give --endpoint-package PATH"
        )
    from pytest_hastate.errors import InputError

    try:
        run.connect()
    except InputError as exc:
        raise pytest.UsageError(f"{PREFIX}: {exc}") from None


TOFU_BINARY_FIXTURE = "hastate_tofu_binary"


def check_tofu(run: ProofRun, kept: list[pytest.Item]) -> None:
    """Selected tests that run OpenTofu get the binary gated now, before any request: a CI
    setup action's wrapper in front of it is refused here (bad input), nothing sent."""
    if run.settings.dry_run:
        return
    if not any(TOFU_BINARY_FIXTURE in getattr(item, "fixturenames", ()) for item in kept):
        return
    from pytest_hastate.errors import BinaryRefused, TofuMissing
    from pytest_hastate.options import BY_FLAG

    try:
        run.gate_tofu()
    except BinaryRefused as exc:
        raise pytest.UsageError(f"{PREFIX}: {exc}") from None
    named = run.settings.tofu_binary
    if isinstance(run.tofu_gate, TofuMissing) and named != BY_FLAG["--tofu-binary"].default:
        # The default's absence leaves the step unproven; a binary the operator named and
        # that is not there is a mistake in the command.
        raise pytest.UsageError(
            f"{PREFIX}: --tofu-binary (or HASTATE_TOFU_BINARY) {named}: not found (neither a "
            "file nor a command on PATH)"
        )
