"""Starting and stopping lab processes: own process groups, bounded waits, TERM then KILL."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from pytest_hastate.errors import LabError

PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def spawn(
    argv: list[str], log: Path, *, cwd: Path, env: Mapping[str, str], die_with_parent: bool
) -> subprocess.Popen[bytes]:
    """Start one process in its own session (so its whole group can be signalled)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        return subprocess.Popen(
            argv,
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent if die_with_parent else None,
        )


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def command_line(pid: int) -> str:
    try:
        return (
            Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        )
    except OSError:
        return ""


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def terminate(pids: Iterable[int], *, grace: float = 5.0) -> dict[int, str]:
    """SIGTERM each process group, wait up to ``grace`` seconds, then SIGKILL what is left.

    Returns how each pid ended: ``"terminated"``, ``"killed"`` or ``"still running after SIGKILL"``.
    """
    pending = [pid for pid in pids if alive(pid)]
    how: dict[int, str] = {}
    for sig, wait, outcome in (
        (signal.SIGTERM, grace, "terminated"),
        (signal.SIGKILL, 5.0, "killed"),
    ):
        for pid in pending:
            _signal_group(pid, sig)
        pending = _wait_gone(pending, wait, how, outcome)
    for pid in pending:
        how[pid] = "still running after SIGKILL"
    return how


def _wait_gone(pending: list[int], seconds: float, how: dict[int, str], outcome: str) -> list[int]:
    """Reap and poll until every pid is gone or ``seconds`` pass; returns those still running."""
    deadline = time.monotonic() + seconds
    while pending:
        for pid in list(pending):
            _reap(pid)
            if not alive(pid):
                how[pid] = outcome
                pending.remove(pid)
        if not pending or time.monotonic() >= deadline:
            break
        time.sleep(0.05)
    return pending


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        return
    except PermissionError:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def http_get(url: str, *, ca: Path | None = None, timeout: float = 2.0) -> tuple[int, bytes]:
    """A GET on loopback; (status, body), or (0, b"") when nothing answered."""
    context = ssl.create_default_context(cafile=str(ca)) if ca is not None else None
    try:
        with urllib.request.urlopen(url, timeout=timeout, context=context) as response:  # noqa: S310
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, b""
    except (OSError, ValueError):
        return 0, b""


def wait_until(
    what: str,
    check: Callable[[], bool],
    *,
    timeout: float,
    still_running: Callable[[], bool] = lambda: True,
    interval: float = 0.2,
) -> float:
    """Poll ``check`` until it holds; seconds waited. Fails early if the process died."""
    start = time.monotonic()
    while True:
        if check():
            return time.monotonic() - start
        if not still_running():
            raise LabError(f"{what}: the process exited while starting (see its log)")
        if time.monotonic() - start > timeout:
            raise LabError(f"{what}: not ready after {timeout:.0f} s (see its log)")
        time.sleep(interval)
