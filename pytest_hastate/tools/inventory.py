"""Live inventory of object stores and storage classes that could hold OpenTofu state.

The only module that imports the kubernetes client. Read-only: list calls only (no watch, no
write verb). Each surface is classified with its reasons shown:

- ``rejected-final``: single replica / single ready endpoint / single RWO volume, local-path
  storage, coupled to a cache (namespace or labels with the profile's cache-coupling words), or
  a store the profile says is never state authority;
- ``staging-only``: staging namespaces or labels;
- ``conditional-candidate``: distributed (two or more ready endpoints on two or more nodes),
  replicated storage, not cache-coupled; mapped to the profile's candidate class for its
  engine.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pytest_hastate.errors import InputError, InventoryError
from pytest_hastate.exit_codes import ExitCode
from pytest_hastate.extras import require
from pytest_hastate.gates.declarations import compiled
from pytest_hastate.models.profile import Profile

INVENTORY_SCHEMA = "pytest_hastate.inventory.v1"
NO_CANDIDATE = "NO_LIVE_HA_STATE_CANDIDATE"
CANDIDATES_FOUND = "CONDITIONAL_CANDIDATES_FOUND"
REQUEST_TIMEOUT = 10

Classification = Literal["rejected-final", "staging-only", "conditional-candidate"]

_STORE_IMAGES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"rustfs", re.I), "rustfs"),
    (re.compile(r"minio|aistor", re.I), "minio"),
    (re.compile(r"seaweedfs|chrislusf/seaweedfs", re.I), "seaweedfs"),
    (re.compile(r"garage", re.I), "garage"),
    (re.compile(r"ceph|radosgw|rgw", re.I), "ceph-rgw"),
)


EXIT_NO_CANDIDATE = ExitCode.NO_CANDIDATE
EXIT_UNREACHABLE = ExitCode.API_UNREACHABLE
EXIT_FORBIDDEN = ExitCode.API_FORBIDDEN


@dataclass
class StorageClassView:
    name: str
    provisioner: str
    parameters: dict[str, str]
    classification: Classification
    reasons: list[str]

    @property
    def replicated(self) -> bool:
        return self.classification == "conditional-candidate"


@dataclass
class Surface:
    kind: str
    namespace: str
    name: str
    store: str
    images: list[str]
    replicas: int
    ready_replicas: int
    ready_endpoints: int
    nodes: list[str]
    volumes: list[dict[str, Any]]
    classification: Classification = "rejected-final"
    candidate_class: str | None = None
    reasons: list[str] = field(default_factory=list)
    pods: list[str] = field(default_factory=list)


# --- reading the cluster ------------------------------------------------------------------------

Lister = Callable[[str], list[dict[str, Any]]]

RESOURCES = {
    "statefulsets": ("AppsV1Api", "list_stateful_set_for_all_namespaces"),
    "deployments": ("AppsV1Api", "list_deployment_for_all_namespaces"),
    "pods": ("CoreV1Api", "list_pod_for_all_namespaces"),
    "services": ("CoreV1Api", "list_service_for_all_namespaces"),
    "endpointslices": ("DiscoveryV1Api", "list_endpoint_slice_for_all_namespaces"),
    "persistentvolumeclaims": ("CoreV1Api", "list_persistent_volume_claim_for_all_namespaces"),
    "storageclasses": ("StorageV1Api", "list_storage_class"),
    "events": ("CoreV1Api", "list_event_for_all_namespaces"),
}


class KubeReader:
    """Read-only access to a cluster (list, get and pod logs; never a write, never exec),
    from the usual config sources: --kubeconfig, KUBECONFIG, in-cluster."""

    def __init__(self, kubeconfig: Path | None, context: str | None) -> None:
        import os

        require("kubernetes", "k8s", "reading a Kubernetes cluster")
        from kubernetes import client, config
        from kubernetes.config.config_exception import ConfigException

        try:
            if (
                kubeconfig is None
                and not os.environ.get("KUBECONFIG")
                and os.environ.get("KUBERNETES_SERVICE_HOST")
            ):
                config.load_incluster_config()  # type: ignore[no-untyped-call]
                self.api_client = client.ApiClient()
                where = "in-cluster"
            else:
                path = str(kubeconfig) if kubeconfig else None
                if path is not None and not Path(path).is_file():
                    raise InputError(f"kubeconfig {path}", "", "file not found")
                self.api_client = config.new_client_from_config(config_file=path, context=context)  # type: ignore[no-untyped-call]
                where = context or "current context"
        except ConfigException as exc:
            raise InputError("kubeconfig", context or "", str(exc).splitlines()[0]) from None
        self.api_client.configuration.retries = 1
        self.host = self.api_client.configuration.host
        self.source = f"{where} ({self.host})"
        self._client = client

    def _call(self, what: str, api_name: str, method: str, *args: Any, **kwargs: Any) -> Any:
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        api = getattr(self._client, api_name)(self.api_client)
        try:
            return getattr(api, method)(
                *args, _preload_content=False, _request_timeout=REQUEST_TIMEOUT, **kwargs
            )
        except ApiException as exc:
            if exc.status in (401, 403):
                raise InventoryError(
                    f"forbidden: cannot {what} on {self.host}: HTTP {exc.status} {exc.reason}",
                    EXIT_FORBIDDEN,
                ) from None
            raise InventoryError(
                f"{what} on {self.host} failed: HTTP {exc.status} {exc.reason}",
                EXIT_UNREACHABLE,
            ) from None
        except (HTTPError, OSError) as exc:
            raise InventoryError(
                f"cannot reach the Kubernetes API server at {self.host}: {type(exc).__name__}",
                EXIT_UNREACHABLE,
            ) from None

    def list(self, resource: str) -> list[dict[str, Any]]:
        """Every object of ``resource`` in every namespace (raw JSON)."""
        api_name, method = RESOURCES[resource]
        response = self._call(f"list {resource} (all namespaces)", api_name, method)
        items: list[dict[str, Any]] = json.loads(response.data).get("items") or []
        return items

    def pod_log(self, namespace: str, pod: str, container: str, since_seconds: int) -> str:
        """A container's log since ``since_seconds`` ago (at most the last 5000 lines)."""
        response = self._call(
            f"get the log of {namespace}/{pod}/{container}", "CoreV1Api", "read_namespaced_pod_log",
            pod, namespace, container=container, since_seconds=since_seconds, tail_lines=5000,
        )  # fmt: skip
        data: bytes = response.data
        return data.decode("utf-8", errors="replace")


