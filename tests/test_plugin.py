"""The plugin end to end: outcomes -> verdict -> exit code, junit properties, verdict.json."""

from __future__ import annotations

import json
import shutil
import sys
from typing import Any

import pytest

from pytest_hastate.exit_codes import ExitCode
from pytest_hastate.steps import CATALOGUE
from tests.support.helpers import PUBLIC_CONTRACT, REPO, filled_package, junit_properties

STATIC_PROOF = REPO / "proofs" / "test_1_static.py"


@pytest.fixture
def proof(pytester: pytest.Pytester) -> pytest.Pytester:
    """A folder with the static proof module, a filled package and its contract."""
    pytester.makeini("[pytest]\n")
    (pytester.path / "proofs").mkdir()
    shutil.copy(STATIC_PROOF, pytester.path / "proofs" / STATIC_PROOF.name)
    shutil.copy(STATIC_PROOF.parent / "conftest.py", pytester.path / "proofs" / "conftest.py")
    shutil.copy(PUBLIC_CONTRACT, pytester.path / "contract.json")
    (pytester.path / "package.json").write_text(json.dumps(filled_package()), "utf-8")
    return pytester


def verdict_json(pytester: pytest.Pytester) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((pytester.path / "evidence" / "verdict.json").read_text())
    return data


def test_static_proof_with_package_is_interim_only(proof: pytest.Pytester) -> None:
    result = proof.runpytest(
        "proofs/",
        "-m",
        "static",
        "--contract",
        "contract.json",
        "--endpoint-package",
        "package.json",
        "--junitxml",
        "junit.xml",
    )
    result.assert_outcomes(passed=2)
    assert result.ret == ExitCode.INTERIM_ONLY
    result.stdout.fnmatch_lines(
        ["*hastate verdict: INTERIM_ONLY*", "*not proven: boundary.scoped*", "*HA not proven*"]
    )
    props = junit_properties(proof.path / "junit.xml")
    assert props["hastate_verdict"] == "INTERIM_ONLY"
    assert props["hastate_phase"] == "static" or props["hastate_phase"] == "baseline"
    record = verdict_json(proof)
    assert props["hastate_run_id"] == record["run_id"]
    assert props["hastate_package_digest"] == record["package_digest"]
    assert (
        record["package_digest"]
        == __import__("hashlib").sha256((proof.path / "package.json").read_bytes()).hexdigest()
    )
    assert json.loads(props["hastate_reasons"]) == record["reasons"]
    assert record["criteria"]["static.contract"] == "passed"
    assert record["criteria"]["static.package"] == "passed"
    assert record["verdict"] == "INTERIM_ONLY"
    assert record["exit_code"] == ExitCode.INTERIM_ONLY


def test_a_selected_test_that_never_ran_makes_the_run_incomplete(proof: pytest.Pytester) -> None:
    """A second Ctrl-C can land while pytest formats the first, and pytest then finishes with
    exit status 0 though tests never ran: the verdict still says the run is incomplete, and a
    criterion whose test never ran is not passed."""
    proof.makeconftest(
        """
        def pytest_runtest_protocol(item, nextitem):
            return True if "package_passes" in item.name else None  # never run, never reported
        """
    )
    result = proof.runpytest(
        "proofs/", "-m", "static", "--contract", "contract.json",
        "--endpoint-package", "package.json",
    )  # fmt: skip
    record = verdict_json(proof)
    assert result.ret == int(pytest.ExitCode.INTERRUPTED)
    assert record["exit_code"] == int(pytest.ExitCode.INTERRUPTED)
    assert "run incomplete: interrupted" in record["reasons"]
    assert record["criteria"]["static.contract"] == "passed"
    assert record["criteria"]["static.package"] == "skipped"


def test_expect_interim_exits_zero(proof: pytest.Pytester) -> None:
    result = proof.runpytest(
        "proofs/", "-m", "static", "--endpoint-package", "package.json", "--expect-interim"
    )
    assert result.ret == 0
    assert verdict_json(proof)["verdict"] == "INTERIM_ONLY"


def test_refused_package_is_stop_naming_the_rule(proof: pytest.Pytester) -> None:
    package = filled_package()
    package["endpoint_url"] = "http://state-proof.example.com"
    (proof.path / "package.json").write_text(json.dumps(package))
    result = proof.runpytest(
        "proofs/", "-m", "static", "--endpoint-package", "package.json", "--junitxml", "junit.xml"
    )
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        [
            "*hastate verdict: STOP*",
            "*static.package failed: package gate refused*P04 $.endpoint_url: must be an https:// URL*",
        ]
    )
    assert junit_properties(proof.path / "junit.xml")["hastate_verdict"] == "STOP"


