"""Proof step 5, observability: an endpoint lost during the verify shows in the backend's own
metrics (its source silent, as a scrape-based alert sees it, or a selector the package names
for object_availability above zero). Not shown is not proven; it stops the run only when
required (--require-observability, or the contract's require_observability)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from pytest_hastate.steps import POST_MAINTENANCE

if TYPE_CHECKING:
    from collections.abc import Callable

    from pytest_hastate.maintenance.sample import EndpointVerification
    from pytest_hastate.observability.reader import MetricsReader
    from pytest_hastate.run import ProofRun

pytestmark = POST_MAINTENANCE.marks


@pytest.mark.hastate_criterion("observability.object_availability")
def test_a_lost_endpoint_shows_in_the_metrics(
    hastate_run: ProofRun,
    hastate_metrics_reader: MetricsReader | None,
    hastate_sample_verification: list[EndpointVerification],
    hastate_progress: Callable[[str], None],
) -> None:
    from pytest_hastate.fixtures.observability import not_provable, say_silent
    from pytest_hastate.observability.signals import judge_availability

    why = not_provable("object_availability", hastate_run, hastate_metrics_reader)
    if why is not None:
        pytest.skip(why)
    assert hastate_metrics_reader is not None
    lost = [r.endpoint for r in hastate_sample_verification if not r.reachable]
    scrapes = hastate_metrics_reader.scrape()
    say_silent(scrapes, hastate_progress)
    evidence = judge_availability(lost, hastate_metrics_reader.sources, scrapes)
    hastate_run.record_signal(evidence, {}, scrapes)
    if not evidence.proven:
        pytest.skip(f"not proven: {evidence.message}")
