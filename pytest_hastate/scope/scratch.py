"""Where a run may write, and the checks every request it sends passes: the scratch bucket
under ``<scratch_prefix><run-id>/`` and the run's probe bucket, nothing protected, only the
operations the proof needs, and the request botocore built going exactly where its parameters
said. Pure: the S3 client factory installs these checks as botocore hooks, the OpenTofu
workspace runs the backend check before any command.

Rules:

- Only plain bucket names (no ARN, access point, outpost, or a name that normalises to
  another); no dot or empty segment (``.``, ``..``, ``//``, also percent-encoded) in any key,
  prefix, marker or copy-source key, for reads as much as for writes.
- Any request at all to a protected target is refused, except the credential-boundary HEAD
  probes (HeadBucket / HeadObject, which expect 403/404).
- Every request addresses the scratch bucket or this run's probe bucket
  ``<scratch_bucket>-probe-<short id>`` (ListBuckets addresses none); a mutating request only
  a canonical key under ``<scratch_prefix><run-id>/``, or the bucket-level operations the
  proof needs.
- The URL botocore built goes to the configured endpoint (path style) or
  ``<bucket>.<endpoint host>`` (virtual-hosted style) and carries exactly the bucket and key
  the parameters named.

Keys are compared after normalisation (``names``); a key that is not already in canonical form
is never written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from pytest_hastate.errors import GuardRefusal
from pytest_hastate.models import EndpointPackage
from pytest_hastate.models.profile import Profile
from pytest_hastate.scope.backend import allowed_in_backend, strings_in, template_problem
from pytest_hastate.scope.names import (
    bucket_name_problem,
    is_canonical_key,
    normalize_key,
    probe_bucket_of,
    segment_problem,
)
from pytest_hastate.scope.requests import (
    BOUNDARY_PROBES,
    LISTINGS,
    NO_BUCKET_OPERATIONS,
    OPERATIONS,
    PROBE_BUCKET_OPERATIONS,
    SCRATCH_BUCKET_OPERATIONS,
    TOKEN_PATTERN,
    Target,
    copy_source_of,
    is_read_only,
    target_label,
)
from pytest_hastate.scope.targets import ProtectedTargets


def disposable_state_key(prefix: str, run_id: str, phase: str) -> str:
    """The key of the disposable OpenTofu state of one run and phase."""
    return f"{prefix}{run_id}/disposable-tofu/{phase}/terraform.tfstate"


def own_state_problem(prefix: str, protected: ProtectedTargets) -> str | None:
    """Why the proof's own disposable state under ``prefix`` would be a protected key (a
    protected key matches every key that ends in ``/<key>``), or None."""
    own = disposable_state_key(prefix, "run-id", "phase")
    reason = protected.reason(None, own) or protected.reason(None, own + ".tflock")
    if reason is None:
        return None
    shape = disposable_state_key(prefix, "<run-id>", "<phase>")
    return f"the proof's own disposable state {shape} would be protected ({reason})"


def scratch_prefix_problem(prefix: str, protected: ProtectedTargets) -> str | None:
    """Why ``prefix`` cannot be a scratch prefix, or None: it must be a plain relative folder,
    and nothing under it may be protected, the proof's own state among it."""
    if not prefix or not prefix.strip():
        return "must not be empty"
    if prefix.startswith("/") or not prefix.endswith("/"):
        return "must be relative and end with '/'"
    if "//" in prefix or any(part in (".", "..") for part in prefix.split("/")):
        return "must not contain '//', '.' or '..' segments"
    if not prefix.isascii() or not prefix.isprintable() or any(c in prefix for c in "%\\${}"):
        return "must be printable ASCII without '%', '\\', '$', '{' or '}'"
    folder = normalize_key(prefix.split("/", 1)[0])
    for key in protected.keys:
        if normalize_key(key).split("/", 1)[0] == folder:
            return f"shares its first folder with the protected state key {key}"
    np = normalize_key(prefix) + "/"
    for protected_prefix in protected.prefixes:
        pp = normalize_key(protected_prefix) + "/"
        if np.startswith(pp) or pp.startswith(np):
            return f"overlaps the protected key prefix {protected_prefix}"
    return own_state_problem(prefix, protected)


