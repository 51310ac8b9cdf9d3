"""The ``hastate`` command: gates, schemas, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pytest_hastate.cli import main
from pytest_hastate.exit_codes import ExitCode
from pytest_hastate.tools import schemas
from tests.support.helpers import GLORIOUS, PUBLIC_CONTRACT, PUBLIC_TEMPLATE, REPO


def test_contract_gate_passes_on_the_selected_contract(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gate", "contract", str(PUBLIC_CONTRACT)]) == ExitCode.OK
    assert "passed the contract gate" in capsys.readouterr().out


def test_contract_option_form(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gate", "contract", "--contract", str(PUBLIC_CONTRACT)]) == ExitCode.OK


def test_rejected_example_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    example = REPO / "contracts" / "examples" / "rejected-sting-local-path.json"
    assert main(["gate", "contract", str(example)]) == ExitCode.STOP
    out = capsys.readouterr().out
    assert "C10 $.candidate_class: Sting local-path storage is rejected as final" in out
    assert "REFUSED:" in out


def test_package_gate_template(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)
    assert main(["gate", "package", str(PUBLIC_TEMPLATE)]) == ExitCode.STOP
    assert (
        main(["gate", "package", "--package", str(PUBLIC_TEMPLATE), "--allow-template"])
        == ExitCode.OK
    )


def test_bad_input_is_one_line_on_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("[]")
    assert main(["gate", "package", str(bad)]) == ExitCode.BAD_INPUT
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "expected a JSON object, got an array" in err


def test_schema_check_detects_drift(tmp_path: Path) -> None:
    schemas.write(tmp_path)
    assert main(["schema", "--check", "--dir", str(tmp_path)]) == ExitCode.OK
    doc = json.loads((tmp_path / "endpoint-package.schema.json").read_text())
    doc["properties"].pop("scratch_prefix")
    (tmp_path / "endpoint-package.schema.json").write_text(json.dumps(doc))
    assert main(["schema", "--check", "--dir", str(tmp_path)]) == ExitCode.STOP


def test_shipped_schemas_match_the_models() -> None:
    assert schemas.drift(REPO / "contracts" / "schema") == []


def test_shipped_schema_documents_the_optional_additions() -> None:
    doc = json.loads((REPO / "contracts" / "schema" / "endpoint-package.schema.json").read_text())
    for field in ("ha_endpoints", "scratch_prefix", "ca_bundle", "backend_options", "ha_semantics"):
        assert field in doc["properties"]
        assert field not in doc["required"]
        assert doc["properties"][field].get("description") or field == "ha_semantics"
    assert doc["additionalProperties"] is False


def test_console_script_runs_as_a_module() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pytest_hastate", "gate", "contract", str(PUBLIC_CONTRACT)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def package_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **changes: str) -> dict[str, Any]:
    """A filled package.json (with ``changes``) and its contract in ``tmp_path``, the working
    folder; returns the package."""
    import shutil

    from tests.support.helpers import filled_package

    monkeypatch.chdir(tmp_path)
    shutil.copy(PUBLIC_CONTRACT, tmp_path / "contract.json")
    package = {**filled_package(), **changes}
    (tmp_path / "package.json").write_text(json.dumps(package))
    return package


def test_watch_runs_the_package_gate_before_anything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A package the proof refuses is never watched through (here: a prefix inside a stack)."""
    package_here(tmp_path, monkeypatch, scratch_prefix="attic/")
    code = main(["watch", "--endpoint-package", "package.json", "--from-checkpoint",
                 "missing.json", "--duration", "1"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == ExitCode.STOP
    assert "P06 $.scratch_prefix" in out
    assert not (tmp_path / "evidence").exists()


@pytest.mark.parametrize("option", ["--duration", "--interval", "--timeout"])
@pytest.mark.parametrize("value", ["nan", "inf", "0", "-5", "abc", "90000"])
def test_watch_refuses_seconds_that_are_not_a_bounded_positive_number(
    option: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["watch", "--endpoint-package", "p.json", "--from-checkpoint", "c.json",
              option, value])  # fmt: skip
    assert exited.value.code == 2
    assert f"argument {option}: " in capsys.readouterr().err


def test_watch_refuses_max_ops_below_one(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["watch", "--endpoint-package", "p.json", "--from-checkpoint", "c.json",
              "--max-ops", "0"])  # fmt: skip
    assert "argument --max-ops: '0': expected at least 1" in capsys.readouterr().err


def test_an_unexpected_refusal_is_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Any HastateError a command raises (a guard refusal, say) is one line, exit 1."""
    from pytest_hastate.cli import watch
    from pytest_hastate.errors import GuardRefusal

    def refuse(*_: object, **__: object) -> int:
        raise GuardRefusal("PutObject", "tofu-state/x", "the protected bucket")

    monkeypatch.setattr(watch, "run", refuse)
    code = main(["watch", "--endpoint-package", "p.json", "--from-checkpoint", "c.json"])
    err = capsys.readouterr().err
    assert code == ExitCode.STOP
    assert err == "hastate: scratch guard refused PutObject on tofu-state/x: the protected bucket\n"


def test_a_run_is_watched_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second watch would append a second header to the run's log: refused, log untouched."""
    import hashlib

    from pytest_hastate.models import Checkpoint, EndpointPackage, PackageIdentity, SampleObject

    package = package_here(tmp_path, monkeypatch)
    run = "20261127t000000z-0123abcd"
    model = EndpointPackage.model_validate(package)
    prefix = GLORIOUS.scratch_prefix
    checkpoint = Checkpoint(
        run_id=run, created_at="2026-11-27T00:00:00+00:00",
        package=PackageIdentity(name="p", basename="package.json",
                                sha256=hashlib.sha256((tmp_path / "package.json").read_bytes()).hexdigest()),
        contract_sha256=None, endpoints=list(model.endpoints),
        scratch_bucket=model.scratch_bucket, scratch_prefix=prefix,
        bucket_created_by_this_product=False,
        sample=[SampleObject(key=f"{prefix}{run}/sample/0000", size=1, sha256="s", version_id="v", etag="e")],
    )  # fmt: skip
    (tmp_path / "cp.json").write_text(checkpoint.model_dump_json())
    log = tmp_path / "evidence" / f"watch-{run}.jsonl"
    log.parent.mkdir()
    log.write_text('{"header": {}}\n')
    code = main(["watch", "--endpoint-package", "package.json", "--from-checkpoint", "cp.json",
                 "--duration", "1"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == ExitCode.BAD_INPUT, err
    assert f"run {run} was already watched" in err
    assert log.read_text() == '{"header": {}}\n'
