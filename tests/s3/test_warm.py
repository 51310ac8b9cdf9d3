"""The client warm-up at collection: it loads what every later client of the identity shares,
and sends nothing (nothing is even connected to); whatever fails in it stays silent, for the
steps' own clients to report."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from pytest_hastate.s3 import client as factory
from pytest_hastate.s3.access import S3Access, warm
from pytest_hastate.scope.scratch import ScratchScope

SCOPE = ScratchScope("hastate-scratch", "hastate/", "20261206t120000z-0badcafe")


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A TCP port that would accept a connection, had anything connected."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.settimeout(0.2)
        yield server


def access_to(server: socket.socket, key_id: str) -> S3Access:
    port = server.getsockname()[1]
    return S3Access(
        endpoints=(f"https://127.0.0.1:{port}",), region="us-east-1",
        access_key=key_id, secret_key="warm-secret", path_style=True,
    )  # fmt: skip


def test_warm_loads_the_identitys_session_and_connects_to_nothing(
    listener: socket.socket,
) -> None:
    access = access_to(listener, "warm-key-1")
    warm(access, lambda: SCOPE).join(timeout=30)
    assert (access.access_key, access.secret_key, None, "us-east-1") in factory._SESSIONS
    with pytest.raises(TimeoutError):
        listener.accept()


def test_a_warm_up_that_fails_says_nothing(
    listener: socket.socket, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A scope that cannot be built (the steps' own fixture will say why): no thread traceback
    on the terminal, no session built."""
    raised: list[BaseException | None] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: raised.append(args.exc_value))
    access = access_to(listener, "warm-key-2")

    def broken() -> ScratchScope:
        raise ValueError("no scope")

    warm(access, broken).join(timeout=30)
    assert raised == []
    assert (access.access_key, access.secret_key, None, "us-east-1") not in factory._SESSIONS
