"""``hastate prove [pytest options]``: the installed proof suite, from any folder.

The same as ``pytest --pyargs pytest_hastate.proofs [options]`` (or ``pytest proofs/`` in a
checkout); every option is pytest's or the plugin's (``--endpoint-package``, ``-m``, ...).
"""

from __future__ import annotations

import argparse
import os

from pytest_hastate.cli.common import Commands


def register(commands: Commands) -> None:
    prove = commands.add_parser(
        "prove",
        add_help=False,  # -h goes to pytest, which lists the plugin's options too
        help="run the installed proof suite; every option goes to pytest "
        "(e.g. --endpoint-package P --run-disposable-tofu --use-lockfile)",
    )
    prove.set_defaults(handler=run, takes_pytest_options=True)


def run(args: argparse.Namespace) -> int:
    """pytest in a process of its own (this one imported the package before pytest could
    rewrite its assertions); the exec'd process's exit code is the proof's."""
    from pytest_hastate.resources import proof_argv

    argv = proof_argv(*args.pytest_options)
    os.execv(argv[0], argv)  # noqa: S606 (our own interpreter, our own arguments)
    return 1  # not reached: execv replaces this process
