"""The candidate contract gate: rules C01-C12 of SPEC 2.1, one small function each. Pure;
never touches the network."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from pytest_hastate.gates.rules import (
    RuleBook,
    list_covers,
    no_inline_secrets,
    non_secret,
    required_strings,
    stated_parts,
)
from pytest_hastate.gates.text import (
    CACHE_SURFACE_NAMES,
    Finding,
    affirmed,
    clauses,
    iter_strings,
    negated,
    present,
    quote,
)
from pytest_hastate.models import CandidateClass

CONTRACT: RuleBook[None] = RuleBook("contract")

REQUIRED_STRINGS = (
    "name", "posture", "candidate_class", "s3_endpoint_shape", "audience", "credential_source",
    "rotation_owner", "read_write_scope", "bucket_index_divergence_response",
)  # fmt: skip
# Fields that describe the state surface itself: a cache, local-path storage, the interim
# singleton or the active tofu-state bucket named here (and not negated) is a promotion.
SURFACE_FIELDS = (
    "name", "posture", "s3_endpoint_shape", "audience", "credential_source", "read_write_scope",
    "bucket_recovery", "state_locking", "failure_behavior",
)  # fmt: skip
_CLASS_PATTERNS: tuple[tuple[re.Pattern[str], CandidateClass], ...] = (
    (re.compile(r"attic-rustfs|singleton|openebs", re.I), CandidateClass.INTERIM_SINGLETON),
    (re.compile(r"local-path", re.I), CandidateClass.LOCAL_PATH),
    (re.compile(r"\b(attic|bazel|nix-cache|bcr|rbe)\b.*\bcache\b|\bcache\b", re.I), CandidateClass.CACHE_SURFACE),
    (re.compile(r"\bminio\b|\baistor\b", re.I), CandidateClass.CLUSTER_MINIO),
    (re.compile(r"\brustfs\b", re.I), CandidateClass.REPLICATED_RUSTFS),
    (re.compile(r"\bmanaged\b|\bappliance\b", re.I), CandidateClass.MANAGED),
    (re.compile(r"\bdedicated\b", re.I), CandidateClass.DEDICATED),
)  # fmt: skip
LOCKFILE_WORDING = re.compile(r"use_lockfile|lockfile|lock file", re.I)
OBSERVABILITY = (
    ("S3 API health", re.compile(r"\bapi\b.*health|health.*\bapi\b|s3 api", re.I)),
    ("bucket metadata", re.compile(r"bucket metadata|metadata", re.I)),
    ("object availability", re.compile(r"object availability|availability", re.I)),
    ("lock failures", re.compile(r"lock", re.I)),
)
SEPARATION = (
    ("Attic", re.compile(r"\battic\b", re.I)),
    ("Bazel", re.compile(r"\bbazel\b", re.I)),
    ("BCR/Bzlmod", re.compile(r"\bbcr\b|bzlmod", re.I)),
    ("RBE CAS/action-cache", re.compile(r"\brbe\b.*(\bcas\b|action-cache)", re.I)),
)
PLAN_STEPS = (
    ("scratch S3", re.compile(r"scratch", re.I)),
    ("disposable OpenTofu (--run-disposable-tofu)", re.compile(r"--run-disposable-tofu")),
    ("restart verification", re.compile(r"restart", re.I)),
    ("node-maintenance verification", re.compile(r"node[- ]maintenance|failure[- ]domain", re.I)),
)
_PROOF_COMMAND = re.compile(r"ha-state-candidate-proof|\bpytest\b")
PROMOTIONS = (
    (re.compile(r"attic-rustfs|nix-cache\.svc", re.I), "the interim RustFS singleton"),
    (re.compile(r"local-path", re.I), "local-path storage"),
    (CACHE_SURFACE_NAMES, "a cache surface"),
    (re.compile(r"(?<![\w-])tofu-state(?![\w-])", re.I), "the active tofu-state bucket"),
)
CONDITIONS = {
    CandidateClass.CLUSTER_MINIO: (
        ("multi-node", r"multi-node|multiple nodes"),
        ("multi-drive", r"multi-drive|multiple drives|erasure"),
        ("quorum design", r"quorum"),
        ("state-only bucket policy", r"state-only bucket policy|bucket policy"),
    ),
    CandidateClass.REPLICATED_RUSTFS: (
        ("multi-node topology", r"multi-node|multiple nodes"),
        ("admin/heal tooling in the deployed image", r"\bheal\b"),
    ),
}
_SINGLE_RWO = re.compile(r"single\b.*\b(rwo|readwriteonce)\b|\b(rwo|readwriteonce)\b.*single", re.I)
_CACHE_PATH = re.compile(r"\b(attic|bazel|nix-cache)\b", re.I)
_PROTECTED_STACK = re.compile(
    r"protected (state|stack)|tofu-state|attic/terraform|arc-runners/|tinyland-infra/", re.I
)
_MUTATES = re.compile(
    r"\b(apply|applies|migrat\w*|write\w*|mutat\w*|modif\w*|push\w*|delet\w*)\b", re.I
)
_MAINTENANCE = re.compile(r"maintenance|node", re.I)
_CACHE_SIGNAL = re.compile(r"hit rate|hit-rate|arc runner|runner scheduling|\brbe\b", re.I)


def classify(candidate_class: str) -> CandidateClass | None:
    """Map the free-text class of a contract onto the decision record's classes."""
    for pattern, klass in _CLASS_PATTERNS:
        if pattern.search(candidate_class):
            if klass is CandidateClass.REPLICATED_RUSTFS and not re.search(
                r"replicat|multi-node|distributed", candidate_class, re.I
            ):
                return CandidateClass.INTERIM_SINGLETON
            return klass
    return None


