"""The lab under a policy profile: which protected bucket and keys it seeds (real targets for
the boundary step and the "untouched" assertion), the lines its package and contract carry so
that they pass the profile's gates, and how its package names the profile."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from pytest_hastate.io.profiles import (
    DEFAULT_PROFILE,
    LoadedProfile,
    check_against_package,
    shipped_profiles,
)
from pytest_hastate.lab.engine import SCRATCH_BUCKET
from pytest_hastate.models.profile import Profile

LAB_PROTECTED_BUCKET = "hastate-lab-protected-state"
"""Seeded when the profile leaves the protected targets to the package."""
LAB_PROTECTED_KEY = "prod/terraform.tfstate"
PROFILE_FILE = "profile.json"


@dataclass(frozen=True)
class LabPolicy:
    profile: Profile
    reference: str | None  # what the lab's package says in its "profile" field (None: default)

    @property
    def buckets(self) -> list[str]:
        """The protected buckets the lab seeds (the first holds the seeded state keys)."""
        return list(self.profile.protected.buckets) or [LAB_PROTECTED_BUCKET]

    @property
    def keys(self) -> list[str]:
        """The protected state keys the lab seeds, in the first protected bucket."""
        protected = self.profile.protected
        keys = [*protected.state_keys, *(f"{p}terraform.tfstate" for p in protected.key_prefixes)]
        return keys or [LAB_PROTECTED_KEY]

    @property
    def denials(self) -> list[str]:
        """The package's protected_state_denials: every seeded bucket and state key."""
        return [*(f"deny {b} bucket" for b in self.buckets), *(f"deny {k}" for k in self.keys)]

    def separation(self, document: str) -> list[str]:
        surfaces = getattr(self.profile.separation, document)
        lines = [f"{s.name} is separate from OpenTofu state authority" for s in surfaces]
        return lines or ["cache stores are separate from OpenTofu state authority"]

    @property
    def candidate_class(self) -> str:
        """The lab's class in the profile's words: its first primary or acceptable class."""
        for klass in self.profile.candidate_classes:
            if klass.posture in ("primary", "acceptable"):
                return klass.name
        return "dedicated HA S3-compatible state service"


def lab_policy(profile: LoadedProfile | None, directory: Path) -> LabPolicy:
    """The lab's policy; a profile file is copied into the lab folder (the package names it
    there, relative to itself), a shipped profile is named by its name. A profile protecting
    the lab's scratch bucket is refused before anything starts."""
    if profile is not None:
        check_against_package(profile, SCRATCH_BUCKET)
    if profile is None:
        from pytest_hastate.io.profiles import load_profile

        return LabPolicy(
            load_profile(DEFAULT_PROFILE, directory, "the default profile").model, None
        )
    if profile.reference == DEFAULT_PROFILE:
        return LabPolicy(profile.model, None)
    if profile.reference in shipped_profiles():
        return LabPolicy(profile.model, profile.reference)
    shutil.copyfile(profile.path, directory / PROFILE_FILE)
    return LabPolicy(profile.model, PROFILE_FILE)
