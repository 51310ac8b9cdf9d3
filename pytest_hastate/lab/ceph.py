"""A real Ceph RGW cluster on loopback: the second lab engine (Debian's Ceph 16.2 packages).

Topology ``ha``: one monitor, three memstore OSDs (pools of size 3, min size 2, one host), two
radosgw gateways over HTTPS with the lab CA. Topology ``singleton``: one monitor, one OSD, one
gateway. Started without systemd and without the host's Ceph configuration (auth none with crc
mode, fast paxos, no recovery sleep: what a loopback cluster needs to start in seconds).
Component names follow the SeaweedFS lab: gateways are ``s3-1``, ``s3-2``; OSDs ``osd-0`` ...
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import uuid
from pathlib import Path

from pytest_hastate.errors import LabError
from pytest_hastate.lab.engine import (
    VOLUME_SLOTS,
    Component,
    LabCluster,
    LabState,
    Topology,
    free_ports,
)
from pytest_hastate.lab.processes import alive, command_line, http_get, wait_until

BINARIES = ("ceph-mon", "ceph-osd", "radosgw", "radosgw-admin", "monmaptool", "ceph")
INSTALL = (
    "apt-get install -y --no-install-recommends ceph-mon ceph-osd ceph-mgr radosgw ceph-common"
)
COUNTS: dict[str, dict[str, int]] = {"ha": {"osd": 3, "s3": 2}, "singleton": {"osd": 1, "s3": 1}}
PROOF_MAX_BUCKETS = 20  # the proof identity creates (and deletes) its probe buckets


def missing_binaries() -> list[str]:
    return [name for name in BINARIES if shutil.which(name) is None]


def require_binaries() -> None:
    missing = missing_binaries()
    if missing:
        raise LabError(
            f"the Ceph lab needs {', '.join(missing)}: install them as root with: {INSTALL}"
        )


class CephLab(LabCluster):
    """Start, inspect, break and stop a local Ceph RGW cluster. Works without pytest."""

    engine = "ceph"
    kinds = ("mon", "osd", "s3")

    @property
    def osd_uuids(self) -> dict[str, str]:
        """Each OSD's identity (kept in the lab state: a restarted OSD is the same OSD)."""
        uuids: dict[str, str] = self._require_state().engine_state.setdefault("osd_uuids", {})
        return uuids

    @property
    def conf(self) -> Path:
        return self.directory / "ceph.conf"

    # --- planning -------------------------------------------------------------------------

    def _plan(self, topology: Topology, volume_slots: int = VOLUME_SLOTS) -> LabState:
        counts = COUNTS[topology]
        state = LabState(topology=topology, directory=str(self.directory), engine=self.engine)
        ports = iter(free_ports(1 + 2 * counts["s3"]))
        conf = str(self.conf)
        state.components["mon-a"] = Component(
            "mon-a", "mon", {"mon": next(ports)}, ["ceph-mon", "-c", conf, "-i", "a", "-f"]
        )
        for index in range(counts["osd"]):
            name = f"osd-{index}"
            state.components[name] = Component(
                name, "osd", {}, ["ceph-osd", "-c", conf, "-i", str(index), "-f"]
            )
        for index in range(1, counts["s3"] + 1):
            name = f"s3-{index}"
            state.components[name] = Component(
                name, "s3", {"http": next(ports), "https": next(ports)},
                ["radosgw", "-c", conf, "-n", f"client.rgw.{index}", "-f"],
            )  # fmt: skip
        return state

    def _conf_text(self) -> str:
        state = self._require_state()
        d, size = self.directory, COUNTS[state.topology]["osd"]
        mon = state.components["mon-a"].ports["mon"]
        lines = [
            "[global]", f"fsid = {self._fsid()}", f"mon host = v2:127.0.0.1:{mon}",
            "mon initial members = a",
            "auth cluster required = none", "auth service required = none",
            "auth client required = none", "auth allow insecure global id reclaim = true",
            f"osd pool default size = {size}", f"osd pool default min size = {min(size, 2)}",
            "osd crush chooseleaf type = 0", "osd objectstore = memstore",
            "memstore device bytes = 1073741824", "osd recovery sleep hdd = 0",
            "mon allow pool delete = true", "mon allow pool size one = true",
            "mon warn on pool no redundancy = false", "paxos propose interval = 0.05",
            "admin socket = ", f"run dir = {d / 'run'}", f"log file = {d / 'logs'}/$name.log",
            f"mon data = {d}/mon-$id", f"osd data = {d}/osd-$id",
            "[client]", "ms mon client mode = crc",
        ]  # fmt: skip
        cert, key = d / "s3-cert.pem", d / "s3-key.pem"
        for gateway in self._of_kind("s3"):
            index = gateway.name.split("-")[1]
            lines += [
                f"[client.rgw.{index}]",
                f"rgw frontends = beast endpoint=127.0.0.1:{gateway.ports['http']} "
                f"ssl_endpoint=127.0.0.1:{gateway.ports['https']} "
                f"ssl_certificate={cert} ssl_private_key={key}",
                f"rgw data = {d / gateway.name}",
            ]
        return "\n".join(lines) + "\n"

    def _fsid(self) -> str:
        path = self.directory / "fsid"
        if not path.is_file():
            path.write_text(str(uuid.uuid4()))
        return path.read_text().strip()

    # --- lifecycle ------------------------------------------------------------------------

    def _check_can_start(self) -> None:
        require_binaries()

    def _prepare(self) -> None:
        (self.directory / "run").mkdir(exist_ok=True)
        self.conf.write_text(self._conf_text(), "utf-8")

    def _start_kind(self, kind: str, group: list[Component], timeout: float) -> None:
        if kind == "mon":
            self._make_monitor()
        for component in group:
            self._start(component)
        for component in group:
            self._wait_ready(component, timeout)

    def _after_start(self) -> None:
        self._make_users()  # the admin and proof users, once the gateways answer

    def _make_monitor(self) -> None:
        monmap = self.directory / "monmap"
        mon = self._require_state().components["mon-a"].ports["mon"]
        self._tool(["monmaptool", "--create", "--clobber", "--add", "a", f"127.0.0.1:{mon}",
                    "--fsid", self._fsid(), str(monmap)])  # fmt: skip
        shutil.rmtree(self.directory / "mon-a", ignore_errors=True)
        self._tool(["ceph-mon", "-c", str(self.conf), "--mkfs", "-i", "a", "--monmap", str(monmap)])

    def _start(self, component: Component) -> None:
        if component.kind == "osd":
            self._make_osd(component)  # memstore: a restarted OSD is a replaced, empty disk
        super()._start(component)

    def _make_osd(self, component: Component) -> None:
        osd_uuids = self.osd_uuids
        osd_id = component.argv[component.argv.index("-i") + 1]
        if component.name not in osd_uuids:
            osd_uuids[component.name] = str(uuid.uuid4())
            created = self._ceph("osd", "new", osd_uuids[component.name]).strip()
            if created != osd_id:
                raise LabError(f"ceph osd new gave id {created}, expected {osd_id}")
        data = self.directory / f"osd-{osd_id}"
        shutil.rmtree(data, ignore_errors=True)
        data.mkdir(parents=True)
        self._tool(["ceph-osd", "-c", str(self.conf), "-i", osd_id, "--mkfs",
                    "--osd-uuid", osd_uuids[component.name]])  # fmt: skip

    def _make_users(self) -> None:
        creds = self.credentials
        assert creds is not None
        for uid, key, secret, extra in (
            ("lab-admin", creds.admin_key, creds.admin_secret, []),
            ("hastate-proof", creds.proof_key, creds.proof_secret,
             [f"--max-buckets={PROOF_MAX_BUCKETS}"]),
        ):  # fmt: skip
            self._tool(["radosgw-admin", "-c", str(self.conf), "user", "create", f"--uid={uid}",
                        f"--display-name={uid}", f"--access-key={key}", f"--secret={secret}",
                        *extra])  # fmt: skip

    def _wait_ready(self, component: Component, timeout: float) -> None:
        checks = {
            "mon": lambda: self._ceph_ok("mon", "stat"),
            "osd": lambda: self._osd_up(component),
            "s3": lambda: http_get(f"{component.endpoint}/", ca=self.ca)[0] == 200,
        }
        waited = wait_until(
            component.name, checks[component.kind], timeout=timeout,
            still_running=lambda: component.pid is not None and alive(component.pid),
        )  # fmt: skip
        self.progress(f"lab: {component.name} ready after {waited:.1f} s")

    def _osd_up(self, component: Component) -> bool:
        osd_id = int(component.argv[component.argv.index("-i") + 1])
        try:
            dump = json.loads(self._ceph("osd", "dump", "--format", "json"))
        except (LabError, ValueError):
            return False
        return any(o["osd"] == osd_id and o["up"] == 1 for o in dump.get("osds", []))

    # --- the ceph command line ------------------------------------------------------------

    def _env(self) -> dict[str, str]:
        return {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("AWS_", "TOFU_HA_STATE_", "CEPH_"))
        }

    def _tool(self, argv: list[str], timeout: float = 30.0) -> str:
        try:
            done = subprocess.run(
                argv, cwd=self.directory, env=self._env(), capture_output=True, text=True,
                timeout=timeout, check=False,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            raise LabError(
                f"{argv[0]} {argv[1]} ... gave no answer within {timeout:.0f} s"
            ) from None
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            raise LabError(f"{' '.join(argv[:2])} ... exited {done.returncode}: {tail[0]}")
        return done.stdout

    def _ceph(self, *args: str) -> str:
        return self._tool(["ceph", "-c", str(self.conf), "--connect-timeout", "5", *args], 15)

    def _ceph_ok(self, *args: str) -> bool:
        try:
            self._ceph(*args)
        except LabError:
            return False
        return True

    # --- what differs from SeaweedFS ------------------------------------------------------

    def _is_ours(self, component: Component) -> bool:
        if component.pid is None or not alive(component.pid):
            return False
        cmd = command_line(component.pid)
        return Path(component.argv[0]).name in cmd and str(self.conf) in cmd

    def leader(self) -> str | None:
        """One monitor: it leads when it answers."""
        return "mon-a" if self.state is not None and self._ceph_ok("mon", "stat") else None


def scratch_policy(bucket: str) -> str:
    """The bucket policy that opens the admin's scratch bucket to the proof identity."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": f"hastate-proof-{secrets.token_hex(2)}",
                    "Effect": "Allow",
                    "Principal": {"AWS": ["arn:aws:iam:::user/hastate-proof"]},
                    "Action": ["s3:*"],
                    "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
                }
            ],
        }
    )
