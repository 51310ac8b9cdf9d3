"""Sample verify throughput (objects/s) against a plain concurrent boto3 GET loop, same objects,
same run, on a real lab. Usage: python bench/verify_throughput.py [--topology ha] [--objects 64]"""

from __future__ import annotations

import argparse
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pytest_hastate.lab import start
from pytest_hastate.lab.artifacts import environment
from pytest_hastate.lab.cluster import SCRATCH_BUCKET
from pytest_hastate.maintenance.sample import WORKERS, verify_endpoint, write_sample
from pytest_hastate.models import EndpointPackage
from pytest_hastate.s3.client import access_from, client
from pytest_hastate.s3.guard import ScratchScope
from pytest_hastate.s3.scratch import delete_everything_under, ensure_bucket


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--topology", default="ha", choices=("ha", "singleton"))
    parser.add_argument("--objects", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        lab = start(Path(folder), args.topology)
        try:
            package = EndpointPackage.model_validate_json(lab.package_path.read_text())
            access = access_from(package, lab.package_path, environment(lab))
            scope = ScratchScope(SCRATCH_BUCKET, package.scratch_prefix, "bench-run")
            s3 = client(access, scope, attempts=1)
            ensure_bucket(s3, SCRATCH_BUCKET)
            keys = [scope.key("sample", f"{i:04d}") for i in range(args.objects)]
            t0 = time.monotonic()
            sample = write_sample(s3, SCRATCH_BUCKET, keys)
            megabytes = sum(o.size for o in sample) / 1e6
            print(
                f"wrote {len(sample)} objects ({megabytes:.1f} MB) in {time.monotonic() - t0:.2f} s"
            )
            for round_no in range(1, args.rounds + 1):
                report = verify_endpoint(s3, access.primary, SCRATCH_BUCKET, sample, timeout=30)
                assert report.verified == len(sample), report.wrong

                def get(key: str) -> int:
                    return len(s3.get_object(Bucket=SCRATCH_BUCKET, Key=key)["Body"].read())

                t1 = time.monotonic()
                with ThreadPoolExecutor(max_workers=WORKERS) as pool:
                    list(pool.map(get, keys))
                plain = time.monotonic() - t1
                print(
                    f"round {round_no}: hastate verify {len(sample) / report.seconds:6.1f} objects/s "
                    f"({report.seconds:.2f} s, GET by version + sha256 + HEAD current) | plain GET loop "
                    f"{len(sample) / plain:6.1f} objects/s ({plain:.2f} s)"
                )
            delete_everything_under(s3, SCRATCH_BUCKET, scope.run_prefix)
        finally:
            lab.down()


if __name__ == "__main__":
    main()
