"""Proof step 3b: the backend's own metrics show what the proof provoked.

The package's metrics sources (Prometheus text format) are read before the first S3 request
and again here, after the boundary probes (403s), the race and the lock contention (412s) and
the deletes of the steps before. Each signal the documents' observability lists name is proven
when the backend's counters grew by at least what the proof's clients received. A signal not
shown is not proven (said in the verdict); it stops the run only when required
(--require-observability, or the contract's require_observability).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from pytest_hastate.observability.signals import COUNTED
from pytest_hastate.steps import OBSERVABILITY

if TYPE_CHECKING:
    from pytest_hastate.models import SignalId
    from pytest_hastate.observability.reader import MetricsReader, Scrape
    from pytest_hastate.run import ProofRun

pytestmark = OBSERVABILITY.marks

SIGNALS = (*COUNTED, "replication_lag")
"""The counted signals, and the one only read (lag cannot be provoked safely)."""


@pytest.mark.parametrize(
    "signal",
    [
        pytest.param(s, marks=pytest.mark.hastate_criterion(f"observability.{s}"), id=s)
        for s in SIGNALS
    ],
)
def test_the_backends_metrics_show_what_the_proof_provoked(
    signal: SignalId,
    hastate_run: ProofRun,
    hastate_metrics_reader: MetricsReader | None,
    hastate_metrics_before: dict[str, Scrape] | None,
    hastate_metrics_after: tuple[dict[str, Scrape], dict[str, int]] | None,
) -> None:
    from pytest_hastate.fixtures.observability import not_provable
    from pytest_hastate.observability.signals import judge_counted, judge_present

    why = not_provable(signal, hastate_run, hastate_metrics_reader)
    if why is not None:
        pytest.skip(why)
    # taken in every run that is not a dry run, in the modes this step runs in
    assert hastate_metrics_reader is not None  # not_provable says why when there is none
    assert hastate_metrics_before is not None
    assert hastate_metrics_after is not None
    after, provoked = hastate_metrics_after
    sources = hastate_metrics_reader.sources
    if signal in COUNTED:
        evidence = judge_counted(signal, provoked[signal], sources, hastate_metrics_before, after)
    else:
        evidence = judge_present(signal, sources, after)
    hastate_run.record_signal(evidence, hastate_metrics_before, after)
    if not evidence.proven:
        pytest.skip(f"not proven: {evidence.message}")
