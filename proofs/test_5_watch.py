"""Proof step 5, the watched window: what OpenTofu would have seen *during* the maintenance.

Runs in the verify phase when ``hastate watch`` recorded the window for this run (or with
``--watch-log PATH``); without a log these criteria are not run (they are optional for GO, and
any of them failing is STOP). The checker is pure (``maintenance.watch_check``); the reads after
the event go through every endpoint that answers now.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from pytest_hastate.steps import POST_MAINTENANCE

if TYPE_CHECKING:
    from collections.abc import Callable

    from pytest_hastate.maintenance.watch_log import WatchRecord
    from pytest_hastate.models import EndpointPackage
    from pytest_hastate.run import ProofRun

pytestmark = POST_MAINTENANCE.marks

ReadBack = tuple[dict[tuple[str, str, str], str | None], dict[tuple[str, str], int | None]]


@pytest.fixture(scope="module")
def watch_facts(
    hastate_run: ProofRun,
    hastate_watch_record: WatchRecord,
    hastate_endpoint_package: EndpointPackage,
    hastate_progress: Callable[[str], None],
) -> None:
    """The window's measurements into the verdict's facts, and its picture into the evidence."""
    from pytest_hastate.maintenance.watch_log import log_path
    from pytest_hastate.maintenance.watch_verify import watch_facts as facts
    from pytest_hastate.tools.timeline import INSTALL_HINT, draw_timeline

    record, settings = hastate_watch_record, hastate_run.settings
    log = log_path(settings.evidence_dir, record.header.run_id)
    picture = log.with_suffix(".png")
    drawn = draw_timeline(record, picture)
    hastate_progress(
        f"timeline picture: {picture}" if drawn else f"no timeline picture: {INSTALL_HINT}"
    )
    limit = hastate_endpoint_package.maintenance_proof.max_unavailable_seconds
    hastate_run.record(watch=facts(record, log.name, limit, picture.name if drawn else None))


@pytest.mark.hastate_criterion("watch.acknowledged_writes_survive")
@pytest.mark.usefixtures("watch_facts")
def test_acknowledged_writes_survive_the_window(
    hastate_watch_record: WatchRecord, hastate_watch_read_back: ReadBack
) -> None:
    from pytest_hastate.maintenance.watch_check import acknowledged_writes, lost_writes

    versions, latest = hastate_watch_read_back
    if not versions and not latest:
        pytest.fail(
            "GET after the window: no endpoint answered, nothing could be read back", pytrace=False
        )
    problems = lost_writes(hastate_watch_record.ops, versions, latest)
    acked = len(acknowledged_writes(hastate_watch_record.ops))
    assert not problems, (
        f"{len(problems)} of the {acked} writes acknowledged during the window are lost: "
        + "; ".join(problems[:5])
    )


@pytest.mark.hastate_criterion("watch.lock_exclusive")
@pytest.mark.usefixtures("watch_facts")
def test_no_two_contenders_held_the_lock_at_once(hastate_watch_record: WatchRecord) -> None:
    from pytest_hastate.maintenance.watch_check import holds, overlapping_holds
    from pytest_hastate.maintenance.watch_verify import overlap_lines

    found = holds(hastate_watch_record.ops)
    pairs = overlapping_holds(found)
    assert not pairs, (
        f"PUT If-None-Match: * acknowledged to two contenders at once ({len(pairs)} time(s)): "
        + "; ".join(overlap_lines(pairs[:3]))
    )


@pytest.mark.hastate_criterion("watch.service_continuity")
@pytest.mark.usefixtures("watch_facts")
def test_some_endpoint_served_throughout_the_window(
    hastate_watch_record: WatchRecord, hastate_endpoint_package: EndpointPackage
) -> None:
    from pytest_hastate.maintenance.watch_check import continuity

    record = hastate_watch_record
    limit = hastate_endpoint_package.maintenance_proof.max_unavailable_seconds
    window = continuity(record.ops, record.header.endpoints, 0.0, record.end).backend
    assert window.seconds <= limit, (
        f"no endpoint served a read or a write from {window.start:.1f} s to {window.end:.1f} s of "
        f"the watched window ({window.seconds:.1f} s; maintenance_proof.max_unavailable_seconds "
        f"is {limit:g})"
    )
