"""The product as a user installs it: the checkout's wheel, and a fresh virtualenv in which
``python -m pip install "pytest-hastate==<version>"`` installs that wheel without a network.

The virtualenv sees only what a plain install of the wheel brings: the runtime dependencies
(no extras) of this environment's copy, through a ``.pth`` file pointing at a folder of links
to exactly those distributions, plus pip. pip finds the wheel through ``PIP_FIND_LINKS`` with
``PIP_NO_INDEX``; pytest-hastate itself is not among the links, so pip installs it from the
wheel, with its console scripts, as it would from an index.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from importlib.metadata import Distribution, distribution
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.support.helpers import REPO

PRODUCT = "pytest-hastate"


def build_wheel(out: Path) -> Path:
    """``python -m build --wheel`` of the checkout into ``out`` (setuptools' build/ removed)."""
    leftover = REPO / "build"
    existed = leftover.exists()
    try:
        subprocess.run(
            [sys.executable, "-m", "build", "--no-isolation", "--wheel", "--outdir", str(out),
             str(REPO)],
            check=True, capture_output=True, timeout=300,
        )  # fmt: skip
    finally:
        if not existed:
            shutil.rmtree(leftover, ignore_errors=True)
    return next(out.glob("pytest_hastate-*.whl"))


def runtime_closure(name: str) -> dict[str, Distribution]:
    """``name``'s dependencies without extras, recursively, as installed here (not ``name``)."""
    found: dict[str, Distribution] = {}
    todo = [name]
    while todo:
        dist = distribution(todo.pop())
        key = canonicalize_name(dist.metadata["Name"])
        if key in found:
            continue
        found[key] = dist
        for line in dist.requires or []:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    found.pop(canonicalize_name(name))
    return found


def _top_level(dist: Distribution) -> set[Path]:
    """The entries of site-packages a distribution owns (packages, modules, its dist-info)."""
    base = Path(str(dist.locate_file("")))
    entries = {
        base / Path(str(f)).parts[0] for f in dist.files or [] if not str(f).startswith("..")
    }
    return {e for e in entries if e.exists() and e.name != "__pycache__"}


def installing_venv(folder: Path) -> Path:
    """A virtualenv (its ``bin``) whose python sees pip and the product's runtime dependencies,
    and not the product."""
    venv = folder / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120
    )
    deps = folder / "runtime-dependencies"
    deps.mkdir()
    for dist in [*runtime_closure(PRODUCT).values(), distribution("pip")]:
        for entry in _top_level(dist):
            link = deps / entry.name
            if not link.exists():
                link.symlink_to(entry)
    site = next((venv / "lib").glob("python3.*")) / "site-packages"
    (site / "runtime-dependencies.pth").write_text(f"{deps}\n")
    return venv / "bin"


def pip_offline(wheel_dir: Path) -> dict[str, str]:
    """The variables under which ``pip install pytest-hastate==V`` takes the built wheel."""
    return {
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": str(wheel_dir),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "PIP_NO_WARN_SCRIPT_LOCATION": "1",
    }


def clean_environment(path: list[Path]) -> dict[str, str]:
    """A CI job's starting environment: this machine's basics, no PYTHONPATH, no variables of
    the product, the proof identity or the AWS SDK; ``path`` first on PATH."""
    keep = ("HOME", "LANG", "LC_ALL", "TMPDIR", "USER")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env["PATH"] = os.pathsep.join([*(str(p) for p in path), "/usr/local/bin", "/usr/bin", "/bin"])
    return env
