"""The metrics reader: a read-only HTTP client of its own (GET only, never the S3 credentials,
no redirects), which reads only the URLs the package names and parses the Prometheus text
format with prometheus-client's parser. A source that does not answer, or answers something
else, is a fact in one line, never an error of the run."""

from __future__ import annotations

import ssl
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from pytest_hastate.errors import GuardRefusal
from pytest_hastate.models import MetricsSource

TIMEOUT = 5.0
"""Seconds a source may take to connect, and between two reads of its answer."""
DEADLINE = 10.0
"""Seconds a source may take for its whole answer (a source that drips its answer is cut off
there: it is a fact, and the run goes on)."""
MAX_BYTES = 32 * 1024 * 1024
"""The largest page read; a larger one is a fact ("too large"), not parsed."""
FACT_LIMIT = 200
"""Characters of a fact kept (it is printed and kept as evidence: one short line)."""

Labels = tuple[tuple[str, str], ...]


class Sample(NamedTuple):
    name: str
    labels: Labels
    value: float


@dataclass(frozen=True)
class Scrape:
    """One source read once: its samples, or the one-line fact of why there are none."""

    url: str
    samples: tuple[Sample, ...] | None
    fact: str = ""

    @property
    def answered(self) -> bool:
        return self.samples is not None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a 3xx is an answer to report, never followed to another URL


def sample_name(line: str) -> str:
    """The metric name a text-format line gives a sample of ("" for comments, blank lines)."""
    head = line.lstrip().split("{", 1)[0].split(None, 1)
    return head[0] if head and not head[0].startswith("#") else ""


def parse(text: str) -> tuple[Sample, ...]:
    """The samples of a Prometheus text-format page (ValueError when it is not one)."""
    from prometheus_client.parser import text_string_to_metric_families

    samples = [
        Sample(s.name, tuple(sorted(s.labels.items())), float(s.value))
        for family in text_string_to_metric_families(text)
        for s in family.samples
    ]
    if not samples:
        raise ValueError("no sample in it")
    return tuple(samples)


def read_page(text: str, metrics: frozenset[str] | None) -> tuple[tuple[Sample, ...], int]:
    """The page's samples (``parse``) and how many sample lines it has, read or not.

    With ``metrics``, only the samples of those names, and only their lines go to the parser:
    a gateway's page runs to thousands of lines, tens of milliseconds of parsing per scrape.
    The other lines are not read, whatever they hold. A page that has none of the metrics is
    parsed whole, so one that is not Prometheus text is still told apart from one that lacks
    them."""
    named = [(sample_name(line), line) for line in text.splitlines()]
    picked = [line for name, line in named if metrics is not None and name in metrics]
    samples = parse("\n".join(picked) + "\n" if picked else text)
    return samples, sum(1 for name, _ in named if name)


class MetricsReader:
    """Reads the package's metrics sources, and nothing else."""

    def __init__(
        self,
        sources: Sequence[MetricsSource],
        package_dir: Path,
        metrics: frozenset[str] | None = None,
    ) -> None:
        """``metrics``: the only sample names the run reads (see ``read_page``); None, all."""
        self.sources = tuple(sources)
        self.metrics = metrics
        self._allowed = frozenset(source.url for source in self.sources)
        self._tls = {
            source.url: self._context(source, package_dir)
            for source in self.sources
            if source.url.startswith("https://")
        }

    @staticmethod
    def _context(source: MetricsSource, package_dir: Path) -> ssl.SSLContext:
        if source.ca_bundle:
            return ssl.create_default_context(cafile=str(package_dir / source.ca_bundle))
        return ssl.create_default_context()

    def read(self, url: str) -> Scrape:
        """GET one named source, within DEADLINE; refuses any URL the package does not name.
        Whatever the source does, the answer is a ``Scrape``: samples, or a one-line fact."""
        return self._within_deadline([url])[url]

    def scrape(self) -> dict[str, Scrape]:
        """Every source, read at once (all within one DEADLINE)."""
        return self._within_deadline([source.url for source in self.sources])

    def _within_deadline(self, urls: list[str]) -> dict[str, Scrape]:
        for url in urls:
            if url not in self._allowed:
                raise GuardRefusal("metrics", url, "not a metrics source the package names")
        found: dict[str, Scrape] = {}

        def one(url: str) -> None:
            found[url] = self._get(url)

        # Daemon threads: a source that drips its answer forever never holds up the run.
        workers = [threading.Thread(target=one, args=(url,), daemon=True) for url in urls]
        for worker in workers:
            worker.start()
        deadline = time.monotonic() + DEADLINE
        for worker in workers:
            worker.join(max(0.0, deadline - time.monotonic()))
        return {
            url: found.get(url)
            or Scrape(url, None, f"gave no whole answer within {DEADLINE:.0f} s")
            for url in urls
        }

    def _get(self, url: str) -> Scrape:
        # No proxy from the environment: the reader connects to the named host, nowhere else.
        handlers: list[urllib.request.BaseHandler] = [
            _NoRedirect(), urllib.request.ProxyHandler({}),
        ]  # fmt: skip
        if url in self._tls:
            handlers.append(urllib.request.HTTPSHandler(context=self._tls[url]))
        opener = urllib.request.build_opener(*handlers)
        # Only http(s) URLs reach here: the package model refuses any other scheme.
        request = urllib.request.Request(url, method="GET", headers={"Accept": "text/plain"})  # noqa: S310
        try:
            with opener.open(request, timeout=TIMEOUT) as answer:
                body = answer.read(MAX_BYTES + 1)
        except urllib.error.HTTPError as exc:
            return Scrape(url, None, f"answered HTTP {exc.code}")
        except Exception as exc:  # any failure of a source is a fact, never the run's error
            reason = getattr(exc, "reason", None) or exc
            return Scrape(url, None, fact(f"gave no answer ({type(exc).__name__}: {reason})"))
        if len(body) > MAX_BYTES:
            return Scrape(url, None, f"answered more than {MAX_BYTES} bytes")
        try:
            samples, lines = read_page(body.decode("utf-8", errors="replace"), self.metrics)
        except Exception as exc:  # the parser's errors, whatever their kind
            return Scrape(
                url, None, fact(f"answered something that is not Prometheus text ({exc})")
            )
        return Scrape(url, samples, f"{len(samples)} samples read, of {lines} lines")


def fact(text: str) -> str:
    """One short printable line: what a source sent is shown, never its control characters."""
    printable = "".join(c if c.isprintable() else " " for c in text)
    line = " ".join(printable.split())
    return line if len(line) <= FACT_LIMIT else line[: FACT_LIMIT - 1] + "…"
