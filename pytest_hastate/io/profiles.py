"""Policy profiles: the shipped ones by name, a team's own by path; read, checked and
fingerprinted once. A bad profile is one ``InputError`` naming the file and the JSON path."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pytest_hastate.errors import InputError
from pytest_hastate.io.documents import LoadedDocument, read_json_object, validate_model
from pytest_hastate.models.profile import Profile
from pytest_hastate.resources import profiles_dir
from pytest_hastate.scope.names import bucket_name_problem, segment_problem
from pytest_hastate.scope.scratch import own_state_problem, scratch_prefix_problem
from pytest_hastate.scope.targets import ProtectedTargets

DEFAULT_PROFILE = "gloriousflywheel"
"""The first users' decision record: the profile of a package that names none."""
PROFILE = "profile"


@dataclass(frozen=True)
class LoadedProfile:
    """A profile as the run uses it: where it came from, its exact bytes' digest, the model."""

    reference: str  # a shipped name, or the path as given
    path: Path
    sha256: str
    model: Profile

    @property
    def name(self) -> str:
        return self.model.name

    @property
    def label(self) -> str:
        return f"{self.name} (sha256:{self.sha256[:12]})"


def shipped_profiles() -> list[str]:
    return sorted(p.stem for p in profiles_dir().glob("*.json"))


def resolve_profile(reference: str, base: Path) -> Path:
    """A shipped profile's name, or a path (relative to ``base``)."""
    if reference in shipped_profiles():
        return profiles_dir() / f"{reference}.json"
    path = Path(reference).expanduser()
    return path if path.is_absolute() else base / path


def load_profile(reference: str, base: Path, named_by: str) -> LoadedProfile:
    """Read and check the profile ``reference`` (``named_by`` says who named it, for the message
    when it cannot be found)."""
    path = resolve_profile(reference, base)
    if not path.is_file():
        raise InputError(
            named_by, "", f"profile {reference!r} not found (shipped profiles: "
            f"{', '.join(shipped_profiles())}; or a path to a profile JSON file)",
        )  # fmt: skip
    document = read_json_object(path, PROFILE)
    model = validate_model(document, PROFILE, Profile)
    check_profile(model, f"{PROFILE} {path}")
    return LoadedProfile(reference, path, document.sha256, model)


def check_profile(profile: Profile, source: str) -> None:
    """What the model alone cannot say: a profile protects something (or leaves it to the
    package), names only valid buckets and keys, and keeps its scratch prefix clear of them."""
    protected = profile.protected
    lists = protected.buckets or protected.state_keys or protected.key_prefixes
    if not lists and not protected.declared_by_package:
        raise InputError(
            source, "$.protected", "protects nothing: list buckets, state_keys or "
            "key_prefixes, or set declared_by_package (a proof must protect something)",
        )  # fmt: skip
    for index, bucket in enumerate(protected.buckets):
        problem = bucket_name_problem(bucket)
        if problem:
            raise InputError(source, f"$.protected.buckets[{index}]", problem)
    for field, entries in (("state_keys", protected.state_keys),
                           ("key_prefixes", protected.key_prefixes)):  # fmt: skip
        for index, key in enumerate(entries):
            problem = segment_problem(key, trailing_slash=field == "key_prefixes")
            if problem or not key.strip("/"):
                raise InputError(
                    source, f"$.protected.{field}[{index}]", problem or "must name a key"
                )
            if field == "key_prefixes" and not key.endswith("/"):
                raise InputError(source, f"$.protected.{field}[{index}]", "must end with '/'")
    for index, key in enumerate(protected.state_keys):
        if own_state_problem(profile.scratch_prefix, ProtectedTargets(keys=(key,))):
            raise InputError(
                source, f"$.protected.state_keys[{index}]",
                f"{key!r} would protect the proof's own disposable state too (a protected key "
                f"matches every key ending in '/{key}'): protect the bucket that holds it, or "
                "name the key with its folder",
            )  # fmt: skip
    problem = scratch_prefix_problem(profile.scratch_prefix, ProtectedTargets.of(profile))
    if problem:
        raise InputError(source, "$.scratch_prefix", problem)
    names = {c.name for c in profile.candidate_classes}
    for engine, name in profile.inventory.store_classes.items():
        if name not in names:
            raise InputError(
                source, f"$.inventory.store_classes.{engine}",
                f"{name!r} is not one of the profile's candidate classes",
            )  # fmt: skip


def check_against_package(profile: LoadedProfile, scratch_bucket: object) -> None:
    """A profile that protects the package's own scratch bucket cannot judge it."""
    for index, bucket in enumerate(profile.model.protected.buckets):
        if bucket == scratch_bucket:
            raise InputError(
                f"{PROFILE} {profile.path}", f"$.protected.buckets[{index}]",
                f"is the package's scratch bucket {bucket!r}: the proof writes there",
            )  # fmt: skip


def profile_for(
    package: LoadedDocument | None, option: str | None, cwd: Path, option_source: str = "--profile"
) -> LoadedProfile:
    """The profile of a run: the one the package names (a path relative to the package's
    folder), else ``--profile`` (a path relative to ``cwd``), else the default.

    A package that names its profile is judged by it alone: an option naming another one is
    refused (it would change what is protected without a word), one naming the same is fine.
    """
    named = package.data.get(PROFILE) if package is not None else None
    chosen = load_profile(option, cwd, option_source) if option else None
    if package is None or named is None:
        return chosen or load_profile(DEFAULT_PROFILE, cwd, "the default profile")
    source = f"endpoint package {package.path}"
    if not isinstance(named, str) or not named.strip():
        raise InputError(
            source, f"$.{PROFILE}", "must name a profile (a shipped name or a path), or be left out"
        )
    own = load_profile(named, package.path.parent, f"{source}: $.{PROFILE}")
    if chosen is not None and chosen.sha256 != own.sha256:
        raise InputError(
            option_source, "", f"names profile {chosen.label}, but the package names {named!r}, "
            f"{own.label}: a package is judged by its own profile (drop the option, or change "
            "the package's profile field)",
        )  # fmt: skip
    return own
