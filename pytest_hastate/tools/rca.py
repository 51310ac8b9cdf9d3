"""``hastate rca`` (``just rustfs-bucket-index-rca --scratch-probe --since 30m``): a root-cause
look at a live store. The scratch bucket-index probe (proof step 2b's bucket-index tests), plus
what the store itself reported in the window: its pods' restarts, their events, and their
container logs scanned for bucket/index divergence and heal signatures. Read-only: list, get
and log calls, never exec."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from pytest_hastate.errors import InputError
from pytest_hastate.models.profile import Profile

RCA_SCHEMA = "pytest_hastate.rca.v1"
SIGNATURES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("bucket/index divergence", re.compile(
        r"no ?such ?bucket|bucket (not found|does not exist)|bucket metadata|index (mismatch|"
        r"inconsisten|diverg)|inconsistent|listing (mismatch|differs)|xl\.meta|version not found|"
        r"object not found", re.I)),
    ("heal or repair", re.compile(r"\bheal(s|ing|ed)?\b|\brepair|\brebuild|\bresync|reconcil", re.I)),
    ("storage errors", re.compile(
        r"disk not found|drive (offline|not found)|i/o error|no space left|read-only file system|"
        r"quorum|erasure|no writable volumes", re.I)),
    ("crash or restart", re.compile(r"\bpanic\b|\bfatal\b|oomkilled|segmentation fault|shutting down", re.I)),
)  # fmt: skip
_DURATION = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_since(text: str) -> int:
    """``30m``, ``2h``, ``45s``, ``1d`` -> seconds; anything else is one input error."""
    match = _DURATION.match(text)
    if match is None or int(match.group(1)) == 0:
        raise InputError("--since", text, "expected a duration such as 30m, 2h or 45s")
    return int(match.group(1)) * _UNIT[match.group(2)]


class Reader(Protocol):
    source: str

    def list(self, resource: str) -> list[dict[str, Any]]: ...

    def pod_log(self, namespace: str, pod: str, container: str, since_seconds: int) -> str: ...


@dataclass
class PodFindings:
    namespace: str
    pod: str
    node: str
    restarts: int
    last_termination: str | None
    events: list[str] = field(default_factory=list)
    signatures: dict[str, dict[str, Any]] = field(default_factory=dict)
    log_problem: str | None = None


def scan_log(text: str) -> dict[str, dict[str, Any]]:
    """Per signature: how many lines match, and the first of them (trimmed)."""
    found: dict[str, dict[str, Any]] = {}
    for line in text.splitlines():
        for name, pattern in SIGNATURES:
            if pattern.search(line):
                hit = found.setdefault(name, {"lines": 0, "first": " ".join(line.split())[:200]})
                hit["lines"] += 1
    return found


def _selector_matches(selector: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def parse_selector(text: str) -> dict[str, str]:
    pairs = [part.split("=", 1) for part in text.split(",") if part.strip()]
    if not pairs or any(len(p) != 2 or not p[0].strip() for p in pairs):
        raise InputError("--selector", text, "expected key=value[,key=value]")
    return {k.strip(): v.strip() for k, v in pairs}


def store_pods(
    reader: Reader, selector: Mapping[str, str] | None, profile: Profile
) -> list[dict[str, Any]]:
    """The store's pods: those matching ``selector``, else those of every S3 store the
    inventory recognises."""
    pods = reader.list("pods")
    if selector:
        return [p for p in pods if _selector_matches(selector, p["metadata"].get("labels") or {})]
    from pytest_hastate.tools.inventory import discover

    surfaces, _storage = discover(reader.list, profile)
    wanted = {(s.namespace, name) for s in surfaces for name in s.pods}
    return [p for p in pods if (p["metadata"].get("namespace"), p["metadata"]["name"]) in wanted]


def _when(event: Mapping[str, Any]) -> datetime | None:
    for key in ("lastTimestamp", "eventTime", "firstTimestamp"):
        value = event.get(key) or None
        if value:
            return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    created = event.get("metadata", {}).get("creationTimestamp")
    return datetime.fromisoformat(str(created).replace("Z", "+00:00")) if created else None


def _restarts(pod: Mapping[str, Any]) -> tuple[int, str | None]:
    statuses = pod.get("status", {}).get("containerStatuses") or []
    count = sum(int(s.get("restartCount", 0)) for s in statuses)
    last = [s.get("lastState", {}).get("terminated") for s in statuses]
    ended = [t for t in last if t]
    if not ended:
        return count, None
    t = ended[-1]
    return (
        count,
        f"{t.get('reason', 'terminated')} (exit {t.get('exitCode', '?')}) at {t.get('finishedAt', '?')}",
    )


def gather(
    reader: Reader, pods: Sequence[Mapping[str, Any]], since: int, now: datetime
) -> list[PodFindings]:
    """Restarts, events in the window and log signatures of every pod."""
    start = now - timedelta(seconds=since)
    events = [
        e for e in reader.list("events") if (e.get("involvedObject") or {}).get("kind") == "Pod"
    ]
    findings: list[PodFindings] = []
    for pod in pods:
        meta = pod["metadata"]
        namespace, name = meta.get("namespace", "default"), meta["name"]
        restarts, last = _restarts(pod)
        found = PodFindings(
            namespace, name, pod.get("spec", {}).get("nodeName", "?"), restarts, last
        )
        for event in events:
            target = event["involvedObject"]
            when = _when(event)
            if (
                target.get("name") == name
                and target.get("namespace", namespace) == namespace
                and (when is None or when >= start)
            ):
                found.events.append(
                    f"{event.get('type', '?')} {event.get('reason', '?')}: {event.get('message', '')}"[
                        :200
                    ]
                )
        for container in pod.get("spec", {}).get("containers", []):
            found.signatures.update(
                _scan(reader, namespace, name, container.get("name", ""), since, found)
            )
        findings.append(found)
    return findings


def _scan(
    reader: Reader, namespace: str, pod: str, container: str, since: int, found: PodFindings
) -> dict[str, dict[str, Any]]:
    from pytest_hastate.errors import InventoryError

    try:
        return scan_log(reader.pod_log(namespace, pod, container, since))
    except InventoryError as exc:
        found.log_problem = str(exc)
        return {}


@dataclass
class ProbeResult:
    """What the scratch bucket-index probe said (from its verdict file)."""

    ran: bool
    verdict: str | None = None
    criteria: dict[str, str] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)
    views: dict[str, str] = field(default_factory=dict)
    list_buckets: str | None = None


def conclusions(probe: ProbeResult, pods: Sequence[PodFindings] | None) -> list[str]:
    """A short reading of both halves together (observations first, then what they suggest)."""
    lines: list[str] = []
    diverged = probe.criteria.get("scratch.index_consistency") == "failed"
    logged = sum(
        (p.signatures.get("bucket/index divergence") or {}).get("lines", 0) for p in pods or ()
    )
    healed = sum((p.signatures.get("heal or repair") or {}).get("lines", 0) for p in pods or ())
    restarts = sum(p.restarts for p in pods or ())
    if probe.ran:
        lines.append(
            "the probe saw the bucket index "
            + ("diverge" if diverged else "agree on every endpoint")
        )
    if pods is not None:
        lines.append(
            f"the store logged {logged} divergence line(s), {healed} heal/repair line(s), {restarts} restart(s) in the window"
        )
        if diverged and logged:
            lines.append(
                "the probe's divergence matches what the store logged: look at the divergence lines first"
            )
        elif diverged:
            lines.append(
                "the store logged no divergence: the divergence may be in a layer in front of it (gateway, proxy, cache)"
            )
        elif healed or logged:
            lines.append(
                "the index agrees now, but the store repaired or diverged in the window: repeat the probe after the next heal"
            )
    return lines


def document(probe: ProbeResult, pods: Sequence[PodFindings] | None, unavailable: str | None,
             source: str | None, since: int) -> dict[str, Any]:  # fmt: skip
    return {
        "rca_schema": RCA_SCHEMA,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "window_seconds": since,
        "probe": asdict(probe),
        "store": None if pods is None else {"source": source, "pods": [asdict(p) for p in pods]},
        "store_unavailable": unavailable,
        "conclusions": conclusions(probe, pods),
        "non_secret": True,
    }


def render(doc: Mapping[str, Any]) -> Iterable[str]:
    """The short RCA an operator reads, next to the probe's per-endpoint result."""
    probe = doc["probe"]
    if probe["ran"]:
        yield f"probe: {probe['verdict']}"
        for endpoint, view in probe["views"].items():
            yield f"  {endpoint}: {view}"
        if probe["list_buckets"]:
            yield f"  ListBuckets {probe['list_buckets']}"
        if probe["verdict"] == "STOP":
            yield from (f"  - {r}" for r in probe["reasons"][:5])
    store = doc["store"]
    if store is None:
        yield f"store: the log part was not available: {doc['store_unavailable']}"
    else:
        yield f"store: {len(store['pods'])} pod(s) from {store['source']}, last {doc['window_seconds']} s"
        for pod in store["pods"]:
            hits = (
                ", ".join(f"{n} x{h['lines']}" for n, h in pod["signatures"].items())
                or "no signature"
            )
            yield f"  {pod['namespace']}/{pod['pod']} on {pod['node']}: {pod['restarts']} restart(s); {len(pod['events'])} event(s); {hits}"
            for name, hit in pod["signatures"].items():
                yield f"    first {name}: {hit['first']}"
    yield from (f"rca: {line}" for line in doc["conclusions"])
