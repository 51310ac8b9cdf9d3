"""``hastate demo``: the whole proof on a local lab, stage by stage, with an evidence bundle.

ha:        lab up -> pre-maintenance proof (OpenTofu, checkpoint) -> kill one S3 gateway and one
           volume server -> post-maintenance verify (endpoint-loss) -> cleanup -> lab down: GO.
singleton: the same, with a gateway restart as the maintenance: INTERIM_ONLY (one endpoint).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from pytest_hastate.errors import DemoFailed
from pytest_hastate.io.redact import Masker
from pytest_hastate.lab import LabCluster, start
from pytest_hastate.lab.artifacts import environment
from pytest_hastate.tools.bundle import check_bundle, readiness

PROOFS = Path(__file__).resolve().parents[2] / "proofs"


def scrub_logs(lab: LabCluster, target: Path, masker: Masker) -> int:
    """Copy the lab's process logs into the bundle without secrets or private paths."""
    home = str(Path.home()).rstrip("/") + "/"
    private = masker.with_paths({str(lab.directory): "<lab>", home: "~/"})
    logs = sorted((lab.directory / "logs").glob("*.log"))
    for log in logs:
        private.copy(log, target / log.name)
    return len(logs)


def run_demo(
    topology: str = "ha",
    *,
    evidence_root: Path = Path("evidence"),
    sample_objects: int = 64,
    verify_timeout: float = 20.0,
    lose: str = "s3-1",
    say: Callable[[str], None] = print,
) -> int:
    """Run every stage; the exit code is the final readiness (GO for ha, INTERIM_ONLY expected
    for singleton). ``lose`` is the gateway the ha maintenance kills: ``s3-1`` serves the
    package's ``endpoint_url`` (the primary), ``s3-2`` a secondary."""
    stamp = datetime.now(UTC).strftime("%Y%m%dt%H%M%Sz")
    evidence = (evidence_root / f"demo-{topology}-{stamp}").resolve()
    evidence.mkdir(parents=True, exist_ok=True)
    expect_interim = topology == "singleton"
    stages: list[tuple[str, float]] = []
    total = time.monotonic()

    def stage(name: str, action: Callable[[], object]) -> None:
        say(f"demo: [{len(stages) + 1}] {name} ...")
        t0 = time.monotonic()
        action()
        stages.append((name, time.monotonic() - t0))
        say(f"demo: [{len(stages)}] {name}: done in {stages[-1][1]:.1f} s")

    with tempfile.TemporaryDirectory(prefix="hastate-demo-lab-") as lab_dir:
        lab: LabCluster | None = None
        env: dict[str, str] = {}
        try:

            def up() -> None:
                nonlocal lab, env
                lab = start(Path(lab_dir), topology, progress=say)
                env = {**os.environ, **environment(lab)}

            stage(f"start the {topology} lab", up)
            assert lab is not None
            package = str(lab.package_path)
            checkpoint = str(evidence / "checkpoint.json")
            common = [
                "--endpoint-package",
                package,
                "--evidence-dir",
                str(evidence),
                "-p",
                "no:cacheprovider",
            ]
            if expect_interim:
                common.append("--expect-interim")

            def proof(phase: str, *args: str, ok: tuple[int, ...]) -> None:
                argv = [
                    sys.executable,
                    "-m",
                    "pytest",
                    str(PROOFS),
                    *common,
                    "--junitxml",
                    str(evidence / f"junit-{phase}.xml"),
                    *args,
                ]
                code = subprocess.run(argv, env=env, check=False).returncode
                if code not in ok:
                    raise DemoFailed(
                        f"the {phase} proof exited {code} (see {evidence / f'verdict-{phase}.json'})"
                    )

            stage(
                "pre-maintenance proof (scratch S3, disposable OpenTofu, checkpoint)",
                lambda: proof(
                    "baseline",
                    "--run-disposable-tofu",
                    "--use-lockfile",
                    "--keep-scratch-bucket",
                    "--checkpoint-file",
                    checkpoint,
                    "--sample-objects",
                    str(sample_objects),
                    ok=(0, 10),
                ),
            )
            running: LabCluster = lab

            def break_one_of_each() -> None:
                running.kill(lose)
                running.kill("volume-2")

            def restart_gateway() -> None:
                running.restart("s3-1")

            if topology == "ha":
                event = "endpoint-loss"
                stage(f"maintenance: kill the S3 gateway {lose} and volume-2", break_one_of_each)
            else:
                event = "restart"
                stage("maintenance: restart the S3 gateway", restart_gateway)
            stage(
                f"post-maintenance verify ({event})",
                lambda: proof(
                    "post-maintenance",
                    "--verify-existing",
                    "--from-checkpoint",
                    checkpoint,
                    "--maintenance-event",
                    event,
                    "--verify-timeout",
                    str(verify_timeout),
                    ok=(0,),
                ),
            )
            stage(
                "cleanup",
                lambda: proof(
                    "cleanup",
                    "--cleanup-checkpoint",
                    "--delete-scratch-bucket",
                    "--from-checkpoint",
                    checkpoint,
                    ok=(0,),
                ),
            )
        except DemoFailed as exc:
            say(f"demo: STOPPED: {exc}")
            return 1
        finally:
            if lab is not None:
                stopped = lab.down()
                say(f"demo: lab stopped ({len(stopped)} processes)")
                copied = scrub_logs(lab, evidence / "lab-logs", Masker.from_environment(env))
                say(f"demo: {copied} lab logs copied (scrubbed) into the bundle")
    findings = check_bundle(evidence, masker=Masker.from_environment(env))
    for finding in findings:
        say(f"demo: evidence check: {finding}")
    ready = readiness(evidence, expect_interim=expect_interim)
    say(
        "demo: stages: "
        + ", ".join(f"{name.split(' (')[0]} {seconds:.1f} s" for name, seconds in stages)
    )
    say(f"demo: total {time.monotonic() - total:.1f} s; evidence in {evidence}")
    say(f"demo: verdict {ready.message}")
    if findings:
        return 1
    return ready.exit_code
