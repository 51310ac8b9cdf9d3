"""The benchmarks. Each runs our path and its baseline in the same run, on the same lab,
alternating, and returns a JSON-ready dict."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench import js_floor
from bench.measure import ProcessRun, as_dict, run_process, runs_summary, spread
from bench.operator_env import operator_python, this_checkout
from pytest_hastate.lab import LabCluster, start
from pytest_hastate.lab.artifacts import admin, environment
from pytest_hastate.s3.limits import READ_TIMEOUT
from pytest_hastate.tools import paths

REPO = Path(__file__).resolve().parents[1]
LIVE = ("--run-disposable-tofu", "--use-lockfile")
BENCH_SIZES = (1, 100, 1_000, 10_000, 100_000)
"""Sizes cycled over the verify benchmark's objects (the product's own mix reaches 3 MB, which
would make N = 5 000 a 3 GB benchmark); the per-object cost is what is compared."""


@contextlib.contextmanager
def lab(topology: str, **kwargs: Any) -> Iterator[LabCluster]:
    with tempfile.TemporaryDirectory(prefix="hastate-bench-") as folder:
        cluster = start(Path(folder), topology, die_with_parent=True, **kwargs)
        try:
            yield cluster
        finally:
            cluster.down()


def proof_argv(package: Path, evidence: Path, *extra: str) -> list[str]:
    """The proof as an operator runs it, in the operator environment (see operator_env)."""
    return paths.proof_argv(evidence, "--endpoint-package", str(package), "-q", *extra,
                            python=operator_python())  # fmt: skip


def lab_env(cluster: LabCluster, **overrides: str) -> dict[str, str]:
    """The operator's environment with the lab's credentials (see operator_env)."""
    return this_checkout({**os.environ, **environment(cluster), **overrides})


def loser_wait(record: dict[str, Any]) -> float:
    """A verdict.json's longest race-loser wait (0 when the race did not run)."""
    race = record["facts"].get("conditional_race") or {}
    return float(race.get("refused_seconds_max") or 0.0)


def median_ratio(ours: dict[str, Any], base: dict[str, Any], measure: str) -> float:
    """The ratio of two ``runs_summary`` medians of ``measure`` (wall_seconds, cpu_seconds)."""
    return round(float(ours[measure]["median"]) / float(base[measure]["median"]), 2)


def live(topology: str, rounds: int) -> dict[str, Any]:
    """The whole live proof (incl. OpenTofu) vs the floor script and the JavaScript floor (when
    Node.js is here), on a healthy lab: in each round one after another, in that order."""
    ours: list[ProcessRun] = []
    floor: list[ProcessRun] = []
    js: list[ProcessRun] = []
    verdicts: list[str] = []
    timing: list[dict[str, float]] = []
    race_refused_max: list[float] = []
    with lab(topology) as cluster, tempfile.TemporaryDirectory() as work:
        env = lab_env(cluster)
        floor_argv = [
            operator_python(),
            str(REPO / "bench" / "floor.py"),
            str(cluster.package_path),
        ]
        js_argv = js_floor.argv(cluster.package_path, Path(work))
        for round_no in range(rounds + 1):  # round 0 warms caches and is not counted
            evidence = Path(work) / f"evidence-{round_no}"
            run = run_process(proof_argv(cluster.package_path, evidence, *LIVE), env, Path(work))
            base = run_process(floor_argv, env, Path(work))
            js_base = run_process(js_argv, env, Path(work)) if js_argv else None
            for name, done in (("floor script", base), ("JavaScript floor", js_base)):
                if done is not None and done.exit_code != 0:
                    raise SystemExit(f"the {name} failed on the {topology} lab")
            if round_no == 0:
                continue
            ours.append(run)
            floor.append(base)
            if js_base is not None:
                js.append(js_base)
            record = json.loads((evidence / "verdict.json").read_text())
            verdicts.append(record["verdict"])
            timing.append(record["facts"]["timing"])
            race_refused_max.append(loser_wait(record))
    hastate, baseline = runs_summary(ours), runs_summary(floor)
    js_summary = runs_summary(js) if js else None
    return {
        "topology": topology,
        "rounds": rounds,
        "hastate": hastate,
        "floor": baseline,
        "js_floor": js_summary,
        "wall_ratio": median_ratio(hastate, baseline, "wall_seconds"),
        "cpu_ratio": median_ratio(hastate, baseline, "cpu_seconds"),
        "cpu_ratio_js_floor": js_summary and median_ratio(hastate, js_summary, "cpu_seconds"),
        "verdicts": verdicts,
        "outside_share": spread([t["outside_share"] for t in timing]),
        "tofu_seconds": spread([t["tofu_seconds"] for t in timing]),
        "s3_seconds": spread([t["s3_seconds"] for t in timing]),
        "race_loser_wait_max_seconds": spread(race_refused_max),
        "wall_minus_loser_wait_seconds": spread(
            [r.wall - w for r, w in zip(ours, race_refused_max, strict=True)]
        ),
    }


