"""The CA bundle goes into each TLS context of a client once, by one thread at a time.

botocore's HTTP session hands every new connection the CA bundle's path, and urllib3 loads it
into the session's one shared ``ssl.SSLContext`` again as each connection opens, with the
interpreter lock released. Connections opened at the same moment (the race's writers, the
reads sent to every endpoint at once) then load into one OpenSSL certificate store
concurrently, which OpenSSL 3.0 does not guard: the store is corrupted, and the process dies
in ``X509_LOOKUP_shutdown`` when the context is freed. Here the loader of each context is
serialised and loads each source once (the certificates a second load would add are already
in the store). No boto3 here: it works on the objects the client factory hands it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

Source = tuple[object, object, object]


class TrustLoader:
    """A context's ``load_verify_locations``, serialised, each source loaded once."""

    def __init__(self, load: Callable[..., None]) -> None:
        self.load = load
        self._lock = threading.Lock()
        self._loaded: set[Source] = set()

    def __call__(self, cafile: Any = None, capath: Any = None, cadata: Any = None) -> None:
        data = bytes(cadata) if isinstance(cadata, bytearray | memoryview) else cadata
        source: Source = (cafile, capath, data)
        with self._lock:
            if source in self._loaded:
                return
            self.load(cafile, capath, cadata)
            self._loaded.add(source)


def serialise_context(context: object) -> None:
    """Give ``context`` (an ``ssl.SSLContext``; anything else is left) a ``TrustLoader``."""
    load = getattr(context, "load_verify_locations", None)
    if load is None or isinstance(load, TrustLoader):
        return
    context.load_verify_locations = TrustLoader(load)  # type: ignore[attr-defined]


def serialise_session(session: Any) -> bool:
    """Serialise the CA loading of a botocore HTTP session: its pool manager's context now,
    and every context it makes later (a proxy's). False when it has no pool manager context
    (a botocore this does not know)."""
    manager = getattr(session, "_manager", None)
    context = (getattr(manager, "connection_pool_kw", None) or {}).get("ssl_context")
    make = getattr(session, "_get_ssl_context", None)
    if context is None or not callable(make):
        return False
    serialise_context(context)

    def made() -> Any:
        fresh = make()
        serialise_context(fresh)
        return fresh

    session._get_ssl_context = made
    return True