def test_static_stop_condition_is_stop(proof: pytest.Pytester) -> None:
    contract = json.loads(PUBLIC_CONTRACT.read_text())
    del contract["bucket_recovery"]
    (proof.path / "contract.json").write_text(json.dumps(contract))
    result = proof.runpytest("proofs/", "--contract", "contract.json")
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        ["*hastate verdict: STOP*", "*static stop condition: contract.json: C03 $.bucket_recovery*"]
    )


def test_template_needs_allow_template(proof: pytest.Pytester) -> None:
    template = json.loads(
        (REPO / "contracts" / "ha-opentofu-state-endpoint-package.template.json").read_text()
    )
    template["candidate_contract"] = "contract.json"
    (proof.path / "package.json").write_text(json.dumps(template))
    refused = proof.runpytest("proofs/", "--endpoint-package", "package.json", "-m", "static")
    assert refused.ret == 1
    refused.stdout.fnmatch_lines(["*P02*replace-me*"])
    accepted = proof.runpytest(
        "proofs/", "--endpoint-package", "package.json", "-m", "static", "--allow-template"
    )
    accepted.assert_outcomes(passed=2)


USAGE_ERRORS = [
    (
        ["--endpoint-package", "package.json", "--run-disposable-tofu"],
        "--run-disposable-tofu needs --use-lockfile",
    ),
    (
        ["--endpoint-package", "package.json", "--verify-existing"],
        "--verify-existing needs --from-checkpoint",
    ),
    (
        [
            "--endpoint-package",
            "package.json",
            "--keep-scratch-bucket",
            "--checkpoint-file",
            "c.json",
            "--credential-boundary-check",
        ],
        "select different modes",
    ),
    (
        ["--endpoint-package", "package.json", "-m", "post_maintenance"],
        "-m post_maintenance needs --from-checkpoint PATH",
    ),
    (
        ["--endpoint-package", "package.json", "-m", "disposable_tofu"],
        "-m disposable_tofu selects no test in live mode (it runs with --run-disposable-tofu",
    ),
    (["--endpoint-package", "package.json", "--phase", "Bad Phase"], "--phase 'Bad Phase'"),
    (
        ["--endpoint-package", "package.json", "--maintenance-event", "flood"],
        "'flood' is not one of",
    ),
    (["--endpoint-package", "missing.json"], "endpoint package * file not found"),
    (["--endpoint-package", "."], "is a directory"),
    (["--contract", "notjson.json"], "invalid JSON at line 1"),
    ([], "nothing to prove"),
]


@pytest.mark.parametrize(("args", "message"), USAGE_ERRORS, ids=[m for _, m in USAGE_ERRORS])
def test_usage_errors_are_one_line_and_write_nothing(
    proof: pytest.Pytester, args: list[str], message: str
) -> None:
    (proof.path / "notjson.json").write_text("{nope")
    result = proof.runpytest("proofs/", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.stderr.lines if line.startswith("ERROR: ")]
    assert len(errors) == 1, result.stderr.lines
    assert errors[0].startswith("ERROR: pytest-hastate: ")
    result.stderr.fnmatch_lines([f"*{message}*"])
    assert "Traceback" not in result.stderr.str()
    assert not (proof.path / "evidence").exists()


def test_modes_deselect_rather_than_skip(
    proof: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "TOFU_HA_STATE_ACCESS_KEY", "test-key"
    )  # live modes read them (nothing is sent here)
    monkeypatch.setenv("TOFU_HA_STATE_SECRET_KEY", "test-secret")
    proof.makepyfile(
        proofs__test_steps="""
        import pytest

        @pytest.mark.boundary
        @pytest.mark.hastate_criterion("boundary.scoped")
        def test_boundary(): pass

        @pytest.mark.post_maintenance
        @pytest.mark.hastate_criterion("maintenance.verified")
        def test_verify(): pass

        @pytest.mark.disposable_tofu
        @pytest.mark.hastate_criterion("tofu.init")
        def test_tofu(): pass
        """
    )
    (proof.path / "proofs__test_steps.py").rename(proof.path / "proofs" / "test_steps.py")
    static = proof.runpytest("proofs/", "--contract", "contract.json")
    static.assert_outcomes(passed=1, skipped=1, deselected=3)
    live = proof.runpytest("proofs/", "--endpoint-package", "package.json")
    live.assert_outcomes(passed=3, deselected=2)  # static x2 + boundary; not verify, not tofu
    tofu = proof.runpytest(
        "proofs/", "--endpoint-package", "package.json", "--run-disposable-tofu", "--use-lockfile"
    )
    tofu.assert_outcomes(passed=4, deselected=1)


