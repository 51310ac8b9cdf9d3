"""Draw the benchmarks' pictures the documentation shows: verify throughput against N
(bench/results/verify.json -> docs/assets/verify-throughput.png) and time to STOP per fault
(bench/results/fail-fast.json -> docs/assets/time-to-stop.png). Needs matplotlib:
pip install -e '.[bench]'."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pytest_hastate.s3.limits import STOP_PROMISE

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> int:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("bench/plot.py needs matplotlib: pip install -e '.[bench]'", file=sys.stderr)
        return 2
    verify(plt)
    time_to_stop(plt)
    return 0


ASSETS = Path(__file__).resolve().parents[1] / "docs" / "assets"


def time_to_stop(plt: Any) -> None:
    """One bar per fault: the median time to STOP, its spread, and the 30 s promise."""
    data = json.loads((RESULTS / "fail-fast.json").read_text())
    faults = [
        (k, v) for k, v in data.items() if isinstance(v, dict) and "time_to_stop_seconds" in v
    ]
    names = [k.replace("_", " ") for k, _ in faults]
    stats = [v["time_to_stop_seconds"] for _, v in faults]
    medians = [s["median"] for s in stats]
    spread = [[s["median"] - s["min"] for s in stats], [s["max"] - s["median"] for s in stats]]
    figure, axes = plt.subplots(figsize=(7, 3.6), dpi=120)
    axes.barh(names, medians, xerr=spread, capsize=3, color="#c0392b")
    axes.axvline(STOP_PROMISE, linestyle="--", color="black", linewidth=1,
                 label=f"the promise: {STOP_PROMISE:.0f} s")  # fmt: skip
    axes.set_xlabel("seconds from start to STOP (root cause first)")
    axes.set_title(f"Time to STOP per fault ({data['rounds']} rounds each)")
    axes.invert_yaxis()
    axes.legend(fontsize=8)
    figure.tight_layout()
    out = ASSETS / "time-to-stop.png"
    figure.savefig(out)
    print(f"wrote {out}")


def verify(plt: Any) -> None:
    data = json.loads((RESULTS / "verify.json").read_text())
    rows = data["results"]
    counts = [r["objects"] for r in rows]
    figure, axes = plt.subplots(figsize=(6, 3.6), dpi=120)
    for key, label in (
        ("hastate_objects_per_second", "pytest-hastate verify (GET by version + sha256)"),
        ("plain_objects_per_second", "plain boto3 GET loop (same objects)"),
    ):
        medians = [r[key]["median"] for r in rows]
        low = [r[key]["median"] - r[key]["min"] for r in rows]
        high = [r[key]["max"] - r[key]["median"] for r in rows]
        axes.errorbar(counts, medians, yerr=[low, high], marker="o", capsize=3, label=label)
    axes.set_xscale("log")
    axes.set_xlabel("sample objects (N)")
    axes.set_ylabel("objects / s")
    axes.set_title(f"Verify throughput, {data['engine']}, {data['workers']} workers")
    axes.set_ylim(bottom=0)
    axes.legend(fontsize=8)
    figure.tight_layout()
    out = ASSETS / "verify-throughput.png"
    figure.savefig(out)
    print(f"wrote {out}")


if __name__ == "__main__":
    raise SystemExit(main())