def _class_of(data: Mapping[str, Any]) -> CandidateClass | None:
    text = present(data.get("candidate_class"))
    return classify(text) if text is not None else None


@CONTRACT.rule("C01", "valid JSON object, `non_secret` is `true`, no inline secrets")
def _c01(data: Mapping[str, Any], _: None) -> Iterator[Finding]:
    yield from non_secret("C01", data, "contract")
    yield from no_inline_secrets("C01", data)


@CONTRACT.rule("C02", "every required string field is present and non-blank")
def _c02(data: Mapping[str, Any], _: None) -> Iterator[Finding]:
    yield from required_strings("C02", data, REQUIRED_STRINGS)


@CONTRACT.rule(
    "C03", "bucket recovery states versioning, retention or backup, a restore test", stop=True
)
def _c03(data: Mapping[str, Any], _: None) -> Iterator[Finding]:
    yield from stated_parts(
        "C03", data, "bucket_recovery",
        (("versioning", re.compile(r"version|generation", re.I), "object versioning"),
         ("retention_or_backup", re.compile(r"."), "retention or backup"),
         ("restore_test", re.compile(r"restore", re.I), "a restore test")),
        undefined="bucket recovery is not defined (stop condition)",
        missing="{what} is not stated (stop condition)", mismatch="does not state {what}",
    )  # fmt: skip


@CONTRACT.rule("C04", "state locking requires OpenTofu's native S3 lockfile", stop=True)
def _c04(data: Mapping[str, Any], _: None) -> Iterator[Finding]:
    locking = present(data.get("state_locking"))
    if locking is None:
        yield Finding("C04", "$.state_locking", "state locking is undefined (stop condition)")
    elif affirmed(locking, LOCKFILE_WORDING) is None:
        yield Finding(
            "C04", "$.state_locking", "must require OpenTofu's native S3 lockfile (use_lockfile)"
        )


@CONTRACT.rule(
    "C05", "failure behaviour covers one endpoint loss and one node / failure-domain loss"
)
def _c05(data: Mapping[str, Any], _: None) -> Iterator[Finding]:
    yield from stated_parts(
        "C05", data, "failure_behavior",
        (("endpoint_loss", re.compile(r"endpoint", re.I), "one endpoint loss"),
         ("node_or_failure_domain_loss", re.compile(r"node|failure[- ]domain|zone|quorum", re.I),
          "one node or failure-domain loss")),
        undefined="failure behaviour is not defined", missing="{what} is not covered",
        mismatch="does not describe {what}",
    )  # fmt: skip


@CONTRACT.rule(
    "C06", "observability covers S3 API health, bucket metadata, object availability, lock failures"
)
def _c06(data: Mapping[str, Any], _: None) -> Iterator[Finding]:
    yield from list_covers(
        "C06",
        data,
        "observability",
        OBSERVABILITY,
        verb="cover",
        empty="no observability signals listed",
    )


@CONTRACT.rule(
    "C07", "authority separation separates Attic, Bazel, BCR/Bzlmod and RBE CAS/action-cache"
)
def _c07(data: Mapping[str, Any], _: None) -> Iterator[Finding]:
    yield from list_covers(
        "C07", data, "authority_separation", SEPARATION, verb="separate",
        empty="no authority separation stated",
    )  # fmt: skip


