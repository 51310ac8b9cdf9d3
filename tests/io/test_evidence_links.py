"""Evidence is never written through a symbolic link: a link planted in an evidence folder
would send the evidence (or a masked copy's source) wherever it points. Every writer refuses
it in one line and leaves the link's target untouched; a proof run refuses an evidence folder
holding one before anything runs."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_hastate.errors import InputError
from pytest_hastate.io.evidence import open_append, write_atomic
from pytest_hastate.io.redact import Masker
from tests.support.helpers import PUBLIC_CONTRACT, filled_package

OUTSIDE = "the operator's own file\n"


@pytest.fixture
def planted(tmp_path: Path) -> tuple[Path, Path]:
    """An evidence folder whose ``verdict.json`` links to a file outside it."""
    outside = tmp_path / "outside.txt"
    outside.write_text(OUTSIDE)
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    (evidence / "verdict.json").symlink_to(outside)
    return evidence / "verdict.json", outside


def test_every_writer_refuses_a_link(planted: tuple[Path, Path], tmp_path: Path) -> None:
    link, outside = planted
    source = tmp_path / "lab.log"
    source.write_text("secret-value in a log\n")
    writers: list[Callable[[], object]] = [
        lambda: write_atomic(link, "evidence\n"),
        lambda: open_append(link).close(),
        lambda: Masker(["secret-value"]).copy(source, link),
    ]
    for write in writers:
        with pytest.raises(InputError, match="is a symbolic link: evidence is never written"):
            write()
    assert outside.read_text() == OUTSIDE
    assert link.is_symlink()


def test_a_proof_run_refuses_an_evidence_folder_holding_a_link(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    pytester.makeini("[pytest]\n")
    shutil.copy(PUBLIC_CONTRACT, pytester.path / "contract.json")
    (pytester.path / "package.json").write_text(json.dumps(filled_package()))
    outside = tmp_path / "outside.txt"
    outside.write_text(OUTSIDE)
    (pytester.path / "evidence").mkdir()
    (pytester.path / "evidence" / "junit-baseline.xml").symlink_to(outside)
    result = pytester.runpytest(
        "--pyargs", "pytest_hastate.proofs", "-m", "static", "--endpoint-package", "package.json",
        "-p", "no:cacheprovider",
    )  # fmt: skip
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.errlines if line.startswith("ERROR:")]
    assert errors == [
        f"ERROR: pytest-hastate: --evidence-dir {pytester.path / 'evidence'}: junit-baseline.xml: "
        "is a symbolic link: evidence is never written through a link (remove it)"
    ]
    assert outside.read_text() == OUTSIDE
    assert sorted(p.name for p in (pytester.path / "evidence").iterdir()) == ["junit-baseline.xml"]
