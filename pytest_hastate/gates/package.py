"""The endpoint package gate: rules P01-P16, judged under a policy profile (what it protects,
its surfaces and words). Pure; never touches the network.

Files the package points at (its candidate contract, its CA bundle) are read by the caller
(``gates/files.py``) and handed in as ``PackageLinks``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from pytest_hastate.gates.declarations import (
    compiled,
    observability_listed,
    separation_declared,
)
from pytest_hastate.gates.rules import (
    RuleBook,
    no_inline_secrets,
    non_secret,
    required_strings,
    stated_parts,
    template_sentinels,
)
from pytest_hastate.gates.text import (
    Finding,
    affirmed,
    blank,
    iter_strings,
    negated,
    present,
    quote,
)
from pytest_hastate.models import CREDENTIAL_ENV_NAMES
from pytest_hastate.models.profile import Profile
from pytest_hastate.scope.backend import (
    PACKAGE_OPTIONS,
    ROUTING_OR_IDENTITY,
    strings_in,
    template_problem,
)
from pytest_hastate.scope.names import PROBE_SUFFIX_LENGTH, bucket_name_problem, normalize_bucket
from pytest_hastate.scope.scratch import scratch_prefix_problem
from pytest_hastate.scope.targets import (
    Denial,
    ProtectedTargets,
    denial_lines,
    endpoint_origin_problem,
    parse_denial,
)

DENIAL_HELP = (
    "cannot be turned into a protected target (write 'deny <bucket> [bucket]', "
    "'deny <bucket>/<key>', 'deny <key path>' or 'deny ... and protected stack prefixes')"
)

OTHER_REQUIRED_STRINGS = (
    "name", "posture", "region", "network_audience", "credential_source", "rotation_owner",
    "restore_owner",
)  # fmt: skip


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


@dataclass(frozen=True)
class PackageContext:
    """What a package rule needs beside the document: the profile that judges it, and the
    links read by the caller."""

    profile: Profile
    allow_template: bool = False
    links: PackageLinks = field(default_factory=PackageLinks)

    def protected(self, data: Mapping[str, Any]) -> ProtectedTargets:
        """The profile's protected targets plus the package's own denials."""
        return ProtectedTargets.of(
            self.profile, _denial_texts(data), _strings(data.get("scratch_bucket_policy"))
        )


PACKAGE: RuleBook[PackageContext] = RuleBook("package")


_IN_CLUSTER_HOST = re.compile(r"\.svc(\.cluster\.local)?$|\.svc\.", re.I)
USE_LOCKFILE = re.compile(r"use_lockfile", re.I)

RESTART_METHOD = (
    "restart_or_managed_maintenance",
    re.compile(r"restart|maintenance|managed|upgrade", re.I),
    "a restart or managed-maintenance method",
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


def endpoint_problem(url: str, profile: Profile) -> str | None:
    """Why ``url`` cannot be a proof endpoint, or None."""
    parts = urlsplit(url)
    if parts.scheme != "https":
        return "must be an https:// URL (TLS verification is always on)"
    if not parts.hostname:
        return "has no host"
    host = parts.hostname
    interim = profile.interim_backend
    if interim is not None and compiled(interim.match).search(host):
        return f"is {interim.name}, which is rejected as final"
    if _IN_CLUSTER_HOST.search(host):
        return "is an in-cluster service host (*.svc), not a dedicated state endpoint"
    return None


def _denial_texts(data: Mapping[str, Any]) -> list[str]:
    denials = data.get("protected_state_denials")
    return [d for d in denials if isinstance(d, str)] if isinstance(denials, list) else []


def _strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


@PACKAGE.rule("P01", "valid JSON object, `non_secret` is `true`, the plain required strings")
def _p01(data: Mapping[str, Any], ctx: PackageContext) -> Iterator[Finding]:
    yield from non_secret("P01", data, "package")
    yield from required_strings("P01", data, OTHER_REQUIRED_STRINGS)


@PACKAGE.rule(
    "P02", "no template sentinel (`replace-me`, `example.invalid`) unless --allow-template"
)
def _p02(data: Mapping[str, Any], ctx: PackageContext) -> Iterator[Finding]:
    if not ctx.allow_template:
        yield from template_sentinels("P02", data)


@PACKAGE.rule("P03", "no inline secrets at any depth")
def _p03(data: Mapping[str, Any], ctx: PackageContext) -> Iterator[Finding]:
    yield from no_inline_secrets("P03", data)


@PACKAGE.rule(
    "P04",
    "endpoints are https:// and not the profile's interim backend or an in-cluster host; every ha endpoint once, endpoint_url among them; a CA bundle that exists and holds no key",
)
def _p04(data: Mapping[str, Any], ctx: PackageContext) -> Iterator[Finding]:
    endpoint = present(data.get("endpoint_url"))
    problem = (
        endpoint_problem(endpoint, ctx.profile)
        if endpoint
        else "required field is missing or blank"
    )
    if problem:
        yield Finding("P04", "$.endpoint_url", problem)
    ha_endpoints = data.get("ha_endpoints")
    if isinstance(ha_endpoints, list):
        seen: set[str] = set()
        for index, url in enumerate(ha_endpoints):
            problem = (
                endpoint_problem(url, ctx.profile) if isinstance(url, str) else "must be a string"
            )
            key = url.rstrip("/").lower() if isinstance(url, str) else ""
            if key in seen:
                problem = "duplicate endpoint (independence cannot be counted twice)"
            if problem:
                yield Finding("P04", f"$.ha_endpoints[{index}]", problem)
            seen.add(key)
        if endpoint is not None and endpoint.rstrip("/").lower() not in seen:
            yield Finding("P04", "$.ha_endpoints", "must include endpoint_url")
    if ctx.links.ca_bundle_problem:
        yield Finding("P04", "$.ca_bundle", ctx.links.ca_bundle_problem)


@PACKAGE.rule("P05", "credential injection names exactly the TOFU_HA_STATE_* variables")
def _p05(data: Mapping[str, Any], ctx: PackageContext) -> Iterator[Finding]:
    injection = data.get("credential_injection")
    if not isinstance(injection, Mapping):
        yield Finding("P05", "$.credential_injection", "credential injection is not defined")
        return
    for part, expected in CREDENTIAL_ENV_NAMES.items():
        if injection.get(part) != expected:
            yield Finding("P05", f"$.credential_injection.{part}", f"must name {expected}")


@PACKAGE.rule(
    "P06",
    "the scratch bucket is a valid name, not protected (by the profile or the package), no cache surface; a safe scratch prefix",
)
def _p06(data: Mapping[str, Any], ctx: PackageContext) -> Iterator[Finding]:
    bucket = present(data.get("scratch_bucket"))
    if bucket is None:
        yield Finding("P06", "$.scratch_bucket", "required field is missing or blank")
    else:
        for problem in _scratch_bucket_problems(bucket, _denials(data, ctx.profile), ctx.profile):
            yield Finding("P06", "$.scratch_bucket", problem)
    prefix = data.get("scratch_prefix")
    prefix_problem = (
        scratch_prefix_problem(prefix, ctx.protected(data)) if isinstance(prefix, str) else None
    )
    if prefix_problem:
        yield Finding("P06", "$.scratch_prefix", prefix_problem)


def _denials(data: Mapping[str, Any], profile: Profile) -> list[Denial]:
    """The protected_state_denials as the one grammar reads them (unreadable lines left out:
    rule P08 names them)."""
    parsed = (parse_denial(t, profile.protected.state_keys) for t in _denial_texts(data))
    return [denial for denial in parsed if denial is not None]


def _scratch_bucket_problems(bucket: str, denials: list[Denial], profile: Profile) -> Iterator[str]:
    problem = bucket_name_problem(bucket)
    if problem:
        yield problem
    elif len(bucket) + PROBE_SUFFIX_LENGTH > 63:
        yield (
            "too long: the probe bucket '<scratch_bucket>-probe-<8 hex>' must stay within 63 "
            f"characters (use at most {63 - PROBE_SUFFIX_LENGTH})"
        )
    if normalize_bucket(bucket) in {normalize_bucket(b) for b in profile.protected.buckets}:
        yield f"is the active {bucket.lower()} bucket (protected by profile {profile.name})"
    elif any(d.protects_in(bucket) for d in denials):
        yield "is a protected target listed in protected_state_denials (or holds one)"
    words = compiled(profile.cache_bucket_words) if profile.cache_bucket_words else None
    tokens = sorted({m.lower() for m in words.findall(bucket)}) if words is not None else []
    if tokens:
        yield f"names a cache/RBE surface ({', '.join(tokens)})"


@PACKAGE.rule(
    "P07",
    "the scratch bucket policy allows create, list, read, write, delete for the scratch bucket only; its deny lines are readable; protected buckets only denied",
)
def _p07(data: Mapping[str, Any], ctx: PackageContext) -> Iterator[Finding]:
    policy = data.get("scratch_bucket_policy")
    if not isinstance(policy, list) or not policy:
        yield Finding("P07", "$.scratch_bucket_policy", "no scratch bucket policy")
        return
    text = " ".join(_strings(policy)).lower()
    missing = [verb for verb in POLICY_VERBS if verb not in text]
    if missing:
        yield Finding("P07", "$.scratch_bucket_policy", f"does not allow {', '.join(missing)}")
    bucket = present(data.get("scratch_bucket"))
    if bucket is not None and bucket.lower() not in text:
        yield Finding("P07", "$.scratch_bucket_policy", "does not name the scratch bucket")
    for index, entry in enumerate(policy):
        if not isinstance(entry, str):
            continue
        stacks = ctx.profile.protected.state_keys
        if denial_lines([entry]) and parse_denial(entry, stacks) is None:
            yield Finding(
                "P07", f"$.scratch_bucket_policy[{index}]", f"{DENIAL_HELP}: {quote(entry)}"
            )
        if re.search(r"\bdeny\b|\bdenied\b|\bno access\b", entry, re.I):
            continue
        for protected in ctx.profile.protected.buckets:
            if re.search(rf"(?<![\w-]){re.escape(protected)}(?![\w-])", entry, re.I):
                yield Finding(
                    "P07", f"$.scratch_bucket_policy[{index}]",
                    f"mentions {protected} without denying it",
                )  # fmt: skip


@PACKAGE.rule(
    "P08",
    "the protected state denials deny each bucket and state key the profile protects, each one readable; something is protected",
)
def _p08(data: Mapping[str, Any], ctx: PackageContext) -> Iterator[Finding]:
    denials = _denial_texts(data)
    where = "$.protected_state_denials"
    if ctx.protected(data).empty:
        yield Finding(
            "P08", where, f"protects nothing (profile {ctx.profile.name} leaves the protected "
            "targets to the package): a proof must protect something",
        )  # fmt: skip
    if not denials:
        yield Finding("P08", where, "no protected state denials")
        return
    protected = ctx.profile.protected
    for index, entry in enumerate(denials):
        if parse_denial(entry, protected.state_keys) is None:
            yield Finding("P08", f"{where}[{index}]", f"{DENIAL_HELP}: {quote(entry)}")
    parsed = _denials(data, ctx.profile)
    for bucket in protected.buckets:
        if not any(d.denies_bucket(bucket) for d in parsed):
            yield Finding("P08", where, f"does not deny the active {bucket} bucket")
    for key in protected.state_keys:
        if not any(d.denies_key(key) for d in parsed):
            yield Finding("P08", where, f"does not deny the protected key {key}")


@PACKAGE.rule(
    "P09",
    "bucket recovery complete; state locking requires use_lockfile; backend options only the allowed settings, typed",
)
def _p09(data: Mapping[str, Any], ctx: PackageContext) -> Iterator[Finding]:
    yield from stated_parts(
        "P09", data, "bucket_recovery",
        (("versioning", re.compile(r"."), ""), ("retention_or_backup", re.compile(r"."), ""),
         ("restore_test", re.compile(r"."), "")),
        undefined="bucket recovery is not defined", missing="is not stated", mismatch="",
    )  # fmt: skip
    locking = present(data.get("state_locking"))
    if locking is None or affirmed(locking, USE_LOCKFILE) is None:
        yield Finding(
            "P09", "$.state_locking", "must require the OpenTofu S3 backend's use_lockfile"
        )
    options = data.get("backend_options")
    for key, value in options.items() if isinstance(options, Mapping) else ():
        problem = _backend_option_problem(key, value)
        if problem:
            yield Finding("P09", f"$.backend_options.{key}", problem)


def _backend_option_problem(key: str, value: Any) -> str | None:
    if key in ROUTING_OR_IDENTITY:
        return (
            "cannot be set by the package: the proof sets it (OpenTofu's own requests must stay "
            "in the scratch scope)"
        )
    option_type = PACKAGE_OPTIONS.get(key)
    if option_type is None:
        return (
            "not a backend setting a package may set (bucket, key, region, endpoints, locking, "
            "credentials and TLS come from the proof)"
        )
    return None if type(value) is option_type else f"must be a {option_type.__name__}"


@PACKAGE.rule(
    "P10",
    "the maintenance proof names a restart/managed method and a node/failure-domain method; managed HA semantics need a reference",
)
def _p10(data: Mapping[str, Any], ctx: PackageContext) -> Iterator[Finding]:
    methods = (
        RESTART_METHOD,
        (
            "node_or_failure_domain",
            compiled(ctx.profile.node_loss),
            "a node or failure-domain method",
        ),
    )
    yield from stated_parts(
        "P10", data, "maintenance_proof", methods,
        undefined="maintenance proof is not defined", missing="must name {what}", mismatch="must name {what}",
    )  # fmt: skip
    semantics = data.get("ha_semantics")
    if (
        isinstance(semantics, Mapping)
        and semantics.get("kind") == "managed"
        and blank(semantics.get("reference"))
    ):
        yield Finding(
            "P10", "$.ha_semantics.reference", "managed HA semantics need a documentation reference"
        )


@PACKAGE.rule(
    "P11", "observability covers failed auth, failed write, replication lag, delete behaviour"
)
def _p11(data: Mapping[str, Any], ctx: PackageContext) -> Iterator[Finding]:
    yield from observability_listed("P11", data, "package")


@PACKAGE.rule(
    "P12",
    "authority separation separates every surface the profile names (the default: Attic, Bazel, BCR, RBE, CAS, action-cache); no cache authority claimed",
)
def _p12(data: Mapping[str, Any], ctx: PackageContext) -> Iterator[Finding]:
    yield from separation_declared("P12", data, "package", ctx.profile)
    claims = _cache_claims(ctx.profile)
    if claims is None:
        return
    for index, entry in enumerate(_strings(data.get("authority_separation"))):
        if claims.search(entry) and not negated(entry):
            yield Finding(
                "P12", f"$.authority_separation[{index}]", f"does not separate: {quote(entry)}"
            )
    for key, value in data.items():
        for path, text in iter_strings(value, f"$.{key}") if key not in _P12_EXEMPT else ():
            clause = affirmed(text, claims)
            if clause is not None:
                yield Finding("P12", path, f"claims a cache/RBE authority: {quote(clause)}")


@PACKAGE.rule(
    "P13",
    "the proof commands include the proof with --endpoint-package --run-disposable-tofu --use-lockfile; none skips the lockfile",
)
def _p13(data: Mapping[str, Any], ctx: PackageContext) -> Iterator[Finding]:
    commands = data.get("proof_commands")
    if not isinstance(commands, list) or not commands:
        yield Finding("P13", "$.proof_commands", "no proof commands")
        return
    flags = ("--endpoint-package", "--run-disposable-tofu", "--use-lockfile")
    words = [c.split() if isinstance(c, str) else [] for c in commands]
    if not any(all(f in w for f in flags) for w in words):
        yield Finding("P13", "$.proof_commands", f"no proof command runs with {' '.join(flags)}")
    for index, command in enumerate(words):
        if "--run-disposable-tofu" in command and "--use-lockfile" not in command:
            yield Finding(
                "P13", f"$.proof_commands[{index}]",
                "--run-disposable-tofu without --use-lockfile (endpoint readiness cannot skip state locking)",
            )  # fmt: skip


@PACKAGE.rule(
    "P14", "the candidate contract resolves, passes the contract gate, and is not rejected-final"
)
def _p14(data: Mapping[str, Any], ctx: PackageContext) -> Iterator[Finding]:
    if blank(data.get("candidate_contract")):
        yield Finding("P14", "$.candidate_contract", "required field is missing or blank")
        return
    linked = ctx.links.contract
    if linked is not None and linked.problem:
        yield Finding("P14", "$.candidate_contract", linked.problem)
    for finding in linked.findings if linked is not None else ():
        yield Finding("P14", "$.candidate_contract", f"contract refused: {finding}")


@PACKAGE.rule(
    "P15",
    "every endpoint is a plain origin (no path, query, fragment, user-info) with no host label naming a protected bucket",
)
def _p15(data: Mapping[str, Any], ctx: PackageContext) -> Iterator[Finding]:
    protected = ctx.protected(data)
    endpoint = present(data.get("endpoint_url"))
    urls = [("$.endpoint_url", endpoint)] if endpoint else []
    urls += [(f"$.ha_endpoints[{i}]", u) for i, u in enumerate(_strings(data.get("ha_endpoints")))]
    for path, url in urls:
        problem = endpoint_origin_problem(url, protected)
        if problem:
            yield Finding("P15", path, problem)


RENDERED_FIELDS = ("scratch_bucket", "scratch_prefix", "endpoint_url", "ha_endpoints", "region",
                   "backend_options")  # fmt: skip
"""The package's fields whose values are rendered into the disposable OpenTofu configuration."""


