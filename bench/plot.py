"""Draw verify throughput against N from bench/results/verify.json into
docs/assets/verify-throughput.png (the documentation shows it). Needs matplotlib: pip install -e '.[bench]'."""

from __future__ import annotations

import json
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> int:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("bench/plot.py needs matplotlib: pip install -e '.[bench]'", file=sys.stderr)
        return 2
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
    out = Path(__file__).resolve().parents[1] / "docs" / "assets" / "verify-throughput.png"
    figure.savefig(out)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
