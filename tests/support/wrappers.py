"""Stand-ins for the wrappers CI setup actions put in front of OpenTofu / Terraform.

``opentofu/setup-opentofu`` and ``hashicorp/setup-terraform`` (unless told
``tofu_wrapper: false`` / ``terraform_wrapper: false``) install the real binary as
``tofu-bin`` / ``terraform-bin`` and a node script under the usual name that: echoes
``[command]<real binary> <args>`` on stdout (``@actions/exec``), passes the binary's output
through, prints ``::debug::`` lines and, when ``GITHUB_OUTPUT`` is not set, ``::set-output``
lines (``@actions/core``), and ends with 0 when the binary answered 0 or 2, else with 1 after an
``::error::`` line. The shims here behave the same way, in Python (no node on a CI image); a
third one only rewrites the exit codes, to show that a wrapper printing nothing of its own is
told apart too.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NamedTuple

from tests.support.helpers import TOFU_BINARY

WRAPPER = """#!{python}
# A stand-in for the {action} wrapper (see tests/support/wrappers.py).
import os, subprocess, sys
real = os.path.join(os.path.dirname(os.path.abspath(__file__)), "{real}")
args = sys.argv[1:]
speaks = {speaks}
if speaks:
    print("[command]" + " ".join([real, *args]), flush=True)
done = subprocess.run([real, *args], capture_output=True, text=True)
sys.stdout.write(done.stdout)
sys.stderr.write(done.stderr)
sys.stdout.flush()
def escaped(text):
    return text.replace("%", "%25").replace("\\r", "%0D").replace("\\n", "%0A")
if speaks:
    print("::debug::{label} exited with code %d." % done.returncode)
    print("::debug::stdout: " + escaped(done.stdout))
    print("::debug::stderr: " + escaped(done.stderr))
    print("::debug::exitcode: %d" % done.returncode)
    outputs = {{"stdout": done.stdout, "stderr": done.stderr, "exitcode": str(done.returncode)}}
    target = os.environ.get("GITHUB_OUTPUT")
    if target:
        with open(target, "a") as handle:
            for name, value in outputs.items():
                handle.write(f"{{name}}<<ghadelimiter\\n{{value}}\\nghadelimiter\\n")
    else:
        for name, value in outputs.items():
            print(f"::set-output name={{name}}::" + escaped(value))
if done.returncode in (0, 2):
    sys.exit(0)
if speaks:
    print("::error::{label} exited with code %d." % done.returncode)
sys.exit(1)
"""

# The real binary behind setup-opentofu's wrapper is OpenTofu: on this machine, Terraform
# saying so in its version line (the wrapper's fix is named after the product).
AS_OPENTOFU = """#!/bin/sh
if [ "$1" = "version" ]; then
    {terraform} "$@" | sed 's/^Terraform v/OpenTofu v/'
    exit 0
fi
exec {terraform} "$@"
"""


class Wrapper(NamedTuple):
    action: str
    name: str  # the wrapper's name on PATH
    label: str  # the product the wrapper's messages name
    speaks: bool  # prints lines of its own (the real ones do)
    setting: str  # what turns it off


WRAPPERS = {
    "setup-opentofu": Wrapper(
        "opentofu/setup-opentofu", "tofu", "OpenTofu", True, "tofu_wrapper: false"
    ),
    "setup-terraform": Wrapper(
        "hashicorp/setup-terraform", "terraform", "Terraform", True, "terraform_wrapper: false"
    ),
    "exit-codes-only": Wrapper(
        "a silent wrapper", "tofu", "OpenTofu", False, "tofu_wrapper: false"
    ),
}


def install_wrapper(folder: Path, kind: str) -> tuple[Path, Path]:
    """The wrapper of ``kind`` and the real binary behind it in ``folder``: (wrapper, real)."""
    wrapper = WRAPPERS[kind]
    terraform = TOFU_BINARY
    assert terraform is not None, "the wrapper stand-ins need OpenTofu or Terraform on PATH"
    folder.mkdir(parents=True, exist_ok=True)
    real = folder / f"{wrapper.name}-bin"
    if wrapper.label == "OpenTofu":
        real.write_text(AS_OPENTOFU.format(terraform=terraform))
    else:
        real.symlink_to(terraform)
    script = folder / wrapper.name
    text = WRAPPER.format(
        python=sys.executable, action=wrapper.action, real=real.name, speaks=wrapper.speaks,
        label=wrapper.label,
    )  # fmt: skip
    script.write_text(text)
    for path in (real, script):
        if not path.is_symlink():
            path.chmod(0o755)
    return script, real