@CONTRACT.rule(
    "C08",
    "the proof plan covers scratch S3, disposable OpenTofu, restart and node-maintenance verification, driven by --endpoint-package",
)
def _c08(data: Mapping[str, Any], _: None) -> Iterator[Finding]:
    yield from list_covers(
        "C08", data, "proof_plan", PLAN_STEPS, verb="cover", empty="no proof plan"
    )
    plan = data.get("proof_plan")
    for index, entry in enumerate(plan if isinstance(plan, list) else []):
        if (
            isinstance(entry, str)
            and _PROOF_COMMAND.search(entry)
            and "--endpoint-package" not in entry
        ):
            yield Finding(
                "C08", f"$.proof_plan[{index}]", "proof command is not driven by --endpoint-package"
            )


@CONTRACT.rule(
    "C09", "protected migration stays blocked until the proofs pass, then goes one stack at a time"
)
def _c09(data: Mapping[str, Any], _: None) -> Iterator[Finding]:
    where = "$.protected_state_migration"
    migration = present(data.get("protected_state_migration"))
    if migration is None:
        yield Finding("C09", where, "protected state migration is not defined")
        return
    if not (
        re.search(r"block|until|after", migration, re.I)
        and re.search(r"proof|pass", migration, re.I)
    ):
        yield Finding("C09", where, "must stay blocked until the proofs pass")
    if not re.search(r"one stack at a time|one stack|stack by stack|single stack", migration, re.I):
        yield Finding("C09", where, "must proceed one stack at a time")


@CONTRACT.rule(
    "C10",
    "not a rejected-final class, and nothing promotes a rejected surface (a negated clause is no promotion)",
)
def _c10(data: Mapping[str, Any], _: None) -> Iterator[Finding]:
    text = present(data.get("candidate_class"))
    klass = _class_of(data)
    if text is not None and klass is None:
        yield Finding("C10", "$.candidate_class", f"unknown candidate class {quote(text)}")
    elif klass is not None and klass.posture == "rejected-final":
        yield Finding("C10", "$.candidate_class", f"{klass.value} is rejected as final")
    for field in SURFACE_FIELDS:
        for path, value in iter_strings(data.get(field), f"$.{field}"):
            for pattern, what in PROMOTIONS:
                clause = affirmed(value, pattern)
                if clause is not None:
                    yield Finding("C10", path, f"promotes {what}: {quote(clause)}")


@CONTRACT.rule("C11", "conditional classes carry their conditions (quorum design / heal tooling)")
def _c11(data: Mapping[str, Any], _: None) -> Iterator[Finding]:
    klass = _class_of(data)
    needed = CONDITIONS.get(klass) if klass is not None else None
    text = " ".join(value for _, value in iter_strings(data))
    for what, condition in needed or ():
        if not re.search(condition, text, re.I):
            yield Finding(
                "C11",
                "$.candidate_class",
                f"{klass} needs {what}, which the contract does not state",
            )


@CONTRACT.rule(
    "C12",
    "no state on a single RWO volume, no proof on the cache path, no maintenance proof that mutates a protected stack, no cache/runner/RBE signal",
    stop=True,
)
def _c12(data: Mapping[str, Any], _: None) -> Iterator[Finding]:
    for path, text in iter_strings(data):
        clause = affirmed(text, _SINGLE_RWO)
        if clause is not None:
            yield Finding(
                "C12", path, f"state on a single RWO volume (stop condition): {quote(clause)}"
            )
    for path, text in iter_strings(data.get("proof_plan"), "$.proof_plan"):
        for clause in (c for c in clauses(text) if not negated(c)):
            if _CACHE_PATH.search(clause):
                yield Finding(
                    "C12",
                    path,
                    f"proof depends on the Attic/Bazel cache path (stop condition): {quote(clause)}",
                )
            elif (
                _MAINTENANCE.search(clause)
                and _PROTECTED_STACK.search(clause)
                and _MUTATES.search(clause)
            ):
                yield Finding(
                    "C12",
                    path,
                    f"node-maintenance proof mutates a protected stack (stop condition): {quote(clause)}",
                )
    for path, text in iter_strings(data.get("observability"), "$.observability"):
        clause = affirmed(text, _CACHE_SIGNAL)
        if clause is not None:
            yield Finding(
                "C12",
                path,
                f"proof signal is a cache/runner/RBE observation (stop condition): {quote(clause)}",
            )


STATIC_STOP_RULES = CONTRACT.stop_rules


def check_contract(data: Mapping[str, Any]) -> list[Finding]:
    """Every finding of rules C01-C12 on one contract, in rule order."""
    return CONTRACT.check(data, None)


def static_stop_conditions(findings: list[Finding]) -> list[Finding]:
    """The findings that are static stop conditions (C03, C04, C12)."""
    return [f for f in findings if f.rule in STATIC_STOP_RULES]
