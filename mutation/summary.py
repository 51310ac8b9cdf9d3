"""The mutation score of the safety core and the verdict, from mutmut's results.

Run by `just mutate` after `mutmut run`. Every mutant of the guard (``scope``, ``s3.hooks``) and
of the verdict (``verdict.decide``, ``verdict.collector``) counts: one that no test runs ("no
tests") counts as surviving. A survivor is acceptable only when ``mutation/equivalent.txt``
names it with the reason it cannot change behaviour. Exit 0 when each area kills at least 90 %
and every survivor is named there; 1 otherwise (the unnamed survivors are listed).
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
TARGET = 0.90
AREAS = {
    "guard": ("pytest_hastate.scope.", "pytest_hastate.s3.hooks."),
    "verdict": ("pytest_hastate.verdict.",),
}
CAUGHT = {"killed", "timeout", "segfault"}
"""A timeout counts as caught (a mutant that makes the tests hang is noticed); the counts
printed say how many there were."""


def results() -> dict[str, str]:
    """Every mutant's status, as ``mutmut results --all true`` prints them."""
    done = subprocess.run(
        [sys.executable, "-m", "mutmut", "results", "--all", "true"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    statuses = {}
    for line in done.stdout.splitlines():
        name, sep, status = line.strip().rpartition(": ")
        if sep:
            statuses[name] = status
    return statuses


def equivalent() -> dict[str, str]:
    """The survivors named as equivalent: ``<mutant>  <why>`` per line, ``#`` comments."""
    named = {}
    for line in (HERE / "equivalent.txt").read_text("utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            mutant, _, why = line.strip().partition(" ")
            named[mutant] = why.strip()
    return named


def main() -> int:
    statuses, named = results(), equivalent()
    failed = False
    for area, prefixes in AREAS.items():
        mine = {n: s for n, s in statuses.items() if n.startswith(prefixes)}
        counts = Counter(mine.values())
        caught = sum(counts[s] for s in CAUGHT)
        survivors = sorted(n for n, s in mine.items() if s not in CAUGHT)
        # only a mutant the tests ran and that survived can be named equivalent: one no test
        # covers, or that was not checked, is a gap however it is named
        unnamed = [n for n in survivors if n not in named or mine[n] != "survived"]
        score = caught / len(mine) if mine else 0.0
        print(
            f"{area}: {caught}/{len(mine)} mutants killed ({score:.1%}); "
            f"{len(survivors) - len(unnamed)} survivor(s) named equivalent, "
            f"{len(unnamed)} not; {dict(counts)}"
        )
        for name in unnamed:
            print(f"  survived: {name} ({mine[name]})")
        failed |= score < TARGET or bool(unnamed) or not mine
    stale = sorted(set(named) - set(statuses))
    for name in stale:
        print(f"  equivalent.txt names {name}, which mutmut no longer makes")
    return 1 if failed or stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
