"""The environment the proof benchmarks run in: an operator's, a virtualenv holding this
checkout's wheel as ``pip install .`` makes it (the runtime dependencies only), and nothing of
the checkout on the import path: the code measured is the installed product. The development
environment is not one: its test tools register pytest plugins (hypothesis, xdist) that every
pytest run loads, about 0.7 s of CPU a run on 2 cores, which no operator pays."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VENV = REPO / "bench" / ".operator-venv"
SHIPPED = ("pytest_hastate", "proofs", "contracts")


def this_checkout(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` as an operator's shell has it: no PYTHONPATH (the operator environment imports
    its installed copy), and Python's default bytecode caching (this sandbox sets
    PYTHONDONTWRITEBYTECODE=1, under which pytest re-rewrites every plugin module each run)."""
    return {k: v for k, v in env.items() if k not in ("PYTHONPATH", "PYTHONDONTWRITEBYTECODE")}


def _digest(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(str(path.relative_to(REPO)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _sources() -> list[Path]:
    return [
        p for root in SHIPPED for p in (REPO / root).rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    ]  # fmt: skip


def _pip(python: Path, *args: str) -> None:
    build_existed = (REPO / "build").exists()
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *args,
         str(REPO)],
        check=True,
    )  # fmt: skip
    if not build_existed:  # setuptools' leftover from pip install .
        shutil.rmtree(REPO / "build", ignore_errors=True)


def operator_python() -> str:
    """The operator environment's python: built (about 20 s) when missing or when the project's
    dependencies changed; this checkout's code reinstalled (a few seconds) when it changed."""
    python = VENV / "bin" / "python"
    deps_stamp, code_stamp = VENV / "hastate-pyproject.sha256", VENV / "hastate-code.sha256"
    deps = _digest([REPO / "pyproject.toml"])
    code = _digest(_sources())
    if not python.exists() or not deps_stamp.exists() or deps_stamp.read_text() != deps:
        print(f"bench: building the operator environment in {VENV} (pip install .) ...",
              flush=True)  # fmt: skip
        shutil.rmtree(VENV, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        _pip(python)
        deps_stamp.write_text(deps)
        code_stamp.write_text(code)
    elif not code_stamp.exists() or code_stamp.read_text() != code:
        print("bench: this checkout's code changed: reinstalling it", flush=True)
        _pip(python, "--no-deps", "--force-reinstall")
        code_stamp.write_text(code)
    return str(python)
