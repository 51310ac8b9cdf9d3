"""Run ``hastate watch`` in the background around a maintenance action (the demo does), and
stop it afterwards: ``--until-file`` first, then SIGTERM, then SIGKILL."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from pytest_hastate.errors import DemoFailed
from pytest_hastate.io.evidence import open_append
from pytest_hastate.maintenance.watch_log import append_mark, log_path

LEAD_SECONDS = 2.0  # the window records normal service before the event
TAIL_SECONDS = 5.0  # and the recovery after it
START_TIMEOUT = 30.0


@contextlib.contextmanager
def watching(
    package: Path, checkpoint: Path, evidence: Path, env: Mapping[str, str],
    say: Callable[[str], None], *, lead: float = LEAD_SECONDS, tail: float = TAIL_SECONDS,
) -> Iterator[Callable[[str], None]]:  # fmt: skip
    """Yield ``mark(text)`` once the watch records; stop it ``tail`` seconds after the block."""
    run_id = json.loads(checkpoint.read_text("utf-8"))["run_id"]
    log, until = log_path(evidence, run_id), evidence / f".watch-{run_id}.stop"
    until.unlink(missing_ok=True)
    argv = [sys.executable, "-m", "pytest_hastate", "watch", "--endpoint-package", str(package),
            "--from-checkpoint", str(checkpoint), "--evidence-dir", str(evidence),
            "--until-file", str(until), "--duration", "600"]  # fmt: skip
    with open_append(evidence / "watch.out") as out:
        process = subprocess.Popen(argv, env=dict(env), stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not log.is_file():
            if process.poll() is not None or time.monotonic() > deadline:
                raise DemoFailed(f"hastate watch did not start (see {evidence / 'watch.out'})")
            time.sleep(0.1)
        say(f"demo: watching the window ({log.name})")
        time.sleep(lead)
        yield lambda text: append_mark(log, text)
        time.sleep(tail)
    finally:
        until.touch()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        until.unlink(missing_ok=True)
