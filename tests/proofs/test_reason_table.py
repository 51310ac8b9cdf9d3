"""The table of every failure message the proof steps can give, each with the observation it
states: the request (S3 operation, OpenTofu command, or the gate's file rule) and what came
back. A message must say what was seen before any conclusion; one whose check could not run
because another criterion failed raises ``DependencyFailed`` and the verdict says "by
dependency on ...". A new message without a row here, or a row whose message is gone, fails.

Messages built in a helper (the gates, the verify, the lock checks) or joined from parts built
in the test state their observation there; their row names those words."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import NamedTuple

from tests.support.helpers import REPO


class Row(NamedTuple):
    where: str  # proof file :: function
    starts: str  # the message's source text starts with this
    request: str  # what was asked, as the message (or its helper) names it
    answer: str  # what came back, as the message (or its helper) names it


TABLE = [
    Row("test_1_static::test_candidate_contract_passes_gate", "hastate_package_gate.report.summary", "gate", "refused"),
    Row("test_1_static::test_candidate_contract_passes_gate", "hastate_contract_gate.summary", "gate", "refused"),
    Row("test_1_static::test_endpoint_package_passes_gate", "hastate_package_gate.report.summary", "gate", "refused"),
    Row("test_2a_boundary::test_proof_credentials_are_scoped_to_scratch", "the boundary step sent", "mutating requests", "sent"),
    Row("test_2a_boundary::test_proof_credentials_are_scoped_to_scratch", "; '.join(problems)", "HEAD {target}", "{what}"),
    Row("test_2b_bucket_index::test_bucket_index_agrees_on_every_endpoint", "bucket index diverges", "HeadBucket", "{head}"),
    Row("test_2b_bucket_index::test_fresh_bucket_lifecycle", "could not empty", "empty {probe}", "{residue}"),
    Row("test_2b_bucket_index::test_fresh_bucket_lifecycle", "{endpoint}: HeadBucket {probe} answered {waited.value} for {waited.seconds:.1f} s after it was created", "HeadBucket", "answered"),
    Row("test_2b_bucket_index::test_fresh_bucket_lifecycle", "{endpoint}: HeadBucket {probe} answered {waited.value} for {waited.seconds:.1f} s after it was deleted", "HeadBucket", "answered"),
    Row("test_2b_bucket_index::test_fresh_bucket_lifecycle", "stale read:", "first read", "served"),
    Row("test_2b_bucket_index::test_fresh_bucket_lifecycle", "CreateBucket", "CreateBucket", "answered"),
    Row("test_2b_scratch::test_scratch_bucket_exists_on_every_endpoint", "HeadBucket", "HeadBucket", "answered"),
    Row("test_2b_scratch::test_versioning_is_enabled", "GetBucketVersioning", "GetBucketVersioning", "{state}"),
    Row("test_2b_scratch::test_object_put_head_get_delete", "PUT {key}", "PUT", "returned no version id"),
    Row("test_2b_scratch::test_object_put_head_get_delete", "HEAD answered {code}", "HEAD", "answered"),
    Row("test_2b_scratch::test_object_put_head_get_delete", "HEAD answered {head", "HEAD", "bytes"),
    Row("test_2b_scratch::test_object_put_head_get_delete", "GET answered other bytes", "GET", "other bytes"),
    Row("test_2b_scratch::test_object_put_head_get_delete", "{endpoint}: HEAD", "HEAD", "answered"),
    Row("test_2b_scratch::test_conditional_write_refuses_a_second_writer", "a second PUT", "If-None-Match", "answered"),
    Row("test_2b_scratch::test_conditional_write_refuses_a_second_writer", "GET {key}", "GET", "changed the object"),
    Row("test_2b_scratch::test_conditional_write_refuses_a_second_writer", "store ignores", "If-None-Match", "answered 200"),
    Row("test_2b_scratch::test_conditional_write_race_has_exactly_one_winner", "race on", "race", "answered"),
    Row("test_2b_scratch::test_conditional_write_race_has_exactly_one_winner", "conditional write race", "race", "won"),
    Row("test_2b_scratch::test_conditional_write_race_has_exactly_one_winner", "stale read:", "first read", "served"),
    Row("test_2b_scratch::test_every_endpoint_serves_an_acknowledged_write_on_the_first_read", "stale read:", "first read", "served"),
    Row("test_2b_scratch::test_at_least_two_endpoints_served_the_proof", "endpoints that did not", "writes", "serve reads"),
    Row("test_3_disposable_tofu::test_binary_supports_the_native_s3_lockfile", "{binary}: {product} {version}", "{binary}", "{version}"),
    Row("test_3_disposable_tofu::test_first_apply_writes_a_state", "GET {ws.key} after the first apply: state serial", "GET", "serial"),
    Row("test_3_disposable_tofu::test_first_apply_writes_a_state", "GET {ws.key} after the first apply: the state has no lineage", "GET", "no lineage"),
    Row("test_3_disposable_tofu::test_first_apply_writes_a_state", "GET {ws.key} after the first apply answered version id", "GET", "answered"),
    Row("test_3_disposable_tofu::test_outputs_read_back_what_was_written", "output -json", "output -json", "read back"),
    Row("test_3_disposable_tofu::test_plan_of_the_same_inputs_is_a_noop", "plan -detailed-exitcode", "plan", "exited"),
    Row("test_3_disposable_tofu::test_plan_of_the_same_inputs_is_a_noop", "plan exited 1 on the state lock", "plan", "exited"),
    Row("test_3_disposable_tofu::test_a_held_lock_stops_a_second_run", "plan failed", "plan", "failed"),
    Row("test_3_disposable_tofu::test_a_held_lock_stops_a_second_run", "the lock error", "lock", "does not name"),
    Row("test_3_disposable_tofu::test_a_held_lock_stops_a_second_run", "store ignores", "OpenTofu ran", "exit"),
    Row("test_3_disposable_tofu::test_lock_is_released_and_taken_again", "GET {ws.key}: lineage", "GET", "lineage"),
    Row("test_3_disposable_tofu::test_lock_is_released_and_taken_again", "GET {ws.key}: serial", "GET", "serial"),
    Row("test_3_disposable_tofu::test_lock_is_released_and_taken_again", "stale lock after release", "after {first.after}", "{first.metadata}"),
    Row("test_3_disposable_tofu::fail_on_stale", "stale lock after release", "after {first.after}", "{first.metadata}"),
    Row("test_3_disposable_tofu::test_restore_a_previous_state_version", "restore needs", "applied state versions", "succeeded"),
    Row("test_3_disposable_tofu::test_restore_a_previous_state_version", "GET {ws.key} version", "GET", "other bytes"),
    Row("test_3_disposable_tofu::test_restore_a_previous_state_version", "GET {ws.key} after CopyObject", "CopyObject", "other bytes"),
    Row("test_3_disposable_tofu::test_restore_a_previous_state_version", "plan for the restored", "plan", "exited"),
    Row("test_3_disposable_tofu::test_restore_a_previous_state_version", "plan for the newer", "plan", "exited"),
    Row("test_5_verify::test_every_sample_object_is_intact_on_every_reachable_endpoint", "HeadBucket after maintenance", "HeadBucket", "no answer"),
    Row("test_5_verify::test_every_sample_object_is_intact_on_every_reachable_endpoint", "{len(problems)} sample problem", "GET of version", "answered"),
    Row("test_5_verify::test_endpoint_loss_was_observed", "HeadBucket after maintenance", "HeadBucket", "no answer"),
    Row("test_5_verify::test_disposable_state_still_plans_clean", "GET {record.key}", "GET", "changed"),
    Row("test_5_verify::test_disposable_state_still_plans_clean", "plan on the kept state", "plan", "exited"),
    Row("test_5_verify::test_disposable_state_still_plans_clean", "stale lock after release", "stale lock", "{ws.stale[0]}"),
    Row("test_5_verify::test_fresh_write_read_and_lock_cycle", "HeadBucket after maintenance", "HeadBucket", "no answer"),
    Row("test_5_verify::test_fresh_write_read_and_lock_cycle", "lock cycle through", "lock cycle", "answered"),
    Row("test_5_verify::test_fresh_write_read_and_lock_cycle", "stale read:", "first read", "served"),
    Row("test_5_watch::test_acknowledged_writes_survive_the_window", "GET after the window", "GET", "answered"),
    Row("test_5_watch::test_acknowledged_writes_survive_the_window", "{len(problems)} of the {acked} writes acknowledged", "acknowledged", "served"),
    Row("test_5_watch::test_no_two_contenders_held_the_lock_at_once", "PUT If-None-Match: * acknowledged to two contenders", "PUT If-None-Match", "held the lock"),
    Row("test_5_watch::test_some_endpoint_served_throughout_the_window", "no endpoint served a read or a write", "read or a write", "served"),
    Row("test_6_cleanup::test_cleanup_removes_everything_of_the_run", "cleanup left residue", "cleanup", "residue"),
    Row("test_6_cleanup::test_cleanup_removes_everything_of_the_run", "no endpoint answered the version listing", "version listing", "answered"),
]  # fmt: skip

HELPERS = {
    # messages a row's expression only joins: the words live in the function that builds them
    "{len(problems)} sample problem": (REPO / "pytest_hastate/maintenance/sample.py", "read_sampled_version"),
    "lock cycle through": (REPO / "pytest_hastate/maintenance/sample.py", "lock_cycle"),
    "{len(problems)} of the {acked}": (REPO / "pytest_hastate/maintenance/watch_check.py", "lost_writes"),
    "PUT If-None-Match: * acknowledged": (REPO / "pytest_hastate/maintenance/watch_verify.py", "overlap_lines"),
    "hastate_package_gate.report.summary": (REPO / "pytest_hastate/gates/text.py", "summary"),
    "hastate_contract_gate.summary": (REPO / "pytest_hastate/gates/text.py", "summary"),
}  # fmt: skip


def function_source(path: Path, name: str) -> str:
    """The source of the one function ``name`` in ``path`` (not the whole file)."""
    tree = ast.parse(path.read_text("utf-8"))
    found = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == name]
    assert len(found) == 1, f"{path.name}: {len(found)} functions named {name}"
    return ast.unparse(found[0])


def messages() -> list[tuple[str, str, str]]:
    """(where, message source, function source) for every failure message in the proofs."""
    found = []
    for path in sorted((REPO / "proofs").glob("test_*.py")):
        tree = ast.parse(path.read_text("utf-8"))
        for function in (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)):
            where = f"{path.stem}::{function.name}"
            for node in ast.walk(function):
                message = _message(node)
                if message is not None:
                    text = " ".join(ast.unparse(message).split())
                    found.append((where, re.sub(r"^f?['\"]", "", text), ast.unparse(function)))
    return found


def _message(node: ast.AST) -> ast.expr | None:
    if isinstance(node, ast.Assert):
        return node.msg
    if isinstance(node, ast.Call) and ast.unparse(node.func) == "pytest.fail" and node.args:
        return node.args[0]
    if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and node.exc.args:
        return node.exc.args[0]
    return None


def _row_for(where: str, source: str) -> Row | None:
    rows = [r for r in TABLE if r.where == where and source.startswith(r.starts)]
    return max(rows, key=lambda r: len(r.starts)) if rows else None


def test_every_failure_message_has_a_row() -> None:
    missing = [f"{w}: {s[:80]}" for w, s, _ in messages() if _row_for(w, s) is None]
    assert missing == [], "failure messages without a row in the table: " + "; ".join(missing)


def test_every_row_names_a_message_that_exists() -> None:
    found = messages()
    stale = [
        r for r in TABLE if not any(w == r.where and s.startswith(r.starts) for w, s, _ in found)
    ]
    assert stale == []


def test_every_message_states_its_request_and_what_came_back() -> None:
    weak = []
    for where, source, function in messages():
        row = _row_for(where, source)
        assert row is not None
        text = source
        if "join(" in source:  # the joined parts are built in the test function
            text += function
        for prefix, (helper, name) in HELPERS.items():
            if source.startswith(prefix):
                text += function_source(helper, name)
        for word in (row.request, row.answer):
            if word not in text:
                weak.append(f"{where}: {source[:60]} does not state {word!r}")
    assert weak == []