def scale(rounds: int, sizes: tuple[int, int] = (2, 6)) -> dict[str, Any]:
    """The whole live proof on an ha lab of 2 gateways and one of 6 (both up, runs
    alternating): wall and CPU, each run's longest race-loser wait beside its total."""
    results: dict[str, Any] = {"rounds": rounds, "gateways": list(sizes)}
    with contextlib.ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        labs = {n: stack.enter_context(lab("ha", gateways=n)) for n in sizes}
        runs: dict[int, list[ProcessRun]] = {n: [] for n in sizes}
        waits: dict[int, list[float]] = {n: [] for n in sizes}
        for round_no in range(rounds + 1):  # round 0 warms caches and is not counted
            order = sizes if round_no % 2 else tuple(reversed(sizes))
            for n in order:
                cluster = labs[n]
                evidence = work / f"evidence-{n}-{round_no}"
                run = run_process(
                    proof_argv(cluster.package_path, evidence, *LIVE), lab_env(cluster), work
                )
                record = json.loads((evidence / "verdict.json").read_text())
                if record["verdict"] == "STOP":
                    raise SystemExit(f"STOP on the {n}-gateway lab: {record['reasons'][:2]}")
                if round_no:
                    runs[n].append(run)
                    waits[n].append(loser_wait(record))
    for n in sizes:
        results[f"gateways_{n}"] = {
            **runs_summary(runs[n]), "race_loser_wait_max_seconds": spread(waits[n]),
        }  # fmt: skip
    small, large = (results[f"gateways_{n}"] for n in sizes)
    results["wall_ratio"] = median_ratio(large, small, "wall_seconds")
    results["cpu_ratio"] = median_ratio(large, small, "cpu_seconds")
    return results


def verify(counts: list[int], rounds: int) -> dict[str, Any]:
    """The post-maintenance sample verify vs a plain concurrent boto3 GET loop, same objects,
    same endpoint, same number of workers."""
    import boto3
    from botocore.config import Config

    from pytest_hastate.io.profiles import DEFAULT_PROFILE, load_profile
    from pytest_hastate.maintenance.reachability import EndpointAnswer
    from pytest_hastate.maintenance.sample import WORKERS, verify_endpoint, write_sample
    from pytest_hastate.models import EndpointPackage
    from pytest_hastate.s3.client import access_from, client
    from pytest_hastate.s3.scratch import ensure_bucket
    from pytest_hastate.scope.scratch import scope_of

    results: list[dict[str, Any]] = []
    with lab("singleton") as cluster:
        package = EndpointPackage.model_validate_json(cluster.package_path.read_text())
        access = access_from(package, cluster.package_path, environment(cluster))
        profile = load_profile(DEFAULT_PROFILE, cluster.directory, "bench").model
        scope = scope_of(profile, package, "bench-verify")
        ours = client(access, scope)
        plain = boto3.session.Session(
            aws_access_key_id=access.access_key, aws_secret_access_key=access.secret_key,
            region_name=access.region,
        ).client("s3", endpoint_url=access.primary, verify=access.verify,
                 config=Config(max_pool_connections=32, s3={"addressing_style": "path"}))  # fmt: skip
        answer = EndpointAnswer(access.primary, 200, "200")
        bucket = package.scratch_bucket
        ensure_bucket(ours, bucket)  # a fresh lab: the proof would create it
        for count in counts:
            keys = [scope.key(f"n{count}", f"{i:05d}") for i in range(count)]
            sample = write_sample(ours, bucket, keys, BENCH_SIZES)

            def ours_rate(sample: list[Any] = sample) -> float:
                report = verify_endpoint(ours, answer, bucket, sample)
                if report.verified != len(sample):
                    raise SystemExit(f"verify found problems: {report.wrong[:3]}")
                return len(sample) / report.seconds

            def loop_rate(keys: list[str] = keys) -> float:
                t0 = time.monotonic()
                with ThreadPoolExecutor(max_workers=WORKERS) as pool:
                    list(
                        pool.map(
                            lambda k: plain.get_object(Bucket=bucket, Key=k)["Body"].read(), keys
                        )
                    )
                return len(keys) / (time.monotonic() - t0)

            hastate, loop = alternating(ours_rate, loop_rate, rounds)
            ratio = spread([h / p for h, p in zip(hastate, loop, strict=True)])
            results.append({
                "objects": count, "megabytes": round(sum(o.size for o in sample) / 1e6, 1),
                "hastate_objects_per_second": spread(hastate),
                "plain_objects_per_second": spread(loop), "ratio": ratio,
            })  # fmt: skip
    return {"engine": "SeaweedFS singleton lab", "workers": WORKERS, "sizes": BENCH_SIZES,
            "rounds": rounds, "results": results}  # fmt: skip


