"""The environment the proof benchmarks run in: an operator's, a virtualenv holding
``pip install .`` (the runtime dependencies only). The development environment is not one: its
test tools register pytest plugins (hypothesis, xdist) that every pytest run loads, about
0.7 s of CPU a run on 2 cores, which no operator pays."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VENV = REPO / "bench" / ".operator-venv"


def this_checkout(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` with this checkout first on the import path: the operator environment's
    installed copy only registers the plugin; the code measured is the code here."""
    return {**env, "PYTHONPATH": str(REPO)}


def operator_python() -> str:
    """The operator environment's python, built (about 20 s) when missing or when the
    project's dependencies changed."""
    stamp = VENV / "hastate-pyproject.sha256"
    wanted = hashlib.sha256((REPO / "pyproject.toml").read_bytes()).hexdigest()
    python = VENV / "bin" / "python"
    if not python.exists() or not stamp.exists() or stamp.read_text() != wanted:
        print(f"bench: building the operator environment in {VENV} (pip install .) ...",
              flush=True)  # fmt: skip
        build_existed = (REPO / "build").exists()
        shutil.rmtree(VENV, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
             str(REPO)],
            check=True,
        )  # fmt: skip
        if not build_existed:  # setuptools' leftover from pip install .
            shutil.rmtree(REPO / "build", ignore_errors=True)
        stamp.write_text(wanted)
    return str(python)