@PACKAGE.rule(
    "P16",
    "no value rendered into OpenTofu's configuration holds a template sequence (`${`, `%{`)",
)
def _p16(data: Mapping[str, Any], ctx: PackageContext) -> Iterator[Finding]:
    for where, value in _rendered(data):
        problem = next(filter(None, map(template_problem, strings_in(value))), None)
        if problem:
            yield Finding("P16", where, problem)


def _rendered(data: Mapping[str, Any]) -> Iterator[tuple[str, object]]:
    """(JSON path, value) of every value the proof renders into OpenTofu's configuration."""
    for name in RENDERED_FIELDS:
        value = data.get(name)
        if isinstance(value, dict):
            yield from ((f"$.{name}.{k}", v) for k, v in value.items())
        elif isinstance(value, list):
            yield from ((f"$.{name}[{i}]", v) for i, v in enumerate(value))
        else:
            yield f"$.{name}", value


def _cache_claims(profile: Profile) -> re.Pattern[str] | None:
    """Words that claim a cache authority: the profile's cache surfaces and every surface the
    package must separate from."""
    words = [profile.cache_surfaces or "", *(s.match for s in profile.separation.package)]
    words = [w for w in words if w]
    return compiled("|".join(f"(?:{w})" for w in words)) if words else None


def check_package(
    data: Mapping[str, Any], profile: Profile, *, allow_template: bool = False,
    links: PackageLinks | None = None,
) -> list[Finding]:  # fmt: skip
    """Every finding of rules P01-P16 on one endpoint package under ``profile``, in rule order."""
    return PACKAGE.check(data, PackageContext(profile, allow_template, links or PackageLinks()))
