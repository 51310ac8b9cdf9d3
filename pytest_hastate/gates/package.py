"""The endpoint package gate: rules P01-P15 of SPEC 2.2. Pure; never touches the network.

Files the package points at (its candidate contract, its CA bundle) are read by the caller
(``gating.py``) and handed in as ``PackageLinks``.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from pytest_hastate.gates.text import (
    Finding,
    affirmed,
    blank,
    covers,
    inline_secrets,
    iter_strings,
    negated,
    present,
    quote,
)
from pytest_hastate.models import (
    CREDENTIAL_ENV_NAMES,
    PROTECTED_BUCKET,
    PROTECTED_STATE_KEYS,
)
from pytest_hastate.s3.guard import (
    ProtectedTargets,
    denial_lines,
    endpoint_origin_problem,
    parse_denial,
)

TEMPLATE_SENTINELS = ("replace-me", "example.invalid")
PROBE_SUFFIX_LENGTH = len("-probe-") + 8
"""The bucket-lifecycle probe bucket is ``<scratch_bucket>-probe-<8 hex>``."""

# Settings of the S3 backend a package may pass through to OpenTofu, with their JSON types.
# Everything else (bucket, key, region, endpoints, locking, credentials, insecure TLS) is set
# by the proof itself or is not allowed.
BACKEND_OPTION_TYPES: dict[str, type] = {
    "use_path_style": bool,
    "skip_s3_checksum": bool,
    "skip_credentials_validation": bool,
    "skip_requesting_account_id": bool,
    "skip_region_validation": bool,
    "skip_metadata_api_check": bool,
    "encrypt": bool,
    "max_retries": int,
    "retry_mode": str,
}

# What OpenTofu's own requests go to and with which identity: set by the proof, never by a package.
PROOF_OWNED_BACKEND_SETTINGS = frozenset(
    {
        "bucket", "key", "region", "endpoint", "endpoints", "use_lockfile", "workspace_key_prefix",
        "access_key", "secret_key", "token", "profile", "shared_credentials_files",
        "shared_config_files", "assume_role", "assume_role_with_web_identity", "dynamodb_table",
        "dynamodb_endpoint", "sts_endpoint", "iam_endpoint", "custom_ca_bundle", "insecure",
        "force_path_style",
    }
)  # fmt: skip
DENIAL_HELP = (
    "cannot be turned into a protected target (write 'deny <bucket> [bucket]', "
    "'deny <bucket>/<key>', 'deny <key path>' or 'deny ... and protected stack prefixes')"
)

OTHER_REQUIRED_STRINGS = (
    "name",
    "posture",
    "region",
    "network_audience",
    "credential_source",
    "rotation_owner",
    "restore_owner",
)


@dataclass(frozen=True)
class LinkedContract:
    """What became of the package's ``candidate_contract`` reference."""

    reference: str
    problem: str | None = None
    findings: tuple[Finding, ...] = ()


@dataclass(frozen=True)
class PackageLinks:
    contract: LinkedContract | None = None
    ca_bundle_problem: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_CACHE_TOKENS = frozenset({"attic", "bazel", "bcr", "bzlmod", "rbe", "cas", "cache", "nix"})
_CACHE_SURFACE = re.compile(r"\b(attic|bazel|nix-cache|bcr|bzlmod|rbe|cas|action-cache)\b", re.I)
_INTERIM_HOST = re.compile(r"attic-rustfs|nix-cache\.svc", re.I)
_IN_CLUSTER_HOST = re.compile(r"\.svc(\.cluster\.local)?$|\.svc\.", re.I)
_LOCKFILE = re.compile(r"use_lockfile", re.I)

