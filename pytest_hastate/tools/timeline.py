"""The picture of a watched window: one lane per endpoint (each operation a tick coloured by
outcome), one lane per lock contender (holds as bars, possible holds hatched), the marks as
vertical lines. matplotlib is optional (the ``report`` extra) and imported only here."""

from __future__ import annotations

import math
from pathlib import Path

from pytest_hastate.maintenance import watch_check as check
from pytest_hastate.maintenance.watch_log import WatchRecord

INSTALL_HINT = "pip install 'pytest-hastate[report]' (matplotlib) for the timeline picture"
COLOURS = {"ok": "#2e7d32", "refused": "#f9a825", "error": "#c62828", "timeout": "#6a1b9a"}


def draw_timeline(record: WatchRecord, path: Path) -> bool:
    """Write the picture; False (and nothing written) without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.patches import Patch
    except ImportError:
        return False
    endpoints = record.header.endpoints
    found = check.holds(record.ops)
    contenders = sorted(
        {h.contender for h in found} | {o.contender for o in record.ops if o.contender is not None}
    )
    lanes = [*endpoints, *(f"lock contender {c}" for c in contenders)]
    figure, axes = plt.subplots(figsize=(10, 1.0 + 0.55 * len(lanes)), dpi=110)
    end = max(record.end, 1.0)
    for lane, endpoint in enumerate(endpoints):
        for outcome, colour in COLOURS.items():
            starts = [
                o.t0
                for o in record.ops
                if o.endpoint == endpoint and o.kind in ("write", "read") and o.outcome == outcome
            ]
            widths = [
                max(o.t1 - o.t0, end / 2000)
                for o in record.ops
                if o.endpoint == endpoint and o.kind in ("write", "read") and o.outcome == outcome
            ]
            if starts:
                axes.broken_barh(
                    list(zip(starts, widths, strict=True)), (lane - 0.35, 0.7), color=colour
                )
    for offset, contender in enumerate(contenders):
        lane = len(endpoints) + offset
        for hold in (h for h in found if h.contender == contender):
            stop = hold.end if math.isfinite(hold.end) else end
            axes.broken_barh([(hold.start, max(stop - hold.start, end / 2000))], (lane - 0.3, 0.6),
                             color="#1565c0" if hold.certain else "none", edgecolor="#1565c0",
                             hatch=None if hold.certain else "///")  # fmt: skip
    for at, text in record.marks:
        axes.axvline(at, color="black", linestyle="--", linewidth=1)
        axes.annotate(text, (at, len(lanes) - 0.4), rotation=90, fontsize=7, va="top", ha="right")
    axes.set_yticks(range(len(lanes)), lanes, fontsize=8)
    axes.set_ylim(-0.6, len(lanes) - 0.4)
    axes.set_xlim(0, end)
    axes.set_xlabel("seconds since the watch started")
    axes.set_title(f"watched window of run {record.header.run_id}", fontsize=9)
    words = {"ok": "ok", "refused": "refused (4xx)", "error": "error (5xx)", "timeout": "no answer"}
    legend = [Patch(color=c, label=f"read/write {words[o]}") for o, c in COLOURS.items()]
    legend += [Patch(color="#1565c0", label="lock held"),
               Patch(facecolor="none", edgecolor="#1565c0", hatch="///", label="lock possibly held")]  # fmt: skip
    axes.legend(handles=legend, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
    return True
