"""The observability signals: which the documents list, which samples stand for each (the
package's own selectors, else an engine's known metrics), and what two scrapes show of what
the proof provoked. Pure: scrapes and counts in, ``SignalEvidence`` out."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import NamedTuple

from pytest_hastate.models import MetricSelector, MetricsSource, SignalEvidence, SignalId
from pytest_hastate.observability.reader import Sample, Scrape


class SignalSpec(NamedTuple):
    listed_as: re.Pattern[str]  # how a document's observability list names it
    provoked_as: str  # what the proof provokes of it, in words


SIGNALS: Mapping[SignalId, SignalSpec] = {
    "failed_auth": SignalSpec(re.compile(r"auth", re.I), "403 answers (the boundary probes)"),
    "failed_write": SignalSpec(
        re.compile(r"write|lock", re.I), "412 answers (the race's losers, the lock contention)"
    ),
    "delete_behavior": SignalSpec(re.compile(r"delete", re.I), "deletes that succeeded"),
    "replication_lag": SignalSpec(re.compile(r"replication|lag", re.I), "nothing (it is read)"),
    "object_availability": SignalSpec(
        re.compile(r"availability", re.I), "an endpoint lost during the verify"
    ),
}
COUNTED: tuple[SignalId, ...] = ("failed_auth", "failed_write", "delete_behavior")
"""Signals proven by a counter that grew by at least what the proof provoked."""


class Engine(NamedTuple):
    name: str
    prefix: str  # a sample name starting with it says which engine's metrics these are
    selectors: Mapping[SignalId, MetricSelector]


_SEAWEED_REQUESTS = "SeaweedFS_s3_request_total"
ENGINES: tuple[Engine, ...] = (
    Engine("SeaweedFS", "SeaweedFS_s3_", {
        "failed_auth": MetricSelector(metric=_SEAWEED_REQUESTS, labels={"code": "403"}),
        "failed_write": MetricSelector(metric=_SEAWEED_REQUESTS, labels={"code": "412"}),
        "delete_behavior": MetricSelector(
            metric=_SEAWEED_REQUESTS, labels={"type": "DELETE", "code": "2.."}
        ),
    }),
)  # fmt: skip
"""Engines whose metrics are recognised without selectors in the package (docs/guide/
observability.md says which signals each shows)."""


def metric_names(sources: Sequence[MetricsSource]) -> frozenset[str]:
    """Every metric a signal can be read from: the package's selectors, the known engines'."""
    named = [chosen for source in sources for chosen in source.signals.values()]
    known = [chosen for engine in ENGINES for chosen in engine.selectors.values()]
    return frozenset(chosen.metric for chosen in (*named, *known))


def listed(signal: SignalId, lists: Sequence[Sequence[str]]) -> bool:
    """Whether any of the documents' observability lists names the signal."""
    return any(SIGNALS[signal].listed_as.search(item) for items in lists for item in items)


def engine_of(scrape: Scrape) -> Engine | None:
    for engine in ENGINES:
        if any(sample.name.startswith(engine.prefix) for sample in scrape.samples or ()):
            return engine
    return None


def selector(source: MetricsSource, scrape: Scrape, signal: SignalId) -> MetricSelector | None:
    """The package's selector for the signal, else the recognised engine's, else None."""
    if signal in source.signals:
        return source.signals[signal]
    engine = engine_of(scrape)
    return engine.selectors.get(signal) if engine is not None else None


def matching(samples: Sequence[Sample], chosen: MetricSelector) -> dict[tuple[str, str], float]:
    """The samples the selector picks, by their labels."""
    patterns = {name: re.compile(pattern) for name, pattern in chosen.labels.items()}
    picked: dict[tuple[str, str], float] = {}
    for sample in samples:
        if sample.name != chosen.metric:
            continue
        labels = dict(sample.labels)
        if all(p.fullmatch(labels.get(name, "")) for name, p in patterns.items()):
            picked[(sample.name, repr(sample.labels))] = sample.value
    return picked


def increase(before: Sequence[Sample], after: Sequence[Sample], chosen: MetricSelector) -> float:
    """How much the selected counters grew between two scrapes (a series that went down was
    reset, by a restart: its growth is its new value, as Prometheus's ``increase`` counts)."""
    earlier = matching(before, chosen)
    total = 0.0
    for series, value in matching(after, chosen).items():
        previous = earlier.get(series, 0.0)
        total += value - previous if value >= previous else value
    return total


def _describe(chosen: MetricSelector) -> str:
    labels = ",".join(f'{k}=~"{v}"' for k, v in sorted(chosen.labels.items()))
    return f"{chosen.metric}{{{labels}}}"


