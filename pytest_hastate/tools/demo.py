"""``hastate demo``: the whole proof on a local lab, stage by stage, with an evidence bundle.

ha:        lab up -> pre-maintenance proof (OpenTofu, checkpoint) -> kill one S3 gateway and one
           volume server (Ceph: one OSD) -> post-maintenance verify (endpoint-loss) -> cleanup
           -> lab down: GO on SeaweedFS; STOP on Ceph RGW 16 (conditional writes are ignored in
           a versioned bucket, so OpenTofu's lockfile cannot lock), as expected.
singleton: the same, with a gateway restart as the maintenance: INTERIM_ONLY (one endpoint).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pytest_hastate.errors import DemoFailed
from pytest_hastate.exit_codes import ExitCode
from pytest_hastate.io.evidence import write_atomic
from pytest_hastate.io.profiles import LoadedProfile
from pytest_hastate.io.redact import Masker
from pytest_hastate.lab import LabCluster, start
from pytest_hastate.lab.artifacts import environment
from pytest_hastate.tools.bundle import check_bundle, readiness
from pytest_hastate.tools.paths import proof_argv, utc_stamp
from pytest_hastate.tools.watched import watching


def scrub_logs(lab: LabCluster, target: Path, masker: Masker) -> int:
    """Copy the lab's process logs into the bundle without secrets or private paths."""
    home = str(Path.home()).rstrip("/") + "/"
    private = masker.with_paths({str(lab.directory): "<lab>", home: "~/"})
    logs = sorted((lab.directory / "logs").glob("*.log"))
    for log in logs:
        private.copy(log, target / log.name)
    return len(logs)


RESTART_DOWN_SECONDS = 1.0
"""How long the singleton demo's gateway stays down in its restart."""


@dataclass
class Demo:
    """The stages of one demo, each timed and printed; the lab is always stopped."""

    topology: str
    engine: str
    evidence: Path
    sample_objects: int
    verify_timeout: float
    lose: str
    say: Callable[[str], None]
    profile: LoadedProfile | None = None
    stages: list[tuple[str, float]] = field(default_factory=list)
    lab: LabCluster | None = None
    env: dict[str, str] = field(default_factory=dict)

    @property
    def expect_interim(self) -> bool:
        return self.topology == "singleton" and self.engine == "seaweedfs"

    @property
    def expect_stop(self) -> bool:
        """Ceph RGW 16 cannot hold OpenTofu's lockfile in a versioned bucket: STOP is the
        verdict a careful tool owes it, and the demo ends as expected when it says so."""
        return self.engine == "ceph"

    def ok(self, *codes: int) -> tuple[int, ...]:
        return (*codes, 1) if self.expect_stop else codes

    @property
    def checkpoint(self) -> str:
        return str(self.evidence / "checkpoint.json")

    def stage(self, name: str, action: Callable[[], object]) -> None:
        self.say(f"demo: [{len(self.stages) + 1}] {name} ...")
        t0 = time.monotonic()
        action()
        self.stages.append((name, time.monotonic() - t0))
        self.say(f"demo: [{len(self.stages)}] {name}: done in {self.stages[-1][1]:.1f} s")

    def up(self, lab_dir: Path) -> None:
        self.lab = start(
            lab_dir, self.topology, engine=self.engine, progress=self.say, profile=self.profile
        )
        self.env = {**os.environ, **environment(self.lab)}

    def proof(self, phase: str, *args: str, ok: tuple[int, ...]) -> None:
        assert self.lab is not None
        argv = proof_argv(
            self.evidence, "--endpoint-package", str(self.lab.package_path),
            "--junitxml", str(self.evidence / f"junit-{phase}.xml"),
            *(["--expect-interim"] if self.expect_interim else []), *args,
        )  # fmt: skip
        code = subprocess.run(argv, env=self.env, check=False).returncode
        if code not in ok:
            where = self.evidence / f"verdict-{phase}.json"
            raise DemoFailed(f"the {phase} proof exited {code} (see {where})")

    def chain(self) -> None:
        """Pre-maintenance proof, the maintenance, the verify, the cleanup."""
        self.stage(
            "pre-maintenance proof (scratch S3, disposable OpenTofu, checkpoint)",
            lambda: self.proof(
                "baseline", "--run-disposable-tofu", "--use-lockfile", "--keep-scratch-bucket",
                "--checkpoint-file", self.checkpoint, "--sample-objects", str(self.sample_objects),
                ok=self.ok(ExitCode.OK, ExitCode.INTERIM_ONLY),
            ),
        )  # fmt: skip
        event = self.maintenance()
        self.stage(
            f"post-maintenance verify ({event})",
            lambda: self.proof(
                "post-maintenance", "--verify-existing", "--from-checkpoint", self.checkpoint,
                "--maintenance-event", event, "--verify-timeout", str(self.verify_timeout),
                ok=self.ok(ExitCode.OK),
            ),
        )  # fmt: skip
        self.stage(
            "cleanup",
            lambda: self.proof(
                "cleanup", "--cleanup-checkpoint", "--delete-scratch-bucket", "--from-checkpoint",
                self.checkpoint, ok=self.ok(ExitCode.OK),
            ),
        )  # fmt: skip

    def maintenance(self) -> str:
        """The maintenance, watched (``hastate watch`` records the window around it)."""
        lab = self.lab
        assert lab is not None
        if self.topology != "ha":
            name, event = (
                f"restart the S3 gateway s3-1 (down {RESTART_DOWN_SECONDS:.0f} s)",
                "restart",
            )

            def act() -> None:
                # Down for a moment, as a pod being replaced is: the watch sees the outage
                # whatever the machine's speed (a bare restart can fall between two operations).
                lab.kill("s3-1")
                time.sleep(RESTART_DOWN_SECONDS)
                lab.restart("s3-1")

        else:
            node = "osd-1" if self.engine == "ceph" else "volume-2"
            name, event = f"kill the S3 gateway {self.lose} and {node}", "endpoint-loss"

            def act() -> None:
                lab.kill(self.lose)
                lab.kill(node)

        def watched() -> None:
            with watching(lab.package_path, Path(self.checkpoint), self.evidence, self.env,
                          self.say) as mark:  # fmt: skip
                mark(name)
                act()

        self.stage(f"maintenance, watched: {name}", watched)
        return event

    def down(self) -> None:
        if self.lab is None:
            return
        stopped = self.lab.down()
        self.say(f"demo: lab stopped ({len(stopped)} processes)")
        copied = scrub_logs(self.lab, self.evidence / "lab-logs", Masker.from_environment(self.env))
        self.say(f"demo: {copied} lab logs copied (scrubbed) into the bundle")

    def picture(self) -> str:
        found = sorted(self.evidence.glob("watch-*.png"))
        return str(found[-1]) if found else "none (pip install 'pytest-hastate[report]')"

    def finish(self, started: float) -> int:
        findings = check_bundle(self.evidence, masker=Masker.from_environment(self.env))
        for finding in findings:
            self.say(f"demo: evidence check: {finding}")
        ready = readiness(self.evidence, expect_interim=self.expect_interim)
        times = ", ".join(f"{name.split(' (')[0]} {seconds:.1f} s" for name, seconds in self.stages)
        self.say(f"demo: stages: {times}")
        self.say(f"demo: total {time.monotonic() - started:.1f} s; evidence in {self.evidence}")
        self.say(f"demo: report {write_reports(self.evidence)}; picture {self.picture()}")
        for line in observability_lines(self.evidence):
            self.say(f"demo: {line}")
        if self.expect_stop:
            stopped = ready.message.startswith("not ready: STOP")
            ended = "ended as expected" if stopped else "expected STOP, got"
            self.say(f"demo: {ended}: {ready.message.removeprefix('not ready: ')}")
            return ExitCode.STOP if findings or not stopped else ExitCode.OK
        self.say(f"demo: verdict {ready.message}")
        return ExitCode.STOP if findings else ready.exit_code


