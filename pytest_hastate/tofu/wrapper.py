"""Telling a CI setup action's wrapper from the real OpenTofu / Terraform binary.

``opentofu/setup-opentofu`` and ``hashicorp/setup-terraform`` put a script in front of the
binary unless told not to (``tofu_wrapper: false`` / ``terraform_wrapper: false``). The script
echoes ``[command]<real binary> <args>`` on stdout, adds ``::debug::`` (and, without
``GITHUB_OUTPUT``, ``::set-output``) lines, and answers 0 where ``plan -detailed-exitcode``
answered 2. A proof run through it would read broken JSON and a wrong plan code: a false STOP
on a healthy backend. So the binary is judged before any state operation, from two things
that touch no backend: its version check's stdout, and a local plan of one change, which the
real binary answers with exit 2.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from pytest_hastate.errors import WrappedBinary

# Lines a GitHub Actions wrapper adds to stdout: the command echo of @actions/exec and the
# workflow commands of @actions/core.
_WRAPPER_LINE = re.compile(r"^(\[command\]|::[a-z-]+(::| ))", re.M)
_COMMAND_ECHO = re.compile(r"^\[command\](\S+)", re.M)
_PRODUCT = re.compile(r"^(OpenTofu|Terraform) v\d", re.M)

PROBE_CONFIG = {"resource": {"terraform_data": {"hastate_wrapper_probe": {"input": "probe"}}}}
"""A configuration of one change with no backend and no provider to download: ``plan`` on
it reads and writes nothing outside its folder and must answer 2 (changes)."""
PROBE_EXIT = 2

SETTING = {
    "OpenTofu": "tofu_wrapper: false (opentofu/setup-opentofu)",
    "Terraform": "terraform_wrapper: false (hashicorp/setup-terraform)",
}


def write_probe(folder: Path) -> None:
    (folder / "main.tf.json").write_text(json.dumps(PROBE_CONFIG), "utf-8")


def wrapper_lines(stdout: str) -> list[str]:
    """The lines of ``stdout`` that a CI wrapper, not the binary, printed."""
    return [line.strip() for line in stdout.splitlines() if _WRAPPER_LINE.match(line.strip())]


def product_named(version_stdout: str) -> str | None:
    """OpenTofu or Terraform, as the version check names it (None when it does not)."""
    found = _PRODUCT.search(version_stdout)
    return found.group(1) if found else None


def check_not_wrapped(
    *,
    name: str,
    binary: Path,
    product: str | None,
    version_stdout: str,
    probe: tuple[int, str] | None,
) -> None:
    """Raise ``WrappedBinary`` (one line: what was seen, the fix) when the version check or
    the probe plan printed wrapper lines, or the probe's exit code (``probe``: code, stdout)
    contradicts its own output."""
    probe_code, probe_stdout = probe if probe is not None else (PROBE_EXIT, "")
    lines = wrapper_lines(version_stdout) or wrapper_lines(probe_stdout)
    if lines:
        seen = f"its output carries {lines[0][:120]!r}"
    elif probe_code == 0:
        seen = (
            f"plan -detailed-exitcode of a configuration with one change answered exit 0 (the "
            f"binary itself answers {PROBE_EXIT}: a wrapper rewrote it)"
        )
    else:
        return  # another code is the binary's own failure, reported as such by the gate
    echoed = _COMMAND_ECHO.search(version_stdout) or _COMMAND_ECHO.search(probe_stdout)
    beside = binary.parent / f"{binary.name}-bin"  # where both setup actions put the binary
    real = echoed.group(1) if echoed else str(beside) if beside.is_file() else "PATH"
    fixes = [SETTING[product]] if product in SETTING else list(SETTING.values())
    shown = str(binary) if Path(name) == binary else f"{name} ({binary})"
    raise WrappedBinary(
        f"the OpenTofu binary {shown} is a CI setup action's wrapper, not the binary: {seen}; "
        f"turn the wrapper off with {' or '.join(fixes)}, or give the real binary: "
        f"--tofu-binary {real} (or HASTATE_TOFU_BINARY)"
    )