OUTCOME_MODULE = """
import pytest

@pytest.fixture
def broken_setup():
    raise RuntimeError("setup went wrong")

@pytest.fixture
def broken_teardown():
    yield
    raise RuntimeError("teardown went wrong")

@pytest.mark.hastate_criterion("scratch.bucket")
def test_setup_error(broken_setup): pass

@pytest.mark.hastate_criterion("scratch.versioning")
def test_teardown_error(broken_teardown): pass

@pytest.mark.hastate_criterion("tofu.version")
def test_skipped():
    pytest.skip("no OpenTofu binary")

@pytest.mark.hastate_criterion("scratch.object_cycle")
@pytest.mark.xfail(reason="flaky store", strict=False)
def test_xpass(): pass
"""


def test_setup_and_teardown_errors_count_and_skips_never_prove(proof: pytest.Pytester) -> None:
    proof.makepyfile(test_outcomes=OUTCOME_MODULE)
    result = proof.runpytest("test_outcomes.py", "--contract", "contract.json")
    assert result.ret == 1
    record = verdict_json(proof)
    assert record["verdict"] == "STOP"
    assert record["criteria"]["scratch.bucket"] == "failed"
    assert record["criteria"]["scratch.versioning"] == "failed"
    assert record["criteria"]["tofu.version"] == "skipped"
    assert record["criteria"]["scratch.object_cycle"] == "skipped"
    reasons = "\n".join(record["reasons"])
    assert "scratch.bucket failed: setup error: RuntimeError: setup went wrong" in reasons
    assert "scratch.versioning failed: teardown error: RuntimeError: teardown went wrong" in reasons


def test_every_criterion_passing_with_ha_is_go(proof: pytest.Pytester) -> None:
    lines = ["import pytest", ""]
    for index, criterion in enumerate(CATALOGUE):
        lines += [
            f"@pytest.mark.hastate_criterion({criterion.id!r})",
            f"def test_{index}(): pass",
            "",
        ]
    proof.makepyfile(test_all="\n".join(lines))
    result = proof.runpytest(
        "test_all.py", "--contract", "contract.json", "--junitxml", "junit.xml"
    )
    assert result.ret == 0, result.stdout.str()
    result.stdout.fnmatch_lines(["*hastate verdict: GO*"])
    assert junit_properties(proof.path / "junit.xml")["hastate_verdict"] == "GO"


def test_guard_refusal_is_stop_naming_the_target(proof: pytest.Pytester) -> None:
    proof.makepyfile(
        test_guard="""
        import pytest
        from pytest_hastate.errors import GuardRefusal

        @pytest.mark.hastate_criterion("scratch.object_cycle")
        def test_refused():
            try:
                raise GuardRefusal("PutObject", "tofu-state/attic/terraform.tfstate", "protected")
            except GuardRefusal:
                raise
        """
    )
    result = proof.runpytest("test_guard.py", "--contract", "contract.json")
    assert result.ret == 1
    assert (
        "scratch guard refused tofu-state/attic/terraform.tfstate" in verdict_json(proof)["reasons"]
    )


