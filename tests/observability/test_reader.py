"""The metrics reader against a real HTTP server: GET only, no credentials, the named URLs
only, no redirect followed, and a source that answers garbage or nothing is a one-line fact."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_hastate.errors import GuardRefusal
from pytest_hastate.lab.engine import free_ports
from pytest_hastate.models import MetricsSource
from pytest_hastate.observability.reader import MetricsReader
from tests.support.metrics import MetricsServer, fixed

GATEWAY_PAGE = (
    b"# HELP go_goroutines Number of goroutines.\n# TYPE go_goroutines gauge\ngo_goroutines 42\n"
    b'# TYPE x_total counter\nx_total{code="403"} 4\nx_total{code="412"} 7\n'
    b'  x_total {code="200"} 9\n'  # blanks before and after the name are allowed
    b"process_open_fds 11\nthis line is not Prometheus text\n"
)
PAGES = {
    "/metrics": fixed(200, b'# TYPE x_total counter\nx_total{code="403"} 4\n'),
    "/gateway": fixed(200, GATEWAY_PAGE),
    "/garbage": fixed(200, b"<html>not metrics</html>\n"),
    "/empty": fixed(200, b""),
    "/broken": fixed(500, b"oops"),
    "/moved": fixed(302, b""),
}


@pytest.fixture
def server() -> Iterator[MetricsServer]:
    running = MetricsServer(PAGES)
    yield running
    running.stop()


def reader(*urls: str, metrics: frozenset[str] | None = None) -> MetricsReader:
    return MetricsReader([MetricsSource(url=u) for u in urls], Path("."), metrics)


def test_a_prometheus_page_is_parsed_with_one_get_and_no_credentials(server: MetricsServer) -> None:
    scrape = reader(f"{server.base}/metrics").read(f"{server.base}/metrics")
    assert scrape.answered
    assert scrape.samples is not None
    assert [(s.name, s.value) for s in scrape.samples] == [("x_total", 4.0)]
    assert server.seen == [("GET", "/metrics", None)]


@pytest.mark.parametrize(
    ("path", "fact"),
    [
        ("/garbage", "answered something that is not Prometheus text"),
        ("/empty", "answered something that is not Prometheus text (no sample in it)"),
        ("/broken", "answered HTTP 500"),
        ("/moved", "answered HTTP 302"),
    ],
)
def test_a_source_that_answers_garbage_is_a_one_line_fact(
    server: MetricsServer, path: str, fact: str
) -> None:
    scrape = reader(f"{server.base}{path}").read(f"{server.base}{path}")
    assert not scrape.answered
    assert scrape.fact.startswith(fact), scrape.fact
    assert "\n" not in scrape.fact
    assert [p for _, p, _ in server.seen] == [path]  # the redirect was not followed


def test_only_the_named_metrics_lines_are_parsed(server: MetricsServer) -> None:
    """Read for the run's metrics, a page gives their samples alone: the other lines are
    counted in the fact, not read (a line that is not Prometheus text among them included)."""
    url = f"{server.base}/gateway"
    scrape = reader(url, metrics=frozenset({"x_total", "absent_total"})).read(url)
    assert scrape.samples is not None
    assert [(s.name, dict(s.labels)["code"], s.value) for s in scrape.samples] == [
        ("x_total", "403", 4.0), ("x_total", "412", 7.0), ("x_total", "200", 9.0),
    ]  # fmt: skip
    assert scrape.fact == "3 samples read, of 6 lines"
    assert not reader(url).read(url).answered  # parsed whole, the bad line is told


@pytest.mark.parametrize(("path", "answered"), [("/metrics", True), ("/garbage", False)])
def test_a_page_without_the_named_metrics_is_parsed_whole(
    server: MetricsServer, path: str, answered: bool
) -> None:
    """None of the run's metrics on the page: a Prometheus page still answers (its samples
    all there), and a page that is not one is still a fact."""
    url = f"{server.base}{path}"
    scrape = reader(url, metrics=frozenset({"y_total"})).read(url)
    assert scrape.answered is answered
    if answered:
        assert [s.name for s in scrape.samples or ()] == ["x_total"]
    else:
        assert scrape.fact.startswith("answered something that is not Prometheus text")


def test_a_source_that_does_not_answer_is_a_fact() -> None:
    (port,) = free_ports(1)
    url = f"http://127.0.0.1:{port}/metrics"
    scrape = reader(url).read(url)
    assert not scrape.answered
    assert scrape.fact.startswith("gave no answer"), scrape.fact


def test_only_the_named_urls_are_read(server: MetricsServer) -> None:
    named = reader(f"{server.base}/metrics")
    with pytest.raises(GuardRefusal, match="not a metrics source the package names"):
        named.read(f"{server.base}/garbage")
    assert server.seen == []


def test_scrape_reads_every_source_once(server: MetricsServer) -> None:
    urls = [f"{server.base}/metrics", f"{server.base}/garbage"]
    scrapes = reader(*urls).scrape()
    assert [scrapes[u].answered for u in urls] == [True, False]
    assert sorted(p for _, p, _ in server.seen) == ["/garbage", "/metrics"]


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://user:secret@127.0.0.1/metrics", "user-info"),
        ("http://127.0.0.1/metrics?token=abc", "query parameter 'token'"),
        ("http://127.0.0.1/metrics?X-Amz-Signature=abc", "query parameter"),
        ("http://127.0.0.1/metrics?jwt=eyJhbGciOiJIUzI1NiJ9.e30.x", "query parameter 'jwt'"),
        ("http://127.0.0.1/metrics?pw=hunter2", "query parameter 'pw'"),
        ("http://127.0.0.1/metrics?format=text;token=abc", "query parameter 'format'"),
        ("file:///etc/passwd", "http:// or https://"),
        ("ftp://127.0.0.1/metrics", "http:// or https://"),
    ],
)
def test_a_url_with_credentials_or_another_scheme_is_refused(url: str, words: str) -> None:
    """Only the query parameters a metrics page takes: a credential never rides in the URL."""
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match=words.replace("?", r"\?")):
        MetricsSource(url=url)


def test_a_service_that_does_not_speak_http_is_a_fact() -> None:
    """An SSH banner on the port: http.client's own errors are facts too, not the run's."""
    import socket

    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def banner() -> None:
        connection, _ = listener.accept()
        connection.sendall(b"SSH-2.0-OpenSSH_8.9p1\r\n")
        connection.close()

    thread = threading.Thread(target=banner, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}/metrics"
    try:
        scrape = reader(url).read(url)
    finally:
        listener.close()
    assert not scrape.answered
    assert scrape.fact.startswith("gave no answer (BadStatusLine"), scrape.fact


def test_a_source_that_drips_its_answer_is_cut_off_at_the_deadline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import socket
    import time

    from pytest_hastate.observability import reader as module

    monkeypatch.setattr(module, "DEADLINE", 1.0)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    stop = threading.Event()

    def drip() -> None:
        connection, _ = listener.accept()
        connection.sendall(b"HTTP/1.1 200 OK\r\n")
        while not stop.wait(0.2):  # one header line at a time, never the end of them
            try:
                connection.sendall(b"X-Drip: 1\r\n")
            except OSError:
                return
        connection.close()

    threading.Thread(target=drip, daemon=True).start()
    url = f"http://127.0.0.1:{port}/metrics"
    started = time.monotonic()
    try:
        scrape = reader(url).read(url)
    finally:
        stop.set()
        listener.close()
    assert scrape.fact == "gave no whole answer within 1 s"
    assert time.monotonic() - started < 3.0  # the deadline, not the 5 s read timeout per line


def test_the_environments_proxy_is_not_used(
    server: MetricsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy = MetricsServer({})
    try:
        monkeypatch.setenv("http_proxy", proxy.base)
        monkeypatch.setenv("HTTP_PROXY", proxy.base)
        monkeypatch.delenv("no_proxy", raising=False)
        monkeypatch.delenv("NO_PROXY", raising=False)
        scrape = reader(f"{server.base}/metrics").read(f"{server.base}/metrics")
    finally:
        proxy.stop()
    assert scrape.answered
    assert proxy.seen == []
    assert [p for _, p, _ in server.seen] == ["/metrics"]


def test_a_fact_is_one_short_printable_line(server: MetricsServer) -> None:
    from pytest_hastate.observability.reader import FACT_LIMIT, fact

    line = fact("answered \x1b[31mred\x1b[0m\r\n\x00" + "x" * 5000)
    assert len(line) <= FACT_LIMIT
    assert line.isprintable()
    assert line.startswith("answered [31mred [0m x")


def test_a_federation_query_is_accepted() -> None:
    assert MetricsSource(url='http://127.0.0.1/federate?match[]={job="s3"}&format=text').url