def alternating(
    ours: Callable[[], float], base: Callable[[], float], rounds: int
) -> tuple[list[float], list[float]]:
    """``rounds`` pairs of measurements, the pair's order alternating (no drift favours one);
    a first pair warms both and is not kept."""
    kept: tuple[list[float], list[float]] = ([], [])
    for round_no in range(rounds + 1):
        if round_no % 2:
            a, b = ours(), base()
        else:
            b, a = base(), ours()
        if round_no:
            kept[0].append(a)
            kept[1].append(b)
    return kept


IMPORT_PROBE = """
import sys, time
import pytest
t = time.perf_counter()
import pytest_hastate.plugin
took = time.perf_counter() - t
heavy = [m for m in ("boto3", "botocore", "python_terraform", "kubernetes") if m in sys.modules]
print(took, ",".join(heavy))
"""


def _forget_rewritten(python: str) -> None:
    """Remove the assertion-rewritten bytecode pytest caches for our plugin's modules."""
    site = Path(python).parents[1]  # the virtualenv (its python is a symlink: not resolved)
    for pyc in site.glob("lib/python*/site-packages/pytest_hastate/**/*-pytest-*.pyc"):
        pyc.unlink()


WITHOUT_BOTH = ("-p", "no:hastate", "-p", "no:pytest_order")
"""A session without the plugin and without pytest-order, the dependency it brings."""


def plugin(rounds: int) -> dict[str, Any]:
    """``pytest --co`` on a trivial test file with the plugin vs ``-p no:hastate`` (CPU seconds
    of the process, alternating pairs), twice: with Python's default bytecode caching (pytest
    caches the assertion-rewritten modules of every plugin after the first run), and with
    PYTHONDONTWRITEBYTECODE=1 from the install on (pytest rewrites them in every run); and
    the same against a session without pytest-order either. Then the plugin's import time after
    pytest's, and which heavy libraries it imports (none)."""
    import subprocess

    python = operator_python()
    results: dict[str, Any] = {"rounds": rounds}
    with tempfile.TemporaryDirectory() as work:
        folder = Path(work)
        (folder / "test_trivial.py").write_text("def test_nothing():\n    pass\n")
        base = [python, "-m", "pytest", "--co", "-q", "-p", "no:cacheprovider"]
        for label, env in (
            ("bytecode_cached", this_checkout(os.environ)),
            ("no_bytecode", {**this_checkout(os.environ), "PYTHONDONTWRITEBYTECODE": "1"}),
        ):
            if label == "no_bytecode":
                _forget_rewritten(python)

            def collect(*args: str, env: dict[str, str] = env) -> float:
                return run_process([*base, *args, "test_trivial.py"], env, folder).cpu

            with_plugin, without = alternating(collect, lambda: collect("-p", "no:hastate"), rounds)
            added = [(a - b) * 1000 for a, b in zip(with_plugin, without, strict=True)]
            # pytest-order is installed only because pytest-hastate requires it, and pytest
            # loads it in every session: what installing the product costs such a session.
            with_both, neither = alternating(collect, lambda: collect(*WITHOUT_BOTH), rounds)
            added_both = [(a - b) * 1000 for a, b in zip(with_both, neither, strict=True)]
            results[label] = {
                "cpu_seconds_with_plugin": spread(with_plugin),
                "cpu_seconds_without": spread(without),
                "added_milliseconds": spread(added),
                "cpu_seconds_without_plugin_and_pytest_order": spread(neither),
                "added_with_pytest_order_milliseconds": spread(added_both),
            }
        imports: list[float] = []
        heavy: set[str] = set()
        for _ in range(rounds):
            done = subprocess.run([python, "-c", IMPORT_PROBE], capture_output=True, text=True,
                                  check=True, cwd=folder, env=this_checkout(os.environ))  # fmt: skip
            seconds, names = done.stdout.split()[0], done.stdout.split()[1:]
            imports.append(float(seconds))
            heavy.update(n for n in ",".join(names).split(",") if n)
    results["plugin_import_seconds_after_pytest"] = spread(imports)
    results["heavy_libraries_imported"] = sorted(heavy)
    return results


def lab_cycle(rounds: int) -> dict[str, Any]:
    """Cold start (until every endpoint answers, seeded, package written) and teardown, for
    each engine whose binaries are here."""
    from pytest_hastate.lab.ceph import missing_binaries

    engines = ["seaweedfs"] + ([] if missing_binaries() else ["ceph"])
    results: dict[str, Any] = {}
    for engine in engines:
        for topology in ("singleton", "ha"):
            starts, stops = [], []
            for _ in range(rounds):
                with tempfile.TemporaryDirectory(prefix="hastate-bench-") as folder:
                    t0 = time.monotonic()
                    cluster = start(Path(folder), topology, engine=engine, die_with_parent=True)
                    t1 = time.monotonic()
                    cluster.down()
                    starts.append(t1 - t0)
                    stops.append(time.monotonic() - t1)
            name = topology if engine == "seaweedfs" else f"{engine}-{topology}"
            results[name] = {"start_seconds": spread(starts), "teardown_seconds": spread(stops)}
    return {"rounds": rounds, **results}


