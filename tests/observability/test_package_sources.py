"""A package's metrics sources that cannot be used are refused when it loads: one line naming
the file and the field, exit 4, nothing written."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.support.helpers import PUBLIC_CONTRACT, filled_package


@pytest.mark.parametrize(
    ("source", "where", "words"),
    [
        ({"url": "https://127.0.0.1:9/metrics", "ca_bundle": "nope.pem"},
         "$.metrics_sources[0].ca_bundle", "'nope.pem' not found next to the package"),
        ({"url": "http://user:pw@127.0.0.1:9/metrics"},
         "$.metrics_sources[0].url", "must not carry credentials (user-info in the URL)"),
    ],
)  # fmt: skip
def test_an_unusable_metrics_source_is_refused_before_anything_runs(
    proofs: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    source: dict[str, str],
    where: str,
    words: str,
) -> None:
    monkeypatch.setenv("TOFU_HA_STATE_ACCESS_KEY", "test-key")
    monkeypatch.setenv("TOFU_HA_STATE_SECRET_KEY", "test-secret")
    shutil.copy(PUBLIC_CONTRACT, proofs.path / "contract.json")
    package = {**filled_package(), "metrics_sources": [source]}
    (proofs.path / "package.json").write_text(json.dumps(package), "utf-8")
    result = proofs.runpytest("proofs/", "--endpoint-package", "package.json")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.stderr.lines if line.startswith("ERROR: ")]
    assert errors == [f"ERROR: pytest-hastate: endpoint package {proofs.path / 'package.json'}: "
                      f"{where}: {words}"]  # fmt: skip
    assert "pw" not in result.stderr.str().replace("pytest", "")
    assert not (proofs.path / "evidence").exists()
