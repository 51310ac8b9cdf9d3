"""The JavaScript floor (``bench/js-floor/floor.mjs``): bench/floor.py's steps written as a
plain Node.js harness writes them, the stand-in for the JavaScript harness the CPU target
names. Its packages (``package-lock.json``) are installed on demand with ``npm ci`` into
``bench/js-floor/node_modules``; without Node.js the benchmarks leave it out."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

from bench.operator_env import operator_python

HOME = Path(__file__).resolve().parent / "js-floor"
SCRIPT = HOME / "floor.mjs"
STAMP = HOME / "node_modules" / ".hastate-lock.sha256"


def node() -> str | None:
    return shutil.which("node")


def installed() -> bool:
    """``npm ci`` when node_modules is missing or was installed from another lockfile; False
    when that is needed and npm is not here."""
    lock = hashlib.sha256((HOME / "package-lock.json").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == lock:
        return True
    if shutil.which("npm") is None:
        return False
    print("bench: installing the JavaScript floor's packages (npm ci) ...", flush=True)
    subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=HOME, check=True
    )
    STAMP.write_text(lock)
    return True


def argv(package: Path, work: Path) -> list[str] | None:
    """The JavaScript floor's command for ``package`` (its plan written into ``work``), or
    None without Node.js (or without npm to install its packages)."""
    binary = node()
    if binary is None:
        return None
    if not installed():
        print("bench: Node.js without npm: the JavaScript floor's packages cannot be installed; "
              "it is left out", flush=True)  # fmt: skip
        return None
    plan = subprocess.run(
        [operator_python(), str(HOME.parent / "floor.py"), "--plan", str(package)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    path = work / "js-floor-plan.json"
    path.write_text(plan)
    return [binary, "--no-warnings", str(SCRIPT), str(path)]
