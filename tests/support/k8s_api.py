"""A local HTTP server that answers like a Kubernetes API server, from recorded list responses.

The real kubernetes client reaches it through a real kubeconfig file. It records every request
(method and path), so tests can prove the inventory never sends a write verb.
"""

from __future__ import annotations

import json
import re
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.support.engines import BackgroundHttpServer

PATHS = {
    "statefulsets": ("/apis/apps/v1/statefulsets", "StatefulSetList", "apps/v1"),
    "deployments": ("/apis/apps/v1/deployments", "DeploymentList", "apps/v1"),
    "pods": ("/api/v1/pods", "PodList", "v1"),
    "services": ("/api/v1/services", "ServiceList", "v1"),
    "endpointslices": (
        "/apis/discovery.k8s.io/v1/endpointslices",
        "EndpointSliceList",
        "discovery.k8s.io/v1",
    ),
    "persistentvolumeclaims": ("/api/v1/persistentvolumeclaims", "PersistentVolumeClaimList", "v1"),
    "storageclasses": (
        "/apis/storage.k8s.io/v1/storageclasses",
        "StorageClassList",
        "storage.k8s.io/v1",
    ),
    "events": ("/api/v1/events", "EventList", "v1"),
}
_LOG_PATH = re.compile(r"^/api/v1/namespaces/([^/]+)/pods/([^/]+)/log$")


class RecordedApiServer(BackgroundHttpServer):
    def __init__(
        self,
        items: dict[str, list[dict[str, Any]]],
        *,
        forbidden: frozenset[str] = frozenset(),
        logs: dict[tuple[str, str, str], str] | None = None,
    ) -> None:
        self.requests: list[tuple[str, str]] = []
        by_path = {
            path: (resource, kind, version) for resource, (path, kind, version) in PATHS.items()
        }
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                return

            def _answer(self) -> None:
                parts = urlsplit(self.path)
                path = parts.path
                server.requests.append((self.command, self.path))
                log = _LOG_PATH.match(path)
                if self.command == "GET" and log is not None and logs is not None:
                    container = parse_qs(parts.query).get("container", [""])[0]
                    text = logs.get((log.group(1), log.group(2), container), "").encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "text/plain")
                    self.send_header("Content-Length", str(len(text)))
                    self.end_headers()
                    self.wfile.write(text)
                    return
                if self.command != "GET" or path not in by_path:
                    self._send(
                        404 if self.command == "GET" else 405,
                        {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 404},
                    )
                    return
                resource, kind, version = by_path[path]
                if resource in forbidden:
                    self._send(403, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                     "message": f'{resource} is forbidden: User "inventory" cannot list resource "{resource}" at the cluster scope',
                                     "reason": "Forbidden", "code": 403})  # fmt: skip
                    return
                self._send(
                    200,
                    {
                        "kind": kind,
                        "apiVersion": version,
                        "metadata": {"resourceVersion": "4711"},
                        "items": items.get(resource, []),
                    },
                )

            def _send(self, code: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

        self._serve(ThreadingHTTPServer(("127.0.0.1", 0), Handler))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def write_kubeconfig(path: Path, server: str, context: str = "recorded") -> Path:
    path.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": context,
                "clusters": [{"name": "recorded", "cluster": {"server": server}}],
                "users": [{"name": "inventory", "user": {"token": "recorded-cluster-token"}}],
                "contexts": [
                    {"name": context, "context": {"cluster": "recorded", "user": "inventory"}}
                ],
            }
        )
    )
    return path


# --- recorded objects in the shapes the API returns -------------------------------------------


def _meta(name: str, namespace: str | None, labels: dict[str, str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "name": name,
        "uid": f"uid-{namespace}-{name}",
        "resourceVersion": "4711",
        "labels": labels or {},
    }
    if namespace is not None:
        meta["namespace"] = namespace
    return meta


def store(
    namespace: str,
    name: str,
    image: str,
    *,
    nodes: list[str],
    kind: str = "StatefulSet",
    ready: int | None = None,
    storage_class: str = "longhorn",
    labels: dict[str, str] | None = None,
    access: str = "ReadWriteOnce",
) -> dict[str, list[dict[str, Any]]]:
    """A workload, its pods on ``nodes`` (one each), a Service, an EndpointSlice and one PVC per pod."""
    app = {"app.kubernetes.io/name": name, **(labels or {})}
    replicas = len(nodes)
    ready = replicas if ready is None else ready
    workload = {
        "metadata": _meta(name, namespace, app),
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app.kubernetes.io/name": name}},
            "template": {
                "metadata": {"labels": app},
                "spec": {
                    "containers": [
                        {"name": "s3", "image": image, "ports": [{"containerPort": 9000}]}
                    ]
                },
            },
        },
        "status": {"replicas": replicas, "readyReplicas": ready, "availableReplicas": ready},
    }
    pods, claims, endpoints = [], [], []
    for index, node in enumerate(nodes):
        pod_ready = index < ready
        claim = f"data-{name}-{index}"
        pods.append({
            "metadata": _meta(f"{name}-{index}", namespace, app),
            "spec": {"nodeName": node, "containers": [{"name": "s3", "image": image}], "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": claim}}]},
            "status": {"phase": "Running", "podIP": f"10.42.{index}.10", "conditions": [{"type": "Ready", "status": "True" if pod_ready else "False"}]},
        })  # fmt: skip
        claims.append({
            "metadata": _meta(claim, namespace),
            "spec": {"accessModes": [access], "storageClassName": storage_class, "resources": {"requests": {"storage": "50Gi"}}, "volumeMode": "Filesystem"},
            "status": {"phase": "Bound", "accessModes": [access], "capacity": {"storage": "50Gi"}},
        })  # fmt: skip
        endpoints.append(
            {
                "addresses": [f"10.42.{index}.10"],
                "conditions": {"ready": pod_ready, "serving": pod_ready},
                "nodeName": node,
            }
        )
    service = {
        "metadata": _meta(name, namespace),
        "spec": {
            "selector": {"app.kubernetes.io/name": name},
            "ports": [{"port": 9000}],
            "type": "ClusterIP",
        },
    }
    endpoint_slice = {
        "metadata": _meta(f"{name}-abcde", namespace, {"kubernetes.io/service-name": name, "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"}),
        "addressType": "IPv4", "endpoints": endpoints, "ports": [{"port": 9000, "protocol": "TCP"}],
    }  # fmt: skip
    resource = "statefulsets" if kind == "StatefulSet" else "deployments"
    return {
        resource: [workload],
        "pods": pods,
        "persistentvolumeclaims": claims,
        "services": [service],
        "endpointslices": [endpoint_slice],
    }


def storage_class(name: str, provisioner: str, **parameters: str) -> dict[str, Any]:
    return {
        "metadata": _meta(name, None),
        "provisioner": provisioner,
        "parameters": parameters,
        "reclaimPolicy": "Delete",
        "volumeBindingMode": "WaitForFirstConsumer",
    }


def cluster(*parts: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    merged: dict[str, list[dict[str, Any]]] = {}
    for part in parts:
        for resource, items in part.items():
            merged.setdefault(resource, []).extend(items)
    return merged
