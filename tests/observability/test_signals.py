"""The signals judged from scrapes (pure): what proves each, and what leaves it not proven."""

from __future__ import annotations

import json

import pytest

from pytest_hastate.models import MetricSelector, MetricsSource
from pytest_hastate.observability.reader import Sample, Scrape, parse
from pytest_hastate.observability.signals import (
    SIGNALS,
    increase,
    judge_availability,
    judge_counted,
    judge_present,
    listed,
    metric_names,
)
from tests.support.helpers import REPO

URL = "http://127.0.0.1:9/metrics"
SOURCE = MetricsSource(url=URL, endpoint="https://127.0.0.1:8443")
REQUESTS = "SeaweedFS_s3_request_total"


def page(**codes: float) -> Scrape:
    """A SeaweedFS gateway's page with these request counts by code (code_403=9 ...)."""
    lines = [f"# TYPE {REQUESTS} counter"]
    lines += [
        f'{REQUESTS}{{bucket="b",code="{name.removeprefix("code_")}",type="PUT"}} {value}'
        for name, value in codes.items()
    ]
    return Scrape(URL, parse("\n".join(lines) + "\n"), "ok")


def test_a_counter_that_grew_by_what_was_provoked_proves_the_signal() -> None:
    evidence = judge_counted(
        "failed_auth", 9, [SOURCE], {URL: page(code_403=2)}, {URL: page(code_403=11)}
    )
    assert evidence.proven, evidence.message
    assert (evidence.metric, evidence.labels, evidence.delta) == (REQUESTS, {"code": "403"}, 9.0)
    assert evidence.sources == [URL]


def test_a_counter_that_grew_less_than_was_provoked_is_not_proven_and_says_by_how_much() -> None:
    evidence = judge_counted(
        "failed_auth", 9, [SOURCE], {URL: page(code_403=2)}, {URL: page(code_403=5)}
    )
    assert not evidence.proven
    assert "grew by 3" in evidence.message
    assert "fewer than the 9" in evidence.message


def test_a_source_that_hides_the_metric_leaves_the_signal_not_proven() -> None:
    evidence = judge_counted(
        "failed_auth", 9, [SOURCE], {URL: page(code_200=1)}, {URL: page(code_200=4)}
    )
    assert not evidence.proven
    assert "no metrics source shows failed_auth" in evidence.message


def test_nothing_provoked_is_nothing_proven() -> None:
    evidence = judge_counted(
        "failed_write", 0, [SOURCE], {URL: page(code_412=0)}, {URL: page(code_412=0)}
    )
    assert not evidence.proven
    assert "provoked no 412 answers" in evidence.message


def test_a_silent_source_is_named_in_the_reason() -> None:
    silent = Scrape(URL, None, "gave no answer (ConnectionRefusedError)")
    evidence = judge_counted("failed_write", 3, [SOURCE], {URL: silent}, {URL: page(code_412=3)})
    assert not evidence.proven
    assert "gave no answer (ConnectionRefusedError)" in evidence.message


def test_a_counter_reset_by_a_restart_counts_its_new_value() -> None:
    selector = MetricSelector(metric=REQUESTS, labels={"code": "412"})
    grown = increase(page(code_412=40).samples or (), page(code_412=5).samples or (), selector)
    assert grown == 5


def test_the_packages_selector_wins_over_the_engines_known_metrics() -> None:
    own = MetricsSource(
        url=URL,
        signals={"failed_auth": MetricSelector(metric="gateway_denied_total", labels={})},
    )
    before = Scrape(URL, parse("gateway_denied_total 1\n" + REQUESTS + '{code="403"} 0\n'))
    after = Scrape(URL, parse("gateway_denied_total 5\n" + REQUESTS + '{code="403"} 0\n'))
    evidence = judge_counted("failed_auth", 4, [own], {URL: before}, {URL: after})
    assert evidence.proven, evidence
    assert evidence.metric == "gateway_denied_total"


def test_labels_match_whole_values() -> None:
    """code=~"40" must not take 403 or 404 for it (Prometheus anchors =~)."""
    own = MetricsSource(
        url=URL, signals={"failed_auth": MetricSelector(metric=REQUESTS, labels={"code": "40"})}
    )
    evidence = judge_counted(
        "failed_auth", 2, [own], {URL: page(code_403=0)}, {URL: page(code_403=2)}
    )
    assert not evidence.proven


def test_replication_lag_is_proven_by_presence_of_the_named_metric() -> None:
    own = MetricsSource(
        url=URL, signals={"replication_lag": MetricSelector(metric="replica_lag_seconds")}
    )
    shown = Scrape(URL, parse("replica_lag_seconds 0.25\n"))
    assert judge_present("replication_lag", [own], {URL: shown}).proven
    assert not judge_present("replication_lag", [SOURCE], {URL: page(code_200=1)}).proven


def test_a_lost_endpoint_is_seen_when_its_source_went_silent() -> None:
    silent = {URL: Scrape(URL, None, "gave no answer (ConnectionRefusedError)")}
    evidence = judge_availability(["https://127.0.0.1:8443"], [SOURCE], silent)
    assert evidence.proven, evidence.message
    still = judge_availability(["https://127.0.0.1:8443"], [SOURCE], {URL: page(code_200=1)})
    assert not still.proven
    assert "no metrics source shows it" in still.message
    none_lost = judge_availability([], [SOURCE], silent)
    assert not none_lost.proven
    assert "no loss" in none_lost.message


def test_another_endpoints_silent_source_does_not_show_the_loss() -> None:
    silent = {URL: Scrape(URL, None, "gave no answer")}
    assert not judge_availability(["https://127.0.0.1:9999"], [SOURCE], silent).proven


@pytest.mark.parametrize(
    ("document", "signals"),
    [
        ("ha-opentofu-state-endpoint-package.template.json",
         {"failed_auth", "failed_write", "delete_behavior", "replication_lag"}),
        ("ha-opentofu-state-managed-s3-candidate.json",
         {"failed_write", "replication_lag", "object_availability"}),
    ],
)  # fmt: skip
def test_the_public_documents_lists_map_to_signals(document: str, signals: set[str]) -> None:
    items = json.loads((REPO / "tests/fixtures/public-format" / document).read_text())
    found = {s for s in SIGNALS if listed(s, [items["observability"]])}
    assert found == signals


def test_samples_keep_their_labels_sorted() -> None:
    (sample,) = parse('m{b="2",a="1"} 3\n')
    assert sample == Sample("m", (("a", "1"), ("b", "2")), 3.0)


def test_the_metrics_read_are_the_packages_selectors_and_the_known_engines() -> None:
    """What the reader keeps of a page (``metric_names``): a package's own selector's metric
    beside every known engine's, so an unnamed SeaweedFS source is still recognised."""
    named = MetricsSource(
        url=URL,
        signals={"failed_auth": MetricSelector(metric="gateway_denied_total", labels={})},
    )
    assert metric_names([named]) == {"gateway_denied_total", "SeaweedFS_s3_request_total"}
    assert metric_names([MetricsSource(url=URL)]) == {"SeaweedFS_s3_request_total"}
