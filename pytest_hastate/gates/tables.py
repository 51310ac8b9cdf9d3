"""The gates' rule tables, generated from the rule books (never written by hand): printed by
``hastate rules`` and in the documentation's reference (``hastate reference``)."""

from __future__ import annotations

from pytest_hastate.gates.contract import CONTRACT
from pytest_hastate.gates.package import PACKAGE


def rule_tables() -> str:
    return "\n\n".join(
        [
            "Candidate contract (`hastate gate contract FILE`):",
            CONTRACT.markdown(),
            "Endpoint package (`hastate gate package FILE`):",
            PACKAGE.markdown(),
        ]
    )
