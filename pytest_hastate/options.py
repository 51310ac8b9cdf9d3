"""The options of pytest-hastate, declared once: each with its command-line flag, its ini twin
(``hastate_<name>``) and its environment twin (``HASTATE_<NAME>``).

Light on purpose: the plugin reads this table in every pytest session (to add the options),
so it is plain data; ``settings`` resolves and validates the values, only in a session that
proves something.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

CRITERION_MARKER = "hastate_criterion"
SUITE_FLAG = "HASTATE_PROOF_SUITE"
"""Set in the proof suite's conftest.py: a session that loads it is proving something."""
MAINTENANCE_EVENTS = ("endpoint-loss", "node-loss", "restart", "managed")

Kind = Literal["flag", "path", "text", "int", "float"]
"""How an option's value is read: a boolean, a path (relative to where it was given), text, or
a number within the option's ``bounds``."""


class OptionSpec(NamedTuple):
    name: str  # the long flag without dashes, e.g. "endpoint-package"
    kind: Kind
    help: str
    default: str | None = None
    choices: tuple[str, ...] = ()
    bounds: tuple[float, float] | None = None  # numbers: the least and the greatest value

    @property
    def dest(self) -> str:
        return "hastate_" + self.name.replace("-", "_")

    @property
    def env(self) -> str:
        return "HASTATE_" + self.name.replace("-", "_").upper()

    @property
    def flag(self) -> str:
        return "--" + self.name


OPTIONS: tuple[OptionSpec, ...] = (
    OptionSpec(
        "endpoint-package", "path", "the non-secret endpoint package JSON (required for live steps)"
    ),
    OptionSpec("contract", "path", "a standalone candidate contract JSON for the static gate"),
    OptionSpec(
        "profile",
        "text",
        "the policy profile that judges the documents: a shipped name (gloriousflywheel, "
        "generic) or a profile JSON file; overrides the package's own (default: the package's, "
        "else gloriousflywheel)",
    ),
    OptionSpec(
        "allow-template",
        "flag",
        "accept template sentinels (replace-me, example.invalid) in the package gate",
    ),
    OptionSpec(
        "run-disposable-tofu",
        "flag",
        "include proof step 3 (disposable OpenTofu); requires --use-lockfile",
    ),
    OptionSpec(
        "use-lockfile", "flag", "run OpenTofu with use_lockfile = true (the native S3 lockfile)"
    ),
    OptionSpec(
        "tofu-binary",
        "text",
        "OpenTofu binary; default tofu, falling back to terraform",
        default="tofu",
    ),
    OptionSpec(
        "phase", "text", "phase label (baseline, post-maintenance, post-failure-domain, ...)"
    ),
    OptionSpec("checkpoint-file", "path", "write the checkpoint here"),
    OptionSpec(
        "keep-scratch-bucket", "flag", "keep the durability sample and bucket for a later verify"
    ),
    OptionSpec("verify-existing", "flag", "post-maintenance verify of --from-checkpoint"),
    OptionSpec("from-checkpoint", "path", "the checkpoint of an earlier phase"),
    OptionSpec(
        "maintenance-event", "text", "what happened between phases", choices=MAINTENANCE_EVENTS
    ),
    OptionSpec(
        "cleanup-checkpoint", "flag", "delete the scratch objects recorded in --from-checkpoint"
    ),
    OptionSpec(
        "delete-scratch-bucket",
        "flag",
        "with --cleanup-checkpoint: delete the bucket if this product created it",
    ),
    OptionSpec("credential-boundary-check", "flag", "run proof step 2a only"),
    OptionSpec(
        "dry-run", "flag", "validate and render everything; no network, no OpenTofu; never GO"
    ),
    OptionSpec("expect-interim", "flag", "INTERIM_ONLY is the expected outcome (exit 0 on it)"),
    OptionSpec(
        "require-observability",
        "flag",
        "the observability.* criteria are required: a signal the documents list that the "
        "backend's metrics do not show is STOP (default: said, not required)",
    ),
    OptionSpec(
        "evidence-dir", "path", "where verdict.json, checkpoints and logs go", default="evidence"
    ),
    OptionSpec(
        "sample-objects",
        "int",
        "durability sample size of the restart checkpoint",
        default="64",
        bounds=(1, 10_000),
    ),
    OptionSpec(
        "verify-timeout",
        "float",
        "seconds the post-maintenance verify waits for the backend",
        default="60",
        bounds=(1, 3600),
    ),
    OptionSpec(
        "watch-log",
        "path",
        "the watched window's log to check in the verify (default: watch-<run-id>.jsonl in the "
        "evidence folder, when there)",
    ),
)


INPUT_OPTIONS: tuple[OptionSpec, ...] = tuple(
    spec
    for spec in OPTIONS
    if spec.name in ("endpoint-package", "contract", "checkpoint-file", "from-checkpoint")
)
"""The options that name something to prove or continue."""

BY_FLAG: dict[str, OptionSpec] = {spec.flag: spec for spec in OPTIONS}