@dataclass(frozen=True)
class ScratchScope:
    """Where this run may write: the scratch bucket under ``<prefix><run-id>/``, and its probe bucket."""

    bucket: str
    prefix: str
    run_id: str
    protected: ProtectedTargets = field(default_factory=ProtectedTargets)  # nothing, unless given
    allow_scratch_bucket_delete: bool = False

    @property
    def run_prefix(self) -> str:
        return f"{self.prefix}{self.run_id}/"

    @property
    def probe_bucket(self) -> str:
        return probe_bucket_of(self.bucket, self.run_id)

    def key(self, *parts: str) -> str:
        """A key of this run: ``<prefix><run-id>/<parts...>``."""
        return self.run_prefix + "/".join(parts)

    def in_run(self, key: str) -> bool:
        """A canonical key of this run (for keys read back from files)."""
        return is_canonical_key(key) and key.startswith(self.run_prefix)

    def check(
        self,
        operation: str,
        bucket: str | None,
        key: str | None = None,
        *,
        keys: Sequence[str] = (),
        prefixes: Sequence[str] = (),
        copy_source: tuple[str, str] | None = None,
        listing_prefix: str | None = None,
        boundary_probe: bool = False,
    ) -> None:
        """Raise ``GuardRefusal`` unless the request is allowed."""
        self.check_target(
            Target(operation, bucket, key, tuple(keys), tuple(prefixes), copy_source,
                   listing_prefix=listing_prefix),
            boundary_probe=boundary_probe,
        )  # fmt: skip

    def check_target(self, t: Target, *, boundary_probe: bool = False) -> None:
        """Raise ``GuardRefusal`` unless the request ``t`` is allowed."""
        op = t.operation
        if op not in OPERATIONS:
            raise GuardRefusal(op, t.label, "not an operation the proof sends")
        for name, token in t.tokens:
            if not TOKEN_PATTERN.match(token) or token in (".", ".."):
                raise GuardRefusal(op, t.label, f"{name} is not a plain token")
        if t.bucket is None:
            if op not in NO_BUCKET_OPERATIONS:
                raise GuardRefusal(op, "(no bucket)", "only ListBuckets may address no bucket")
            for prefix in t.prefixes:
                problem = segment_problem(prefix, trailing_slash=True)
                if problem is not None:
                    raise GuardRefusal(op, prefix, f"prefix {problem}")
            return
        self._check_shapes(t)
        probe = boundary_probe and op in BOUNDARY_PROBES
        for prefix in t.prefixes:
            reason = self.protected.prefix_reason(t.bucket, prefix)
            if reason is not None:
                raise GuardRefusal(op, target_label(t.bucket, prefix), reason)
        for item in (t.key, *t.keys) if t.keys else (t.key,):
            reason = self.protected.reason(t.bucket, item)
            if reason is not None and not probe:
                raise GuardRefusal(op, target_label(t.bucket, item), reason)
            if reason is not None:
                return  # a boundary HEAD probe of a protected target: expects 403/404
        if t.copy_source is not None:
            reason = self.protected.reason(*t.copy_source)
            if reason is not None:
                raise GuardRefusal(op, target_label(*t.copy_source), f"copy source: {reason}")
        if t.bucket not in (self.bucket, self.probe_bucket):
            raise GuardRefusal(
                op,
                t.label,
                "outside the scratch bucket and this run's probe bucket",
            )
        if op in LISTINGS and t.bucket == self.bucket and not self.allow_scratch_bucket_delete:
            # (a run that may delete the bucket its product created must see it is empty first)
            listed = t.listing_prefix or ""
            if not listed.startswith(self.run_prefix):
                raise GuardRefusal(
                    op, target_label(t.bucket, listed),
                    f"a listing of the scratch bucket must stay under this run's prefix "
                    f"{self.run_prefix} (its answer would name keys the run did not write)",
                )  # fmt: skip
        if t.copy_source is not None:
            source_bucket, source_key = t.copy_source
            if source_bucket not in (self.bucket, self.probe_bucket) or not self.in_run(source_key):
                raise GuardRefusal(
                    op, target_label(*t.copy_source), "copy source outside this run's scratch scope"
                )
        if is_read_only(op):
            return
        self._check_mutation(t)

    def _check_shapes(self, t: Target) -> None:
        assert t.bucket is not None
        for name in (t.bucket, *(t.copy_source[:1] if t.copy_source else ())):
            problem = bucket_name_problem(name)
            if problem is not None:
                raise GuardRefusal(t.operation, name, problem)
        for item in (t.key, *t.keys, *(t.copy_source[1:] if t.copy_source else ())):
            problem = None if item is None else segment_problem(item)
            if problem is not None:
                raise GuardRefusal(t.operation, target_label(t.bucket, item), f"key {problem}")
        for prefix in t.prefixes:
            problem = segment_problem(prefix, trailing_slash=True)
            if problem is not None:
                raise GuardRefusal(t.operation, target_label(t.bucket, prefix), f"prefix {problem}")

    def _check_mutation(self, t: Target) -> None:
        op = t.operation
        if t.key is None and not t.keys:
            allowed = (
                PROBE_BUCKET_OPERATIONS
                if t.bucket == self.probe_bucket
                else SCRATCH_BUCKET_OPERATIONS
            )
            if op in allowed or (op == "DeleteBucket" and self.allow_scratch_bucket_delete):
                return
            raise GuardRefusal(
                op, target_label(t.bucket, None), "bucket-level mutation not allowed on this bucket"
            )
        for item in (t.key, *t.keys) if t.key is not None else t.keys:
            if item is None or not is_canonical_key(item):
                raise GuardRefusal(op, target_label(t.bucket, item), "key is not in canonical form")
            if not item.startswith(self.run_prefix):
                raise GuardRefusal(
                    op,
                    target_label(t.bucket, item),
                    f"key outside this run's prefix {self.run_prefix}",
                )

    # --- OpenTofu's own traffic (it does not pass through boto3) ---------------------------------

    def check_backend(self, backend: Mapping[str, object], *, key: str, endpoint: str) -> None:
        """The rendered S3 backend block, as a whole, before any OpenTofu command runs: this
        run's scratch bucket and state key, the one endpoint, the lockfile, and nothing that
        could send OpenTofu's requests elsewhere or under another identity."""
        wanted: dict[str, object] = {
            "bucket": self.bucket,
            "key": key,
            "endpoints": {"s3": endpoint},
            "use_lockfile": True,
        }
        for name, value in wanted.items():
            if backend.get(name) != value:
                raise GuardRefusal("OpenTofu backend", name, f"must be {value!r}")
        if not self.in_run(key):
            raise GuardRefusal(
                "OpenTofu backend", key, "state key outside this run's scratch prefix"
            )
        for name in sorted(backend):
            if not allowed_in_backend(name):
                raise GuardRefusal(
                    "OpenTofu backend", name, "not a setting the proof renders or a package may set"
                )
            for text in strings_in(backend[name]):
                problem = template_problem(text)
                if problem:
                    raise GuardRefusal("OpenTofu backend", name, problem)
        for lock_key in (key, key + ".tflock"):
            self.check("PutObject", self.bucket, lock_key)

    # --- the request botocore built -------------------------------------------------------------

    def check_request(
        self,
        t: Target,
        *,
        endpoint: str,
        url: str,
        copy_source_header: str | None,
        boundary_probe: bool = False,
    ) -> None:
        """The URL (scheme, host, port, path) goes where the parameters said, and nowhere else."""
        op = t.operation
        want, got = urlsplit(endpoint), urlsplit(url)
        host, port = (got.hostname or ""), got.port or _default_port(got.scheme)
        if got.scheme != want.scheme or port != (want.port or _default_port(want.scheme)):
            raise GuardRefusal(op, url, "request URL is not the configured endpoint")
        path = unquote(got.path)
        if host == (want.hostname or ""):
            bucket, _, key = path.lstrip("/").partition("/")
        elif t.bucket and host == f"{t.bucket}.{want.hostname}":
            bucket, key = t.bucket, path.lstrip("/")
        else:
            raise GuardRefusal(op, url, f"request host {host} is not the configured endpoint's")
        if (bucket or None) != t.bucket:
            raise GuardRefusal(op, url, f"request addresses bucket {bucket!r}, not {t.bucket!r}")
        if (key or None) != t.key:
            raise GuardRefusal(op, url, "request path carries another key than the parameters")
        if copy_source_header is not None and (
            t.copy_source is None or copy_source_of(copy_source_header, op) != t.copy_source
        ):
            raise GuardRefusal(op, copy_source_header, "copy-source header differs from CopySource")
        self.check_target(t, boundary_probe=boundary_probe)


def _default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80


def scratch_prefix_of(profile: Profile, package: EndpointPackage) -> str:
    """The package's scratch prefix, else the profile's."""
    return package.scratch_prefix or profile.scratch_prefix


def protected_of(profile: Profile, package: EndpointPackage) -> ProtectedTargets:
    """What a run of ``package`` under ``profile`` must never touch."""
    return ProtectedTargets.of(
        profile, package.protected_state_denials, package.scratch_bucket_policy
    )


def scope_of(
    profile: Profile, package: EndpointPackage, run_id: str, *, allow_bucket_delete: bool = False
) -> ScratchScope:
    """Where a run of ``package`` may write, and what it must never touch."""
    return ScratchScope(
        bucket=package.scratch_bucket, prefix=scratch_prefix_of(profile, package), run_id=run_id,
        protected=protected_of(profile, package), allow_scratch_bucket_delete=allow_bucket_delete,
    )  # fmt: skip