def test_secrets_from_the_environment_are_masked(
    proof: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOFU_HA_STATE_SECRET_KEY", "sEcReT-value-123")
    proof.makepyfile(
        test_leak="""
        import os, pytest

        @pytest.mark.hastate_criterion("scratch.bucket")
        def test_leaks():
            raise AssertionError("bad key " + os.environ["TOFU_HA_STATE_SECRET_KEY"])
        """
    )
    proof.runpytest("test_leak.py", "--contract", "contract.json", "--junitxml", "junit.xml")
    assert "sEcReT-value-123" not in (proof.path / "evidence" / "verdict.json").read_text()
    assert "bad key ***" in "\n".join(verdict_json(proof)["reasons"])
    assert "sEcReT-value-123" not in junit_properties(proof.path / "junit.xml")["hastate_reasons"]


def test_plugin_is_passive_for_ordinary_tests(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_plain(): assert True")
    result = pytester.runpytest()
    assert result.ret == 0
    assert "hastate verdict" not in result.stdout.str()
    assert not (pytester.path / "evidence").exists()


def test_help_works_without_a_package(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        ["*--endpoint-package*", "*--run-disposable-tofu*", "*HASTATE_EXPECT_INTERIM*"]
    )


def test_env_and_ini_twins(proof: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HASTATE_EXPECT_INTERIM", "yes")
    monkeypatch.setenv("HASTATE_ENDPOINT_PACKAGE", "package.json")
    assert proof.runpytest("proofs/", "-m", "static").ret == 0
    monkeypatch.delenv("HASTATE_EXPECT_INTERIM")
    proof.makeini("[pytest]\nhastate_expect_interim = true\nhastate_evidence_dir = out\n")
    assert proof.runpytest("proofs/", "-m", "static").ret == 0
    assert (proof.path / "out" / "verdict.json").is_file()
    monkeypatch.setenv("HASTATE_EXPECT_INTERIM", "perhaps")
    bad = proof.runpytest("proofs/", "-m", "static")
    assert bad.ret == pytest.ExitCode.USAGE_ERROR
    bad.stderr.fnmatch_lines(["*HASTATE_EXPECT_INTERIM: expected true or false, got 'perhaps'*"])


def test_real_process_exit_code(proof: pytest.Pytester) -> None:
    result = proof.runpytest_subprocess(
        "proofs/", "-m", "static", "--endpoint-package", "package.json", "-p", "no:cacheprovider"
    )
    assert result.ret == ExitCode.INTERIM_ONLY
    result.stdout.fnmatch_lines(
        ["*hastate verdict: INTERIM_ONLY*", f"*exit code {ExitCode.INTERIM_ONLY}*"]
    )


LIVE_STEP = """
import pytest

@pytest.mark.scratch
@pytest.mark.hastate_criterion("scratch.bucket")
def test_bucket(hastate_s3_primary):
    raise AssertionError("a request would have been sent")
"""


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "environment: TOFU_HA_STATE_ACCESS_KEY, TOFU_HA_STATE_SECRET_KEY: not set"),
        (
            {
                "TOFU_HA_STATE_ACCESS_KEY": "a",
                "TOFU_HA_STATE_SECRET_KEY": "b",
                "TOFU_HA_STATE_ENDPOINT": "https://elsewhere.example.com",
            },
            "TOFU_HA_STATE_ENDPOINT: is set to 'https://elsewhere.example.com', which differs "
            "from the package's value",
        ),
        (
            {
                "TOFU_HA_STATE_ACCESS_KEY": "a",
                "TOFU_HA_STATE_SECRET_KEY": "b",
                "TOFU_HA_STATE_REGION": "eu-west-1",
            },
            "TOFU_HA_STATE_REGION: is set to 'eu-west-1', which differs",
        ),
    ],
)
def test_live_runs_refuse_bad_credentials_before_any_call(
    proof: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str
) -> None:
    for name in (
        "TOFU_HA_STATE_ACCESS_KEY",
        "TOFU_HA_STATE_SECRET_KEY",
        "TOFU_HA_STATE_ENDPOINT",
        "TOFU_HA_STATE_REGION",
    ):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    (proof.path / "proofs" / "test_live.py").write_text(LIVE_STEP)
    result = proof.runpytest("proofs/", "--endpoint-package", "package.json")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: pytest-hastate: *{message}*"])
    assert "a request would have been sent" not in result.stdout.str()
    assert not (proof.path / "evidence").exists()


def test_dry_run_sends_nothing_and_is_never_go(
    proof: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    (proof.path / "proofs" / "test_live.py").write_text(LIVE_STEP)
    result = proof.runpytest("proofs/", "--endpoint-package", "package.json", "--dry-run")
    result.assert_outcomes(passed=2, skipped=1)
    record = verdict_json(proof)
    assert record["verdict"] == "INTERIM_ONLY"
    assert record["dry_run"] is True
    assert any(r.startswith("dry run") for r in record["reasons"])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"checkpoint_schema": "pytest_hastate.checkpoint.v1", "run_id": "x"', "invalid JSON"),
        ("not json at all", "invalid JSON"),
        (
            '{"checkpoint_schema": "pytest_hastate.checkpoint.v0", "run_id": "x"}',
            "unsupported schema 'pytest_hastate.checkpoint.v0'",
        ),
        (
            '{"checkpoint_schema": "pytest_hastate.checkpoint.v1", "run_id": "x"}',
            "$.created_at: Field required",
        ),
        ("", "file is empty"),
    ],
)
def test_bad_checkpoints_are_one_line_usage_errors(
    proof: pytest.Pytester, content: str, message: str
) -> None:
    (proof.path / "checkpoint.json").write_text(content)
    result = proof.runpytest(
        "proofs/",
        "--endpoint-package",
        "package.json",
        "--verify-existing",
        "--from-checkpoint",
        "checkpoint.json",
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [f"ERROR: pytest-hastate: checkpoint *checkpoint.json: *{message}*"]
    )
    assert not (proof.path / "evidence").exists()


