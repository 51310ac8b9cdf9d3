"""The plugin's options give way to a project's own. Every option has a namespaced flag
(``--hastate-<name>``) and the short one the runbooks use (``--endpoint-package``, ``--phase``,
``--dry-run`` ...). Both are added once the project's conftests have added theirs: a short name
a conftest or another plugin already uses stays theirs (our option keeps its namespaced flag),
so a project with its own ``--dry-run`` runs as it did without the plugin."""

from __future__ import annotations

import argparse
from typing import Any

import pytest

from pytest_hastate.options import OPTIONS, OptionSpec


def namespaced(spec: OptionSpec) -> str:
    return spec.flag if spec.name.startswith("hastate") else f"--hastate-{spec.name}"


def attributes(spec: OptionSpec) -> dict[str, Any]:
    help_text = f"{spec.help} [env {spec.env}, ini hastate_{spec.dest[8:]}]"
    if spec.kind == "flag":
        return {"action": "store_true", "default": False, "dest": spec.dest, "help": help_text}
    metavar = "PATH" if spec.kind == "path" else spec.name.split("-")[-1].upper()
    return {"action": "store", "default": None, "dest": spec.dest, "metavar": metavar,
            "help": help_text}  # fmt: skip


def add_options(group: pytest.OptionGroup) -> list[str]:
    """Add every option; returns the short flags left to their owners."""
    given_way = []
    for spec in OPTIONS:
        flags = list(dict.fromkeys([spec.flag, namespaced(spec)]))
        try:
            group.addoption(*flags, **attributes(spec))
        except (argparse.ArgumentError, ValueError):
            group.addoption(namespaced(spec), **attributes(spec))
            given_way.append(spec.flag)
    return given_way
