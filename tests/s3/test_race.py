"""The conditional-write race on SeaweedFS, through a gateway proxy that fails TLS handshakes:
each writer opens its connection with a read that may be retried before the race begins, so a
failed handshake is neither a lost race nor an unreachable endpoint, and a writer whose endpoint
never answers does not hold the others back. A conditional PUT that is a client's first request
(the lock's) is sent when its handshake fails, once."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from urllib3.connectionpool import HTTPSConnectionPool

from pytest_hastate.fixtures.s3 import RACE_FOLDER
from pytest_hastate.lab import LabCluster
from pytest_hastate.lab.artifacts import admin
from pytest_hastate.lab.engine import REGION, free_ports
from pytest_hastate.s3.client import ClientError, S3Access, client, status
from pytest_hastate.s3.health import BackendHealth
from pytest_hastate.s3.scratch import conditional_race, payload
from pytest_hastate.scope.scratch import ScratchScope
from tests.support.engines import FaultyGatewayProxy

WRITERS = 8
BUCKET = f"hastate-race-{uuid.uuid4().hex[:8]}"
SCOPE = ScratchScope(BUCKET, "hastate/", f"20261206t220000z-{uuid.uuid4().hex[:8]}")


@pytest.fixture(scope="module")
def proxy(hastate_singleton_lab: LabCluster) -> Iterator[FaultyGatewayProxy]:
    """The singleton lab's gateway behind a proxy that forwards everything, to a bucket of this
    module's own (the lab's scratch bucket stays as the proof runs expect it), removed after."""
    lab, keeper = hastate_singleton_lab, admin(hastate_singleton_lab)
    keeper.create_bucket(Bucket=BUCKET)
    try:
        with FaultyGatewayProxy(
            lab.endpoints[0], ca=lab.ca, cert=lab.directory / "s3-cert.pem",
            key=lab.directory / "s3-key.pem", access_key=credentials(lab)[0],
            secret_key=credentials(lab)[1], region=REGION, strip_if_none_match=False,
        ) as forwarding:  # fmt: skip
            yield forwarding
    finally:
        listed = keeper.list_objects_v2(Bucket=BUCKET).get("Contents", [])
        for item in listed:
            keeper.delete_object(Bucket=BUCKET, Key=item["Key"])
        keeper.delete_bucket(Bucket=BUCKET)


def credentials(lab: LabCluster) -> tuple[str, str]:
    """The lab's admin identity: the module's bucket is its own."""
    assert lab.credentials is not None
    return lab.credentials.admin_key, lab.credentials.admin_secret


def writers(lab: LabCluster, endpoints: list[str], health: BackendHealth) -> list[Any]:
    """The race's clients as the proof builds them: one per endpoint, retrying, shared by the
    writers on that endpoint."""
    key, secret = credentials(lab)
    access = S3Access(
        endpoints=tuple(endpoints), region=REGION, access_key=key, secret_key=secret,
        verify=str(lab.ca), path_style=True,
    )  # fmt: skip
    shared = {e: client(access, SCOPE, e, health=health) for e in endpoints}
    return [shared[endpoints[i % len(endpoints)]] for i in range(WRITERS)]


def race_key() -> str:
    return SCOPE.key(RACE_FOLDER, uuid.uuid4().hex[:8])


def test_a_failed_handshake_before_the_race_is_retried_not_judged(
    hastate_singleton_lab: LabCluster, proxy: FaultyGatewayProxy
) -> None:
    health = BackendHealth()
    clients = writers(hastate_singleton_lab, [proxy.endpoint], health)
    clients[0].list_objects_v2(
        Bucket=BUCKET, Prefix=SCOPE.run_prefix, MaxKeys=1
    )  # idle, for the marker
    before = proxy.reset_done
    proxy.reset_next(1)  # the first connection a writer opens ends mid-handshake
    result = conditional_race(clients, BUCKET, race_key(), [payload(64)] * WRITERS)
    assert proxy.reset_done == before + 1  # the failure happened, and was absorbed
    assert result.errors == {}
    assert len(result.winners) == 1
    assert len(result.refused) == WRITERS - 1
    assert not health.trips


def test_a_lock_put_whose_handshake_failed_is_sent_and_holds(
    hastate_singleton_lab: LabCluster, proxy: FaultyGatewayProxy
) -> None:
    """Outside the race (step 2b's two writers, the synthetic lock) a conditional PUT is a new
    client's first request: a handshake the gateway drops is not its answer. The PUT is sent
    then, takes the key, and a second writer is refused."""
    health = BackendHealth()
    first, second = writers(hastate_singleton_lab, [proxy.endpoint], health)[:2]
    lock = SCOPE.key("lock", uuid.uuid4().hex[:8] + ".tflock")
    before = proxy.reset_done
    proxy.reset_next(1)
    first.put_object(Bucket=BUCKET, Key=lock, Body=b"held", IfNoneMatch="*")
    assert proxy.reset_done == before + 1
    with pytest.raises(ClientError) as refused:
        second.put_object(Bucket=BUCKET, Key=lock, Body=b"taken", IfNoneMatch="*")
    assert status(refused.value) == 412
    assert first.get_object(Bucket=BUCKET, Key=lock)["Body"].read() == b"held"
    assert not health.trips


def test_a_writer_whose_endpoint_never_answers_does_not_hold_the_race(
    hastate_singleton_lab: LabCluster, proxy: FaultyGatewayProxy
) -> None:
    """Half the writers on a port nothing listens on: theirs is the endpoint's failure (no
    answer, after its retries), and the writers on the live endpoint race without waiting for
    them at the start line."""
    dead = f"https://127.0.0.1:{free_ports(1)[0]}"
    health = BackendHealth()
    clients = writers(hastate_singleton_lab, [proxy.endpoint, dead], health)
    result = conditional_race(clients, BUCKET, race_key(), [payload(64)] * WRITERS)
    dead_writers = set(range(1, WRITERS, 2))
    assert set(result.errors) == dead_writers, result.errors
    assert not any("barrier" in error for error in result.errors.values()), result.errors
    assert len(result.winners) == 1
    assert set(result.winners) | set(result.refused) == set(range(0, WRITERS, 2))
    assert {endpoint for endpoint, _ in health.trips} == {dead}


def test_the_race_s_puts_open_no_connection_of_their_own(
    hastate_singleton_lab: LabCluster, proxy: FaultyGatewayProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every writer holds a connection (its start marker's GET, unread) until all have one, and
    gives it back just before its PUT takes one: no PUT meets a TLS handshake of its own. The
    writers' GETs leave 50 ms apart, so a GET that did not hold its connection would hand it
    to the next writer's, and the PUTs would find too few."""
    clients = writers(hastate_singleton_lab, [proxy.endpoint], BackendHealth())
    putting, opened = threading.local(), Counter[str]()
    original = HTTPSConnectionPool._new_conn

    def counted(pool: HTTPSConnectionPool) -> Any:
        opened["put" if getattr(putting, "now", False) else "other"] += 1
        return original(pool)

    def mark(**_: Any) -> None:  # a writer's PUT (the start marker's is the main thread's)
        putting.now = threading.current_thread().name.startswith("hastate-race-")

    monkeypatch.setattr(HTTPSConnectionPool, "_new_conn", counted)
    clients[0].meta.events.register("before-send.s3.PutObject", mark)

    def staggered(**_: Any) -> None:
        putting.now = False
        name = threading.current_thread().name
        if name.startswith("hastate-race-"):
            time.sleep(0.05 * int(name.rsplit("-", 1)[1]))

    clients[0].meta.events.register("before-send.s3.GetObject", staggered)
    result = conditional_race(clients, BUCKET, race_key(), [payload(64)] * WRITERS)
    assert len(result.winners) == 1, result
    assert opened["other"] >= WRITERS - 1  # the held GETs opened them (one may reuse the marker's)
    assert opened["put"] == 0, opened
