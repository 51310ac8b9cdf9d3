"""The candidate contract gate: rules C01-C12 of SPEC 2.1. Pure; never touches the network."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pytest_hastate.gates.text import (
    Finding,
    affirmed,
    blank,
    clauses,
    covers,
    inline_secrets,
    iter_strings,
    negated,
    present,
    quote,
)
from pytest_hastate.models import CandidateClass

REQUIRED_STRINGS = (
    "name",
    "posture",
    "candidate_class",
    "s3_endpoint_shape",
    "audience",
    "credential_source",
    "rotation_owner",
    "read_write_scope",
    "bucket_index_divergence_response",
)
STATIC_STOP_RULES = frozenset({"C03", "C04", "C12"})

# Fields that describe the state surface itself: a cache, local-path storage, the interim
# singleton or the active tofu-state bucket named here (and not negated) is a promotion.
SURFACE_FIELDS = (
    "name",
    "posture",
    "s3_endpoint_shape",
    "audience",
    "credential_source",
    "read_write_scope",
    "bucket_recovery",
    "state_locking",
    "failure_behavior",
)

_CLASS_PATTERNS: tuple[tuple[re.Pattern[str], CandidateClass], ...] = (
    (re.compile(r"attic-rustfs|singleton|openebs", re.I), CandidateClass.INTERIM_SINGLETON),
    (re.compile(r"local-path", re.I), CandidateClass.LOCAL_PATH),
    (
        re.compile(r"\b(attic|bazel|nix-cache|bcr|rbe)\b.*\bcache\b|\bcache\b", re.I),
        CandidateClass.CACHE_SURFACE,
    ),
    (re.compile(r"\bminio\b|\baistor\b", re.I), CandidateClass.CLUSTER_MINIO),
    (re.compile(r"\brustfs\b", re.I), CandidateClass.REPLICATED_RUSTFS),
    (re.compile(r"\bmanaged\b|\bappliance\b", re.I), CandidateClass.MANAGED),
    (re.compile(r"\bdedicated\b", re.I), CandidateClass.DEDICATED),
)


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


_ANY = re.compile(r".")
_LOCKFILE = re.compile(r"use_lockfile|lockfile|lock file", re.I)
_VERSIONING = re.compile(r"version|generation", re.I)
_RESTORE = re.compile(r"restore", re.I)
_ENDPOINT = re.compile(r"endpoint", re.I)
_NODE = re.compile(r"node|failure[- ]domain|zone|quorum", re.I)

OBSERVABILITY_SIGNALS = (
    ("S3 API health", re.compile(r"\bapi\b.*health|health.*\bapi\b|s3 api", re.I)),
    ("bucket metadata", re.compile(r"bucket metadata|metadata", re.I)),
    ("object availability", re.compile(r"object availability|availability", re.I)),
    ("lock failures", re.compile(r"lock", re.I)),
)
SEPARATED_AUTHORITIES = (
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

_INTERIM_HOST = re.compile(r"attic-rustfs|nix-cache\.svc", re.I)
_LOCAL_PATH = re.compile(r"local-path", re.I)
_CACHE_SURFACE = re.compile(r"\b(attic|bazel|nix-cache|bcr|bzlmod|rbe|action-cache)\b", re.I)
_ACTIVE_STATE_BUCKET = re.compile(r"(?<![\w-])tofu-state(?![\w-])", re.I)

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


def check_contract(data: Mapping[str, Any]) -> list[Finding]:
    """Every finding of rules C01-C12 on one contract, in rule order."""
    findings: list[Finding] = []
    add = findings.append

    # C01 valid JSON object, non-secret, no inline secrets.
    if data.get("non_secret") is not True:
        add(Finding("C01", "$.non_secret", "must be true (the contract is a non-secret document)"))
    for path, reason in inline_secrets(data):
        add(Finding("C01", path, reason))

    # C02 required strings present and non-blank.
    for name in REQUIRED_STRINGS:
        if name not in data:
            add(Finding("C02", f"$.{name}", "required field is missing"))
        elif blank(data[name]):
            add(Finding("C02", f"$.{name}", "required field is blank"))

    # C03 bucket recovery (absent recovery is a stop condition).
    recovery = data.get("bucket_recovery")
    if not isinstance(recovery, Mapping):
        add(Finding("C03", "$.bucket_recovery", "bucket recovery is not defined (stop condition)"))
    else:
        for part, pattern, what in (
            ("versioning", _VERSIONING, "object versioning"),
            ("retention_or_backup", _ANY, "retention or backup"),
            ("restore_test", _RESTORE, "a restore test"),
        ):
            value = present(recovery.get(part))
            if value is None:
                add(
                    Finding(
                        "C03", f"$.bucket_recovery.{part}", f"{what} is not stated (stop condition)"
                    )
                )
            elif not pattern.search(value):
                add(Finding("C03", f"$.bucket_recovery.{part}", f"does not state {what}"))

    # C04 native S3 lockfile.
    locking = present(data.get("state_locking"))
    if locking is None:
        add(Finding("C04", "$.state_locking", "state locking is undefined (stop condition)"))
    elif not _LOCKFILE.search(locking) or affirmed(locking, _LOCKFILE) is None:
        add(
            Finding(
                "C04",
                "$.state_locking",
                "must require OpenTofu's native S3 lockfile (use_lockfile)",
            )
        )

    # C05 failure behaviour: one endpoint loss and one node / failure-domain loss.
    failure = data.get("failure_behavior")
    if not isinstance(failure, Mapping):
        add(Finding("C05", "$.failure_behavior", "failure behaviour is not defined"))
    else:
        for part, pattern, what in (
            ("endpoint_loss", _ENDPOINT, "one endpoint loss"),
            ("node_or_failure_domain_loss", _NODE, "one node or failure-domain loss"),
        ):
            value = present(failure.get(part))
            if value is None:
                add(Finding("C05", f"$.failure_behavior.{part}", f"{what} is not covered"))
            elif not pattern.search(value):
                add(Finding("C05", f"$.failure_behavior.{part}", f"does not describe {what}"))

    # C06 observability.
    observability = data.get("observability")
    if not isinstance(observability, list) or not observability:
        add(Finding("C06", "$.observability", "no observability signals listed"))
    else:
        for what, pattern in OBSERVABILITY_SIGNALS:
            if not covers(observability, pattern):
                add(Finding("C06", "$.observability", f"does not cover {what}"))

    # C07 authority separation.
    separation = data.get("authority_separation")
    if not isinstance(separation, list) or not separation:
        add(Finding("C07", "$.authority_separation", "no authority separation stated"))
    else:
        for what, pattern in SEPARATED_AUTHORITIES:
            if not covers(separation, pattern):
                add(Finding("C07", "$.authority_separation", f"does not separate {what}"))

    # C08 proof plan.
    plan = data.get("proof_plan")
    if not isinstance(plan, list) or not plan:
        add(Finding("C08", "$.proof_plan", "no proof plan"))
    else:
        for what, pattern in PLAN_STEPS:
            if not covers(plan, pattern):
                add(Finding("C08", "$.proof_plan", f"does not cover {what}"))
        for index, entry in enumerate(plan):
            if (
                isinstance(entry, str)
                and _PROOF_COMMAND.search(entry)
                and "--endpoint-package" not in entry
            ):
                add(
                    Finding(
                        "C08",
                        f"$.proof_plan[{index}]",
                        "proof command is not driven by --endpoint-package",
                    )
                )

    # C09 protected migration blocked until proofs pass, then one stack at a time.
    migration = present(data.get("protected_state_migration"))
    if migration is None:
        add(
            Finding(
                "C09", "$.protected_state_migration", "protected state migration is not defined"
            )
        )
    else:
        if not re.search(r"block|until|after", migration, re.I) or not re.search(
            r"proof|pass", migration, re.I
        ):
            add(
                Finding(
                    "C09", "$.protected_state_migration", "must stay blocked until the proofs pass"
                )
            )
        if not re.search(
            r"one stack at a time|one stack|stack by stack|single stack", migration, re.I
        ):
            add(Finding("C09", "$.protected_state_migration", "must proceed one stack at a time"))

    # C10 not a rejected-final class; nothing promotes a rejected surface.
    klass_text = present(data.get("candidate_class"))
    klass = classify(klass_text) if klass_text is not None else None
    if klass_text is not None:
        if klass is None:
            add(Finding("C10", "$.candidate_class", f"unknown candidate class {quote(klass_text)}"))
        elif klass.posture == "rejected-final":
            add(Finding("C10", "$.candidate_class", f"{klass.value} is rejected as final"))
    for field in SURFACE_FIELDS:
        for path, text in iter_strings(data.get(field), f"$.{field}"):
            for pattern, what in (
                (_INTERIM_HOST, "the interim RustFS singleton"),
                (_LOCAL_PATH, "local-path storage"),
                (_CACHE_SURFACE, "a cache surface"),
                (_ACTIVE_STATE_BUCKET, "the active tofu-state bucket"),
            ):
                clause = affirmed(text, pattern)
                if clause is not None:
                    add(Finding("C10", path, f"promotes {what}: {quote(clause)}"))

    # C11 conditional classes carry their conditions.
    if klass in (CandidateClass.CLUSTER_MINIO, CandidateClass.REPLICATED_RUSTFS):
        text = " ".join(value for _, value in iter_strings(data))
        needed = (
            [
                ("multi-node", r"multi-node|multiple nodes"),
                ("multi-drive", r"multi-drive|multiple drives|erasure"),
                ("quorum design", r"quorum"),
                ("state-only bucket policy", r"state-only bucket policy|bucket policy"),
            ]
            if klass is CandidateClass.CLUSTER_MINIO
            else [
                ("multi-node topology", r"multi-node|multiple nodes"),
                ("admin/heal tooling in the deployed image", r"\bheal\b"),
            ]
        )
        for what, condition in needed:
            if not re.search(condition, text, re.I):
                add(
                    Finding(
                        "C11",
                        "$.candidate_class",
                        f"{klass.value} needs {what}, which the contract does not state",
                    )
                )

    # C12 static stop conditions.
    for path, text in iter_strings(data):
        clause = affirmed(text, _SINGLE_RWO)
        if clause is not None:
            add(
                Finding(
                    "C12", path, f"state on a single RWO volume (stop condition): {quote(clause)}"
                )
            )
    for path, text in iter_strings(data.get("proof_plan"), "$.proof_plan"):
        for clause in clauses(text):
            if negated(clause):
                continue
            if _CACHE_PATH.search(clause):
                add(
                    Finding(
                        "C12",
                        path,
                        f"proof depends on the Attic/Bazel cache path (stop condition): {quote(clause)}",
                    )
                )
            elif (
                _MAINTENANCE.search(clause)
                and _PROTECTED_STACK.search(clause)
                and _MUTATES.search(clause)
            ):
                add(
                    Finding(
                        "C12",
                        path,
                        f"node-maintenance proof mutates a protected stack (stop condition): {quote(clause)}",
                    )
                )
    for path, text in iter_strings(data.get("observability"), "$.observability"):
        clause = affirmed(text, _CACHE_SIGNAL)
        if clause is not None:
            add(
                Finding(
                    "C12",
                    path,
                    f"proof signal is a cache/runner/RBE observation (stop condition): {quote(clause)}",
                )
            )
    return findings


def static_stop_conditions(findings: list[Finding]) -> list[Finding]:
    """The findings that are static stop conditions (C03, C04, C12)."""
    return [f for f in findings if f.rule in STATIC_STOP_RULES]
