"""The error types of pytest-hastate: one base class, each error one printable line that
carries the exit code a ``hastate`` command ends with when it meets it."""

from __future__ import annotations

import re

from pytest_hastate.exit_codes import ExitCode

_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/?#@\s]*@")


def hide_userinfo(text: str) -> str:
    """``text`` with the user-info of every URL in it (``user:password@``) replaced by ``***@``:
    a message never quotes credentials someone put into an endpoint's URL."""
    return _USERINFO.sub(r"\1***@", text)


class HastateError(Exception):
    """Base class of every error pytest-hastate raises on purpose."""

    exit_code: ExitCode = ExitCode.STOP


class SettingsError(HastateError):
    """A bad option value or combination; the plugin turns it into a pytest usage error."""

    exit_code = ExitCode.BAD_INPUT


class InputError(HastateError):
    """A file or option the operator gave cannot be used. Nothing was written or sent.

    The message is one line: the source (file or option), the JSON path or field, the reason.
    """

    exit_code = ExitCode.BAD_INPUT

    def __init__(self, source: str, where: str, reason: str) -> None:
        source, where, reason = hide_userinfo(source), hide_userinfo(where), hide_userinfo(reason)
        self.source = source
        self.where = where
        self.reason = " ".join(reason.split())
        super().__init__(
            f"{source}: {where}: {self.reason}" if where else f"{source}: {self.reason}"
        )


class GuardRefusal(HastateError):
    """The scratch guard refused a request before it was signed or sent.

    The verdict turns any refusal into STOP naming ``target``.
    """

    def __init__(self, operation: str, target: str, reason: str) -> None:
        target, reason = hide_userinfo(target), hide_userinfo(reason)
        self.operation = operation
        self.target = target
        self.reason = reason
        super().__init__(f"scratch guard refused {operation} on {target}: {reason}")


class CleanupResidue(HastateError):
    """The session's cleanup could not remove everything this phase wrote: a finding of the
    run, never of whichever test happened to run last (pytest tears session fixtures down in
    the last test's teardown)."""


class DependencyFailed(HastateError):
    """A check could not run because what it builds on failed first; ``depends_on`` names the
    criterion whose test met that failure (the verdict says "by dependency on ...")."""

    def __init__(self, message: str, *, depends_on: str | None) -> None:
        super().__init__(message)
        self.depends_on = depends_on


class BackendDegraded(DependencyFailed):
    """A request was not sent: its endpoint already failed hard in this run, or the proof step
    used up its time budget. ``depends_on`` names the criterion whose test met the failure."""


class LabError(HastateError):
    """The lab could not do what was asked; the message says which component and why."""

    exit_code = ExitCode.ENVIRONMENT


class MissingExtra(HastateError):
    """A command needs an optional part of the product that is not installed."""

    exit_code = ExitCode.ENVIRONMENT

    def __init__(self, what: str, extra: str, missing: str) -> None:
        self.extra = extra
        super().__init__(
            f"{what} needs the '{extra}' extra ({missing} is not installed): "
            f"pip install 'pytest-hastate[{extra}]'"
        )


class TofuError(HastateError):
    """An OpenTofu command ended in a way the caller did not expect."""

    def __init__(self, message: str, result: object | None = None) -> None:
        super().__init__(message)
        self.result = result  # the runner's TofuResult, when a command ran


class TofuMissing(HastateError):
    """No OpenTofu (or Terraform) binary: the step cannot run, which proves nothing."""


class TofuTooOld(HastateError):
    """The binary predates the native S3 lockfile; refused before any S3 write."""


class BinaryRefused(HastateError):
    """The OpenTofu binary cannot be trusted to run as the proof runs it: refused before any
    state operation, naming what to change."""

    exit_code = ExitCode.BAD_INPUT


class WrappedBinary(BinaryRefused):
    """The OpenTofu binary is a CI setup action's wrapper (it echoes commands and rewrites exit
    codes)."""


class ShimEnvironment(BinaryRefused):
    """A version manager's shim starts the binary with variables OpenTofu reads that are not
    the proof's own (its configuration put them back)."""


class PlanRefused(HastateError):
    """The plan cannot be made; the message says why, in one line."""


class InventoryError(HastateError):
    """The API server could not be read; ``exit_code`` says how (unreachable or forbidden)."""

    def __init__(self, message: str, exit_code: ExitCode) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class DemoFailed(HastateError):
    """A stage ended in a way the demo did not expect."""