def judge_counted(
    signal: SignalId,
    provoked: int,
    sources: Sequence[MetricsSource],
    before: Mapping[str, Scrape],
    after: Mapping[str, Scrape],
) -> SignalEvidence:
    """Proven when the sources' counters for the signal grew by at least ``provoked``."""
    what = SIGNALS[signal].provoked_as
    silent = [
        f"{s.url} {scrape.fact}"
        for s in sources
        for scrape in (before.get(s.url), after.get(s.url))
        if scrape is not None and not scrape.answered
    ]
    delta, shown_by, chosen = 0.0, [], None
    for source in sources:
        first, last = before.get(source.url), after.get(source.url)
        if first is None or last is None or not (first.answered and last.answered):
            continue
        found = selector(source, last, signal)
        if found is None or not matching(last.samples or (), found):
            continue
        chosen = found
        delta += increase(first.samples or (), last.samples or (), found)
        shown_by.append(source.url)
    evidence = SignalEvidence(
        signal=signal, proven=False, provoked=provoked, sources=shown_by,
        metric=chosen.metric if chosen else None, labels=dict(chosen.labels) if chosen else {},
        delta=delta if chosen else None,
    )  # fmt: skip
    if provoked == 0:
        message = f"the proof provoked no {what}: there was nothing for the metrics to show"
    elif chosen is None and (named := [s.signals[signal] for s in sources if signal in s.signals]):
        message = (
            f"no metrics source shows {signal}: {_describe(named[0])}, named in "
            "metrics_sources[].signals, is not among the samples of any source that answered"
        )
    elif chosen is None:
        message = (
            f"no metrics source shows {signal}: none answered with a metric known for it "
            "(name one in metrics_sources[].signals)"
        )
    elif delta < provoked:
        message = (
            f"{_describe(chosen)} grew by {delta:g} over {len(shown_by)} source(s), fewer "
            f"than the {provoked} {what} the proof received: the metrics hide some"
        )
    else:
        return evidence.model_copy(update={
            "proven": True,
            "message": f"{_describe(chosen)} grew by {delta:g} over {len(shown_by)} "
                       f"source(s); the proof received {provoked} {what}",
        })  # fmt: skip
    if silent:
        message += f" (silent: {'; '.join(silent)})"
    return evidence.model_copy(update={"message": message})


def judge_present(
    signal: SignalId, sources: Sequence[MetricsSource], scrapes: Mapping[str, Scrape]
) -> SignalEvidence:
    """Proven when a source exposes the signal's metric (the proof cannot provoke it)."""
    for source in sources:
        scrape = scrapes.get(source.url)
        if scrape is None or not scrape.answered:
            continue
        found = selector(source, scrape, signal)
        picked = matching(scrape.samples or (), found) if found is not None else {}
        if found is not None and picked:
            return SignalEvidence(
                signal=signal, proven=True, metric=found.metric, labels=dict(found.labels),
                sources=[source.url],
                message=f"{_describe(found)} is exported ({len(picked)} series); the proof "
                        "cannot provoke it, so only its presence is checked",
            )  # fmt: skip
    return SignalEvidence(
        signal=signal, proven=False,
        message=f"no metrics source shows {signal}: none exports a metric named for it "
                "(name one in metrics_sources[].signals)",
    )  # fmt: skip


def judge_availability(
    lost: Sequence[str], sources: Sequence[MetricsSource], scrapes: Mapping[str, Scrape]
) -> SignalEvidence:
    """Proven when an endpoint lost during the verify shows in the metrics: the source that
    describes it is silent (what a scrape-based alert sees as down), or a selector the package
    names for object_availability is above zero."""
    if not lost:
        return SignalEvidence(
            signal="object_availability", proven=False,
            message="every endpoint answered the verify: no loss for the metrics to show",
        )  # fmt: skip
    seen: list[str] = []
    for source in sources:
        scrape = scrapes.get(source.url)
        if source.endpoint in lost and scrape is not None and not scrape.answered:
            seen.append(f"{source.url} (of {source.endpoint}) {scrape.fact}")
        elif scrape is not None and scrape.answered and "object_availability" in source.signals:
            chosen = source.signals["object_availability"]
            if any(v > 0 for v in matching(scrape.samples or (), chosen).values()):
                seen.append(f"{source.url}: {_describe(chosen)} is above 0")
    if seen:
        return SignalEvidence(
            signal="object_availability", proven=True, sources=seen,
            message=f"{', '.join(lost)} gave no S3 answer and the monitoring sees it: "
                    + "; ".join(seen),
        )  # fmt: skip
    return SignalEvidence(
        signal="object_availability", proven=False,
        message=f"{', '.join(lost)} gave no S3 answer, but no metrics source shows it (none "
                "names that endpoint and went silent, and no object_availability selector is "
                "above 0)",
    )  # fmt: skip