MAINTENANCE_METHODS = (
    (
        "restart_or_managed_maintenance",
        re.compile(r"restart|maintenance|managed|upgrade", re.I),
        "a restart or managed-maintenance method",
    ),
    (
        "node_or_failure_domain",
        re.compile(r"node|failure[- ]domain|zone|quorum", re.I),
        "a node or failure-domain method",
    ),
)
OBSERVABILITY_SIGNALS = (
    ("failed auth", re.compile(r"auth", re.I)),
    ("failed write", re.compile(r"write", re.I)),
    ("replication lag", re.compile(r"replication|lag", re.I)),
    ("delete behavior", re.compile(r"delete", re.I)),
)
SEPARATED_AUTHORITIES = (
    ("Attic", re.compile(r"\battic\b", re.I)),
    ("Bazel", re.compile(r"\bbazel\b", re.I)),
    ("BCR", re.compile(r"\bbcr\b", re.I)),
    ("RBE", re.compile(r"\brbe\b", re.I)),
    ("CAS", re.compile(r"\bcas\b", re.I)),
    ("action-cache", re.compile(r"action[- ]cache", re.I)),
)
POLICY_VERBS = ("create", "list", "read", "write", "delete")
# Fields that may name caches because they separate from or deny them, or are checked by
# their own rule (endpoints: P04, scratch bucket: P06).
_P12_EXEMPT = frozenset(
    {
        "authority_separation",
        "protected_state_denials",
        "proof_commands",
        "endpoint_url",
        "ha_endpoints",
        "scratch_bucket",
        "scratch_bucket_policy",
        "scratch_prefix",
        "candidate_contract",
        "ca_bundle",
        "credential_injection",
        "backend_options",
    }
)


def bucket_name_problem(name: str) -> str | None:
    """Why ``name`` is not a valid S3 bucket name, or None."""
    if not _BUCKET_NAME.match(name):
        return "not a valid S3 bucket name (3-63 characters: a-z, 0-9, '.', '-')"
    if ".." in name or ".-" in name or "-." in name:
        return "not a valid S3 bucket name (adjacent '.' / '-')"
    try:
        ipaddress.ip_address(name)
    except ValueError:
        pass
    else:
        return "not a valid S3 bucket name (looks like an IP address)"
    if name.startswith(("xn--", "sthree-")) or name.endswith(("-s3alias", "--ol-s3")):
        return "not a valid S3 bucket name (reserved prefix or suffix)"
    return None


def endpoint_problem(url: str) -> str | None:
    """Why ``url`` cannot be a proof endpoint, or None."""
    parts = urlsplit(url)
    if parts.scheme != "https":
        return "must be an https:// URL (TLS verification is always on)"
    if not parts.hostname:
        return "has no host"
    host = parts.hostname
    if _INTERIM_HOST.search(host):
        return "is the interim RustFS singleton, which is rejected as final"
    if _IN_CLUSTER_HOST.search(host):
        return "is an in-cluster service host (*.svc), not a dedicated state endpoint"
    return None


def scratch_prefix_problem(prefix: str) -> str | None:
    if not prefix or blank(prefix):
        return "must not be empty"
    if prefix.startswith("/") or not prefix.endswith("/"):
        return "must be relative and end with '/'"
    if "//" in prefix or any(part in (".", "..") for part in prefix.split("/")):
        return "must not contain '//', '.' or '..' segments"
    if not prefix.isascii() or not prefix.isprintable() or "%" in prefix or "\\" in prefix:
        return "must be printable ASCII without '%' or '\\'"
    protected_roots = {key.split("/", 1)[0].lower() for key in PROTECTED_STATE_KEYS}
    if prefix.split("/", 1)[0].lower() in protected_roots:
        return "starts inside a protected stack's folder"
    return None


