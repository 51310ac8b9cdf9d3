"""The scratch removal against moto's HTTP server: every version and delete marker under the
prefix goes in one DeleteObjects request, nothing outside it is touched, and an engine that
refuses DeleteObjects as a whole still gets every version removed, one request each."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import boto3
import pytest

from pytest_hastate.s3.client import S3Access, client
from pytest_hastate.s3.scratch import delete_everything_under
from pytest_hastate.scope.scratch import ScratchScope
from tests.support.engines import FaultyGatewayProxy, TlsMotoServer

SCOPE = ScratchScope("hastate-scratch", "hastate/", "20261206t120000z-0badcafe")
KEYS = ("state", "lock", "other")
KEY_ID, SECRET = "moto-proof-key", "moto-proof-secret"


def guarded(endpoint: str, ca: Path) -> tuple[Any, Counter[str]]:
    access = S3Access(
        endpoints=(endpoint,), region="us-east-1", access_key=KEY_ID, secret_key=SECRET,
        verify=str(ca), path_style=True,
    )  # fmt: skip
    s3 = client(access, SCOPE)
    sent: Counter[str] = Counter()
    s3.meta.events.register("after-call.s3", lambda model, **_: sent.update([model.name]))
    return s3, sent


@pytest.fixture
def filled(moto_tls: TlsMotoServer, tmp_path: Path) -> tuple[Any, str]:
    """Three versions of one key, a delete marker, a plain object under the run's prefix, and
    one object of another run (written around the guard, as another run would)."""
    admin = boto3.client(
        "s3", endpoint_url=moto_tls.endpoint, verify=str(tmp_path / "ca.pem"),
        region_name="us-east-1", aws_access_key_id=KEY_ID, aws_secret_access_key=SECRET,
    )  # fmt: skip
    admin.create_bucket(Bucket=SCOPE.bucket)
    admin.put_bucket_versioning(Bucket=SCOPE.bucket, VersioningConfiguration={"Status": "Enabled"})
    for round_no in range(3):
        admin.put_object(Bucket=SCOPE.bucket, Key=SCOPE.key("state"), Body=b"v%d" % round_no)
    admin.put_object(Bucket=SCOPE.bucket, Key=SCOPE.key("lock"), Body=b"held")
    admin.delete_object(Bucket=SCOPE.bucket, Key=SCOPE.key("lock"))
    admin.put_object(Bucket=SCOPE.bucket, Key=SCOPE.key("other"), Body=b"x")
    admin.put_object(Bucket=SCOPE.bucket, Key="hastate/another-run/state", Body=b"keep")
    return admin, moto_tls.endpoint


def versions(admin: Any) -> set[str]:
    """Keys with any version left (moto's server keeps one store for the whole test process)."""
    listed = admin.list_object_versions(Bucket=SCOPE.bucket)
    return {v["Key"] for v in (*listed.get("Versions", []), *listed.get("DeleteMarkers", []))}


def test_everything_under_the_prefix_goes_in_one_request(
    filled: tuple[Any, str], tmp_path: Path
) -> None:
    admin, endpoint = filled
    s3, sent = guarded(endpoint, tmp_path / "ca.pem")
    assert delete_everything_under(s3, SCOPE.bucket, SCOPE.run_prefix) == []
    assert versions(admin) == {"hastate/another-run/state"}
    assert sent["DeleteObjects"] == 1
    assert sent["DeleteObject"] == 0


def refusing_delete_objects(endpoint: str, folder: Path) -> FaultyGatewayProxy:
    """moto's server behind a proxy that answers DeleteObjects 501 (an engine without it)."""
    proxy = FaultyGatewayProxy(
        endpoint, ca=folder / "ca.pem", cert=folder / "cert.pem", key=folder / "key.pem",
        access_key=KEY_ID, secret_key=SECRET, region="us-east-1", strip_if_none_match=False,
    )  # fmt: skip
    proxy.fail_matching = ("POST", r"[?&]delete", 501)
    return proxy


def test_an_engine_refusing_delete_objects_gets_one_request_per_version(
    filled: tuple[Any, str], tmp_path: Path
) -> None:
    admin, endpoint = filled
    proxy = refusing_delete_objects(endpoint, tmp_path)
    with proxy:
        s3, sent = guarded(proxy.endpoint, tmp_path / "ca.pem")
        assert delete_everything_under(s3, SCOPE.bucket, SCOPE.run_prefix) == []
    assert proxy.injected >= 1
    assert versions(admin) == {"hastate/another-run/state"}
    assert sent["DeleteObject"] == 6  # 3 versions, a version and its delete marker, 1 object


def test_what_the_engine_keeps_is_the_residue(filled: tuple[Any, str], tmp_path: Path) -> None:
    """An engine that refuses DeleteObjects and answers each DELETE without deleting: the
    residue names every version left, from a second listing, not from the answers."""
    admin, endpoint = filled
    proxy = refusing_delete_objects(endpoint, tmp_path)
    proxy.drop_deletes_matching = "."
    with proxy:
        s3, _sent = guarded(proxy.endpoint, tmp_path / "ca.pem")
        residue = delete_everything_under(s3, SCOPE.bucket, SCOPE.run_prefix)
    assert len(residue) == 6
    assert proxy.dropped_deletes == 6
    assert all(r.startswith(f"{SCOPE.bucket}/{SCOPE.run_prefix}") for r in residue)
    delete_everything_under(admin, SCOPE.bucket, SCOPE.run_prefix)  # moto's store is shared


def test_versions_a_delete_objects_answer_left_behind_are_deleted_one_by_one(
    filled: tuple[Any, str], tmp_path: Path
) -> None:
    """An engine that answers DeleteObjects 200 with every key failed inside the answer: what
    the second listing still shows is deleted version by version."""
    admin, endpoint = filled
    proxy = refusing_delete_objects(endpoint, tmp_path)
    proxy.fail_matching = None
    proxy.fail_delete_objects_keys = True
    with proxy:
        s3, sent = guarded(proxy.endpoint, tmp_path / "ca.pem")
        assert delete_everything_under(s3, SCOPE.bucket, SCOPE.run_prefix) == []
    assert proxy.injected == 1
    assert sent["DeleteObject"] == 6
    assert versions(admin) == {"hastate/another-run/state"}


def test_versions_under_the_spared_prefix_are_left_alone(
    filled: tuple[Any, str], tmp_path: Path
) -> None:
    """The early sweep's removal: everything under the prefix goes but what is under
    ``spare`` (the race's keys, still being written), and what is left is not residue."""
    admin, endpoint = filled
    s3, sent = guarded(endpoint, tmp_path / "ca.pem")
    spared = SCOPE.key("lock")
    assert delete_everything_under(s3, SCOPE.bucket, SCOPE.run_prefix, spare=spared) == []
    assert versions(admin) == {spared, "hastate/another-run/state"}
    assert sent["DeleteObjects"] == 1
    assert delete_everything_under(s3, SCOPE.bucket, SCOPE.run_prefix) == []
    assert versions(admin) == {"hastate/another-run/state"}
