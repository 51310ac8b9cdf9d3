"""Every exit code of pytest-hastate, on every surface: the proof run (pytest) and the
``hastate`` commands. One table; the documentation's exit-code page is generated from it."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    STOP = 1
    USAGE = 2
    ENVIRONMENT = 3
    BAD_INPUT = 4
    NO_TESTS = 5
    INTERIM_ONLY = 10
    NO_CANDIDATE = 11
    API_UNREACHABLE = 12
    API_FORBIDDEN = 13


MEANINGS: dict[ExitCode, tuple[str, str]] = {
    ExitCode.OK: (
        "`GO`; or `INTERIM_ONLY` with `--expect-interim` when nothing the run was asked for was "
        "skipped (a missing OpenTofu binary keeps 10)",
        "done: a gate passed, the evidence is complete, ready (`GO`; `INTERIM_ONLY` with "
        "`--expect-interim`), the demo ended as expected",
    ),
    ExitCode.STOP: (
        "`STOP`: a criterion failed or errored in any phase, a scratch-guard refusal, a static "
        "stop condition (C03/C04/C12)",
        "refused: a gate's findings, an evidence finding, not ready (`STOP`, or status moved "
        "on), a migration plan refused, a guard refusal",
    ),
    ExitCode.USAGE: (
        "pytest's own: interrupted (Ctrl-C); the verdict, if written, is never `GO`",
        "wrong command-line usage (argparse)",
    ),
    ExitCode.ENVIRONMENT: (
        "pytest's own: internal error",
        "this machine cannot do what was asked: the lab could not start or act, or an extra "
        "is not installed (the line names it: `pip install 'pytest-hastate[lab]'`)",
    ),
    ExitCode.BAD_INPUT: (
        "usage or input error, one line: `ERROR: pytest-hastate: <file or option>: <JSON path>: "
        "<reason>`; nothing is written",
        "bad input file or option, one line naming the file and the field; nothing is written",
    ),
    ExitCode.NO_TESTS: ("pytest's own: no tests collected", "—"),
    ExitCode.INTERIM_ONLY: (
        "`INTERIM_ONLY` without `--expect-interim`: coherent, but HA not proven",
        "`hastate readiness`: not ready, `INTERIM_ONLY`",
    ),
    ExitCode.NO_CANDIDATE: (
        "—",
        "`hastate inventory --fail-without-candidate`: no live HA state candidate",
    ),
    ExitCode.API_UNREACHABLE: (
        "—",
        "`hastate inventory`: the Kubernetes API server is unreachable",
    ),
    ExitCode.API_FORBIDDEN: ("—", "`hastate inventory`: a list call was forbidden"),
}
"""Each code's meaning: (in a proof run, for a ``hastate`` command)."""


def exit_code_table() -> str:
    """The exit codes as a Markdown table."""
    rows = [
        "| code | proof run (`pytest`, `hastate prove`) | `hastate` commands |",
        "|---|---|---|",
    ]
    rows += [
        f"| {code.value} | {proof} | {command} |" for code, (proof, command) in MEANINGS.items()
    ]
    return "\n".join(rows) + "\n"
