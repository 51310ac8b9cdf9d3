"""The CI examples in examples/ci/ as a user copies them: valid for their CI system, and
working as written.

Each example is run the way its CI system would run it, in empty folders against an HA lab:
its variables, inputs and secrets substituted (the variables the examples call optional left
undefined, so they arrive empty), every ``run:`` / ``script:`` in order in a job folder of its
own that holds only the package "repository" and the artifacts the job downloads, with a fresh
virtualenv in which the example's own ``pip install "pytest-hastate==<pin>"`` installs this
checkout's wheel. Between the phases the operator's maintenance loses the *first* endpoint's
gateway. The chain must end GO with the junit files, the evidence and the report where the
example keeps them.

What a CI machine has and this one does not is stood in for, and only that: OpenTofu (the
GitHub action's setup step and the GitLab job's download) is Terraform behind a ``tofu`` name;
the GitLab job's ``curl`` serves the pinned release from a local folder, with its SHA256SUMS;
GitHub's ``uses:`` steps are done by this test (checkout, setup, artifacts), and what they are
given is checked (the wrapper off, the versions pinned, the run id of the pre-maintenance run).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from hashlib import sha256
from pathlib import Path
from typing import Any

import pytest
import yaml

from pytest_hastate import __version__
from pytest_hastate.lab import LabCluster
from pytest_hastate.lab.artifacts import environment, start
from pytest_hastate.options import OPTIONS
from pytest_hastate.tools.bundle import check_bundle
from tests.support.helpers import REPO, TOFU_BINARY, junit_properties, lab_package, needs_tofu
from tests.support.installed import build_wheel, clean_environment, installing_venv, pip_offline
from tests.support.wrappers import install_wrapper

EXAMPLES = REPO / "examples" / "ci"
SCHEMAS = {
    "github-workflow.yml": "vendor.github-workflows",
    "gitlab-ci.yml": "vendor.gitlab-ci",
}
LOST = "s3-1"  # the gateway of the package's endpoint_url: the first endpoint
PINNED = re.compile(r"^\d+\.\d+\.\d+$")
FINAL_FILES = ("junit-baseline.xml", "junit-post-maintenance.xml", "junit-cleanup.xml",
               "verdict.json", "checkpoint.json", "report.md")  # fmt: skip


def load_example(name: str) -> dict[Any, Any]:
    data: dict[Any, Any] = yaml.safe_load((EXAMPLES / name).read_text("utf-8"))
    return data


# --- static: valid for the CI system, options that exist, pins ------------------------------


@pytest.mark.parametrize(("name", "schema"), SCHEMAS.items())
def test_the_example_is_valid_for_its_ci_system(name: str, schema: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema,
         str(EXAMPLES / name)],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def commands(name: str) -> list[str]:
    """Every shell command the example runs."""
    data = load_example(name)
    if "jobs" in data:
        return [str(s.get("run", "")) for job in data["jobs"].values() for s in job["steps"]]
    keys = ("before_script", "script", "after_script")
    return [line for spec in data.values() if isinstance(spec, dict) for key in keys
            for line in spec.get(key, [])]  # fmt: skip


@pytest.mark.parametrize("name", SCHEMAS)
def test_every_option_the_example_passes_exists_and_everything_is_pinned(name: str) -> None:
    text = (EXAMPLES / name).read_text("utf-8")
    known = {spec.flag for spec in OPTIONS} | {"--junitxml", "--output"}
    proving = [c for c in commands(name) if "hastate prove" in c]
    flags = {f for c in proving for f in re.findall(r"(?<![\w-])--[a-z][a-z-]+", c)}
    assert flags <= known, sorted(flags - known)
    for phase in ("--checkpoint-file", "--verify-existing", "--cleanup-checkpoint"):
        assert phase in flags
    assert 'pip install "pytest-hastate==${HASTATE_VERSION}"' in text
    assert "pip install -e" not in text
    assert "latest" not in text.lower()
    assert "install-opentofu.sh" not in text
    data = load_example(name)
    variables = data.get("env") or data["variables"]
    assert variables["HASTATE_VERSION"] == __version__
    assert PINNED.match(variables["TOFU_VERSION"])


# --- running the examples -------------------------------------------------------------------


@dataclass
class Machine:
    """What every job of a run starts from: the package repository, the wheel, the tools."""

    root: Path
    repository: Path
    wheels: Path
    secrets: dict[str, str]
    transcript: list[str] = field(default_factory=list)
    jobs: int = 0

    def job_folder(self, name: str) -> Path:
        """A new machine for a job: an empty folder holding a checkout of the repository."""
        self.jobs += 1
        folder = self.root / f"job-{self.jobs}-{name}"
        (folder / "tools").mkdir(parents=True)
        return folder

    def checkout(self, workspace: Path) -> None:
        shutil.copytree(self.repository, workspace, dirs_exist_ok=True)

    def python(self, folder: Path) -> Path:
        """The job's python (its bin folder): the CI image's, able to install the wheel."""
        return installing_venv(folder / "python")

    def shell(
        self, script: str, *, cwd: Path, env: Mapping[str, str], label: str, timeout: float = 600
    ) -> int:
        path = cwd.parent / f"step-{len(self.transcript)}.sh"
        path.write_text(script, "utf-8")
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(path)],
            cwd=cwd, env=dict(env), capture_output=True, text=True, timeout=timeout, check=False,
        )  # fmt: skip
        self.transcript.append(f"== {label}: exit {done.returncode}\n{done.stdout}{done.stderr}")
        return done.returncode

    def tail(self, lines: int = 80) -> str:
        return "\n".join("\n".join(self.transcript).splitlines()[-lines:])


def tofu_stand_in(tools: Path) -> Path:
    """``tofu`` on PATH: the pinned OpenTofu the example installs, stood in for by terraform."""
    terraform = TOFU_BINARY
    assert terraform is not None
    tofu = tools / "tofu"
    tofu.write_text(f'#!/bin/sh\nexec {terraform} "$@"\n')
    tofu.chmod(0o755)
    return tofu


@pytest.fixture(scope="module")
def ha_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabCluster]:
    """An HA lab of this module's own: its tests lose a gateway (and restart it afterwards)."""
    lab = start(tmp_path_factory.mktemp("examples-lab"), "ha", die_with_parent=True)
    try:
        yield lab
    finally:
        lab.down()


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("wheels")
    build_wheel(folder)
    return folder


