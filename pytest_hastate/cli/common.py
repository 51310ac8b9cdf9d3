"""What every ``hastate`` command module shares: how it registers, how it speaks."""

from __future__ import annotations

import argparse
from typing import TypeAlias

Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
"""The ``hastate`` subcommands; each command module adds its parser with ``register``."""


def say(line: str) -> None:
    """A progress or result line, at once (commands run for minutes)."""
    print(line, flush=True)
