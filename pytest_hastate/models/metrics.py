"""Where the backend's own metrics are read: the package's optional ``metrics_sources``."""

from __future__ import annotations

import re
from typing import Literal
from urllib.parse import parse_qsl, urlsplit

from pydantic import Field, field_validator

from pytest_hastate.models.base import _Document

SignalId = Literal[
    "failed_auth", "failed_write", "delete_behavior", "replication_lag", "object_availability"
]
"""The observability signals the proof can check (``observability.<signal>`` criteria)."""

QUERY_NAMES = frozenset({"match[]", "collect[]", "name[]", "format", "module", "target"})
"""The query parameters a metrics page may take (federation, exporters); any other is refused:
a credential must never ride in a URL that is printed and kept as evidence."""


class MetricSelector(_Document):
    """Which samples stand for a signal: a sample name and label values (each a regular
    expression matched against the whole value, as Prometheus's ``=~``)."""

    metric: str = Field(description="The sample name, e.g. SeaweedFS_s3_request_total.")
    labels: dict[str, str] = Field(
        default_factory=dict, description='Label name to a full-match regex, e.g. {"code": "403"}.'
    )

    @field_validator("labels")
    @classmethod
    def _regexes(cls, labels: dict[str, str]) -> dict[str, str]:
        for name, pattern in labels.items():
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(
                    f"label {name}: {pattern!r} is not a regular expression: {exc}"
                ) from None
        return labels


class MetricsSource(_Document):
    """One Prometheus text-format URL of the backend, read with GET only and no credentials."""

    url: str = Field(description="http(s) URL of a Prometheus text-format page (no credentials).")
    ca_bundle: str | None = Field(
        default=None, description="Path (relative to the package) of a CA PEM for an https URL."
    )
    endpoint: str | None = Field(
        default=None,
        description="The S3 endpoint this source describes (a gateway's own metrics): when that "
        "endpoint is lost, this source going silent is the loss seen by the monitoring.",
    )
    signals: dict[SignalId, MetricSelector] = Field(
        default_factory=dict,
        description="Which samples stand for each signal; without it, the engine's known "
        "metrics (SeaweedFS, Ceph RGW) are recognised by name.",
    )

    @field_validator("url")
    @classmethod
    def _no_credentials(cls, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL with a host")
        if parts.username is not None or parts.password is not None:
            raise ValueError("must not carry credentials (user-info in the URL)")
        for name, value in parse_qsl(parts.query, keep_blank_values=True):
            if name not in QUERY_NAMES or ";" in value:
                raise ValueError(
                    f"query parameter {name!r} is not one a metrics page takes (only "
                    f"{', '.join(sorted(QUERY_NAMES))}): credentials must not be in the URL"
                )
        if parts.fragment:
            raise ValueError("must not have a fragment")
        return url
