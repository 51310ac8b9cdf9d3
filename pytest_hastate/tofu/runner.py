"""The one runner of the OpenTofu / Terraform CLI. The only module that imports python_terraform.

python-terraform builds the argv (``generate_cmd_string``); we run it with a timeout, a clean
environment and ``-input=false -no-color`` always, and treat every exit code the caller did not
expect as an error that quotes the command (secrets masked) and the end of stderr.
Callers never build argv themselves.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from python_terraform import IsFlagged, Terraform

from pytest_hastate.errors import TofuError, TofuMissing, TofuTooOld
from pytest_hastate.steps import LOCKFILE_MINIMUM

MINIMUM = LOCKFILE_MINIMUM
DEFAULT_TIMEOUT = 300.0
TAIL_LINES = 12
_TAKES_INPUT = frozenset({"init", "plan", "apply", "destroy", "refresh", "import", "state push"})
_ARGV_ONLY = ".pytest-hastate-argv-only.tfstate"
_VERSION = re.compile(r"^(OpenTofu|Terraform) v(\d+)\.(\d+)\.(\d+)", re.M)


@dataclass(frozen=True)
class TofuResult:
    command: str
    code: int
    stdout: str
    stderr: str
    seconds: float

    def json(self) -> Any:
        return json.loads(self.stdout)


def find_binary(name: str) -> Path:
    """``name`` on PATH (or as a path); the default ``tofu`` falls back to ``terraform``."""
    candidates = [name] + (["terraform"] if name == "tofu" else [])
    for candidate in candidates:
        found = shutil.which(candidate)
        if found:
            return Path(found)
    raise TofuMissing(f"no OpenTofu binary (tried {', '.join(candidates)} on PATH)")


def parse_version(text: str) -> tuple[str, tuple[int, int, int]]:
    match = _VERSION.search(text)
    if not match:
        first = text.strip().splitlines()[0] if text.strip() else "nothing"
        raise TofuTooOld(f"cannot read the version from {first[:80]!r}")
    product = match.group(1)
    return product, (int(match.group(2)), int(match.group(3)), int(match.group(4)))


def check_version(product: str, version: tuple[int, int, int]) -> None:
    minimum = MINIMUM[product]
    if version < minimum:
        found = ".".join(map(str, version))
        needed = ".".join(map(str, minimum))
        raise TofuTooOld(
            f"{product} {found} is too old: the native S3 lockfile needs {product} >= {needed}"
        )


@dataclass
class TofuRunner:
    """Runs one binary in one working directory with one environment."""

    binary: Path
    workdir: Path
    env: Mapping[str, str]
    timeout: float = DEFAULT_TIMEOUT
    redact: Callable[[str], str] = lambda text: text
    progress: Callable[[str], None] = lambda line: None
    preflight: Callable[[], None] = lambda: None
    """Called before every command; raises to refuse it (e.g. the backend already failed)."""
    time_left: Callable[[], float | None] = lambda: None
    """Seconds left in the step's budget: a command never gets more (None: no budget)."""
    busy: Callable[[float, float], None] = lambda start, end: None
    """Told when each command started and ended (where the run's time went)."""
    history: list[TofuResult] = field(default_factory=list)

    def _argv(self, command: str, args: Sequence[str], options: Mapping[str, Any]) -> list[str]:
        flags: dict[str, Any] = {"no_color": IsFlagged, **options}
        if command in _TAKES_INPUT:
            flags["input"] = False
        # python-terraform parses <working_dir>/terraform.tfstate when it is built (and fails on
        # the empty file a state migration leaves): point it at a state path that never exists,
        # so it only builds the argv.
        tf = Terraform(
            working_dir=str(self.workdir), terraform_bin_path=str(self.binary), state=_ARGV_ONLY
        )
        argv: list[str] = tf.generate_cmd_string(command, *args, **flags)
        return argv

    def run(
        self,
        command: str,
        *args: str,
        expect: Sequence[int] = (0,),
        timeout: float | None = None,
        **options: Any,
    ) -> TofuResult:
        """Run ``command``; an exit code outside ``expect`` raises ``TofuError``."""
        argv = self._argv(command, args, options)
        shown = self.redact(" ".join([self.binary.name, *argv[1:]]))
        self.preflight()
        limit = timeout or self.timeout
        left = self.time_left()
        if left is not None:
            limit = max(1.0, min(limit, left))
        self.progress(f"{shown} ...")
        start = time.monotonic()
        code, stdout, stderr = self._execute(argv, limit, shown)
        ended = time.monotonic()
        self.busy(start, ended)
        seconds = ended - start
        done = subprocess.CompletedProcess(argv, code, stdout, stderr)
        result = TofuResult(
            command=shown,
            code=done.returncode,
            stdout=self.redact(done.stdout),
            stderr=self.redact(done.stderr),
            seconds=seconds,
        )
        self.history.append(result)
        self.progress(f"{shown}: exit {result.code} in {seconds:.1f} s")
        if result.code not in expect:
            raise TofuError(
                f"unexpected exit code {result.code} for {shown}{tail(result.stderr or result.stdout)}",
                result,
            )
        return result

    def version(self) -> tuple[str, tuple[int, int, int]]:
        return parse_version(self.run("version").stdout)

    def init(self) -> TofuResult:
        return self.run("init")

    def apply(self) -> TofuResult:
        return self.run("apply", auto_approve=IsFlagged)

    def plan(self, *, lock_timeout: str | None = None) -> TofuResult:
        """``plan -detailed-exitcode``: 0 no changes, 2 changes, 1 error (returned, not raised)."""
        options: dict[str, Any] = {"detailed_exitcode": IsFlagged}
        if lock_timeout is not None:
            options["lock_timeout"] = lock_timeout
        return self.run("plan", expect=(0, 1, 2), **options)

    def output_json(self) -> Any:
        return self.run("output", json=IsFlagged).json()

    def _execute(self, argv: list[str], limit: float, shown: str) -> tuple[int, str, str]:
        """Run in a process group of its own. On a timeout or an interruption (Ctrl-C) the
        whole group gets SIGINT first, so OpenTofu can release its lock, then SIGKILL."""
        process = subprocess.Popen(
            argv, cwd=self.workdir, env=dict(self.env), stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, start_new_session=True,
        )  # fmt: skip
        try:
            stdout, stderr = process.communicate(timeout=limit)
        except subprocess.TimeoutExpired:
            _stop_group(process)
            _out, err = process.communicate()
            raise TofuError(
                f"{shown} timed out after {limit:.0f} s{tail(self.redact(err or ''))}"
            ) from None
        except BaseException:
            _stop_group(process)
            raise
        return process.returncode, stdout, stderr


