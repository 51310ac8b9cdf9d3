"""The wheel is the whole product: every package and document ships, the entry points and
extras are the ones the docs name, and the package list cannot drift from the folders."""

from __future__ import annotations

import email
import tomllib
import zipfile
from collections.abc import Iterator

import pytest

from tests.support.helpers import REPO
from tests.support.installed import build_wheel

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))
SETUPTOOLS = PYPROJECT["tool"]["setuptools"]


def on_disk() -> set[str]:
    """Every folder the wheel must carry, as the package name it ships under."""
    mapped = {folder: name for name, folder in SETUPTOOLS["package-dir"].items()}
    names = set()
    for root in ("pytest_hastate", *mapped):
        for folder in [REPO / root, *(p for p in (REPO / root).rglob("*") if p.is_dir())]:
            if folder.name == "__pycache__" or not any(folder.iterdir()):
                continue
            relative = folder.relative_to(REPO / root).parts
            base = mapped.get(root, root).split(".")
            names.add(".".join([*base, *relative]))
    return names


def test_the_package_list_is_every_folder() -> None:
    assert set(SETUPTOOLS["packages"]) == on_disk()


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[zipfile.ZipFile]:
    built = build_wheel(tmp_path_factory.mktemp("wheel"))
    with zipfile.ZipFile(built) as archive:
        yield archive


def test_the_wheel_carries_the_proof_suite_and_every_document(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    proofs = {p.name for p in (REPO / "proofs").glob("*.py")}
    assert {f"pytest_hastate/proofs/{p}" for p in proofs} <= names
    documents = {
        f"pytest_hastate/contracts/{p.relative_to(REPO / 'contracts')}"
        for p in (REPO / "contracts").rglob("*.json")
    }
    assert documents <= names
    assert {"pytest_hastate/contracts/schema/verdict.schema.json",
            "pytest_hastate/tools/templates/report.html.j2", "pytest_hastate/py.typed",
            } <= names  # fmt: skip
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert not [n for n in names if n.startswith(("tests/", "bench/", "docs/", "examples/"))]


def test_the_wheel_metadata(wheel: zipfile.ZipFile) -> None:
    [metadata_name] = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    metadata = email.message_from_bytes(wheel.read(metadata_name))
    requires = metadata.get_all("Requires-Dist") or []
    core = [r for r in requires if "extra ==" not in r]
    assert not [r for r in core if r.startswith(("kubernetes", "trustme", "matplotlib"))], core
    assert {"lab", "k8s", "report", "docs"} <= set(metadata.get_all("Provides-Extra") or [])
    assert metadata["License-Expression"] == "MIT"
    [entry_points] = [n for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt")]
    text = wheel.read(entry_points).decode()
    assert "hastate = pytest_hastate.cli:main" in text
    assert "hastate = pytest_hastate.plugin" in text


def test_the_package_data_is_read_without_leaving_the_package() -> None:
    """Nothing of the product climbs out of its installed package to find a file."""
    offenders = [
        str(path.relative_to(REPO))
        for path in (REPO / "pytest_hastate").rglob("*.py")
        if "parents[" in path.read_text("utf-8") or ".parent.parent" in path.read_text("utf-8")
    ]
    assert offenders == []
