"""The floor for the live proof: a plain script issuing the same OpenTofu commands and the
same S3 calls, step by step and with the same concurrency (the race begun with step 2b
and awaited after OpenTofu, as the proof does), but no checks, no guard, no
evidence, no pytest. What pytest-hastate costs is the difference to this.

Usage: python bench/floor.py ENDPOINT_PACKAGE   (credentials from the package's variables; the
       scratch bucket must exist: a proof run creates it, as the benchmark's first, uncounted
       round does)
       python bench/floor.py --plan ENDPOINT_PACKAGE   (prints the JavaScript floor's input,
       bench/js-floor/floor.mjs)
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from pytest_hastate.io.profiles import DEFAULT_PROFILE, load_profile
from pytest_hastate.models import EndpointPackage

RACE_KEYS, RACE_WRITERS, INDEX_OBJECTS = 5, 8, 5
READ_KEYS_PER_WRITER, READ_KEYS_IN_ALL = 8, 16


def clients(package: EndpointPackage, env: dict[str, str]) -> dict[str, Any]:
    names = package.credential_injection
    session = boto3.session.Session(
        aws_access_key_id=env[names.access_key_env],
        aws_secret_access_key=env[names.secret_key_env],
        region_name=package.region,
    )
    config = Config(
        retries={"total_max_attempts": 3, "mode": "standard"},
        s3={"addressing_style": "path"},
        max_pool_connections=64,
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    ca = env.get("AWS_CA_BUNDLE") or True
    return {
        e: session.client("s3", endpoint_url=e, config=config, verify=ca) for e in package.endpoints
    }


def head(s3: Any, bucket: str, key: str | None = None) -> int:
    try:
        s3.head_object(Bucket=bucket, Key=key) if key else s3.head_bucket(Bucket=bucket)
    except ClientError as exc:
        return int(exc.response["ResponseMetadata"]["HTTPStatusCode"])
    return 200


def read(s3: Any, bucket: str, key: str) -> bytes | None:
    try:
        body: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError:
        return None
    return body


def boundary(s3s: dict[str, Any], protected: list[tuple[str, str | None]]) -> None:
    for s3 in s3s.values():
        s3.list_buckets()
        for bucket, key in protected:
            head(s3, bucket, key)


def scratch(s3s: dict[str, Any], bucket: str, run: str) -> Future[None]:
    """Step 2b; the race is begun beside the rest, as the proof does, and returned."""
    primary = next(iter(s3s.values()))
    for s3 in s3s.values():
        head(s3, bucket)
        s3.get_bucket_versioning(Bucket=bucket)
    key = f"{run}object-cycle/{uuid.uuid4().hex}"
    primary.put_object(Bucket=bucket, Key=key, Body=secrets.token_bytes(65536))
    primary.head_object(Bucket=bucket, Key=key)
    primary.get_object(Bucket=bucket, Key=key)["Body"].read()
    primary.delete_object(Bucket=bucket, Key=key)
    for s3 in s3s.values():
        head(s3, bucket, key)
    key = f"{run}conditional/{uuid.uuid4().hex}"
    for body in (b"first", b"second"):
        with contextlib.suppress(ClientError):
            primary.put_object(Bucket=bucket, Key=key, Body=body, IfNoneMatch="*")
    racing = ThreadPoolExecutor(1)
    underway = racing.submit(race, list(s3s.values()), bucket, run)
    racing.shutdown(wait=False)
    read(primary, bucket, key)
    read_after_write(s3s, bucket, run)
    return underway


def race(s3s: list[Any], bucket: str, run: str) -> None:
    def one(key: str) -> None:
        barrier = threading.Barrier(RACE_WRITERS)

        def writer(index: int) -> None:
            barrier.wait()
            with contextlib.suppress(ClientError):
                s3s[index % len(s3s)].put_object(
                    Bucket=bucket, Key=key, Body=secrets.token_bytes(256), IfNoneMatch="*"
                )

        with ThreadPoolExecutor(RACE_WRITERS) as pool:
            list(pool.map(writer, range(RACE_WRITERS)))
        for s3 in s3s:
            read(s3, bucket, key)

    keys = [f"{run}race/{n}-{uuid.uuid4().hex[:8]}" for n in range(RACE_KEYS)]
    with ThreadPoolExecutor(RACE_KEYS) as pool:
        list(pool.map(one, keys))


def read_after_write(s3s: dict[str, Any], bucket: str, run: str) -> None:
    writers = list(s3s.values())
    count = max(min(READ_KEYS_PER_WRITER * len(writers), READ_KEYS_IN_ALL), len(writers))
    keys = [f"{run}read-after-write/{uuid.uuid4().hex}" for _ in range(count)]

    def one(index: int) -> None:
        for key in keys[index :: len(writers)]:
            for _kind in ("new", "overwrite"):
                writers[index].put_object(Bucket=bucket, Key=key, Body=secrets.token_bytes(64))
                list(
                    readers.map(
                        lambda r, k=key: r.get_object(Bucket=bucket, Key=k)["Body"].read(), writers
                    )
                )

    with (
        ThreadPoolExecutor(len(writers)) as pool,
        ThreadPoolExecutor(len(writers) ** 2) as readers,
    ):
        list(pool.map(one, range(len(writers))))


def bucket_index(s3s: dict[str, Any], bucket: str, run: str, probe: str) -> None:
    primary = next(iter(s3s.values()))
    primary.list_buckets()
    primary.get_bucket_acl(Bucket=bucket)
    prefix = f"{run}index/{uuid.uuid4().hex[:8]}/"
    for i in range(INDEX_OBJECTS):
        primary.put_object(Bucket=bucket, Key=f"{prefix}{i:02d}", Body=b"x")
    for s3 in s3s.values():
        head(s3, bucket)
        s3.list_objects_v2(Bucket=bucket, Prefix=prefix)
        s3.list_buckets()
    primary.create_bucket(Bucket=probe)
    for s3 in s3s.values():
        head(s3, probe)
    primary.put_object(Bucket=probe, Key=f"{run}lifecycle/object", Body=secrets.token_bytes(2048))
    for s3 in s3s.values():
        read(s3, probe, f"{run}lifecycle/object")
    empty(primary, probe, "")
    primary.delete_bucket(Bucket=probe)
    for s3 in s3s.values():
        head(s3, probe)


def empty(s3: Any, bucket: str, prefix: str) -> None:
    listing = s3.list_object_versions(Bucket=bucket, Prefix=prefix)
    doomed = [
        {"Key": v["Key"], "VersionId": v["VersionId"]}
        for kind in ("Versions", "DeleteMarkers")
        for v in listing.get(kind, [])
    ]
    if doomed:
        s3.delete_objects(Bucket=bucket, Delete={"Objects": doomed, "Quiet": True})


def tofu(
    s3s: dict[str, Any], package: EndpointPackage, env: dict[str, str], run: str, binary: str
) -> None:
    bucket, endpoint = package.scratch_bucket, package.endpoint_url
    primary = s3s[endpoint]
    key = f"{run}tofu/terraform.tfstate"
    names = package.credential_injection
    with tempfile.TemporaryDirectory(prefix="floor-tofu-") as folder:
        work = Path(folder)
        backend = {**package.effective_backend_options, "bucket": bucket, "key": key,
                   "region": package.region, "endpoints": {"s3": endpoint},
                   "use_lockfile": True}  # fmt: skip
        config = {
            "terraform": {"backend": {"s3": backend}},
            "variable": {"nonce": {"type": "string"}},
            "resource": {"terraform_data": {"proof": {"input": "${var.nonce}"}}},
            "output": {"nonce": {"value": "${terraform_data.proof.output}"}},
        }
        (work / "main.tf.json").write_text(json.dumps(config))
        tf_env = {
            "PATH": os.environ["PATH"], "HOME": folder, "TF_IN_AUTOMATION": "1",
            "TF_DATA_DIR": str(work / ".data"), "AWS_CA_BUNDLE": env.get("AWS_CA_BUNDLE", ""),
            "AWS_ACCESS_KEY_ID": env[names.access_key_env],
            "AWS_SECRET_ACCESS_KEY": env[names.secret_key_env],
        }  # fmt: skip

        def run_tf(*args: str, nonce: str | None = None, expect: int = 0) -> None:
            argv = [binary, *args, "-no-color"]
            if nonce is not None:
                (work / "terraform.tfvars.json").write_text(json.dumps({"nonce": nonce}))
            done = subprocess.run(argv, cwd=work, env=tf_env, capture_output=True, check=False)
            if done.returncode != expect:  # a floor that fails part-way would flatter nobody
                raise SystemExit(
                    f"{' '.join(argv)} exited {done.returncode}: {done.stderr[-300:]!r}"
                )

        first, second = secrets.token_hex(8), secrets.token_hex(8)
        run_tf("init", "-input=false")
        run_tf("apply", "-auto-approve", "-input=false", nonce=first)
        first_version = primary.head_object(Bucket=bucket, Key=key)["VersionId"]
        run_tf("output", "-json")
        run_tf("plan", "-detailed-exitcode", "-input=false")
        lock = f"{key}.tflock"
        primary.put_object(Bucket=bucket, Key=lock, Body=b"{}", IfNoneMatch="*")
        run_tf("plan", "-detailed-exitcode", "-lock-timeout=0s", "-input=false", expect=1)
        primary.delete_object(Bucket=bucket, Key=lock)
        run_tf("apply", "-auto-approve", "-input=false", nonce=second)
        primary.get_object(Bucket=bucket, Key=key)["Body"].read()
        primary.copy_object(
            Bucket=bucket, Key=key,
            CopySource={"Bucket": bucket, "Key": key, "VersionId": first_version},
        )  # fmt: skip
        run_tf("output", "-json")
        run_tf("plan", "-detailed-exitcode", "-input=false", nonce=first)
        run_tf("plan", "-detailed-exitcode", "-input=false", nonce=second, expect=2)


def plan_of(package: EndpointPackage, package_path: str) -> dict[str, Any]:
    """What both floors derive from the endpoint package and its profile: the endpoints, the
    scratch bucket and a run prefix (without its random part), the protected targets the
    boundary probes, the backend options, the credential variables and the binary."""
    profile = load_profile(
        package.profile or DEFAULT_PROFILE, Path(package_path).parent, "floor"
    ).model
    first = profile.protected.buckets[0]
    protected: list[tuple[str, str | None]] = [(first, None)]
    protected += [(first, key) for key in profile.protected.state_keys]
    names = package.credential_injection
    return {
        "endpoints": list(package.endpoints),
        "endpoint_url": package.endpoint_url,
        "region": package.region,
        "bucket": package.scratch_bucket,
        "run_prefix": f"{package.scratch_prefix or profile.scratch_prefix}floor-",
        "protected": protected,
        "backend": dict(package.effective_backend_options),
        "access_key_env": names.access_key_env,
        "secret_key_env": names.secret_key_env,
        "tofu_binary": "tofu" if shutil.which("tofu") else "terraform",
    }


def main(package_path: str) -> None:
    package = EndpointPackage.model_validate_json(Path(package_path).read_text())
    plan = plan_of(package, package_path)
    env = dict(os.environ)
    s3s = clients(package, env)
    bucket = package.scratch_bucket
    run = f"{plan['run_prefix']}{uuid.uuid4().hex[:8]}/"
    boundary(s3s, plan["protected"])
    underway = scratch(s3s, bucket, run)
    bucket_index(s3s, bucket, run, f"{bucket}-probe-{uuid.uuid4().hex[:8]}")
    tofu(s3s, package, env, run, plan["tofu_binary"])
    underway.result()
    for s3 in s3s.values():
        empty(s3, bucket, run)


if __name__ == "__main__":
    if sys.argv[1] == "--plan":  # the JavaScript floor's input: python bench/floor.py --plan PKG
        path = sys.argv[2]
        package = EndpointPackage.model_validate_json(Path(path).read_text())
        print(json.dumps(plan_of(package, path)))
    else:
        main(sys.argv[1])
