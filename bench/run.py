"""Run the benchmarks and write bench/results/<name>.json (median and spread, machine facts).

    python bench/run.py                      # everything (about 10 minutes on 2 cores)
    python bench/run.py live verify --rounds 5
    python bench/run.py --list

Then ``python bench/plot.py`` draws verify throughput against N (needs the ``bench`` extra).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import cases
from bench.measure import write_result

BENCHMARKS: dict[str, tuple[str, Callable[[int], dict[str, Any]]]] = {
    "live-singleton": ("whole live proof vs the floor, single gateway",
                       lambda rounds: cases.live("singleton", rounds)),
    "live-ha": ("whole live proof vs the floor, two gateways",
                lambda rounds: cases.live("ha", rounds)),
    "scale": ("whole live proof on ha labs of 2 and of 6 gateways",
              lambda rounds: cases.scale(rounds)),
    "verify": ("sample verify vs a plain boto3 GET loop, N = 64 / 1000 / 5000",
               lambda rounds: cases.verify([64, 1000, 5000], max(rounds, 6))),
    "plugin": ("pytest --co with and without the plugin; plugin import",
               lambda rounds: cases.plugin(max(rounds, 40))),
    "lab": ("lab cold start and teardown", cases.lab_cycle),
    "fail-fast": ("time to STOP on degraded backends (singleton and ha lab faults)",
                  cases.fail_fast),
}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--list", action="store_true")
    args = parser.parse_args()
    if args.list:
        for name, (what, _) in BENCHMARKS.items():
            print(f"{name:15} {what}")
        return 0
    unknown = sorted(set(args.names) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)} (see --list)")
    for name in args.names or list(BENCHMARKS):
        what, run = BENCHMARKS[name]
        print(f"bench: {name}: {what} ...", flush=True)
        started = time.monotonic()
        data = run(args.rounds)
        command = f"python bench/run.py {name} --rounds {data.get('rounds', args.rounds)}"
        path = write_result(name, command, data)
        print(f"bench: {name}: {time.monotonic() - started:.0f} s, wrote {path}", flush=True)
        print(json.dumps(headline(name, data), indent=1), flush=True)
    return 0


def headline(name: str, data: dict[str, Any]) -> dict[str, Any]:
    """The figures an issue's targets name, from a result."""
    if name.startswith("live"):
        return {
            "hastate_wall_median": data["hastate"]["wall_seconds"]["median"],
            "hastate_cpu_median": data["hastate"]["cpu_seconds"]["median"],
            "hastate_peak_rss_mib_max": data["hastate"]["peak_rss_mib"]["max"],
            "floor_wall_median": data["floor"]["wall_seconds"]["median"],
            "cpu_ratio": data["cpu_ratio"],
            "cpu_ratio_js_floor": data.get("cpu_ratio_js_floor"),
            "wall_minus_loser_wait_max": data["wall_minus_loser_wait_seconds"]["max"],
            "outside_share_median": data["outside_share"]["median"],
            "verdicts": data["verdicts"],
        }
    if name == "scale":
        return {k: data[k] for k in ("wall_ratio", "cpu_ratio")} | {
            k: {"wall": v["wall_seconds"]["median"], "cpu": v["cpu_seconds"]["median"]}
            for k, v in data.items() if k.startswith("gateways_")
        }  # fmt: skip
    if name == "verify":
        return {str(r["objects"]): r["ratio"]["median"] for r in data["results"]}
    if name == "plugin":
        return {
            "added_cpu_ms_median_bytecode_cached": data["bytecode_cached"]["added_milliseconds"][
                "median"
            ],
            "added_cpu_ms_median_no_bytecode": data["no_bytecode"]["added_milliseconds"]["median"],
            "with_pytest_order_added_cpu_ms_median_bytecode_cached": data["bytecode_cached"][
                "added_with_pytest_order_milliseconds"
            ]["median"],
            "heavy": data["heavy_libraries_imported"],
        }
    if name == "lab":
        return {t: {k: v["median"] for k, v in d.items()} for t, d in data.items() if t != "rounds"}
    return {k: v["time_to_stop_seconds"]["median"] for k, v in data.items() if k != "rounds"}


if __name__ == "__main__":
    raise SystemExit(main())
