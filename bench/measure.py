"""How the benchmarks measure: a child process's wall time, CPU (its own and its children's)
and peak RSS; median and spread over rounds; machine facts; one JSON file per benchmark."""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class ProcessRun:
    wall: float
    cpu: float
    """User + system seconds of the process and every child it waited for (OpenTofu too)."""
    peak_rss_mib: float
    """The largest resident set of the process or any of its children."""
    exit_code: int


def run_process(
    argv: Sequence[str], env: Mapping[str, str], cwd: Path, timeout: float = 600
) -> ProcessRun:
    """Run ``argv`` to the end; measured by the kernel (wait4), output discarded."""
    start = time.monotonic()
    child = subprocess.Popen(
        list(argv), env=dict(env), cwd=cwd, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    deadline = start + timeout
    while True:
        pid, status, usage = os.wait4(child.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            child.kill()
            pid, status, usage = os.wait4(child.pid, 0)
            break
        time.sleep(0.005)
    child.returncode = os.waitstatus_to_exitcode(status)  # Popen must not wait again
    return ProcessRun(
        wall=round(time.monotonic() - start, 3),
        cpu=round(usage.ru_utime + usage.ru_stime, 3),
        peak_rss_mib=round(usage.ru_maxrss / 1024, 1),
        exit_code=child.returncode,
    )


def spread(values: Sequence[float]) -> dict[str, Any]:
    """Median, min, max and the values themselves."""
    ordered = sorted(values)
    return {
        "median": round(statistics.median(ordered), 4),
        "min": round(ordered[0], 4),
        "max": round(ordered[-1], 4),
        "values": [round(v, 4) for v in values],
    }


def runs_summary(runs: Sequence[ProcessRun]) -> dict[str, Any]:
    return {
        "wall_seconds": spread([r.wall for r in runs]),
        "cpu_seconds": spread([r.cpu for r in runs]),
        "peak_rss_mib": spread([r.peak_rss_mib for r in runs]),
        "exit_codes": sorted({r.exit_code for r in runs}),
    }


def _version(argv: Sequence[str]) -> str:
    if shutil.which(argv[0]) is None:
        return "not installed"
    done = subprocess.run(list(argv), capture_output=True, text=True, check=False, timeout=30)
    return (done.stdout or done.stderr).strip().splitlines()[0] if done.returncode == 0 else "?"


def machine() -> dict[str, Any]:
    from pytest_hastate.lab.seaweedfs import weed_binary

    with open("/proc/meminfo") as meminfo:
        total_kib = int(meminfo.readline().split()[1])
    return {
        "cpus": os.cpu_count(),
        "memory_gib": round(total_kib / 1024 / 1024, 1),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "opentofu": _version(["tofu", "version"])
        if shutil.which("tofu")
        else _version(["terraform", "version"]),
        "seaweedfs": _version([str(weed_binary()), "version"]),
    }


def write_result(name: str, command: str, data: Mapping[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    document = {
        "benchmark": name,
        "command": command,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        **data,
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path


def as_dict(run: ProcessRun) -> dict[str, Any]:
    return asdict(run)
