"""``hastate lab up|down|status|kill|restart``: the local lab (a real SeaweedFS or Ceph RGW
cluster on loopback)."""

from __future__ import annotations

import argparse
import re
import time
from pathlib import Path

from pytest_hastate.cli.common import Commands, say
from pytest_hastate.errors import InputError
from pytest_hastate.exit_codes import ExitCode

DEFAULT_LAB_DIR = Path(".lab")
ENGINES = ("seaweedfs", "ceph")


def register(commands: Commands) -> None:
    lab = commands.add_parser(
        "lab", help="the local HA lab (a real SeaweedFS or Ceph RGW cluster on loopback)"
    )
    labs = lab.add_subparsers(dest="lab", required=True)
    for name, text in (
        ("up", "start a lab, seed its protected state, write the package and env file"),
        ("down", "stop every process of the lab"),
        ("status", "show the lab's components and endpoints"),
        ("kill", "SIGKILL one component (s3-1, volume-2, master-leader, osd-1, ...)"),
        ("restart", "start one component again"),
    ):
        sub = labs.add_parser(name, help=text)
        sub.add_argument(
            "--dir", type=Path, default=DEFAULT_LAB_DIR,
            help=f"lab folder (default {DEFAULT_LAB_DIR})",
        )  # fmt: skip
        if name == "up":
            sub.add_argument("--topology", choices=("ha", "singleton"), default="ha")
            sub.add_argument(
                "--profile", default=None,
                help="seed this profile's protected bucket and keys, and write a package naming "
                "it (a shipped name or a profile file; default gloriousflywheel)",
            )  # fmt: skip
            sub.add_argument(
                "--gateways", type=gateway_count, default=None, metavar="N",
                help="S3 gateways of the seaweedfs ha lab (default 2; the scale benchmark uses 6)",
            )  # fmt: skip
            sub.add_argument(
                "--engine", choices=ENGINES, default="seaweedfs",
                help="seaweedfs (pip only, the default) or ceph (Debian's Ceph 16.2 packages)",
            )  # fmt: skip
        if name in ("kill", "restart"):
            sub.add_argument("component")
        sub.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from pytest_hastate.extras import require, require_lab

    if args.lab == "up":
        require_lab(args.engine, "lab up")
        if args.gateways is not None and (args.engine, args.topology) != ("seaweedfs", "ha"):
            raise InputError(
                "--gateways", "", "only the seaweedfs ha lab takes a number of gateways"
            )
        return up(args.dir, args.topology, args.engine, args.profile, args.gateways)
    require("trustme", "lab", f"lab {args.lab}")
    from pytest_hastate.lab.artifacts import open_lab

    lab = open_lab(args.dir, progress=say)
    if args.lab == "down":
        stopped = lab.down()
        for line in stopped:
            say(f"lab: stopped {line}")
        if not stopped:
            say("lab: nothing was running")
        return ExitCode.OK
    if args.lab == "status":
        running, leader = lab.running(), lab.leader()
        for name, up_now in running.items():
            raft = "raft " if lab.engine == "seaweedfs" else ""
            marks = f" ({raft}leader)" if name == leader else ""
            say(f"{name:10} {'running' if up_now else 'stopped'}{marks}")
        say(f"endpoints: {' '.join(lab.endpoints)}")
        return ExitCode.OK if any(running.values()) else ExitCode.ENVIRONMENT
    if args.lab == "kill":
        lab.kill(args.component)
        return ExitCode.OK
    waited = lab.restart(args.component)
    say(f"lab: {args.component} ready again after {waited:.1f} s")
    return ExitCode.OK


def gateway_count(text: str) -> int:
    """2 to 16 (one gateway is no ha lab: losing it leaves nothing to serve)."""
    if not re.fullmatch(r"[0-9]{1,2}", text) or not 2 <= int(text) <= 16:
        raise argparse.ArgumentTypeError(f"a number from 2 to 16, not {text!r}")
    return int(text)


def up(
    directory: Path,
    topology: str,
    engine: str,
    profile: str | None = None,
    gateways: int | None = None,
) -> int:
    from pytest_hastate.io.profiles import profile_for
    from pytest_hastate.lab import start

    loaded = profile_for(None, profile, Path.cwd()) if profile else None
    t0 = time.monotonic()
    sized = {"gateways": gateways} if gateways is not None else {}
    lab = start(directory, topology, engine=engine, progress=say, profile=loaded, **sized)
    say(f"lab: {engine} {topology} lab up in {time.monotonic() - t0:.1f} s")
    say(f"lab: endpoints {' '.join(lab.endpoints)}")
    say(f"lab: package {lab.package_path}")
    say(f"lab: credentials: source {lab.env_path}")
    return ExitCode.OK
