"""Test-only engines: moto's real HTTP server behind TLS, and a proxy that ignores If-None-Match.

Neither is a mock of S3 behaviour: moto serves real HTTP S3, and the proxy forwards every
request to the real lab, only dropping the conditional-write header (and re-signing, since
SigV4 covers it) so the store behind it acts like a gateway that ignores conditional writes.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self
from urllib.parse import unquote, urlsplit

import trustme
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from moto.server import ThreadedMotoServer
from werkzeug.serving import make_server


class TlsMotoServer(ThreadedMotoServer):
    """moto's ThreadedMotoServer, serving HTTPS with a test CA (the package gate demands TLS)."""

    def __init__(self, cert: Path, key: Path) -> None:
        super().__init__(ip_address="127.0.0.1", port=0, verbose=False)
        self._ssl = (str(cert), str(key))

    def _server_entry(self) -> None:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

        app = DomainDispatcherApplication(create_backend_app)
        self._server = make_server(self._ip_address, self._port, app, True, ssl_context=self._ssl)
        self._server_ready_event.set()
        self._server.serve_forever()

    @property
    def endpoint(self) -> str:
        host, port = self.get_host_and_port()
        return f"https://{host}:{port}"


def make_test_ca(directory: Path) -> tuple[Path, Path, Path]:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    paths = (directory / "ca.pem", directory / "cert.pem", directory / "key.pem")
    ca.cert_pem.write_to_path(str(paths[0]))
    cert.cert_chain_pems[0].write_to_path(str(paths[1]))
    cert.private_key_pem.write_to_path(str(paths[2]))
    return paths


class TlsHttpServer(ThreadingHTTPServer):
    """A threading HTTPS server whose TLS handshakes happen in each request's own thread, with
    a deep accept backlog: a race of many writers must not queue behind one handshake on the
    listening thread, nor be reset because the default backlog (5) overflowed."""

    request_queue_size = 128
    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        context: ssl.SSLContext,
    ) -> None:
        self.context = context
        self.resets = 0
        """Connections still to be closed before their TLS handshake (a loaded gateway's failed
        handshake: the client sees the connection end mid-handshake)."""
        self.reset_done = 0
        self._reset_lock = threading.Lock()
        super().__init__(address, handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        with self._reset_lock:
            reset = self.resets > 0
            if reset:
                self.resets -= 1
                self.reset_done += 1
        if reset:
            return  # the server's shutdown_request closes it, unanswered
        with contextlib.suppress(ssl.SSLError, OSError):  # a client that gave up mid-handshake
            tls = self.context.wrap_socket(request, server_side=True)
            super().finish_request(tls, client_address)


class BackgroundHttpServer:
    """A threading HTTP server on a free loopback port, run in a daemon thread while in ``with``."""

    _server: ThreadingHTTPServer

    def _serve(self, server: ThreadingHTTPServer) -> None:
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)

    def _serve_tls(self, handler: type[BaseHTTPRequestHandler], cert: Path, key: Path) -> None:
        """Serve ``handler`` over HTTPS with the lab CA's leaf (the way a gateway would)."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(cert), str(key))
        self._serve(TlsHttpServer(("127.0.0.1", 0), handler, context))

    def reset_next(self, connections: int) -> None:
        """Close the next ``connections`` accepted before their TLS handshake."""
        assert isinstance(self._server, TlsHttpServer)
        with self._server._reset_lock:
            self._server.resets = connections

    @property
    def reset_done(self) -> int:
        """Connections closed so far by ``reset_next``."""
        assert isinstance(self._server, TlsHttpServer)
        return self._server.reset_done

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def endpoint(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


class KeepPayloadHashSigner(S3SigV4Auth):
    """Re-sign, keeping the client's declared payload hash (e.g. STREAMING-UNSIGNED-PAYLOAD-TRAILER
    for aws-chunked uploads): botocore would replace it, and the store would then keep the chunk
    framing as part of the object."""

    def __init__(self, credentials: Credentials, region: str, declared: str | None) -> None:
        super().__init__(credentials, "s3", region)
        self._declared = declared

    def payload(self, request: AWSRequest) -> str:
        return self._declared or super().payload(request)


HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "proxy-connection",
}
DROPPED = {
    "authorization",
    "x-amz-date",
    "x-amz-security-token",
    "if-none-match",
    "host",
    "content-length",
}


class StaleWindow:
    """Shared by several proxies: an object written through one proxy is missing (404) through
    the others for ``seconds`` after the write was acknowledged, as on a backend whose
    endpoints replicate asynchronously."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.writes: dict[str, tuple[str, float]] = {}
        self.served_stale = 0
        self._lock = threading.Lock()

    def wrote(self, proxy: str, path: str) -> None:
        with self._lock:
            self.writes[path] = (proxy, time.monotonic())

    def hides(self, proxy: str, path: str) -> bool:
        with self._lock:
            writer, at = self.writes.get(path, (proxy, 0.0))
            stale = writer != proxy and time.monotonic() - at < self.seconds
            self.served_stale += stale
            return stale


