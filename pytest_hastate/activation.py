"""Whether a pytest session proves anything, and the start of its proof run when it does.

The plugin is loaded by every pytest session of an environment it is installed in. A session
becomes a proof run only when it collected a proof test (one that declares a criterion with
``hastate_criterion`` or uses the run's fixtures) or when its command line names something to
prove. Any other session is left exactly as it would be without the plugin: its ``-m``
expression is not read, nothing is written, whatever the ``HASTATE_*`` variables say.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest

from pytest_hastate.options import CRITERION_MARKER, INPUT_OPTIONS

if TYPE_CHECKING:
    from pytest_hastate.run import ProofRun

PREFIX = "pytest-hastate"
RUN_FIXTURE = "hastate_run"
"""Every fixture of the proof run stands on this one."""


def is_proof_item(item: pytest.Item, *, step_markers: bool = False) -> bool:
    """A test of a proof: it declares a criterion, or it uses the proof run's fixtures; with
    ``step_markers`` (the command line asked for a proof), also one marked with a proof step
    (``static``, ``scratch`` ...: names another suite may use for its own tests)."""
    if item.get_closest_marker(CRITERION_MARKER) is not None:
        return True
    if step_markers:
        from pytest_hastate.steps import STEPS  # the command line asked for a proof

        if any(item.get_closest_marker(step.marker) for step in STEPS):
            return True
    return RUN_FIXTURE in getattr(item, "fixturenames", ())


def command_line_input(config: pytest.Config) -> str | None:
    """The option on the command line that names something to prove (env and ini do not
    count: they are a shell's or a project's settings, not a request to prove now)."""
    for spec in INPUT_OPTIONS:
        if getattr(config.option, spec.dest, None) is not None:
            return spec.flag
    return None


def start_run(
    config: pytest.Config, items: list[pytest.Item], collect_errors: int
) -> ProofRun | None:
    """The proof run of this session, or None when the session proves nothing.

    Reads and checks every input once (before any test runs); bad input is a usage error.
    """
    asked = command_line_input(config)
    proof_items = any(is_proof_item(item, step_markers=asked is not None) for item in items)
    if not proof_items and asked is None:
        return None
    if not proof_items and not collect_errors:
        raise pytest.UsageError(
            f"{PREFIX}: {asked} was given but no proof test was collected: run the installed "
            "proof suite (pytest --pyargs pytest_hastate.proofs ..., or hastate prove ...), or "
            "give the proofs/ folder of a checkout"
        )
    from pytest_hastate.errors import InputError, SettingsError
    from pytest_hastate.io.redact import Masker
    from pytest_hastate.run import ProofInputs, ProofRun
    from pytest_hastate.settings import resolve

    try:
        settings = resolve(
            lambda dest: getattr(config.option, dest, None), config.getini, os.environ,
            invocation_dir=config.invocation_params.dir, ini_dir=config.rootpath,
            markexpr=config.option.markexpr,
        )  # fmt: skip
        if not settings.names_an_input:
            raise pytest.UsageError(
                f"{PREFIX}: nothing to prove: give --endpoint-package PATH (live proof) or "
                "--contract PATH (static gate)"
            )
        roots = tuple(dict.fromkeys((config.rootpath, config.invocation_params.dir)))
        inputs = ProofInputs.load(
            settings, roots, Masker.from_environment(os.environ), config.invocation_params.dir
        )
    except (SettingsError, InputError) as exc:
        raise pytest.UsageError(f"{PREFIX}: {exc}") from None
    if distributed(config):
        raise pytest.UsageError(NOT_DISTRIBUTED)
    return ProofRun(inputs)


NOT_DISTRIBUTED = (
    f"{PREFIX}: pytest-xdist (-n / --dist) is not supported: a proof run is one session with "
    "one verdict and one checkpoint chain; run it without -n"
)


def refuse_distribution(config: pytest.Config) -> None:
    """A command line that names something to prove and asks xdist for workers is refused at
    once: the workers collect, and the controller would never see the proof run start."""
    if command_line_input(config) is not None and distributed(config):
        raise pytest.UsageError(NOT_DISTRIBUTED)


def distributed(config: pytest.Config) -> bool:
    """True on an xdist controller that will start workers, and on an xdist worker."""
    if hasattr(config, "workerinput"):
        return True
    workers = getattr(config.option, "numprocesses", None)
    return bool(workers) or getattr(config.option, "dist", "no") not in ("no", None)


def header(run: ProofRun) -> str:
    """The run's one line, shown after collection."""
    s, package, contract = run.settings, run.inputs.package, run.inputs.contract
    line = f"hastate: run {s.run_id}, mode {s.mode.value}, phase {s.phase}, profile {run.inputs.profile.label}"
    if package is not None:
        line += f", package {package.path.name} sha256:{package.sha256[:12]}"
    if contract is not None:
        line += f", contract {contract.path.name}"
    return line