def fail_fast(rounds: int) -> dict[str, Any]:
    """Time to STOP, with the cause first, on degraded backends: a singleton out of capacity,
    a singleton's gateway that never answers, and the HA lab's bad days (``bad_days``)."""
    from tests.support.engines import StallingGateway
    from tests.support.helpers import lab_package

    out: dict[str, Any] = {"rounds": rounds}
    with lab("singleton", volume_slots=8) as cluster, tempfile.TemporaryDirectory() as work:
        fill(cluster)
        out["exhausted_capacity"] = degraded(
            rounds,
            cluster.package_path,
            lab_env(cluster),
            Path(work),
        )
    with lab("singleton") as cluster, tempfile.TemporaryDirectory() as work:
        certs = (cluster.directory / "s3-cert.pem", cluster.directory / "s3-key.pem")
        with StallingGateway(*certs) as gateway:
            package = lab_package(cluster, Path(work), endpoint_url=gateway.endpoint)
            env = lab_env(cluster, TOFU_HA_STATE_ENDPOINT=gateway.endpoint)
            out["gateway_never_answers"] = degraded(rounds, package, env, Path(work))
    with lab("ha") as cluster, tempfile.TemporaryDirectory() as work:
        for name, fronts in bad_days(cluster).items():
            with contextlib.ExitStack() as stack:
                endpoints = [stack.enter_context(front) if hasattr(front, "__enter__") else front
                             for front in fronts]  # fmt: skip
                urls = [e if isinstance(e, str) else e.endpoint for e in endpoints]
                out[name] = degraded(rounds, *ha_package(cluster, Path(work), urls))
    return out


def bad_days(cluster: LabCluster) -> dict[str, list[Any]]:
    """The HA lab's two gateways, each behind a fault: every one hung, half of them hung,
    every one refusing connections, every write answering 500 after longer than the read
    timeout."""
    from pytest_hastate.lab.engine import free_ports
    from tests.support.engines import StallingGateway
    from tests.support.helpers import faulty_proxy

    certs = (cluster.directory / "s3-cert.pem", cluster.directory / "s3-key.pem")

    def slow_500(gateway: int) -> Any:
        proxy = faulty_proxy(cluster, gateway, strip_if_none_match=False)
        proxy.fail_matching, proxy.fail_delay = ("PUT", ".", 500), READ_TIMEOUT + 2
        return proxy

    closed = [f"https://127.0.0.1:{port}" for port in free_ports(2)]
    return {
        "every_gateway_hung": [StallingGateway(*certs), StallingGateway(*certs)],
        "half_the_gateways_hung": [StallingGateway(*certs), cluster.endpoints[1]],
        "every_gateway_refuses": closed,
        "every_write_answers_500_slowly": [slow_500(0), slow_500(1)],
    }


def ha_package(
    cluster: LabCluster, work: Path, urls: list[str]
) -> tuple[Path, dict[str, str], Path]:
    from tests.support.helpers import lab_package

    package = lab_package(cluster, work, endpoint_url=urls[0], ha_endpoints=urls)
    env = lab_env(cluster, TOFU_HA_STATE_ENDPOINT=urls[0])
    return package, env, work


def fill(cluster: LabCluster) -> None:
    s3 = admin(cluster)
    for index in range(50):
        try:
            s3.create_bucket(Bucket=f"filler-{index}")
            s3.put_object(Bucket=f"filler-{index}", Key="k", Body=b"x")
        except Exception:  # the first refused write: capacity is exhausted
            return
    raise SystemExit("the lab never ran out of volume slots")


def degraded(rounds: int, package: Path, env: dict[str, str], work: Path) -> dict[str, Any]:
    runs: list[ProcessRun] = []
    first_reasons: list[str] = []
    for round_no in range(rounds):
        evidence = work / f"evidence-{round_no}"
        runs.append(run_process(proof_argv(package, evidence, *LIVE), env, work))
        record = json.loads((evidence / "verdict.json").read_text())
        if record["verdict"] != "STOP":
            raise SystemExit(f"expected STOP, got {record['verdict']}")
        first_reasons.append(record["reasons"][0])
    return {
        "time_to_stop_seconds": spread([r.wall for r in runs]),
        "runs": [as_dict(r) for r in runs],
        "first_reason": first_reasons[-1],
    }
