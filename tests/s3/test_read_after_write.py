"""Read-after-write against moto's HTTP server: every acknowledged write is read once through
every reader, and a reader that serves something else is named with what it served."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import pytest

from pytest_hastate.s3.client import S3Access, client
from pytest_hastate.s3.scratch import read_after_write, read_key_shares
from pytest_hastate.scope.scratch import ScratchScope
from tests.support.engines import TlsMotoServer

SCOPE = ScratchScope("hastate-raw", "hastate/", "20261206t130000z-0badcafe")


def guarded(server: TlsMotoServer, ca: Path) -> Any:
    access = S3Access(
        endpoints=(server.endpoint,), region="us-east-1", access_key="moto-proof-key",
        secret_key="moto-proof-secret", verify=str(ca), path_style=True,
    )  # fmt: skip
    s3 = client(access, SCOPE)
    s3.create_bucket(Bucket=SCOPE.bucket)
    s3.put_bucket_versioning(Bucket=SCOPE.bucket, VersioningConfiguration={"Status": "Enabled"})
    return s3


def test_every_write_is_read_through_every_reader(moto_tls: TlsMotoServer, tmp_path: Path) -> None:
    s3 = guarded(moto_tls, tmp_path / "ca.pem")
    readers = [("a", s3), ("b", s3), ("c", s3)]
    keys = [SCOPE.key("raw", str(i)) for i in range(2)]
    with ThreadPoolExecutor(3) as pool:
        checks = read_after_write(("a", s3), readers, SCOPE.bucket, keys, pool)
    assert len(checks) == 12  # 2 keys x (new, overwrite) x 3 readers
    assert Counter((c.key, c.kind) for c in checks) == {
        (k, kind): 3 for k in keys for kind in ("new", "overwrite")
    }
    assert {c.reader for c in checks} == {"a", "b", "c"}
    assert all(c.first_read == "current" and c.writer == "a" for c in checks)


def test_a_reader_serving_the_old_version_is_stale(moto_tls: TlsMotoServer, tmp_path: Path) -> None:
    """A reader pinned to the first version (a replica that never caught up): the overwrite's
    first read there is stale, with what it served; the other reader is current."""
    s3 = guarded(moto_tls, tmp_path / "ca.pem")
    key = SCOPE.key("raw", "pinned")
    lagging = boto3.client(
        "s3", endpoint_url=moto_tls.endpoint, verify=str(tmp_path / "ca.pem"),
        region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s",
    )  # fmt: skip
    pinned: dict[str, str] = {}

    def first_version(params: dict[str, Any], **_: Any) -> None:
        if params.get("Key") == key:
            if not pinned:
                listed = lagging.list_object_versions(Bucket=SCOPE.bucket, Prefix=key)
                pinned["v"] = listed["Versions"][-1]["VersionId"]
            params["VersionId"] = pinned["v"]

    lagging.meta.events.register("provide-client-params.s3.GetObject", first_version)
    with ThreadPoolExecutor(2) as pool:
        checks = read_after_write(
            ("a", s3), [("a", s3), ("lagging", lagging)], SCOPE.bucket, [key], pool
        )
    stale = [c for c in checks if c.stale]
    assert [(c.reader, c.kind) for c in stale] == [("lagging", "overwrite")]
    assert stale[0].first_read.startswith("other bytes")
    assert stale[0].lag is None  # never current within LAG_LIMIT


@pytest.mark.parametrize("endpoints", range(1, 25))
def test_every_writer_has_a_share_and_every_reader_sixteen_keys(endpoints: int) -> None:
    """Each endpoint writes at least one key (so every (writer, reader) pair has a new and an
    overwrite first read), 8 each on one or two endpoints, and 16 keys in all up to 16."""
    shares = read_key_shares(endpoints)
    assert len(shares) == endpoints
    assert min(shares) >= 1
    assert max(shares) - min(shares) <= 1
    assert sum(shares) == (8 * endpoints if endpoints <= 2 else max(16, endpoints))