@pytest.fixture
def machine(ha_lab: LabCluster, wheels: Path, tmp_path: Path) -> Machine:
    repository = tmp_path / "repository"
    repository.mkdir()
    lab_package(ha_lab, repository)
    env = environment(ha_lab)
    secrets = {k: env[k] for k in ("TOFU_HA_STATE_ACCESS_KEY", "TOFU_HA_STATE_SECRET_KEY")}
    return Machine(root=tmp_path / "ci", repository=repository, wheels=wheels, secrets=secrets)


@pytest.fixture
def maintenance(ha_lab: LabCluster) -> Iterator[Any]:
    """The operator's maintenance between the phases: the first endpoint's gateway is lost."""
    lost: list[str] = []

    def lose() -> None:
        lost.append(ha_lab.kill(LOST))

    yield lose
    for name in lost:
        ha_lab.restart(name)


def check_final_evidence(folder: Path, machine: Machine) -> dict[str, Any]:
    missing = [name for name in FINAL_FILES if not (folder / name).is_file()]
    assert not missing, f"missing from the kept evidence: {missing}\n{machine.tail()}"
    verdict: dict[str, Any] = json.loads((folder / "verdict.json").read_text())
    assert verdict["verdict"] == "GO", f"{verdict['reasons']}\n{machine.tail()}"
    assert check_bundle(folder) == []
    for junit in ("junit-baseline.xml", "junit-post-maintenance.xml", "junit-cleanup.xml"):
        assert junit_properties(folder / junit)["hastate_verdict"], junit
    assert "GO" in (folder / "report.md").read_text()
    return verdict


# --- GitHub Actions -------------------------------------------------------------------------

EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


Context = Mapping[str, Any]


def evaluate(expression: str, context: Context) -> str | bool:
    """The expressions the example uses: contexts, ``&&``, ``==`` / ``!=`` against a string,
    ``always()``, ``hashFiles('path')`` (in the job's workspace). Anything else fails the test
    (extend this on purpose, never silently)."""
    if " && " in expression:
        return all(evaluate(term, context) for term in expression.split(" && "))
    if expression == "always()":
        return True
    compared = re.fullmatch(r"(.+?)\s*(==|!=)\s*'([^']*)'", expression)
    if compared:
        equal = str(evaluate(compared.group(1), context)) == compared.group(3)
        return equal if compared.group(2) == "==" else not equal
    hashed = re.fullmatch(r"hashFiles\('([^']+)'\)", expression)
    if hashed:
        target = Path(context["workspace"]) / hashed.group(1)
        return sha256(target.read_bytes()).hexdigest() if target.is_file() else ""
    found = re.fullmatch(r"(inputs|vars|secrets|env|github)\.([A-Za-z_][\w-]*)", expression)
    assert found, f"an expression this test does not know: {expression!r}"
    return str(context[found.group(1)].get(found.group(2), ""))  # undefined: "", as on GitHub


