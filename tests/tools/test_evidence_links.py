"""The report's evidence links point at the line that shows each criterion: the right attempt
of a phase, the command record of an OpenTofu criterion, the watch log's line."""

from __future__ import annotations

import json
from pathlib import Path

from pytest_hastate.tools.evidence_links import entry_line, links


def phase(name: str, outcome: str) -> dict[str, object]:
    return {"phase": name, "mode": "pre-maintenance", "criteria": {
        "tofu.init": {"outcome": outcome, "message": ""},
        "tofu.init_extra": {"outcome": "passed", "message": ""},
    }}  # fmt: skip


def test_each_attempt_of_a_phase_links_its_own_entry(tmp_path: Path) -> None:
    checkpoint = {
        "run_id": "r",
        "phases": [phase("baseline", "failed"), phase("baseline", "passed")],
    }
    (tmp_path / "checkpoint.json").write_text(json.dumps(checkpoint, indent=2), "utf-8")
    lines = (tmp_path / "checkpoint.json").read_text("utf-8").splitlines()
    first, second = (
        entry_line(lines, "baseline", "tofu.init", 0),
        entry_line(lines, "baseline", "tofu.init", 1),
    )
    assert first is not None
    assert second is not None
    assert second > first
    assert '"failed"' in lines[first]  # the line after the id holds that attempt's outcome
    assert '"passed"' in lines[second]
    assert entry_line(lines, "baseline", "tofu.init", 2) is None
    assert entry_line(lines, "cleanup", "tofu.init") is None


def test_an_opentofu_criterion_links_its_command_record(tmp_path: Path) -> None:
    (tmp_path / "checkpoint.json").write_text(
        json.dumps({"phases": [phase("baseline", "passed")]}, indent=2), "utf-8"
    )
    timings = [
        {"command": "tofu init -no-color", "exit_code": 0},
        {"command": "tofu apply -auto-approve", "exit_code": 0},
        {"command": "tofu plan -lock-timeout=0s", "exit_code": 1},
        {"command": "tofu apply -auto-approve", "exit_code": 0},
    ]
    (tmp_path / "tofu-timings-baseline.json").write_text(json.dumps(timings, indent=2), "utf-8")
    found = links(tmp_path, "baseline", "tofu.lock_release", checkpoint=True, run_id="r")
    lines = (tmp_path / "tofu-timings-baseline.json").read_text("utf-8").splitlines()
    timing = [link for link in found if link.startswith("tofu-timings-")]
    assert len(timing) == 1
    number = int(timing[0].rsplit(":", 1)[1])
    assert "apply" in lines[number - 1]
    assert number > next(n for n, line in enumerate(lines, 1) if "lock-timeout" in line)  # the 2nd
    assert links(tmp_path, "baseline", "tofu.version", checkpoint=True, run_id="r") == []