@pytest.fixture
def full_proofs(proof: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """Every proof module, a filled package, and credentials (collection sends nothing)."""
    shutil.rmtree(proof.path / "proofs")
    shutil.copytree(
        REPO / "proofs", proof.path / "proofs", ignore=shutil.ignore_patterns("__pycache__")
    )
    monkeypatch.setenv("TOFU_HA_STATE_ACCESS_KEY", "test-key")
    monkeypatch.setenv("TOFU_HA_STATE_SECRET_KEY", "test-secret")
    return proof


TOFU_FLAGS = ("--run-disposable-tofu", "--use-lockfile")


def checkpoint_for(pytester: pytest.Pytester) -> None:
    """A checkpoint made with the exact bytes of ``package.json``."""
    import hashlib

    from pytest_hastate.models import Checkpoint, PackageIdentity, SampleObject

    digest = hashlib.sha256((pytester.path / "package.json").read_bytes()).hexdigest()
    checkpoint = Checkpoint(
        run_id="20261127t000000z-0123abcd", created_at="2026-11-27T00:00:00+00:00",
        package=PackageIdentity(name="p", sha256=digest, basename="package.json"),
        contract_sha256=None, endpoints=["https://state-proof.example.com"],
        scratch_bucket="darkmap-ha-state-proof", scratch_prefix=".gloriousflywheel/ha-state-candidate/",
        bucket_created_by_this_product=False,
        sample=[SampleObject(key=".gloriousflywheel/ha-state-candidate/20261127t000000z-0123abcd/sample/0000",
                             size=1, sha256="s", version_id="v", etag="e")],
    )  # fmt: skip
    (pytester.path / "cp.json").write_text(checkpoint.model_dump_json())


def collected(result: pytest.RunResult) -> list[str]:
    return sorted(line for line in result.outlines if "::test_" in line)


PHASE_FORMS = [
    (
        ["-m", "pre_maintenance", "--checkpoint-file", "cp.json"],
        ["--keep-scratch-bucket", "--checkpoint-file", "cp.json"],
    ),
    (
        ["-m", "pre_maintenance", "--checkpoint-file", "cp.json", *TOFU_FLAGS],
        ["--keep-scratch-bucket", "--checkpoint-file", "cp.json", *TOFU_FLAGS],
    ),
    (["-m", "post_maintenance", "--from-checkpoint", "cp.json"],
     ["--verify-existing", "--from-checkpoint", "cp.json"]),
    (["-m", "cleanup", "--from-checkpoint", "cp.json"],
     ["--cleanup-checkpoint", "--from-checkpoint", "cp.json"]),
]  # fmt: skip


@pytest.mark.parametrize(("marker_form", "flag_form"), PHASE_FORMS)
def test_a_phase_marker_selects_the_whole_phase_like_its_flags(
    full_proofs: pytest.Pytester, marker_form: list[str], flag_form: list[str]
) -> None:
    if "--from-checkpoint" in marker_form:
        checkpoint_for(full_proofs)
    common = ["proofs/", "--endpoint-package", "package.json", "--co", "-q"]
    by_marker = full_proofs.runpytest(*common, *marker_form)
    by_flags = full_proofs.runpytest(*common, *flag_form)
    assert by_marker.ret == by_flags.ret == 0, by_marker.stderr.lines
    assert collected(by_marker) == collected(by_flags)
    assert collected(by_marker)
    if "pre_maintenance" in marker_form:
        modules = {line.split("::")[0] for line in collected(by_marker)}
        assert "proofs/test_4_checkpoint.py" in modules
        assert "proofs/test_2b_scratch.py" in modules  # the live steps it stands on
        assert ("proofs/test_3_disposable_tofu.py" in modules) == ("--use-lockfile" in marker_form)


@pytest.mark.parametrize(
    ("expression", "missing"),
    [
        ("pre_maintenance and not bucket_index", "bucket_index"),
        ("pre_maintenance and not (scratch or boundary)", "boundary, scratch"),
    ],
)
def test_a_marker_expression_leaving_out_what_the_phase_needs_is_a_usage_error(
    full_proofs: pytest.Pytester, expression: str, missing: str
) -> None:
    result = full_proofs.runpytest(
        "proofs/", "--endpoint-package", "package.json", "-m", expression,
        "--checkpoint-file", "cp.json", *TOFU_FLAGS,
    )  # fmt: skip
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            f"ERROR: pytest-hastate: -m '{expression}' leaves out the {missing} tests, which the pre_maintenance tests stand on*"
        ]
    )
    assert not (full_proofs.path / "evidence").exists()
    assert not (full_proofs.path / "cp.json").exists()


