"""The candidate contract gate: rules C01-C12, one small function each, judged under a policy
profile (its candidate classes, authority surfaces and words). Pure; never touches the network."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from pytest_hastate.gates.declarations import (
    classify,
    compiled,
    observability_listed,
    promotions,
    protected_stack,
    separation_declared,
)
from pytest_hastate.gates.rules import (
    TEMPLATE_SENTINELS,
    RuleBook,
    list_covers,
    no_inline_secrets,
    non_secret,
    required_strings,
    stated_parts,
    template_sentinels,
)
from pytest_hastate.gates.text import (
    Finding,
    affirmed,
    clauses,
    iter_strings,
    negated,
    present,
    quote,
)
from pytest_hastate.models.profile import CandidateClassRule, Profile

CONTRACT: RuleBook[Profile] = RuleBook("contract")

REQUIRED_STRINGS = (
    "name", "posture", "candidate_class", "s3_endpoint_shape", "audience", "credential_source",
    "rotation_owner", "read_write_scope", "bucket_index_divergence_response",
)  # fmt: skip
# Fields that describe the state surface itself: a cache, local-path storage, the interim
# backend or a protected bucket named here (and not negated) is a promotion.
SURFACE_FIELDS = (
    "name", "posture", "s3_endpoint_shape", "audience", "credential_source", "read_write_scope",
    "bucket_recovery", "state_locking", "failure_behavior",
)  # fmt: skip
LOCKFILE_WORDING = re.compile(r"use_lockfile|lockfile|lock file", re.I)
PLAN_STEPS = (
    ("scratch S3", re.compile(r"scratch", re.I)),
    ("disposable OpenTofu (--run-disposable-tofu)", re.compile(r"--run-disposable-tofu")),
    ("restart verification", re.compile(r"restart", re.I)),
    ("node-maintenance verification", re.compile(r"node[- ]maintenance|failure[- ]domain", re.I)),
)
_PROOF_COMMAND = re.compile(r"ha-state-candidate-proof|hastate prove|\bpytest\b")
_SINGLE_RWO = re.compile(r"single\b.*\b(rwo|readwriteonce)\b|\b(rwo|readwriteonce)\b.*single", re.I)
_MUTATES = re.compile(
    r"\b(apply|applies|migrat\w*|write\w*|mutat\w*|modif\w*|push\w*|delet\w*)\b", re.I
)
_MAINTENANCE = re.compile(r"maintenance|node", re.I)


def _class_of(data: Mapping[str, Any], profile: Profile) -> CandidateClassRule | None:
    text = present(data.get("candidate_class"))
    return classify(text, profile) if text is not None else None


@CONTRACT.rule("C01", "valid JSON object, `non_secret` is `true`, no inline secrets")
def _c01(data: Mapping[str, Any], profile: Profile) -> Iterator[Finding]:
    yield from non_secret("C01", data, "contract")
    yield from no_inline_secrets("C01", data)


@CONTRACT.rule(
    "C02",
    "every required string field is present, non-blank and filled in (no template sentinel unless --allow-template)",
)
def _c02(data: Mapping[str, Any], profile: Profile) -> Iterator[Finding]:
    yield from required_strings("C02", data, REQUIRED_STRINGS)


@CONTRACT.rule(
    "C03", "bucket recovery states versioning, retention or backup, a restore test", stop=True
)
def _c03(data: Mapping[str, Any], profile: Profile) -> Iterator[Finding]:
    yield from stated_parts(
        "C03", data, "bucket_recovery",
        (("versioning", re.compile(r"version|generation", re.I), "object versioning"),
         ("retention_or_backup", re.compile(r"."), "retention or backup"),
         ("restore_test", re.compile(r"restore", re.I), "a restore test")),
        undefined="bucket recovery is not defined (stop condition)",
        missing="{what} is not stated (stop condition)", mismatch="does not state {what}",
    )  # fmt: skip


@CONTRACT.rule("C04", "state locking requires OpenTofu's native S3 lockfile", stop=True)
def _c04(data: Mapping[str, Any], profile: Profile) -> Iterator[Finding]:
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
def _c05(data: Mapping[str, Any], profile: Profile) -> Iterator[Finding]:
    yield from stated_parts(
        "C05", data, "failure_behavior",
        (("endpoint_loss", compiled(profile.endpoint_loss), "one endpoint loss"),
         ("node_or_failure_domain_loss", compiled(profile.node_loss),
          "one node or failure-domain loss")),
        undefined="failure behaviour is not defined", missing="{what} is not covered",
        mismatch="does not describe {what}",
    )  # fmt: skip


@CONTRACT.rule(
    "C06", "observability covers S3 API health, bucket metadata, object availability, lock failures"
)
def _c06(data: Mapping[str, Any], profile: Profile) -> Iterator[Finding]:
    yield from observability_listed("C06", data, "contract")


@CONTRACT.rule(
    "C07",
    "authority separation separates every surface the profile names (the default: Attic, Bazel, BCR/Bzlmod, RBE CAS/action-cache)",
)
def _c07(data: Mapping[str, Any], profile: Profile) -> Iterator[Finding]:
    yield from separation_declared("C07", data, "contract", profile)


@CONTRACT.rule(
    "C08",
    "the proof plan covers scratch S3, disposable OpenTofu, restart and node-maintenance verification, driven by --endpoint-package",
)
def _c08(data: Mapping[str, Any], profile: Profile) -> Iterator[Finding]:
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
def _c09(data: Mapping[str, Any], profile: Profile) -> Iterator[Finding]:
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
    "a candidate class the profile knows and does not reject, and nothing promotes a rejected surface (a negated clause is no promotion)",
)
def _c10(data: Mapping[str, Any], profile: Profile) -> Iterator[Finding]:
    text = present(data.get("candidate_class"))
    klass = _class_of(data, profile)
    to_fill = text is not None and any(s in text.lower() for s in TEMPLATE_SENTINELS)
    if text is not None and klass is None and profile.unknown_class == "refuse" and not to_fill:
        yield Finding(
            "C10", "$.candidate_class",
            f"unknown candidate class {quote(text)} (profile {profile.name})",
        )  # fmt: skip
    elif klass is not None and klass.posture == "rejected-final":
        yield Finding("C10", "$.candidate_class", f"{klass.name} is rejected as final")
    refused = list(promotions(profile))
    for field in SURFACE_FIELDS:
        for path, value in iter_strings(data.get(field), f"$.{field}"):
            for what, pattern in refused:
                clause = affirmed(value, pattern)
                if clause is not None:
                    yield Finding("C10", path, f"promotes {what}: {quote(clause)}")


@CONTRACT.rule(
    "C11",
    "conditional classes carry the conditions the profile names (e.g. quorum design, heal tooling)",
)
def _c11(data: Mapping[str, Any], profile: Profile) -> Iterator[Finding]:
    klass = _class_of(data, profile)
    if klass is None or klass.posture != "conditional":
        return
    text = " ".join(value for _, value in iter_strings(data))
    for condition in klass.conditions:
        if not compiled(condition.match).search(text):
            yield Finding(
                "C11", "$.candidate_class",
                f"{klass.name} needs {condition.name}, which the contract does not state",
            )  # fmt: skip


@CONTRACT.rule(
    "C12",
    "no state on a single RWO volume, no proof on the cache path, no maintenance proof that mutates a protected stack, no cache/runner/RBE signal",
    stop=True,
)
def _c12(data: Mapping[str, Any], profile: Profile) -> Iterator[Finding]:
    for path, text in iter_strings(data):
        clause = affirmed(text, _SINGLE_RWO)
        if clause is not None:
            yield Finding(
                "C12", path, f"state on a single RWO volume (stop condition): {quote(clause)}"
            )
    cache_path = compiled(profile.cache_path) if profile.cache_path else None
    stacks = protected_stack(profile)
    for path, text in iter_strings(data.get("proof_plan"), "$.proof_plan"):
        for clause in (c for c in clauses(text) if not negated(c)):
            if cache_path is not None and cache_path.search(clause):
                yield Finding(
                    "C12",
                    path,
                    f"proof depends on a cache path (stop condition): {quote(clause)}",
                )
            elif _MAINTENANCE.search(clause) and stacks.search(clause) and _MUTATES.search(clause):
                yield Finding(
                    "C12",
                    path,
                    f"node-maintenance proof mutates a protected stack (stop condition): {quote(clause)}",
                )
    signals = compiled(profile.refused_signals) if profile.refused_signals else None
    for path, text in iter_strings(data.get("observability"), "$.observability"):
        clause = affirmed(text, signals) if signals is not None else None
        if clause is not None:
            yield Finding(
                "C12",
                path,
                f"proof signal is a cache/runner/RBE observation (stop condition): {quote(clause)}",
            )


STATIC_STOP_RULES = CONTRACT.stop_rules


def check_contract(
    data: Mapping[str, Any], profile: Profile, *, allow_template: bool = False
) -> list[Finding]:
    """Every finding of rules C01-C12 on one contract under ``profile``, in rule order (a
    starter contract's sentinels are C02 findings unless ``allow_template``)."""
    findings = CONTRACT.check(data, profile)
    if not allow_template:
        findings += template_sentinels("C02", data)
    return sorted(findings, key=lambda finding: finding.rule)


def static_stop_conditions(findings: list[Finding]) -> list[Finding]:
    """The findings that are static stop conditions (C03, C04, C12)."""
    return [f for f in findings if f.rule in STATIC_STOP_RULES]