def substitute(text: str, context: Context) -> str:
    return EXPRESSION.sub(lambda m: str(evaluate(m.group(1), context)), text)


def condition(text: Any, context: Context) -> bool:
    match = EXPRESSION.fullmatch(str(text).strip())
    return bool(evaluate(match.group(1) if match else str(text), context))


@dataclass
class GitHub:
    """Dispatches of the workflow; artifacts kept per run id, as GitHub keeps them."""

    workflow: dict[Any, Any]
    machine: Machine
    artifacts: dict[tuple[str, str], Path] = field(default_factory=dict)
    summaries: list[str] = field(default_factory=list)

    def dispatch(self, run_id: str, inputs: dict[str, str]) -> dict[str, bool]:
        trigger = self.workflow.get("on") or self.workflow[True]  # YAML 1.1 reads on: as True
        declared = trigger["workflow_dispatch"]["inputs"]
        given = {k: str(v.get("default", "")) for k, v in declared.items()} | inputs
        context: dict[str, Any] = {
            "inputs": given, "vars": {}, "secrets": self.machine.secrets,
            "github": {"token": "a-token", "run_id": run_id}, "env": {},
        }  # fmt: skip
        context["env"] = {k: substitute(str(v), context) for k, v in self.workflow["env"].items()}
        outcome = {}
        for name, job in self.workflow["jobs"].items():
            if condition(job.get("if", "true"), context):
                outcome[name] = self.job(run_id, name, job, context)
        return outcome

    def job(self, run_id: str, name: str, job: dict[str, Any], context: Any) -> bool:
        folder = self.machine.job_folder(name)
        workspace = folder / "workspace"
        workspace.mkdir()
        context = {**context, "workspace": str(workspace)}
        summary = folder / "step-summary.md"
        path: list[Path] = [folder / "tools"]
        ok = True
        for step in job["steps"]:
            if not (condition(step["if"], context) if "if" in step else ok):
                continue
            if "uses" in step:
                self.uses(step, job, run_id, workspace, path, folder, context)
                continue
            env = clean_environment(path) | context["env"] | {
                k: substitute(str(v), context) for k, v in (step.get("env") or {}).items()
            } | {"GITHUB_STEP_SUMMARY": str(summary), "GITHUB_WORKSPACE": str(workspace),
                 "CI": "true", "GITHUB_ACTIONS": "true"} | pip_offline(self.machine.wheels)  # fmt: skip
            code = self.machine.shell(
                substitute(step["run"], context), cwd=workspace, env=env,
                label=f"{run_id} {name}: {step.get('name', step['run'][:40])}",
            )  # fmt: skip
            ok = ok and code == 0
        if summary.exists():
            self.summaries.append(summary.read_text())
        return ok

    def uses(
        self, step: dict[str, Any], job: dict[str, Any], run_id: str, workspace: Path,
        path: list[Path], folder: Path, context: Any,
    ) -> None:  # fmt: skip
        action = step["uses"]
        given = {k: substitute(str(v), context) if isinstance(v, str) else v
                 for k, v in (step.get("with") or {}).items()}  # fmt: skip
        if action.startswith("actions/checkout@"):
            self.machine.checkout(workspace)
        elif action.startswith("actions/setup-python@"):
            path.insert(0, self.machine.python(folder))
        elif action.startswith("opentofu/setup-opentofu@"):
            assert PINNED.match(given.get("tofu_version", "")), given
            if given.get("tofu_wrapper", True) is False:
                tofu_stand_in(folder / "tools")
            else:  # the action's default: its wrapper in front of the binary
                install_wrapper(folder / "tools", "setup-opentofu")
        elif action.startswith("actions/upload-artifact@"):
            source = workspace / given["path"]
            if not source.is_dir():  # GitHub warns (if-no-files-found: warn) and goes on
                self.machine.transcript.append(f"== upload {given['name']}: no files found")
                return
            kept = self.machine.root / "artifacts" / run_id / given["name"]
            shutil.copytree(source, kept)
            self.artifacts[(run_id, given["name"])] = kept
        elif action.startswith("actions/download-artifact@"):
            assert given.get("github-token"), "a download from another run needs a token"
            permissions = job.get("permissions", self.workflow.get("permissions", {}))
            assert permissions.get("actions") in ("read", "write"), (
                "a download from another run needs permissions: actions: read"
            )
            source = self.artifacts[(given.get("run-id") or run_id, given["name"])]
            shutil.copytree(source, workspace / given["path"], dirs_exist_ok=True)
        else:
            raise AssertionError(f"an action this test does not stand in for: {action}")


