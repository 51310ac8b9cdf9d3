"""A small real HTTP server of metrics pages for the tests: fixed pages, garbage, errors, and
a filtering proxy in front of a real engine's page (a source that hides a signal)."""

from __future__ import annotations

import threading
import urllib.request
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Page = Callable[[], tuple[int, bytes]]


def fixed(status: int, body: bytes) -> Page:
    return lambda: (status, body)


def hiding(upstream: str, words: str) -> Page:
    """The upstream page without the lines that contain ``words`` (read at each request)."""

    def page() -> tuple[int, bytes]:
        with urllib.request.urlopen(upstream, timeout=5) as answer:  # noqa: S310 - the lab's page
            text = answer.read().decode()
        kept = [line for line in text.splitlines() if words not in line]
        return 200, ("\n".join(kept) + "\n").encode()

    return page


class MetricsServer:
    """Serves ``pages`` by path on loopback (a dynamic port) and records every request."""

    def __init__(self, pages: Mapping[str, Page]) -> None:
        self.seen: list[tuple[str, str, str | None]] = []  # method, path, Authorization
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                outer.seen.append((self.command, self.path, self.headers.get("Authorization")))
                status, body = pages[self.path]() if self.path in pages else (404, b"")
                self.send_response(status)
                if status == 302:
                    self.send_header("Location", "/metrics")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_HEAD = _answer

            def log_message(self, *args: object) -> None:
                return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)
