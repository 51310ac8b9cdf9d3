"""The CA bundle goes into a TLS context once, one thread at a time (``s3.trust``): OpenSSL
3.0's certificate store is corrupted by concurrent loads, and the process dies when the
context is freed."""

from __future__ import annotations

import ssl
import threading
import time
from typing import Any, ClassVar

from pytest_hastate.s3.trust import TrustLoader, serialise_context, serialise_session


class CountingLoad:
    """A load that takes a while and counts its calls and how many ran at once."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, Any, Any]] = []
        self.running = 0
        self.most = 0
        self._lock = threading.Lock()

    def __call__(self, cafile: Any = None, capath: Any = None, cadata: Any = None) -> None:
        with self._lock:
            self.running += 1
            self.most = max(self.most, self.running)
            self.calls.append((cafile, capath, cadata))
        time.sleep(0.01)
        with self._lock:
            self.running -= 1


def test_concurrent_loads_of_one_source_load_it_once_and_never_together() -> None:
    load = CountingLoad()
    loader = TrustLoader(load)
    start = threading.Barrier(16)

    def connect(index: int) -> None:
        start.wait()
        loader("ca.pem" if index % 2 else "other.pem")

    threads = [threading.Thread(target=connect, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert load.most == 1
    assert sorted(call[0] for call in load.calls) == ["ca.pem", "other.pem"]
    loader(cadata=bytearray(b"pem"))
    loader(cadata=b"pem")  # the same data, whatever its type
    assert len(load.calls) == 3


def test_a_context_and_the_contexts_a_session_makes_later_are_serialised() -> None:
    context = ssl.create_default_context()
    serialise_context(context)
    loader = context.load_verify_locations
    assert isinstance(loader, TrustLoader)
    serialise_context(context)
    assert context.load_verify_locations is loader  # not wrapped twice

    class Manager:
        connection_pool_kw: ClassVar[dict[str, Any]] = {"ssl_context": ssl.create_default_context()}

    class Session:
        _manager = Manager()

        def _get_ssl_context(self) -> ssl.SSLContext:
            return ssl.create_default_context()

    session = Session()
    assert serialise_session(session)
    pooled = Manager.connection_pool_kw["ssl_context"]
    assert isinstance(pooled.load_verify_locations, TrustLoader)
    assert isinstance(session._get_ssl_context().load_verify_locations, TrustLoader)
    assert not serialise_session(object())  # a session this does not know
