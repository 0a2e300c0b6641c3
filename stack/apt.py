"""Install Debian packages the stack needs, when they are missing and we may."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Sequence

from stack.errors import StackError

Log = Callable[[str], None]

_updated = False


def missing(packages: Sequence[str]) -> list[str]:
    """The packages of ``packages`` that dpkg does not report as installed."""
    absent = []
    for name in packages:
        result = subprocess.run(  # noqa: S603
            ["dpkg-query", "-W", "-f=${Status}", name],  # noqa: S607
            capture_output=True,
            text=True,
            check=False,
        )
        if "install ok installed" not in result.stdout:
            absent.append(name)
    return absent


def ensure(packages: Sequence[str], *, why: str, log: Log) -> None:
    """Install ``packages`` with apt-get unless all are installed.

    Only root may install; anyone else gets one line that names the command to run.
    """
    absent = missing(packages)
    if not absent:
        return
    command = "apt-get install -y " + " ".join(absent)
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        msg = f"{why} needs the Debian packages {', '.join(absent)}; run as root: {command}"
        raise StackError(msg)
    global _updated  # noqa: PLW0603 - one `apt-get update` per process is enough
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if not _updated:
        log("apt-get update")
        _run(["apt-get", "update", "-q"], env=env, what="apt-get update")
        _updated = True
    log(f"installing {', '.join(absent)} for {why}")
    _run(["apt-get", "install", "-y", "-q", "--no-install-recommends", *absent], env=env, what=command)


def _run(argv: list[str], *, env: dict[str, str], what: str) -> None:
    result = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-10:])
        msg = f"{what} failed (exit {result.returncode}):\n{tail}"
        raise StackError(msg)
