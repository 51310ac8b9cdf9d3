"""``hastate prove [pytest options]``: the installed proof suite, from any folder.

The same as ``pytest --pyargs pytest_hastate.proofs [options]`` (or ``pytest proofs/`` in a
checkout); every option is pytest's or the plugin's (``--endpoint-package``, ``-m``, ...).
"""

from __future__ import annotations

import argparse

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
    import pytest

    from pytest_hastate.resources import PROOF_SUITE

    return int(
        pytest.main(["--pyargs", PROOF_SUITE, "-p", "no:cacheprovider", *args.pytest_options])
    )
