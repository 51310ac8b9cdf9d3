"""The engine-neutral lab: its state file, ports, credentials and CA, and the verbs every
engine shares (start, kill, restart, down), with the processes it starts always stopped
(SIGTERM, then SIGKILL). The engines are its siblings: ``seaweedfs`` (the default, pip only)
and ``ceph`` (Debian's Ceph packages). Works without pytest.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

from pytest_hastate.errors import LabError
from pytest_hastate.io.evidence import write_atomic
from pytest_hastate.lab.processes import alive, command_line, spawn, terminate
from pytest_hastate.lab.tls import make_ca

Topology = Literal["ha", "singleton"]
STATE_FILE = "lab.json"
CREDENTIALS_FILE = "credentials.json"
SCRATCH_BUCKET = "hastate-lab-scratch"
REGION = "us-east-1"
READY_TIMEOUT = 90.0
VOLUME_SLOTS = 300


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
    protected_bucket: str = "tofu-state"  # the seeded protected bucket (the profile's first)
    engine_state: dict[str, Any] = field(default_factory=dict)  # what only the engine reads

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> LabState:
        data = json.loads(text)
        data["components"] = {n: Component(**c) for n, c in data["components"].items()}
        if "osd_uuids" in data:  # a lab.json written before engine_state
            data.setdefault("engine_state", {})["osd_uuids"] = data.pop("osd_uuids")
        return cls(**data)


def write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


class LabCluster:
    """A local lab of one engine: what every engine shares. An engine (a subclass) plans its
    components and says how each kind starts and when it is ready."""

    engine: ClassVar[str] = ""
    kinds: ClassVar[tuple[str, ...]] = ()
    """Component kinds in start order (stopped in reverse)."""
    stop_grace: ClassVar[dict[str, float]] = {}
    """Seconds between SIGTERM and SIGKILL on teardown, by kind (default 3 s)."""

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

    def metrics_sources(self) -> list[dict[str, str]]:
        """The package's ``metrics_sources`` for this lab (none unless the engine exports any)."""
        return []

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

    # --- what each engine says ------------------------------------------------------------

    def _plan(self, topology: Topology, volume_slots: int = VOLUME_SLOTS) -> LabState:
        """The components of ``topology``, their ports and command lines."""
        raise NotImplementedError

    def _check_can_start(self) -> None:
        """Refuse before anything is written (e.g. the engine's binaries are missing)."""

    def _prepare(self) -> None:
        """Files the processes read at start (after the plan, before the first process)."""

    def _start_kind(self, kind: str, group: list[Component], timeout: float) -> None:
        for component in group:
            self._start(component)
        for component in group:
            self._wait_ready(component, timeout)

    def _after_start(self) -> None:
        """Work once every process is ready (e.g. users the engine keeps itself)."""

    def _wait_ready(self, component: Component, timeout: float) -> None:
        raise NotImplementedError

    def leader(self) -> str | None:
        """The component that leads the cluster's consensus, if the engine has one."""
        return None

    def identities(self) -> dict[str, Any]:
        """The gateways' identity configuration, for engines that read one from a file."""
        return {}

    def request_counts(self, bucket: str) -> dict[str, int]:
        raise LabError(f"request counts by bucket are not read from the {self.engine} lab")

    def set_proof_actions(self, extra: list[str], *, timeout: float = READY_TIMEOUT) -> None:
        raise LabError(f"the {self.engine} lab does not scope the proof identity by actions")