def observability_lines(evidence: Path) -> list[str]:
    """What the backend's own metrics showed, per signal, from the chain's phases."""
    from pytest_hastate.models import Checkpoint

    chain = evidence / "checkpoint.json"
    if not chain.is_file():
        return []
    lines: list[str] = []
    for phase in Checkpoint.model_validate_json(chain.read_text("utf-8")).phases:
        shown = phase.facts.observability.signals if phase.facts.observability else []
        for signal in shown:
            outcome = "proven" if signal.proven else "not proven"
            lines.append(
                f"observability.{signal.signal} {outcome} ({phase.phase}): {signal.message}"
            )
    return lines


def write_reports(evidence: Path) -> Path:
    """report.md and report.html into the bundle; returns the HTML one."""
    from pytest_hastate.tools.report import render

    write_atomic(evidence / "report.md", render(evidence, "markdown"))
    html = evidence / "report.html"
    write_atomic(html, render(evidence, "html"))
    return html


def run_demo(
    topology: str = "ha",
    *,
    engine: str = "seaweedfs",
    evidence_root: Path = Path("evidence"),
    sample_objects: int = 64,
    verify_timeout: float = 20.0,
    lose: str = "s3-1",
    say: Callable[[str], None] = print,
    profile: LoadedProfile | None = None,
) -> int:
    """Run every stage; the exit code is the final readiness (GO for ha, INTERIM_ONLY expected
    for singleton). ``lose`` is the gateway the ha maintenance kills: ``s3-1`` serves the
    package's ``endpoint_url`` (the primary), ``s3-2`` a secondary."""
    stamp = utc_stamp()
    label = topology if engine == "seaweedfs" else f"{engine}-{topology}"
    evidence = (evidence_root / f"demo-{label}-{stamp}").resolve()
    evidence.mkdir(parents=True, exist_ok=True)
    demo = Demo(topology, engine, evidence, sample_objects, verify_timeout, lose, say, profile)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="hastate-demo-lab-") as lab_dir:
        try:
            demo.stage(f"start the {engine} {topology} lab", lambda: demo.up(Path(lab_dir)))
            demo.chain()
        except DemoFailed as exc:
            say(f"demo: STOPPED: {exc}")
            return ExitCode.STOP
        finally:
            demo.down()
    return demo.finish(started)