GRACEFUL_STOP = 10.0
"""Seconds OpenTofu gets after SIGINT to stop and release its lock before SIGKILL."""


def _stop_group(process: subprocess.Popen[str]) -> None:
    for sig, wait in ((signal.SIGINT, GRACEFUL_STOP), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)  # whatever the command left in its group
        return


def tail(text: str) -> str:
    """The last lines of a command's output, as one ': a | b' suffix (empty when none)."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    if not lines:
        return ""
    return ": " + " | ".join(line.strip() for line in lines[-TAIL_LINES:])


# Variables a version manager's shim (tenv, tofuenv, tfenv, asdf, mise) needs to find the real
# binary: passed through from the caller, together with PATH and HOME.
_SHIM_VARIABLES = ("ASDF_", "TENV_", "TOFUENV_", "TFENV_", "MISE_", "RTX_", "XDG_")
# The caller's proxy settings, so OpenTofu reaches the endpoint the way boto3 does.
PROXY_VARIABLES = frozenset(
    {"HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY", "https_proxy", "http_proxy", "no_proxy"}
)


def base_environment(workdir: Path, caller: Mapping[str, str]) -> dict[str, str]:
    """The environment of every OpenTofu invocation (the version check included).

    The caller's PATH and HOME and a version manager's own variables are kept, so a ``tofu``
    shim works as it does in the operator's shell; everything OpenTofu or the AWS SDK would
    read from the user's configuration is pointed at empty files in the workspace.
    """
    cli_config = workdir / "cli.tfrc"
    aws_config = workdir / "aws-config"
    for path in (cli_config, aws_config):
        path.write_text("", "utf-8")
    env = {k: v for k, v in caller.items() if k.startswith(_SHIM_VARIABLES) or k in PROXY_VARIABLES}
    env.update(
        {
            "PATH": caller.get("PATH", "/usr/bin:/bin"),
            "HOME": caller.get("HOME", str(workdir)),
            "TF_IN_AUTOMATION": "1",
            "TF_INPUT": "0",
            "TF_DATA_DIR": str(workdir / ".tfdata"),
            "TF_CLI_CONFIG_FILE": str(cli_config),
            "CHECKPOINT_DISABLE": "1",
            "AWS_CONFIG_FILE": str(aws_config),
            "AWS_SHARED_CREDENTIALS_FILE": str(aws_config),
            "AWS_EC2_METADATA_DISABLED": "true",
        }
    )
    return env


def tofu_environment(
    *,
    workdir: Path,
    access_key: str,
    secret_key: str,
    session_token: str | None,
    ca_bundle: str | None,
    checksum_when_required: bool,
    caller: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """``base_environment`` plus the credentials for the S3 backend (only from the package's
    variables, never from the caller's AWS configuration)."""
    env = base_environment(workdir, os.environ if caller is None else caller)
    env["AWS_ACCESS_KEY_ID"] = access_key
    env["AWS_SECRET_ACCESS_KEY"] = secret_key
    if session_token:
        env["AWS_SESSION_TOKEN"] = session_token
    if ca_bundle:
        env["AWS_CA_BUNDLE"] = ca_bundle
    if checksum_when_required:
        env["AWS_REQUEST_CHECKSUM_CALCULATION"] = "when_required"
        env["AWS_RESPONSE_CHECKSUM_VALIDATION"] = "when_required"
    return env


def render_configuration(
    *,
    bucket: str,
    key: str,
    region: str,
    endpoint: str,
    backend_options: Mapping[str, Any],
) -> dict[str, Any]:
    """The disposable configuration in Terraform's JSON syntax: no providers, only
    ``terraform_data`` and outputs; the S3 backend with ``use_lockfile = true``."""
    backend = {
        **dict(backend_options),
        "bucket": bucket,
        "key": key,
        "region": region,
        "endpoints": {"s3": endpoint},
        "use_lockfile": True,
    }
    values = {name: f"${{var.{name}}}" for name in ("nonce", "phase", "run_id")}
    return {
        "terraform": {"backend": {"s3": backend}},
        "variable": {name: {"type": "string"} for name in values},
        "resource": {"terraform_data": {"proof": {"input": values}}},
        "output": {name: {"value": f"${{terraform_data.proof.output.{name}}}"} for name in values},
    }
