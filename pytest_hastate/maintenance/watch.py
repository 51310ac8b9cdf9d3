"""The watched window's workload: what OpenTofu would do during the maintenance, through every
endpoint of the package, through guarded clients, under the run's scratch prefix.

- state writes: one versioned object per endpoint, rewritten every ``interval`` with a sequence
  number (what ``apply`` does);
- reads of every state object's latest version through every endpoint (what ``plan`` does);
- lock cycles: contenders on one lock key, each through its own endpoint, ``PUT If-None-Match:
  *`` -> hold -> ``DELETE`` (what the lockfile does); after an answer-less acquire, the
  contender reads the lock object to learn whether it holds it.

Bounded: a per-operation timeout (the clients'), a cap on operations per second and on all
operations; it stops by itself at ``duration`` or when ``until_file`` appears, or when told.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial

from pytest_hastate.maintenance.watch_check import Op, OpKind, Outcome
from pytest_hastate.maintenance.watch_log import WatchLog
from pytest_hastate.s3.client import S3Client, S3Errors, error_code, status
from pytest_hastate.scope.scratch import ScratchScope

Facts = dict[str, object]


@dataclass(frozen=True)
class WatchPlan:
    interval: float = 0.25
    hold: float = 0.1
    max_ops_per_second: float = 60.0
    max_ops: int = 50_000
    duration: float | None = None
    until_file: str | None = None


def state_key(scope: ScratchScope, index: int) -> str:
    return scope.key("watch", f"state-{index}")


def lock_key(scope: ScratchScope) -> str:
    return scope.key("watch", "terraform.tfstate.tflock")


class RateCap:
    """At most ``per_second`` operations per second and ``total`` in all, across threads."""

    def __init__(self, per_second: float, total: int) -> None:
        self.spacing, self.left = 1.0 / per_second, total
        self._next = time.monotonic()
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            if self.left <= 0:
                return False
            self.left -= 1
            wait = self._next - time.monotonic()
            self._next = max(self._next, time.monotonic()) + self.spacing
        if wait > 0:
            time.sleep(wait)
        return True


class Watch:
    """Runs the workload threads until ``stop`` is set (or a bound is reached)."""

    def __init__(
        self, clients: Mapping[str, S3Client], bucket: str, scope: ScratchScope, log: WatchLog,
        plan: WatchPlan, started: float,
    ) -> None:  # fmt: skip
        self.clients, self.bucket, self.scope, self.log, self.plan = (
            dict(clients), bucket, scope, log, plan,
        )  # fmt: skip
        self.started = started
        self.stop = threading.Event()
        self.cap = RateCap(plan.max_ops_per_second, plan.max_ops)
        self.endpoints = list(self.clients)
        self.progress: Callable[[str], None] = lambda line: None

    def now(self) -> float:
        return time.monotonic() - self.started

    def call(self, endpoint: str, kind: OpKind, key: str, action: Callable[[], Facts],
             **facts: object) -> Op | None:  # fmt: skip
        """One recorded operation; ``action`` returns what it learned (version, seq ...)."""
        if not self.cap.take():
            self.stop.set()
            return None
        t0 = self.now()
        outcome: Outcome = "ok"
        code: str | None = None
        try:
            facts.update(action())
        except S3Errors as exc:
            http = status(exc)
            code = error_code(exc)
            outcome = (
                "refused" if http and 400 <= http < 500 else "timeout" if not http else "error"
            )
        op = Op(t0=round(t0, 4), t1=round(self.now(), 4), endpoint=endpoint, kind=kind, key=key,
                outcome=outcome, code=code, **facts)  # type: ignore[arg-type]  # fmt: skip
        self.log.op(op)
        return op

    # --- the three kinds of work ----------------------------------------------------------

    def writer(self, index: int, endpoint: str) -> None:
        s3, key, seq = self.clients[endpoint], state_key(self.scope, index), 0
        while not self.stop.is_set():
            seq += 1
            body = json.dumps(
                {"seq": seq, "endpoint": endpoint, "nonce": secrets.token_hex(8)}
            ).encode()
            digest = hashlib.sha256(body).hexdigest()

            def put(body: bytes = body) -> Facts:
                response = s3.put_object(Bucket=self.bucket, Key=key, Body=body)
                return {"version": str(response.get("VersionId") or "null")}

            self.call(endpoint, "write", key, put, seq=seq, sha256=digest)
            self.stop.wait(self.plan.interval)

    def reader(self, endpoint: str) -> None:
        s3 = self.clients[endpoint]
        keys = [state_key(self.scope, i) for i in range(len(self.endpoints))]
        while not self.stop.is_set():
            for key in keys:

                def get(key: str = key) -> Facts:
                    response = s3.get_object(Bucket=self.bucket, Key=key)
                    body = response["Body"].read()
                    return {
                        "version": str(response.get("VersionId") or "null"),
                        "seq": int(json.loads(body)["seq"]),
                        "sha256": hashlib.sha256(body).hexdigest(),
                    }

                self.call(endpoint, "read", key, get)
            self.stop.wait(self.plan.interval)

    def contender(self, number: int, endpoint: str) -> None:
        s3, key = self.clients[endpoint], lock_key(self.scope)
        while not self.stop.is_set():
            token = f"contender-{number}-{secrets.token_hex(6)}".encode()
            acquired = self.call(endpoint, "acquire", key, partial(_put_if_absent, s3, self.bucket, key, token),
                                 contender=number)  # fmt: skip
            held = acquired is not None and acquired.acknowledged
            if acquired is not None and acquired.indeterminate:
                inspected = self.call(endpoint, "inspect", key, partial(_inspect, s3, self.bucket, key, token),
                                      contender=number)  # fmt: skip
                held = bool(inspected and inspected.holds)
            if held:
                self.stop.wait(self.plan.hold)
                self.call(
                    endpoint,
                    "release",
                    key,
                    partial(_delete, s3, self.bucket, key),
                    contender=number,
                )
            self.stop.wait(self.plan.interval * (0.5 + secrets.randbelow(100) / 100))

    def run(self) -> str:
        """Start every thread, wait for a reason to stop, join them; returns the reason."""
        threads = [threading.Thread(target=self.writer, args=(i, e), daemon=True)
                   for i, e in enumerate(self.endpoints)]  # fmt: skip
        threads += [
            threading.Thread(target=self.reader, args=(e,), daemon=True) for e in self.endpoints
        ]
        contenders = max(2, len(self.endpoints))
        threads += [
            threading.Thread(target=self.contender, args=(n, self.endpoints[n % len(self.endpoints)]), daemon=True)
            for n in range(contenders)
        ]  # fmt: skip
        for thread in threads:
            thread.start()
        why = self.wait()
        self.stop.set()
        for thread in threads:
            thread.join(timeout=30)
        return why

    def wait(self) -> str:
        plan, told = self.plan, 0.0
        while not self.stop.wait(0.1):
            if self.now() - told >= 10.0:
                told = self.now()
                self.progress(f"hastate watch: {told:.0f} s, {self.log.count} operations recorded")
            if plan.duration is not None and self.now() >= plan.duration:
                return f"duration {plan.duration:g} s reached"
            if plan.until_file is not None and _exists(plan.until_file):
                return f"{plan.until_file} appeared"
        return "stopped" if self.cap.left > 0 else f"the cap of {plan.max_ops} operations"


def _put_if_absent(s3: S3Client, bucket: str, key: str, token: bytes) -> Facts:
    response = s3.put_object(Bucket=bucket, Key=key, Body=token, IfNoneMatch="*")
    return {"version": str(response.get("VersionId") or "null")}


def _inspect(s3: S3Client, bucket: str, key: str, token: bytes) -> Facts:
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except S3Errors as exc:
        if status(exc) == 404:
            return {"holds": False}
        raise
    return {"holds": body == token}


def _delete(s3: S3Client, bucket: str, key: str) -> Facts:
    s3.delete_object(Bucket=bucket, Key=key)
    return {}


def _exists(path: str) -> bool:
    return os.path.exists(path)