def test_negated_and_grouped_marker_expressions_work_as_pytest_documents(
    full_proofs: pytest.Pytester,
) -> None:
    result = full_proofs.runpytest(
        "proofs/", "--endpoint-package", "package.json", "--co", "-q",
        "-m", "not (boundary or scratch)",
    )  # fmt: skip
    assert result.ret == 0, result.stderr.lines
    modules = {line.split("::")[0] for line in collected(result)}
    assert modules == {
        "proofs/test_1_static.py", "proofs/test_2b_bucket_index.py",
        "proofs/test_3b_observability.py",
    }  # fmt: skip


@pytest.mark.parametrize(
    "args",
    [["--co"], ["--collect-only", "-q"], ["-k", "no_such_test"], ["-x", "-k", "no_such_test"]],
    ids=["co", "collect-only", "nothing-selected", "nothing-selected-x"],
)
def test_runs_where_no_test_ran_never_write_evidence(
    full_proofs: pytest.Pytester, args: list[str]
) -> None:
    evidence = full_proofs.path / "evidence"
    evidence.mkdir()
    before = '{"an earlier verdict": "kept as it is"}\n'
    (evidence / "verdict.json").write_text(before)
    (evidence / "verdict-baseline.json").write_text(before)
    result = full_proofs.runpytest(
        "proofs/", "--endpoint-package", "package.json", "--checkpoint-file", "cp.json", *args
    )
    assert result.ret in (0, pytest.ExitCode.NO_TESTS_COLLECTED), result.stdout.lines
    assert (evidence / "verdict.json").read_text() == before
    assert (evidence / "verdict-baseline.json").read_text() == before
    assert sorted(p.name for p in evidence.iterdir()) == ["verdict-baseline.json", "verdict.json"]
    assert not (full_proofs.path / "cp.json").exists()
    assert "hastate verdict" not in result.stdout.str()


@pytest.mark.parametrize(
    ("module", "args", "message"),
    [
        (
            """
import pytest
@pytest.mark.hastate_criterion("scratch.versionning")
def test_typo(): pass
""",
            ["--endpoint-package", "package.json", "-m", "static"],
            "unknown criterion 'scratch.versionning'",
        ),
        (
            """
def test_uses_the_backend(hastate_s3_primary): pass
""",
            ["--contract", "contract.json"],
            "test_uses_the_backend needs a backend (a live step or an S3 fixture): give --endpoint-package PATH",
        ),
        ("", ["--endpoint-package", "package.json", "-m", "static", "--evidence-dir", "package.json"],
         "--evidence-dir *package.json: exists and is not a folder"),
        ("", ["--endpoint-package", "package.json", "-m", "static", "-n", "2"],
         "pytest-xdist (-n / --dist) is not supported"),
    ],
    ids=["unknown-criterion", "backend-fixture-without-package", "evidence-dir-is-a-file", "xdist"],
)  # fmt: skip
def test_late_usage_errors_are_found_before_any_test_runs(
    proof: pytest.Pytester, module: str, args: list[str], message: str
) -> None:
    if module:
        (proof.path / "proofs" / "test_custom.py").write_text(module)
    before = (proof.path / "package.json").read_bytes()
    result = proof.runpytest("proofs/", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.stdout.lines
    result.stderr.fnmatch_lines([f"ERROR: pytest-hastate: *{message}*"])
    assert not (proof.path / "evidence").exists()
    assert (proof.path / "package.json").read_bytes() == before


def test_selecting_the_checkpoint_module_alone_is_a_usage_error(
    full_proofs: pytest.Pytester,
) -> None:
    result = full_proofs.runpytest(
        "proofs/test_4_checkpoint.py", "--endpoint-package", "package.json",
        "--keep-scratch-bucket", "--checkpoint-file", "cp.json",
    )  # fmt: skip
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: pytest-hastate: the test paths given leaves out the boundary, bucket_index, scratch, static tests*"
        ]
    )
    assert not (full_proofs.path / "cp.json").exists()


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("pre_maintenance and post_maintenance", "selects no proof test in live mode"),
        ("static and scratch", "selects no proof test in live mode"),
    ],
)
def test_marker_expressions_selecting_no_proof_test_are_usage_errors(
    full_proofs: pytest.Pytester, expression: str, message: str
) -> None:
    result = full_proofs.runpytest(
        "proofs/", "--endpoint-package", "package.json", "-m", expression
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: pytest-hastate: -m '{expression}' {message}*"])


def test_a_verify_needs_a_pre_maintenance_checkpoint(full_proofs: pytest.Pytester) -> None:
    checkpoint_for(full_proofs)
    document = json.loads((full_proofs.path / "cp.json").read_text())
    document["sample"] = []  # what a live run given --checkpoint-file writes
    (full_proofs.path / "cp.json").write_text(json.dumps(document))
    result = full_proofs.runpytest(
        "proofs/", "--endpoint-package", "package.json", "-m", "post_maintenance",
        "--from-checkpoint", "cp.json",
    )  # fmt: skip
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*cp.json: $.sample: is empty: this checkpoint was not written by a pre-maintenance run*"]
    )