class FaultyGatewayProxy(BackgroundHttpServer):
    """HTTPS proxy to one real gateway that misbehaves like broken S3 gateways in the field.

    ``strip_if_none_match``: drop the conditional-write header (and re-sign, since SigV4 covers
    it), so the store behind acts as if it ignored conditional writes.
    ``drop_lock_deletes``: answer DELETE of ``*.tflock`` with 204 without forwarding it, so a
    released lock stays visible (``drop_deletes_matching`` sets any key pattern, at any time); a
    DeleteObjects naming such a key is answered "deleted" for every key and not forwarded (the
    others go when the caller deletes what its next listing still shows).
    ``hide_buckets``: leave these buckets out of ListBuckets answers, as Ceph RGW and AWS do
    for a bucket the caller does not own (one opened to it by a bucket policy).
    ``drop_puts_matching`` (a key pattern, settable at any time): answer such a PUT with 200, an
    ETag and a made-up version id, without forwarding it (an acknowledged write that is lost).
    ``racy_if_none_match`` (settable at any time): a conditional PUT becomes "HEAD, wait, PUT"
    (not atomic), so two contenders can both be told they created the object.
    """

    def __init__(
        self,
        upstream: str,
        *,
        ca: Path,
        cert: Path,
        key: Path,
        access_key: str,
        secret_key: str,
        region: str,
        strip_if_none_match: bool = True,
        drop_lock_deletes: bool = False,
        stale: StaleWindow | None = None,
        hide_buckets: frozenset[str] = frozenset(),
    ) -> None:
        self.upstream = urlsplit(upstream)
        self.stripped = 0
        self.dropped_deletes = 0
        self.drop_deletes_matching: str | None = r"\.tflock$" if drop_lock_deletes else None
        self.drop_puts_matching: str | None = None
        self.racy_if_none_match = False
        self.dropped_puts = 0
        # (method, pattern on the raw path and query, status): answer with that error instead.
        self.fail_matching: tuple[str, str, int] | None = None
        self.fail_delay = 0.0  # seconds before the injected failure is answered (a slow 5xx)
        # answer DeleteObjects 200 with every key failed inside it, deleting nothing
        self.fail_delete_objects_keys = False
        self.injected = 0
        upstream_context = ssl.create_default_context(cafile=str(ca))
        credentials = Credentials(access_key, secret_key)
        self._context, self._credentials, self._region = upstream_context, credentials, region
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # no 40 ms delayed-ACK stall per answer

            def log_message(self, *args: object) -> None:
                return

            def _body(self) -> bytes:
                if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                    data = b""
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            while self.rfile.readline().strip():
                                pass  # HTTP trailers
                            return data
                        data += self.rfile.read(size)
                        self.rfile.readline()
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

            def _delete_result(self, body: bytes, *, deleted: bool) -> None:
                """A 200 DeleteObjects answer naming every key of ``body`` as deleted, or as
                failed; nothing is forwarded."""
                named = re.findall(
                    rb"<Object><Key>(.*?)</Key>(?:<VersionId>(.*?)</VersionId>)?", body
                )
                entries = b"".join(
                    (b"<Deleted>" if deleted else b"<Error>")
                    + b"<Key>" + key + b"</Key><VersionId>" + version + b"</VersionId>"
                    + (b"</Deleted>" if deleted else
                       b"<Code>InternalError</Code><Message>injected</Message></Error>")
                    for key, version in named
                )  # fmt: skip
                answer = b"<?xml version='1.0'?><DeleteResult>" + entries + b"</DeleteResult>"
                self.send_response(200)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def _forward(self) -> None:
                body = self._body()
                path = urlsplit(self.path)
                object_path = unquote(path.path) if path.path.count("/") >= 2 else None
                if (
                    stale is not None
                    and object_path
                    and self.command in ("GET", "HEAD")
                    and "versions" not in path.query
                    and stale.hides(proxy.endpoint, object_path)
                ):
                    missing = b"<?xml version='1.0'?><Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>"
                    self.send_response(404)
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(missing)))
                    self.end_headers()
                    if self.command == "GET":
                        self.wfile.write(missing)
                    return
                if (
                    proxy.fail_delete_objects_keys
                    and self.command == "POST"
                    and (re.search(r"[?&]delete", self.path))
                ):
                    proxy.injected += 1
                    self._delete_result(body, deleted=False)
                    return
                failing = proxy.fail_matching
                if failing and self.command == failing[0] and re.search(failing[1], self.path):
                    proxy.injected += 1
                    time.sleep(proxy.fail_delay)
                    code = b"AccessDenied" if failing[2] == 403 else b"ServiceUnavailable"
                    error = (
                        b"<?xml version='1.0'?><Error><Code>"
                        + code
                        + b"</Code><Message>injected by the test proxy</Message></Error>"
                    )
                    self.send_response(failing[2])
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(error)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(error)
                    return
                pattern = proxy.drop_deletes_matching
                if (
                    pattern
                    and self.command == "DELETE"
                    and re.search(pattern, unquote(urlsplit(self.path).path))
                ):
                    proxy.dropped_deletes += 1
                    self.send_response(204)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if pattern and self.command == "POST" and re.search(r"[?&]delete", self.path):
                    bucket = unquote(path.path).strip("/").split("/")[0]
                    keys = re.findall(rb"<Key>(.*?)</Key>", body)
                    kept = [k for k in keys if re.search(pattern, f"/{bucket}/{k.decode()}")]
                    if kept:  # the same store keeps them whichever way they are deleted
                        proxy.dropped_deletes += len(kept)
                        self._delete_result(body, deleted=True)
                        return
                pattern = proxy.drop_puts_matching
                if pattern and self.command == "PUT" and re.search(pattern, unquote(path.path)):
                    proxy.dropped_puts += 1
                    self.send_response(200)
                    self.send_header("ETag", '"00000000000000000000000000000000"')
                    self.send_header("x-amz-version-id", f"dropped{proxy.dropped_puts}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                strip = strip_if_none_match
                if (
                    proxy.racy_if_none_match
                    and self.command == "PUT"
                    and "If-None-Match" in self.headers
                ):
                    if proxy.upstream_exists(self.path):
                        self.send_response(412)
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    time.sleep(0.3)  # the window in which a second contender gets in
                    strip = True
                dropped = DROPPED if strip else DROPPED - {"if-none-match"}
                if strip and "If-None-Match" in self.headers:
                    proxy.stripped += 1
                headers = {
                    k: v for k, v in self.headers.items() if k.lower() not in dropped | HOP_BY_HOP
                }
                url = f"{proxy.upstream.scheme}://{proxy.upstream.netloc}{self.path}"
                request = AWSRequest(method=self.command, url=url, headers=headers, data=body)
                KeepPayloadHashSigner(
                    credentials, region, self.headers.get("X-Amz-Content-SHA256")
                ).add_auth(request)
                connection = http.client.HTTPSConnection(
                    proxy.upstream.netloc, context=upstream_context, timeout=30
                )
                try:
                    connection.request(
                        self.command,
                        self.path,
                        body=body or None,
                        headers=dict(request.headers.items()),
                    )
                    response = connection.getresponse()
                    payload = response.read()
                finally:
                    connection.close()
                if (
                    stale is not None
                    and object_path
                    and self.command == "PUT"
                    and response.status == 200
                ):
                    stale.wrote(proxy.endpoint, object_path)
                if self.command == "GET" and path.path in ("", "/") and response.status == 200:
                    for name in hide_buckets:  # ListBuckets
                        entry = rf"<Bucket>\s*<Name>{re.escape(name)}</Name>.*?</Bucket>".encode()
                        payload = re.sub(entry, b"", payload, flags=re.S)
                self.send_response(response.status)
                for name, value in response.getheaders():
                    if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                        self.send_header(name, value)
                length = (
                    response.getheader("Content-Length", "0")
                    if self.command == "HEAD"
                    else str(len(payload))
                )
                self.send_header("Content-Length", length)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _forward

        self._serve_tls(Handler, cert, key)

    def upstream_exists(self, raw_path: str) -> bool:
        """HEAD of the object upstream, signed like every forwarded request."""
        url = f"{self.upstream.scheme}://{self.upstream.netloc}{raw_path}"
        request = AWSRequest(method="HEAD", url=url, headers={})
        KeepPayloadHashSigner(self._credentials, self._region, None).add_auth(request)
        connection = http.client.HTTPSConnection(
            self.upstream.netloc, context=self._context, timeout=30
        )
        try:
            connection.request("HEAD", raw_path, headers=dict(request.headers.items()))
            return connection.getresponse().status == 200
        finally:
            connection.close()


class StallingGateway(BackgroundHttpServer):
    """An HTTPS endpoint that accepts connections, reads each request, and never answers (a
    gateway whose backend hangs). Held requests are released when the server stops."""

    def __init__(self, cert: Path, key: str | Path) -> None:
        self.requests = 0
        self.release = threading.Event()
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # no 40 ms delayed-ACK stall per answer

            def log_message(self, *args: object) -> None:
                return

            def _hold(self) -> None:
                gateway.requests += 1
                gateway.release.wait(timeout=600)
                self.close_connection = True

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _hold

        self._serve_tls(Handler, cert, Path(key))

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        super().__exit__(*exc)


class RecordingS3Server(BackgroundHttpServer):
    """An HTTPS server that records every request as the wire carries it (method, raw path,
    Host, copy-source header, body) and answers 200 with an empty XML document, or with the
    status and Location of ``redirect`` when set, or with ``failing`` (a 5xx) when set, or not
    at all when ``dropping`` (the connection closes after the request was read: an answer
    lost), or with bytes that are not TLS when ``garbling`` (the client's TLS fails on a
    connection that carried the request). What reaches it was sent; nothing else was."""

    def __init__(self, cert: Path, key: Path) -> None:
        self.requests: list[dict[str, str]] = []
        self.redirect: tuple[int, str] | None = None
        self.failing: int | None = None
        self.dropping = False
        self.garbling = False
        self._lock = threading.Lock()
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # no 40 ms delayed-ACK stall per answer

            def log_message(self, *args: object) -> None:
                return

            def _record(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                    body = b""
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            while self.rfile.readline().strip():
                                pass
                            break
                        body += self.rfile.read(size)
                        self.rfile.readline()
                else:
                    body = self.rfile.read(length) if length else b""
                with recorder._lock:
                    recorder.requests.append(
                        {
                            "method": self.command,
                            "path": self.path,
                            "host": self.headers.get("Host", ""),
                            "copy_source": self.headers.get("x-amz-copy-source", ""),
                            "body": body.decode("utf-8", errors="replace"),
                        }
                    )
                if recorder.dropping:
                    self.close_connection = True
                    return
                if recorder.garbling:  # beside the TLS layer, on the same socket
                    with socket.socket(fileno=os.dup(self.connection.fileno())) as raw:
                        raw.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                    self.close_connection = True
                    return
                if recorder.redirect is not None:
                    status, location = recorder.redirect
                    self.send_response(status)
                    self.send_header("Location", location)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if recorder.failing is not None:
                    error = b"<Error><Code>ServiceUnavailable</Code><Message>x</Message></Error>"
                    self.send_response(recorder.failing)
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(error)))
                    self.end_headers()
                    self.wfile.write(error)
                    return
                payload = b'<?xml version="1.0" encoding="UTF-8"?>\n<Result></Result>'
                self.send_response(200)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _record

        self._serve_tls(Handler, cert, key)