@needs_tofu
def test_the_github_workflow_runs_as_written_and_ends_go(
    machine: Machine, maintenance: Any
) -> None:
    github = GitHub(load_example("github-workflow.yml"), machine)
    pre = github.dispatch("1001", {"phase": "pre-maintenance"})
    assert pre == {"pre-maintenance": True}, machine.tail()
    maintenance()
    post = github.dispatch(
        "1002", {"phase": "post-maintenance", "pre_run_id": "1001",
                 "maintenance_event": "endpoint-loss"},
    )  # fmt: skip
    assert post == {"post-maintenance": True}, machine.tail()
    final = github.artifacts[("1002", "ha-state-evidence-final")]
    verdict = check_final_evidence(final, machine)
    assert verdict["phase"] == "cleanup"
    assert all("GO" in summary or "INTERIM_ONLY" in summary for summary in github.summaries)
    assert len(github.summaries) == 2


@needs_tofu
def test_the_github_workflow_without_the_pre_run_id_stops_before_any_proof(
    machine: Machine,
) -> None:
    github = GitHub(load_example("github-workflow.yml"), machine)
    for given in ("", "https://github.example/o/r/actions/runs/1001"):  # none, or an address
        outcome = github.dispatch("2001", {"phase": "post-maintenance", "pre_run_id": given})
        assert outcome == {"post-maintenance": False}
        assert "::error::pre_run_id: give the id (a number) of the pre-maintenance run" in (
            machine.tail()
        )
    ran = [entry.split("\n")[0] for entry in machine.transcript]
    assert not any("verify" in line or "cleanup" in line or "report" in line for line in ran), ran


# --- GitLab CI ------------------------------------------------------------------------------

FAKE_CURL = """#!/bin/sh
# curl -fsSLO URL: the file from the local release folder (what the release server would send)
for arg in "$@"; do url="$arg"; done
name="${url##*/}"
case "$url" in
  https://github.com/opentofu/opentofu/releases/download/v*) ;;
  *) echo "curl: (22) not served here: $url" >&2; exit 22 ;;
esac
[ -f "{release}/$name" ] || { echo "curl: (22) 404 $url" >&2; exit 22; }
cp "{release}/$name" "./$name"
"""


def gitlab_release(folder: Path, version: str) -> Path:
    """The pinned OpenTofu release as its server serves it: the archive and its SHA256SUMS."""
    terraform = TOFU_BINARY
    assert terraform is not None
    folder.mkdir(parents=True)
    archive = folder / f"tofu_{version}_linux_amd64.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("tofu", f'#!/bin/sh\nexec {terraform} "$@"\n')
        zipped.writestr("LICENSE", "stand-in\n")
    digest = sha256(archive.read_bytes()).hexdigest()
    (folder / f"tofu_{version}_SHA256SUMS").write_text(f"{digest}  {archive.name}\n")
    return folder


@dataclass
class GitLab:
    pipeline: dict[str, Any]
    machine: Machine
    variables: dict[str, str]
    artifacts: dict[str, Path] = field(default_factory=dict)

    def run_job(self, name: str, overrides: Mapping[str, str] | None = None) -> bool:
        job = self.pipeline[name]
        default = self.pipeline.get("default", {})
        folder = self.machine.job_folder(name)
        workspace = folder / "workspace"
        self.machine.checkout(workspace)
        for needed in job.get("needs", []):  # the latest artifacts of the jobs it needs
            shutil.copytree(self.artifacts[needed], workspace, dirs_exist_ok=True)
        tools = folder / "tools"
        (tools / "curl").write_text(FAKE_CURL.replace("{release}", str(self.release())))
        (tools / "curl").chmod(0o755)
        path = [self.machine.python(folder), tools]
        variables = {**self.pipeline.get("variables", {}), **job.get("variables", {}),
                     **self.variables, **(overrides or {}), "TOFU_INSTALL_DIR": str(tools)}  # fmt: skip
        env = clean_environment(path) | {k: str(v) for k, v in variables.items()}
        env |= {"CI": "true", "GITLAB_CI": "true"} | pip_offline(self.machine.wheels)
        before = job.get("before_script", default.get("before_script", []))
        script = "\n".join([*before, *job["script"]]) + "\n"
        code = self.machine.shell(script, cwd=workspace, env=env, label=f"{name}: script")
        for line in job.get("after_script", default.get("after_script", [])):
            self.machine.shell(line, cwd=workspace, env=env, label=f"{name}: after_script")
        artifacts = job.get("artifacts", {})
        if code == 0 or artifacts.get("when") == "always":
            kept = self.machine.root / "artifacts" / f"{name}-{self.machine.jobs}"
            kept.mkdir(parents=True)
            for relative in artifacts.get("paths", []):  # a missing one: GitLab warns
                source = workspace / relative
                if source.is_dir():
                    shutil.copytree(source, kept / relative, dirs_exist_ok=True)
                elif source.is_file():
                    shutil.copy(source, kept / relative)
            junit = artifacts.get("reports", {}).get("junit")
            assert code != 0 or junit is None or (workspace / junit).is_file(), f"{name}: {junit}"
            self.artifacts[name] = kept
        return code == 0

    def release(self) -> Path:
        folder = self.machine.root / "release"
        if not folder.exists():
            gitlab_release(folder, self.pipeline["variables"]["TOFU_VERSION"])
        return folder