def test_deselected_criteria_are_named_as_deselected(proof: pytest.Pytester) -> None:
    result = proof.runpytest(
        "proofs/", "--endpoint-package", "package.json", "-k", "contract", "-m", "static"
    )
    assert result.ret == ExitCode.INTERIM_ONLY
    record = verdict_json(proof)
    assert (
        "not proven: static.package (its tests were deselected by the selection)"
        in record["reasons"]
    )


RUN = "20261127t000000z-0123abcd"
RUN_PREFIX = f".gloriousflywheel/ha-state-candidate/{RUN}/"
ENDPOINT = "https://state-proof.example.com"


def watch_log(header: object = None, *ops: object) -> str:
    header = header if header is not None else {
        "run_id": RUN, "bucket": "darkmap-ha-state-proof", "prefix": RUN_PREFIX,
        "endpoints": [ENDPOINT], "wall_start": 1.0, "limits": {},
    }  # fmt: skip
    lines = [{"header": header}, *ops, {"stop": "duration", "at": 1.0}]
    return "".join(json.dumps(line) + "\n" for line in lines)


def write_op(key: str, endpoint: str = ENDPOINT) -> dict[str, object]:
    return {"t0": 0.1, "t1": 0.2, "endpoint": endpoint, "kind": "write", "key": key,
            "outcome": "ok", "seq": 1, "version": "v1", "sha256": "00"}  # fmt: skip


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "not a regular file"),  # a folder
        ("root:x:0:0:root:/root:/bin/bash\nbin:x:1:1::/:\n", "line 1: not JSON"),
        ('{"header": 1}\n', "line 1: $.header: not a JSON object"),
        (watch_log({"run_id": RUN}), "line 1: $.header: missing field 'bucket'"),
        (watch_log(None, {"t0": 0.1}), "line 2: missing field 't1'"),
        (watch_log(None, write_op("attic/terraform.tfstate")), "operation 1: key: is not under"),
        (watch_log(None, write_op(RUN_PREFIX + "watch/../../x")), "operation 1: key: is not under"),
        (watch_log(None, write_op(RUN_PREFIX + "watch/s", "https://elsewhere.example.com")),
         "operation 1: endpoint: is not in the header"),
        (watch_log(None, {**write_op(RUN_PREFIX + "watch/s"), "t1": float("nan")}),
         "line 2: not JSON (or NaN/Infinity)"),
        (watch_log(None, write_op(RUN_PREFIX + "watch/s")).replace('"t1": 0.2', '"t1": 1e400'),
         "line 2: not JSON (or NaN/Infinity)"),
        (watch_log().rsplit("\n", 2)[0] + "\n", "the watch has not stopped (no stop line)"),
        (watch_log({"run_id": "20261127t000000z-ffffffff", "bucket": "darkmap-ha-state-proof",
                    "prefix": RUN_PREFIX, "endpoints": [ENDPOINT], "wall_start": 1.0,
                    "limits": {}}), "$.header.run_id: watched run 20261127t000000z-ffffffff"),
    ],
)  # fmt: skip
def test_bad_watch_logs_are_one_line_usage_errors(
    full_proofs: pytest.Pytester, content: str | None, message: str
) -> None:
    """A watch log steers reads after the window: a file that is not one, or one that names
    keys, endpoints or a run outside this run's scope, is refused before anything is sent."""
    checkpoint_for(full_proofs)
    log = full_proofs.path / "watch.jsonl"
    if content is None:
        log.mkdir()
    else:
        log.write_text(content)
    result = full_proofs.runpytest(
        "proofs/", "--endpoint-package", "package.json", "-m", "post_maintenance",
        "--from-checkpoint", "cp.json", "--watch-log", str(log),
    )  # fmt: skip
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: pytest-hastate: --watch-log *watch.jsonl: *{message}*"])
    assert "Traceback" not in result.stderr.str()
    assert not (full_proofs.path / "evidence").exists()