def kubernetes_lister(kubeconfig: Path | None, context: str | None) -> tuple[Lister, str]:
    """A read-only lister (the inventory's view of a cluster)."""
    reader = KubeReader(kubeconfig, context)
    return reader.list, reader.source


# --- classification --------------------------------------------------------------------------


def _labels(obj: Mapping[str, Any]) -> dict[str, str]:
    return dict(obj.get("metadata", {}).get("labels") or {})


def _matches(selector: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def classify_storage_class(sc: Mapping[str, Any]) -> StorageClassView:
    name = sc.get("metadata", {}).get("name", "?")
    provisioner = str(sc.get("provisioner", ""))
    parameters = {k: str(v) for k, v in (sc.get("parameters") or {}).items()}
    reasons: list[str] = []
    if (
        "local-path" in provisioner
        or "local-path" in name
        or provisioner == "kubernetes.io/no-provisioner"
    ):
        reasons.append("local-path storage: node-local scratch/cache capacity, not replicated")
        verdict: Classification = "rejected-final"
    elif (
        "zfs" in provisioner
        or "openebs.io/local" in provisioner
        or "hostpath" in provisioner.lower()
    ):
        reasons.append(f"{provisioner}: a node-local volume (one node), not replicated")
        verdict = "rejected-final"
    elif "longhorn" in provisioner:
        replicas = int(parameters.get("numberOfReplicas", "3"))
        if replicas >= 2:
            reasons.append(f"longhorn with {replicas} replicas: replicated block storage")
            verdict = "conditional-candidate"
        else:
            reasons.append("longhorn with 1 replica: not replicated")
            verdict = "rejected-final"
    else:
        reasons.append(f"{provisioner}: replication unknown; treat as a condition to prove")
        verdict = "conditional-candidate"
    return StorageClassView(name, provisioner, parameters, verdict, reasons)


def _store_of(images: list[str], labels: Mapping[str, str]) -> str | None:
    text = " ".join(images + list(labels.values()))
    for pattern, store in _STORE_IMAGES:
        if pattern.search(text):
            return store
    return None


def discover(list_: Lister, profile: Profile) -> tuple[list[Surface], list[StorageClassView]]:
    """Every S3-capable workload, joined to its pods, nodes, endpoints and volumes, classified."""
    storage = {
        sc.get("metadata", {}).get("name"): classify_storage_class(sc)
        for sc in list_("storageclasses")
    }
    pods = list_("pods")
    services = list_("services")
    slices = list_("endpointslices")
    claims = {
        (c["metadata"]["namespace"], c["metadata"]["name"]): c
        for c in list_("persistentvolumeclaims")
    }
    surfaces: list[Surface] = []
    for kind, resource in (("StatefulSet", "statefulsets"), ("Deployment", "deployments")):
        for workload in list_(resource):
            meta = workload.get("metadata", {})
            spec = workload.get("spec", {})
            template = spec.get("template", {})
            images = [c.get("image", "") for c in template.get("spec", {}).get("containers", [])]
            store = _store_of(images, {**_labels(workload), **_labels(template)})
            if store is None:
                continue
            namespace = meta.get("namespace", "default")
            selector = spec.get("selector", {}).get("matchLabels") or {}
            own_pods = [
                p
                for p in pods
                if p["metadata"].get("namespace") == namespace and _matches(selector, _labels(p))
            ]
            ready_pods = [p for p in own_pods if _pod_ready(p)]
            own_services = [
                s["metadata"]["name"] for s in services
                if s["metadata"].get("namespace") == namespace and _matches(s.get("spec", {}).get("selector") or {}, _labels(template))
            ]  # fmt: skip
            endpoints, endpoint_nodes = _ready_endpoints(slices, namespace, own_services)
            volumes = _volumes(own_pods, namespace, claims, storage)
            surface = Surface(
                kind=kind,
                namespace=namespace,
                name=meta.get("name", "?"),
                store=store,
                images=images,
                replicas=int(spec.get("replicas", 1) or 0),
                ready_replicas=int(workload.get("status", {}).get("readyReplicas", 0) or 0),
                ready_endpoints=len(endpoints),
                nodes=sorted(
                    {p["spec"].get("nodeName", "") for p in ready_pods if p["spec"].get("nodeName")}
                    | endpoint_nodes
                ),
                volumes=volumes,
                pods=[p["metadata"]["name"] for p in own_pods],
            )
            _classify(surface, {**_labels(workload), **_labels(template)}, storage, profile)
            surfaces.append(surface)
    return surfaces, list(storage.values())


def _pod_ready(pod: Mapping[str, Any]) -> bool:
    conditions = pod.get("status", {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def _ready_endpoints(
    slices: list[dict[str, Any]], namespace: str, services: list[str]
) -> tuple[set[str], set[str]]:
    addresses: set[str] = set()
    nodes: set[str] = set()
    for slice_ in slices:
        meta = slice_.get("metadata", {})
        if (
            meta.get("namespace") != namespace
            or _labels(slice_).get("kubernetes.io/service-name") not in services
        ):
            continue
        for endpoint in slice_.get("endpoints") or []:
            if (endpoint.get("conditions") or {}).get("ready", False):
                addresses.update(endpoint.get("addresses") or [])
                if endpoint.get("nodeName"):
                    nodes.add(endpoint["nodeName"])
    return addresses, nodes


def _volumes(
    pods: list[dict[str, Any]],
    namespace: str,
    claims: Mapping[tuple[str, str], Any],
    storage: Mapping[str, StorageClassView],
) -> list[dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for pod in pods:
        for volume in pod.get("spec", {}).get("volumes") or []:
            claim_name = (volume.get("persistentVolumeClaim") or {}).get("claimName")
            claim = claims.get((namespace, claim_name)) if claim_name else None
            if claim is None:
                continue
            spec = claim.get("spec", {})
            class_name = spec.get("storageClassName") or ""
            found[str(claim_name)] = {
                "claim": claim_name,
                "access_modes": list(spec.get("accessModes") or []),
                "storage_class": class_name,
                "size": (spec.get("resources") or {}).get("requests", {}).get("storage", ""),
                "storage_classification": storage[class_name].classification
                if class_name in storage
                else "unknown",
            }
    return list(found.values())


def _classify(
    surface: Surface, labels: Mapping[str, str], storage: Mapping[str, StorageClassView],
    profile: Profile,
) -> None:  # fmt: skip
    reasons = surface.reasons
    context = " ".join([surface.namespace, surface.name, *labels.keys(), *labels.values()])
    rejected: list[str] = []
    hints = profile.inventory
    cache = compiled(hints.cache_coupling).search(context) if hints.cache_coupling else None
    if cache is not None:
        rejected.append(
            f"coupled to a cache ({cache.group(0)} in namespace or labels): cache availability is not state authority"
        )
    for not_state in hints.not_state:
        if compiled(not_state.match).search(context):
            rejected.append(f"{not_state.name} is not a state authority")
    if surface.replicas < 2 or surface.ready_replicas < 2:
        rejected.append(f"single replica ({surface.ready_replicas}/{surface.replicas} ready)")
    if surface.ready_endpoints < 2:
        rejected.append(
            f"{surface.ready_endpoints} ready endpoint(s): one endpoint loss takes it down"
        )
    if len(surface.nodes) < 2:
        rejected.append(f"runs on {len(surface.nodes)} node(s): one node loss takes it down")
    rwo = [v for v in surface.volumes if "ReadWriteOnce" in v["access_modes"]]
    if len(surface.volumes) == 1 and rwo:
        rejected.append(
            f"state on a single RWO volume ({rwo[0]['claim']}, {rwo[0]['storage_class']})"
        )
    for volume in surface.volumes:
        view = storage.get(volume["storage_class"])
        if view is not None and "local-path" in " ".join(view.reasons):
            rejected.append(f"volume {volume['claim']} on local-path storage")
            break
    if not surface.volumes:
        rejected.append("no persistent volume: data does not survive a pod restart")
    staging = bool(hints.staging and compiled(hints.staging).search(context))
    if rejected:
        surface.classification = "rejected-final"
        reasons.extend(rejected)
    elif staging:
        surface.classification = "staging-only"
        reasons.append("staging namespace or labels: not a production state authority")
    else:
        _candidate(surface, profile)
    if staging and surface.classification == "rejected-final":
        reasons.append("also staging-only")


def _candidate(surface: Surface, profile: Profile) -> None:
    """A distributed, uncoupled store: a conditional candidate of the profile's class."""
    surface.classification = "conditional-candidate"
    surface.reasons.append(
        f"distributed: {surface.ready_endpoints} ready endpoints on {len(surface.nodes)} nodes, "
        f"{len(surface.volumes)} volumes on replicated or per-node storage, not cache-coupled"
    )
    name = profile.inventory.store_classes.get(surface.store)
    klass = profile.candidate_class(name) if name else None
    if klass is None:
        surface.reasons.append(
            f"maps to no candidate class of profile {profile.name}: its conditions must be proven"
        )
        return
    surface.candidate_class = klass.name
    surface.reasons.append(
        f"maps to '{klass.name}' ({klass.posture}): its conditions must be proven"
    )


# --- output -------------------------------------------------------------------------------------


def report(surfaces: list[Surface], storage: list[StorageClassView], source: str) -> dict[str, Any]:
    """The versioned JSON document (no secrets: names, counts, classes and reasons only)."""
    candidates = [s for s in surfaces if s.classification == "conditional-candidate"]
    return {
        "inventory_schema": INVENTORY_SCHEMA,
        "status": CANDIDATES_FOUND if candidates else NO_CANDIDATE,
        "source": source,
        "surfaces": [s.__dict__ for s in surfaces],
        "storage_classes": [s.__dict__ for s in storage],
        "non_secret": True,
    }


def table(document: Mapping[str, Any]) -> list[str]:
    lines = [f"{'surface':44} {'store':9} {'ready':>5} {'eps':>3} {'nodes':>5}  classification"]
    for s in document["surfaces"]:
        name = f"{s['kind']}/{s['namespace']}/{s['name']}"
        lines.append(
            f"{name[:44]:44} {s['store']:9} {s['ready_replicas']:>2}/{s['replicas']:<2} {s['ready_endpoints']:>3} {len(s['nodes']):>5}  {s['classification']}"
        )
        lines += [f"    - {reason}" for reason in s["reasons"]]
    lines.append("")
    lines.append(f"{'storage class':44} {'provisioner':32} classification")
    for sc in document["storage_classes"]:
        lines.append(f"{sc['name'][:44]:44} {sc['provisioner'][:32]:32} {sc['classification']}")
        lines += [f"    - {reason}" for reason in sc["reasons"]]
    lines.append("")
    lines.append(f"inventory: {document['status']}")
    return lines