@needs_tofu
def test_the_gitlab_pipeline_runs_as_written_and_ends_go(
    machine: Machine, maintenance: Any
) -> None:
    pipeline = load_example("gitlab-ci.yml")
    undefined = {"TOFU_HA_STATE_ENDPOINT": "", "TOFU_HA_STATE_REGION": ""}
    gitlab = GitLab(pipeline, machine, variables={**machine.secrets, **undefined})
    stages = {
        job: spec["stage"]
        for job, spec in pipeline.items()
        if isinstance(spec, dict) and "stage" in spec
    }
    assert list(dict.fromkeys(stages.values())) == pipeline["stages"]
    assert gitlab.run_job("pre-maintenance"), machine.tail()
    assert pipeline["verify"]["when"] == "manual"  # the operator starts it after the maintenance
    maintenance()
    # A mistyped event: the verify is refused (exit 4), and the cleanup that runs after it
    # whatever happened deletes nothing, so the verify can be run again.
    assert not gitlab.run_job("verify", {"MAINTENANCE_EVENT": "endpoint_loss"})
    assert "'endpoint_loss' is not one of" in machine.tail()
    assert not gitlab.run_job("cleanup")
    assert "the verify reached no verdict: nothing is cleaned up" in machine.tail()
    assert gitlab.run_job("verify"), machine.tail()
    assert gitlab.run_job("cleanup"), machine.tail()
    verdict = check_final_evidence(gitlab.artifacts["cleanup"] / "evidence", machine)
    assert verdict["phase"] == "cleanup"
    assert "tofu version" in pipeline["default"]["before_script"]
    assert "tofu" not in " ".join(pipeline["cleanup"]["before_script"])  # cleanup runs no OpenTofu


@needs_tofu
def test_the_gitlab_install_refuses_a_tampered_release(machine: Machine) -> None:
    """The pinned download is checked: an archive that is not the one its SHA256SUMS names
    fails the job before any proof."""
    pipeline = load_example("gitlab-ci.yml")
    gitlab = GitLab(pipeline, machine, variables=dict(machine.secrets))
    release = gitlab.release()
    archive = next(release.glob("*.zip"))
    archive.write_bytes(archive.read_bytes() + b"tampered")
    assert not gitlab.run_job("pre-maintenance")
    assert "FAILED" in machine.tail()  # sha256sum -c
    assert "hastate: run " not in machine.tail()  # no proof started


def test_the_examples_keep_the_report_and_evidence_on_failure() -> None:
    workflow = load_example("github-workflow.yml")
    for job in workflow["jobs"].values():
        after_proof = False
        for step in job["steps"]:
            if "hastate prove" in str(step.get("run", "")):
                after_proof = True
            elif after_proof:
                assert "always()" in str(step.get("if", "")), step
    pipeline = load_example("gitlab-ci.yml")
    for name in ("pre-maintenance", "verify", "cleanup"):
        assert pipeline[name]["artifacts"]["when"] == "always"
        assert any("hastate report" in line for line in pipeline[name]["after_script"])


def test_an_undefined_variable_is_empty_here_as_on_github() -> None:
    context: dict[str, Any] = {"vars": {}, "inputs": {}, "secrets": {}, "env": {}, "github": {},
                               "workspace": "/nowhere"}  # fmt: skip
    assert substitute("${{ vars.TOFU_HA_STATE_ENDPOINT }}", context) == ""
    with pytest.raises(AssertionError, match="does not know"):
        evaluate("contains(github.ref, 'main')", context)
    assert evaluate("always() && hashFiles('evidence/checkpoint.json') != ''", context) is False
