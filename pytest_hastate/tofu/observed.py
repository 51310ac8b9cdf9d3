"""The environment the OpenTofu binary really runs with, observed rather than assumed.

The proof hands OpenTofu an environment of its own (``runner.base_environment``) but must keep
a version manager's own variables so that a ``tofu`` shim (mise, asdf, tenv ...) still finds the
real binary. Such a shim may apply its own configuration on the way (mise's ``[env]``, a
plugin's exec-env): ``TF_CLI_ARGS_init`` there would give OpenTofu a backend setting the guard
never judged. So the gate starts the binary once, idle (``console`` waiting on its input, no
backend read), finds the process that is the real binary at the end of the shim's chain, reads
the environment it was started with (``/proc/<pid>/environ``) and refuses any variable OpenTofu
or its AWS SDK reads that is not exactly the proof's own.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path

from pytest_hastate.tofu.runner import PROXY_VARIABLES

READS = ("TF_", "AWS_")
"""Prefixes of the variables OpenTofu and its AWS SDK read."""
ALSO_READS = frozenset({"SSL_CERT_FILE", "SSL_CERT_DIR"}) | PROXY_VARIABLES
"""Variables that change where OpenTofu's requests go or which certificates it trusts."""
INTERPRETERS = frozenset({"sh", "dash", "bash", "zsh", "ksh", "env", "node", "perl", "ruby"})
"""Programs a shim is written in: a process running one is not the real binary yet."""
PROC = Path("/proc")
SETTLE = 0.03


def _exe(pid: int) -> str | None:
    try:
        return os.readlink(PROC / str(pid) / "exe")
    except OSError:
        return None


def _children(pid: int) -> list[int]:
    try:
        text = (PROC / str(pid) / "task" / str(pid) / "children").read_text()
    except OSError:
        return []
    return [int(child) for child in text.split()]


def _leaf(pid: int) -> int:
    """The last process of a chain of single children (a shim that spawns the binary)."""
    while children := _children(pid):
        pid = children[-1]
    return pid


def _is_interpreter(exe: str) -> bool:
    name = Path(exe).name
    return name in INTERPRETERS or name.startswith("python")


def _environ(pid: int) -> dict[str, str] | None:
    try:
        raw = (PROC / str(pid) / "environ").read_bytes()
    except OSError:
        return None
    pairs = (item.split(b"=", 1) for item in raw.split(b"\0") if b"=" in item)
    return {k.decode("utf-8", "replace"): v.decode("utf-8", "replace") for k, v in pairs}


def observed_environment(
    binary: Path, folder: Path, env: Mapping[str, str], *, timeout: float = 10.0
) -> tuple[str, dict[str, str]] | None:
    """The real binary behind ``binary`` and the environment it runs with (None where /proc
    cannot show it: not Linux). Raises ``TimeoutError`` when no settled binary process shows
    up in time."""
    if not (PROC / "self" / "environ").exists():
        return None
    process = subprocess.Popen(
        [str(binary), "console"], cwd=folder, env=dict(env), stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + timeout
        seen: tuple[int, str] | None = None
        while time.monotonic() < deadline and process.poll() is None:
            leaf = _leaf(process.pid)
            exe = _exe(leaf)
            current = (leaf, exe or "")
            if exe and not _is_interpreter(exe) and current == seen:
                found = _environ(leaf)
                if found is not None:
                    return exe, found
            seen = current
            time.sleep(SETTLE)
        raise TimeoutError(
            f"{binary} console: no settled binary process to read its environment from within "
            f"{timeout:.0f} s"
        )
    finally:
        with contextlib.suppress(OSError):
            process.stdin.close()  # type: ignore[union-attr]
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=5)
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


def injected(observed: Mapping[str, str], ours: Mapping[str, str]) -> list[str]:
    """The variables OpenTofu reads whose value in ``observed`` is not the proof's own: added
    by the shim, changed, or removed."""

    def read(name: str) -> bool:
        return name.startswith(READS) or name in ALSO_READS

    names = sorted({n for n in observed if read(n)} | {n for n in ours if read(n)})
    return [name for name in names if observed.get(name) != ours.get(name)]