def test_a_watch_log_outside_a_verify_is_a_usage_error(full_proofs: pytest.Pytester) -> None:
    (full_proofs.path / "watch.jsonl").write_text(watch_log())
    result = full_proofs.runpytest(
        "proofs/", "--endpoint-package", "package.json", "--watch-log", "watch.jsonl"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--watch-log needs --verify-existing*"])


FREEZE_PROBE = """
import atexit, gc

def pytest_runtest_call(item):
    print(f"frozen during the test: {gc.get_freeze_count()}")

# registered before the proof collects, so it runs after the proof's own exit handler
atexit.register(lambda: print(f"frozen at exit: {gc.get_freeze_count()}"))
"""


def freeze_counts(result: pytest.RunResult, when: str) -> list[int]:
    return [int(line.rsplit(":", 1)[1]) for line in result.outlines if f"frozen {when}:" in line]


def test_a_proof_run_settles_its_heap(proof: pytest.Pytester) -> None:
    """In a process of its own, once collected, the proof's objects are out of the garbage
    collector's scans while the tests run (heap.settle), and again while the process exits
    (heap.freeze_at_exit)."""
    proof.makeconftest(FREEZE_PROBE)
    result = proof.runpytest_subprocess(
        "proofs/", "-m", "static", "--endpoint-package", "package.json", "-s"
    )
    during = freeze_counts(result, "during the test")
    assert during
    assert all(count > 10_000 for count in during)
    at_exit = freeze_counts(result, "at exit")
    assert len(at_exit) == 1
    assert at_exit[0] > 10_000


def test_a_proof_run_inside_another_session_freezes_nothing(proof: pytest.Pytester) -> None:
    """Run in-process (this suite's pytester), the proof leaves the collector alone: a freeze
    would take the calling session's objects too."""
    import gc

    proof.makeconftest(
        """
        import gc

        def pytest_runtest_call(item):
            print(f"frozen during the test: {gc.get_freeze_count()}")
        """
    )
    result = proof.runpytest("proofs/", "-m", "static", "--endpoint-package", "package.json", "-s")
    during = [int(line.rsplit(":", 1)[1]) for line in result.outlines if "frozen during" in line]
    assert during == [0, 0]
    assert gc.get_freeze_count() == 0


def run_host(proof: pytest.Pytester, before: str, after: str) -> pytest.RunResult:
    """A host program that runs the static proof with ``pytest.main`` between its own code."""
    run = "pytest.main(['proofs/', '-m', 'static', '--endpoint-package', 'package.json', '-q'])\n"
    (proof.path / "host.py").write_text(f"import gc, pytest\n{before}{run}{after}")
    return proof.run(sys.executable, "host.py")


def test_a_host_programs_own_freeze_is_left_alone(proof: pytest.Pytester) -> None:
    """A program that froze its heap and then runs the proof with ``pytest.main``: the proof
    freezes nothing more and gives back nothing it did not freeze."""
    result = run_host(
        proof,
        "gc.freeze()\nbefore = gc.get_freeze_count()\n",
        "print('freeze counts', before, gc.get_freeze_count())\n",
    )
    counts = [line.split()[2:] for line in result.outlines if line.startswith("freeze counts")]
    assert counts
    assert int(counts[0][0]) > 10_000
    assert abs(int(counts[0][1]) - int(counts[0][0])) < 1_000  # frees, never a new freeze


def test_a_host_programs_exit_is_its_own(proof: pytest.Pytester) -> None:
    """A program that runs the proof with ``pytest.main`` goes on after it: its heap is not
    frozen at its exit, so the cyclic garbage it leaves is finalized there as without the
    proof (only pytest's own command line, which exits right after the session, freezes)."""
    after = (
        "gc.disable()  # only the collections of the shutdown can find the cycle below\n"
        "class Cycle:\n"
        "    def __del__(self):\n"
        "        print('the host cycle was finalized')\n"
        "cycle = Cycle()\n"
        "cycle.itself = cycle\n"
        "del cycle\n"
    )
    result = run_host(proof, "", after)
    assert "the host cycle was finalized" in result.outlines


def test_an_unrelated_session_freezes_nothing(pytester: pytest.Pytester) -> None:
    """In a process of its own (where a proof run would freeze), a session that proves
    nothing leaves the collector alone."""
    pytester.makeconftest(FREEZE_PROBE)
    pytester.makepyfile("def test_x(): pass\n")
    result = pytester.runpytest_subprocess("-s")
    result.assert_outcomes(passed=1)
    assert freeze_counts(result, "during the test") == [0]
    assert freeze_counts(result, "at exit") == [0]
