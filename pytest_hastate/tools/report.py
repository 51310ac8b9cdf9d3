"""``hastate report EVIDENCE_DIR``: one page an operator or auditor reads instead of JSON: the
verdict and its reasons, each phase's criteria with their evidence, the watched window (facts
and picture), OpenTofu's command timings, the cleanup. Markdown (for a CI job summary) or a
self-contained HTML page, rendered with Jinja2 templates."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pytest_hastate.errors import InputError
from pytest_hastate.io.checkpoints import load_checkpoint
from pytest_hastate.io.documents import load_verdict
from pytest_hastate.models import CleanupRecord, Provenance, RunFacts, VerdictRecord, WatchFacts
from pytest_hastate.steps import BY_ID
from pytest_hastate.tools.evidence_links import EvidenceReader

Format = Literal["markdown", "html"]


@dataclass
class PhaseView:
    phase: str
    mode: str
    run_at: str
    event: str | None
    unreachable: list[str]
    criteria: list[tuple[str, str, str, str, list[str]]]  # id, outcome, proves, message, links


@dataclass
class ReportData:
    folder: str
    verdict: VerdictRecord
    phases: list[PhaseView] = field(default_factory=list)
    tofu: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    cleanup: CleanupRecord | None = None
    watch: WatchFacts | None = None
    picture: str | None = None  # markdown: the file name; html: a data URI
    produced: list[tuple[str, Provenance]] = field(default_factory=list)  # (phase, what ran)


def gather(folder: Path, fmt: Format) -> ReportData:
    if not (folder / "verdict.json").is_file():
        raise InputError(str(folder), "", "no verdict.json here (not an evidence folder)")
    verdict = load_verdict(folder / "verdict.json")
    data = ReportData(folder=str(folder), verdict=verdict)
    evidence = EvidenceReader(folder)
    checkpoint_path = folder / "checkpoint.json"
    if checkpoint_path.is_file():
        checkpoint = load_checkpoint(checkpoint_path)
        data.cleanup = checkpoint.cleanup
        for index, record in enumerate(checkpoint.phases):
            attempt = sum(
                1 for earlier in checkpoint.phases[:index] if earlier.phase == record.phase
            )
            shown = _signal_messages(record.facts)
            rows = [(cid, r.outcome.value, BY_ID[cid].proves if cid in BY_ID else "",
                     r.message or shown.get(cid, ""),
                     evidence.links(record.phase, cid, checkpoint=True, run_id=checkpoint.run_id,
                                    attempt=attempt))
                    for cid, r in record.criteria.items()]  # fmt: skip
            data.phases.append(PhaseView(record.phase, record.mode, record.run_at,
                                         record.maintenance_event, record.unreachable_endpoints, rows))  # fmt: skip
            data.watch = record.facts.watch or data.watch
            if record.produced_by is not None:
                data.produced.append(
                    (f"{record.phase} (attempt {record.attempt})", record.produced_by)
                )
    else:
        shown = _signal_messages(verdict.facts)
        rows = [(cid, outcome, BY_ID[cid].proves if cid in BY_ID else "", shown.get(cid, ""),
                 evidence.links(verdict.phase, cid, checkpoint=False, run_id=verdict.run_id))
                for cid, outcome in verdict.criteria.items() if outcome != "missing"]  # fmt: skip
        data.phases.append(PhaseView(verdict.phase, verdict.mode, verdict.created_at,
                                     verdict.maintenance_event, [], rows))  # fmt: skip
        data.watch = verdict.facts.watch
    if not data.produced and verdict.produced_by is not None:
        data.produced.append((verdict.phase, verdict.produced_by))
    for timings in sorted(folder.glob("tofu-timings-*.json")):
        data.tofu[timings.stem.removeprefix("tofu-timings-")] = json.loads(
            timings.read_text("utf-8")
        )
    if data.watch is not None and data.watch.picture and (folder / data.watch.picture).is_file():
        picture = folder / data.watch.picture
        data.picture = (
            picture.name if fmt == "markdown"
            else "data:image/png;base64," + base64.b64encode(picture.read_bytes()).decode()
        )  # fmt: skip
    return data


def _signal_messages(facts: RunFacts) -> dict[str, str]:
    """What the backend's metrics showed, by observability criterion (metric, labels, growth)."""
    shown = facts.observability.signals if facts.observability is not None else []
    return {f"observability.{s.signal}": s.message for s in shown}


def render(folder: Path, fmt: Format = "markdown") -> str:
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    environment = Environment(
        loader=PackageLoader("pytest_hastate", "tools/templates"),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
        undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
    )  # fmt: skip
    environment.filters["cell"] = _markdown_cell
    template = environment.get_template("report.md.j2" if fmt == "markdown" else "report.html.j2")
    return template.render(data=gather(folder, fmt))


def _markdown_cell(value: object) -> str:
    """Text safe inside a Markdown table cell."""
    text = " ".join(str(value if value is not None else "").split())
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;")
