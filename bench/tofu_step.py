"""Wall time of each OpenTofu command and of the whole disposable step on a real lab, and how
much of it is our own overhead (outside the CLI processes and the S3 calls).
Usage: python bench/tofu_step.py [--topology ha]"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import pytest_hastate.s3.client as s3_module
from pytest_hastate.lab import start
from pytest_hastate.lab.artifacts import environment

PROOFS = Path(__file__).resolve().parent.parent / "proofs"


class S3Timer:
    """Adds up the time of every S3 call the guarded clients make."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.calls = 0
        self._lock = threading.Lock()
        self._original = s3_module.client

    def install(self) -> None:
        def timed(*args: Any, **kwargs: Any) -> Any:
            s3 = self._original(*args, **kwargs)
            starts: dict[int, float] = {}

            def before(**_: Any) -> None:
                starts[threading.get_ident()] = time.monotonic()

            def after(**_: Any) -> None:
                began = starts.pop(threading.get_ident(), None)
                if began is not None:
                    with self._lock:
                        self.seconds += time.monotonic() - began
                        self.calls += 1

            s3.meta.events.register("before-call.s3", before)
            s3.meta.events.register("after-call.s3", after)
            s3.meta.events.register("after-call-error.s3", after)
            return s3

        s3_module.client = timed


class StepTimer:
    def __init__(self) -> None:
        self.seconds = 0.0

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None) -> Any:
        t0 = time.monotonic()
        try:
            return (yield)
        finally:
            self.seconds += time.monotonic() - t0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--topology", default="ha", choices=("ha", "singleton"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        lab = start(Path(folder) / "lab", args.topology)
        try:
            os.environ.update(environment(lab))
            evidence = Path(folder) / "evidence"
            s3_timer, step = S3Timer(), StepTimer()
            s3_timer.install()
            code = pytest.main(
                [str(PROOFS), "-q", "-p", "no:cacheprovider", "--endpoint-package", str(lab.package_path),
                 "--run-disposable-tofu", "--use-lockfile", "-m", "disposable_tofu", "--evidence-dir", str(evidence)],
                plugins=[step],
            )  # fmt: skip
            timings = json.loads((evidence / "tofu-timings-baseline.json").read_text())
        finally:
            lab.down()
    cli = sum(t["seconds"] for t in timings)
    print(f"pytest exit code {code}")
    for t in timings:
        print(f"  {t['seconds']:7.3f} s  exit {t['exit_code']}  {t['command']}")
    overhead = step.seconds - cli - s3_timer.seconds
    print(f"step wall time {step.seconds:.2f} s = OpenTofu CLI {cli:.2f} s + S3 calls {s3_timer.seconds:.2f} s "
          f"({s3_timer.calls} calls) + our overhead {overhead:.2f} s ({100 * overhead / step.seconds:.0f} %)")  # fmt: skip


if __name__ == "__main__":
    main()
