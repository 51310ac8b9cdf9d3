"""The gate of the OpenTofu binary, passed before any S3 request: found, not a CI wrapper,
started by its shim (if any) with exactly the environment the proof gives it, recent enough
for the native S3 lockfile."""

from __future__ import annotations

import functools
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from pytest_hastate.errors import ShimEnvironment, TofuError
from pytest_hastate.tofu.observed import injected, observed_environment
from pytest_hastate.tofu.runner import (
    TofuRunner,
    base_environment,
    check_version,
    find_binary,
    parse_version,
    tail,
)
from pytest_hastate.tofu.wrapper import PROBE_EXIT, check_not_wrapped, product_named, write_probe

TofuBinary = tuple[Path, str, tuple[int, int, int]]


def gated_binary(name: str) -> TofuBinary:
    """(binary, product, version) of a binary that supports the native S3 lockfile.

    Raises ``TofuMissing`` (the step cannot run: not proven), ``WrappedBinary`` (a CI setup
    action's wrapper) or ``ShimEnvironment`` (a shim changing what OpenTofu reads), both bad
    input, or ``TofuTooOld`` (STOP), before any S3 request. In order: the
    version check's stdout (a wrapper echoes its command there), the version, and a local plan
    of one change (a wrapper answers 0 where the binary answers 2). The checks run with the
    environment of every other command, in a folder of their own.
    """
    binary = find_binary(name)
    with tempfile.TemporaryDirectory(prefix="hastate-tofu-version-") as scratch:
        folder = Path(scratch)
        runner = TofuRunner(binary, folder, base_environment(folder, os.environ), timeout=60)
        version = runner.run("version")
        judge = functools.partial(
            check_not_wrapped, name=name, binary=binary, version_stdout=version.stdout
        )
        product = product_named(version.stdout)
        judge(product=product, probe=None)
        product, number = parse_version(version.stdout)
        check_version(product, number)
        check_environment(binary, folder, runner.env)
        write_probe(folder)
        probe = runner.plan()
    judge(product=product, probe=(probe.code, probe.stdout))
    if probe.code != PROBE_EXIT:
        raise TofuError(
            f"{binary}: plan -detailed-exitcode of a local configuration with one change (no "
            f"backend, no provider) answered exit {probe.code}, not {PROBE_EXIT}"
            f"{tail(probe.stderr or probe.stdout)}",
            probe,
        )
    return binary, product, number


def check_environment(binary: Path, folder: Path, env: Mapping[str, str]) -> None:
    """Refuse a binary whose shim starts it with variables OpenTofu reads that are not the
    proof's own (``ShimEnvironment``); where /proc cannot show it, nothing to check."""
    try:
        observed = observed_environment(binary, folder, env)
    except TimeoutError as exc:
        raise TofuError(str(exc)) from None
    if observed is None:
        return
    real, environment = observed
    changed = injected(environment, env)
    if changed:
        shown = ", ".join(changed[:4]) + (" ..." if len(changed) > 4 else "")
        raise ShimEnvironment(
            f"the OpenTofu binary {binary} starts {real} with {shown} not as the proof set "
            "them (a version manager's own configuration, e.g. mise [env] or an asdf plugin's "
            "exec-env, puts them back): OpenTofu would read settings the guard never judged; "
            "remove them there, or give the real binary: --tofu-binary PATH"
        )