def check_package(
    data: Mapping[str, Any], *, allow_template: bool = False, links: PackageLinks | None = None
) -> list[Finding]:
    """Every finding of rules P01-P15 on one endpoint package, in rule order."""
    links = links or PackageLinks()
    findings: list[Finding] = []
    add = findings.append

    # P01 valid JSON object, non-secret; the plain required strings.
    if data.get("non_secret") is not True:
        add(Finding("P01", "$.non_secret", "must be true (the package is a non-secret document)"))
    for name in OTHER_REQUIRED_STRINGS:
        if name not in data:
            add(Finding("P01", f"$.{name}", "required field is missing"))
        elif blank(data[name]):
            add(Finding("P01", f"$.{name}", "required field is blank"))

    # P02 template sentinels.
    if not allow_template:
        for path, text in iter_strings(data):
            for sentinel in TEMPLATE_SENTINELS:
                if sentinel in text.lower():
                    add(
                        Finding(
                            "P02",
                            path,
                            f"template sentinel {sentinel!r} left in (fill it, or pass --allow-template for a template)",
                        )
                    )
                    break

    # P03 no inline secrets.
    for path, reason in inline_secrets(data):
        add(Finding("P03", path, reason))

    # P04 endpoints.
    endpoint = present(data.get("endpoint_url"))
    if endpoint is None:
        add(Finding("P04", "$.endpoint_url", "required field is missing or blank"))
    else:
        problem = endpoint_problem(endpoint)
        if problem:
            add(Finding("P04", "$.endpoint_url", problem))
    ha_endpoints = data.get("ha_endpoints")
    if isinstance(ha_endpoints, list):
        seen: set[str] = set()
        for index, url in enumerate(ha_endpoints):
            problem = endpoint_problem(url) if isinstance(url, str) else "must be a string"
            if problem:
                add(Finding("P04", f"$.ha_endpoints[{index}]", problem))
            key = url.rstrip("/").lower() if isinstance(url, str) else ""
            if key in seen:
                add(
                    Finding(
                        "P04",
                        f"$.ha_endpoints[{index}]",
                        "duplicate endpoint (independence cannot be counted twice)",
                    )
                )
            seen.add(key)
        if isinstance(endpoint, str) and endpoint.rstrip("/").lower() not in seen:
            add(Finding("P04", "$.ha_endpoints", "must include endpoint_url"))
    if links.ca_bundle_problem:
        add(Finding("P04", "$.ca_bundle", links.ca_bundle_problem))

    # P15 endpoints are plain origins the guard can hold every request to.
    denials = data.get("protected_state_denials")
    policy_lines = data.get("scratch_bucket_policy")
    protected = ProtectedTargets.for_package(
        [d for d in denials if isinstance(d, str)] if isinstance(denials, list) else [],
        [p for p in policy_lines if isinstance(p, str)] if isinstance(policy_lines, list) else [],
    )
    urls = [("$.endpoint_url", endpoint)] if endpoint else []
    if isinstance(ha_endpoints, list):
        urls += [
            (f"$.ha_endpoints[{i}]", u) for i, u in enumerate(ha_endpoints) if isinstance(u, str)
        ]
    for path, url in urls:
        problem = endpoint_origin_problem(url, protected)
        if problem:
            add(Finding("P15", path, problem))

    # P05 credential injection names.
    injection = data.get("credential_injection")
    if not isinstance(injection, Mapping):
        add(Finding("P05", "$.credential_injection", "credential injection is not defined"))
    else:
        for part, expected in CREDENTIAL_ENV_NAMES.items():
            if injection.get(part) != expected:
                add(Finding("P05", f"$.credential_injection.{part}", f"must name {expected}"))

    # P06 scratch bucket and scratch prefix.
    bucket = present(data.get("scratch_bucket"))
    denial_texts = [d for d in denials if isinstance(d, str)] if isinstance(denials, list) else []
    if bucket is None:
        add(Finding("P06", "$.scratch_bucket", "required field is missing or blank"))
    else:
        problem = bucket_name_problem(bucket)
        if problem:
            add(Finding("P06", "$.scratch_bucket", problem))
        elif len(bucket) + PROBE_SUFFIX_LENGTH > 63:
            add(
                Finding(
                    "P06",
                    "$.scratch_bucket",
                    f"too long: the probe bucket '<scratch_bucket>-probe-<8 hex>' must stay within 63 characters (use at most {63 - PROBE_SUFFIX_LENGTH})",
                )
            )
        if bucket.lower() == PROTECTED_BUCKET:
            add(Finding("P06", "$.scratch_bucket", "is the active tofu-state bucket"))
        elif any(
            re.match(rf"deny\s+{re.escape(bucket)}(\s|/|$)", d.strip(), re.I) for d in denial_texts
        ):
            add(
                Finding(
                    "P06",
                    "$.scratch_bucket",
                    "is a protected target listed in protected_state_denials",
                )
            )
        tokens = set(re.split(r"[-.]", bucket.lower()))
        if tokens & _CACHE_TOKENS:
            add(
                Finding(
                    "P06",
                    "$.scratch_bucket",
                    f"names a cache/RBE surface ({', '.join(sorted(tokens & _CACHE_TOKENS))})",
                )
            )
    prefix = data.get("scratch_prefix")
    if prefix is not None and isinstance(prefix, str):
        problem = scratch_prefix_problem(prefix)
        if problem:
            add(Finding("P06", "$.scratch_prefix", problem))

    # P07 scratch bucket policy.
    policy = data.get("scratch_bucket_policy")
    if not isinstance(policy, list) or not policy:
        add(Finding("P07", "$.scratch_bucket_policy", "no scratch bucket policy"))
    else:
        text = " ".join(p for p in policy if isinstance(p, str)).lower()
        missing = [verb for verb in POLICY_VERBS if verb not in text]
        if missing:
            add(Finding("P07", "$.scratch_bucket_policy", f"does not allow {', '.join(missing)}"))
        if bucket is not None and bucket.lower() not in text:
            add(Finding("P07", "$.scratch_bucket_policy", "does not name the scratch bucket"))
        for index, entry in enumerate(policy):
            if (
                isinstance(entry, str)
                and entry in denial_lines([entry])
                and not parse_denial(entry)
            ):
                add(
                    Finding(
                        "P07",
                        f"$.scratch_bucket_policy[{index}]",
                        f"{DENIAL_HELP}: {quote(entry)}",
                    )
                )
            if (
                isinstance(entry, str)
                and re.search(r"(?<![\w-])tofu-state(?![\w-])", entry, re.I)
                and not re.search(r"\bdeny\b|\bdenied\b|\bno access\b", entry, re.I)
            ):
                add(
                    Finding(
                        "P07",
                        f"$.scratch_bucket_policy[{index}]",
                        "mentions tofu-state without denying it",
                    )
                )

    # P08 protected state denials.
    if not denial_texts:
        add(Finding("P08", "$.protected_state_denials", "no protected state denials"))
    else:
        for index, entry in enumerate(denial_texts):
            if parse_denial(entry) is None:
                add(
                    Finding(
                        "P08",
                        f"$.protected_state_denials[{index}]",
                        f"{DENIAL_HELP}: {quote(entry)}",
                    )
                )
        if not any(
            re.match(rf"deny\s+{PROTECTED_BUCKET}(\s+bucket)?\s*$", d.strip(), re.I)
            for d in denial_texts
        ):
            add(
                Finding(
                    "P08", "$.protected_state_denials", "does not deny the active tofu-state bucket"
                )
            )
        for key in PROTECTED_STATE_KEYS:
            if not any(
                re.match(rf"deny\s+(\S+/)?{re.escape(key)}\s*$", d.strip(), re.I)
                for d in denial_texts
            ):
                add(
                    Finding(
                        "P08", "$.protected_state_denials", f"does not deny the protected key {key}"
                    )
                )

    # P09 recovery, locking, backend options.
    recovery = data.get("bucket_recovery")
    if not isinstance(recovery, Mapping):
        add(Finding("P09", "$.bucket_recovery", "bucket recovery is not defined"))
    else:
        for part in ("versioning", "retention_or_backup", "restore_test"):
            if blank(recovery.get(part)):
                add(Finding("P09", f"$.bucket_recovery.{part}", "is not stated"))
    locking = present(data.get("state_locking"))
    if locking is None or affirmed(locking, _LOCKFILE) is None:
        add(
            Finding("P09", "$.state_locking", "must require the OpenTofu S3 backend's use_lockfile")
        )
    options = data.get("backend_options")
    if isinstance(options, Mapping):
        for key, value in options.items():
            option_type = BACKEND_OPTION_TYPES.get(key)
            if key in PROOF_OWNED_BACKEND_SETTINGS:
                add(
                    Finding(
                        "P09",
                        f"$.backend_options.{key}",
                        "cannot be set by the package: the proof sets it (OpenTofu's own requests "
                        "must stay in the scratch scope)",
                    )
                )
            elif option_type is None:
                add(
                    Finding(
                        "P09",
                        f"$.backend_options.{key}",
                        "not a backend setting a package may set (bucket, key, region, endpoints, locking, credentials and TLS come from the proof)",
                    )
                )
            elif type(value) is not option_type:
                add(Finding("P09", f"$.backend_options.{key}", f"must be a {option_type.__name__}"))

    # P10 maintenance proof and HA semantics.
    maintenance = data.get("maintenance_proof")
    if not isinstance(maintenance, Mapping):
        add(Finding("P10", "$.maintenance_proof", "maintenance proof is not defined"))
    else:
        for part, pattern, what in MAINTENANCE_METHODS:
            value = present(maintenance.get(part))
            if value is None or not pattern.search(value):
                add(Finding("P10", f"$.maintenance_proof.{part}", f"must name {what}"))
    semantics = data.get("ha_semantics")
    if (
        isinstance(semantics, Mapping)
        and semantics.get("kind") == "managed"
        and blank(semantics.get("reference"))
    ):
        add(
            Finding(
                "P10",
                "$.ha_semantics.reference",
                "managed HA semantics need a documentation reference",
            )
        )

    # P11 observability.
    observability = data.get("observability")
    if not isinstance(observability, list) or not observability:
        add(Finding("P11", "$.observability", "no observability signals listed"))
    else:
        for what, pattern in OBSERVABILITY_SIGNALS:
            if not covers(observability, pattern):
                add(Finding("P11", "$.observability", f"does not cover {what}"))

    # P12 authority separation; no cache/RBE authority claimed.
    separation = data.get("authority_separation")
    if not isinstance(separation, list) or not separation:
        add(Finding("P12", "$.authority_separation", "no authority separation stated"))
    else:
        for what, pattern in SEPARATED_AUTHORITIES:
            if not covers(separation, pattern):
                add(Finding("P12", "$.authority_separation", f"does not separate {what}"))
        for index, entry in enumerate(separation):
            if isinstance(entry, str) and _CACHE_SURFACE.search(entry) and not negated(entry):
                add(
                    Finding(
                        "P12",
                        f"$.authority_separation[{index}]",
                        f"does not separate: {quote(entry)}",
                    )
                )
    for key, value in data.items():
        if key in _P12_EXEMPT:
            continue
        for path, text in iter_strings(value, f"$.{key}"):
            clause = affirmed(text, _CACHE_SURFACE)
            if clause is not None:
                add(Finding("P12", path, f"claims a cache/RBE authority: {quote(clause)}"))

    # P13 proof commands.
    commands = data.get("proof_commands")
    if not isinstance(commands, list) or not commands:
        add(Finding("P13", "$.proof_commands", "no proof commands"))
    else:
        flags = ("--endpoint-package", "--run-disposable-tofu", "--use-lockfile")
        if not any(isinstance(c, str) and all(f in c.split() for f in flags) for c in commands):
            add(
                Finding(
                    "P13",
                    "$.proof_commands",
                    "no proof command runs with --endpoint-package --run-disposable-tofu --use-lockfile",
                )
            )
        for index, command in enumerate(commands):
            if (
                isinstance(command, str)
                and "--run-disposable-tofu" in command.split()
                and "--use-lockfile" not in command.split()
            ):
                add(
                    Finding(
                        "P13",
                        f"$.proof_commands[{index}]",
                        "--run-disposable-tofu without --use-lockfile (endpoint readiness cannot skip state locking)",
                    )
                )

    # P14 the candidate contract.
    reference = data.get("candidate_contract")
    if blank(reference):
        add(Finding("P14", "$.candidate_contract", "required field is missing or blank"))
    elif links.contract is not None:
        if links.contract.problem:
            add(Finding("P14", "$.candidate_contract", links.contract.problem))
        for finding in links.contract.findings:
            add(Finding("P14", "$.candidate_contract", f"contract refused: {finding}"))
    return findings
