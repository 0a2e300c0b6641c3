"""TimescaleDB for the stack's PostgreSQL 15, built once from Debian's source package.

Why build it: the stack runs Debian bookworm's PostgreSQL 15, and bookworm ships no
TimescaleDB for it (nor does any archive this machine may reach). Debian *trixie* has
the source package ``timescaledb``: the Apache-2 edition (the Timescale-licensed
``tsl/`` part is stripped by Debian's ``+dfsg`` repack), which builds against
bookworm's ``postgresql-server-dev-15`` in about two minutes.

How, without touching the system's apt configuration:

1. A private apt state folder (``<cache>/timescaledb/apt/``) lists only
   ``deb-src <archive> trixie main``, where ``<archive>`` is the Debian mirror the
   system already uses for bookworm; ``apt-get update`` and ``apt-get source
   --download-only`` run with ``Dir::*`` options pointing there, so apt still checks
   the release signature and the file hashes, but the system's package lists and
   sources stay as they were.
2. ``dpkg-source -x`` unpacks it (Debian's patches applied, tarball hashes checked),
   CMake configures the Apache-only build, ``make install DESTDIR=...`` installs it
   into a private tree.
3. That tree is renamed into ``<cache>/timescaledb/install-<version>-pg<major>/`` in
   one step, so an interrupted build leaves no cache that looks complete; all work
   happens in a ``.work-*`` folder that is removed afterwards (or by the next build).
4. The tree's files are copied into ``pg_config --pkglibdir`` and
   ``pg_config --sharedir``/extension, the control file last, so ``installed()``
   turns true only once every other file is in place.

Later installs (a new machine state, a PostgreSQL upgrade that wiped the files) only
copy from the cache: seconds, no network, no compiler. A TimescaleDB that is already
installed (any edition, e.g. a user's own full build) is never overwritten.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from stack import apt
from stack.errors import StackError

if TYPE_CHECKING:
    from stack.layout import StackConfig

Log = Callable[[str], None]

PG_CONFIG = "/usr/lib/postgresql/15/bin/pg_config"
SOURCE_PACKAGE = "timescaledb"
SOURCE_SUITE = "trixie"
CONTROL_FILE = "timescaledb.control"

_APT_DIR = Path("/etc/apt")
_OS_RELEASE = Path("/etc/os-release")
_LOG_TAIL_LINES = 15
# Tools the build needs besides the PostgreSQL headers (postgresql-server-dev-<major>).
_BUILD_TOOLS = ("cmake", "make", "gcc", "libc6-dev", "dpkg-dev", "xz-utils")
# The options Debian's own package uses (debian/rules), minus the test suites, which
# would need a PostgreSQL source tree and Perl modules.
_CMAKE_OPTIONS = (
    "-DCMAKE_BUILD_TYPE=Release",
    "-DAPACHE_ONLY=ON",
    "-DUSE_TELEMETRY=OFF",
    "-DSEND_TELEMETRY_DEFAULT=OFF",
    "-DREGRESS_CHECKS=OFF",
    "-DTAP_CHECKS=OFF",
    "-DWARNINGS_AS_ERRORS=OFF",
)
_DEFAULT_VERSION = re.compile(r"""^\s*default_version\s*=\s*'([^']+)'""", re.MULTILINE)


@dataclass(frozen=True)
class PgDirs:
    """Where one PostgreSQL installation looks for extension files (from its pg_config)."""

    major: str
    pkglibdir: Path
    extension_dir: Path

    @property
    def control(self) -> Path:
        """The extension's control file; its presence means "installed"."""
        return self.extension_dir / CONTROL_FILE


@dataclass(frozen=True)
class _AptSource:
    """One entry of the system's apt sources, reduced to what we read from it."""

    types: tuple[str, ...]
    uris: tuple[str, ...]
    suites: tuple[str, ...]
    signed_by: str | None


# --------------------------------------------------------------------------- public API


def installed(pg_config: str = PG_CONFIG) -> bool:
    """Return True when the timescaledb extension control file is present for that PostgreSQL."""
    pg = pg_dirs(pg_config)
    return pg is not None and pg.control.is_file()


def ensure_installed(cfg: StackConfig, *, log: Log, pg_config: str = PG_CONFIG) -> str:
    """Make TimescaleDB available to the PostgreSQL of ``pg_config``; return its version.

    A no-op when it is installed already (whatever the edition); otherwise the files come
    from the cached build, and the cache is made first (download, build) when absent.
    """
    pg = pg_dirs(pg_config)
    if pg is None:
        msg = f"TimescaleDB needs PostgreSQL, but {pg_config} does not run; install postgresql-15 first"
        raise StackError(msg)
    if pg.control.is_file():
        return control_version(pg.control)
    _require_writable(pg)
    home = cfg.cache / "timescaledb"
    home.mkdir(parents=True, exist_ok=True)
    with _locked(home / ".lock"):
        if pg.control.is_file():  # another process installed it while we waited
            return control_version(pg.control)
        tree = cached_tree(home, pg)
        if tree is None:
            tree = _build(home, pg, pg_config, log)
        else:
            log(f"installing TimescaleDB from the cached build {tree}")
        started = time.monotonic()
        _install_tree(tree, pg)
    version = control_version(pg.control)
    log(f"TimescaleDB {version} installed for PostgreSQL {pg.major} in {time.monotonic() - started:.1f}s")
    return version


def pg_dirs(pg_config: str = PG_CONFIG) -> PgDirs | None:
    """Return the major version and extension folders of a PostgreSQL, or None if pg_config fails."""
    try:
        result = subprocess.run(  # noqa: S603 - fixed argv, pg_config path from our settings
            [pg_config, "--version", "--pkglibdir", "--sharedir"],
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "LC_ALL": "C"},
        )
    except OSError:
        return None
    lines = result.stdout.splitlines()
    match = re.match(r"PostgreSQL (\d+)", lines[0]) if lines else None
    if result.returncode != 0 or len(lines) < 3 or match is None:
        return None
    return PgDirs(major=match.group(1), pkglibdir=Path(lines[1]), extension_dir=Path(lines[2]) / "extension")


def control_version(control: Path) -> str:
    """Return the ``default_version`` of an extension control file."""
    match = _DEFAULT_VERSION.search(control.read_text())
    if match is None:
        msg = f"{control} names no default_version; the TimescaleDB installation looks damaged"
        raise StackError(msg)
    return match.group(1)


def cached_tree(home: Path, pg: PgDirs) -> Path | None:
    """Return the newest complete cached build for ``pg``'s major version, if any."""
    trees = [
        tree for tree in home.glob(f"install-*-pg{pg.major}") if (tree / _relative(pg.control)).is_file()
    ]
    if not trees:
        return None
    return max(trees, key=lambda tree: _version_key(control_version(tree / _relative(pg.control))))


# --------------------------------------------------------------------------- install from the cache


def _require_writable(pg: PgDirs) -> None:
    """Fail early, before any download or build, if we may not install the files."""
    for folder in (pg.pkglibdir, pg.extension_dir):
        if not os.access(folder, os.W_OK):
            msg = (
                f"TimescaleDB is not installed for PostgreSQL {pg.major}, and installing it writes "
                f"to {folder}, which this user may not; run the stack once as root (sudo ioc stack up)"
            )
            raise StackError(msg)


def _install_tree(tree: Path, pg: PgDirs) -> None:
    """Copy the cached build's library and extension files; the control file goes last."""
    control_source = tree / _relative(pg.control)
    for folder in (pg.pkglibdir, pg.extension_dir):
        source_folder = tree / _relative(folder)
        for source in sorted(source_folder.rglob("*")):
            if source.is_file() and source != control_source:
                _copy_file(source, folder / source.relative_to(source_folder))
    _copy_file(control_source, pg.control)


def _copy_file(source: Path, target: Path) -> None:
    """Copy one file so that ``target`` is never seen half written, readable by the server."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    shutil.copyfile(source, partial)
    partial.chmod(0o755 if source.stat().st_mode & 0o111 else 0o644)
    partial.replace(target)


# --------------------------------------------------------------------------- build into the cache


def _build(home: Path, pg: PgDirs, pg_config: str, log: Log) -> Path:
    """Download, build and cache TimescaleDB for ``pg``; return the cached tree."""
    apt.ensure([f"postgresql-server-dev-{pg.major}", *_BUILD_TOOLS], why="building TimescaleDB", log=log)
    for stale in home.glob(".work-*"):  # left by an interrupted build; we hold the lock
        shutil.rmtree(stale, ignore_errors=True)
    build_log = home / "build.log"
    build_log.write_text("")
    work = Path(tempfile.mkdtemp(prefix=".work-", dir=home))
    try:
        started = time.monotonic()
        dsc = _download(home / "apt", work / "download", build_log, log)
        log(f"downloaded {dsc.name} in {time.monotonic() - started:.1f}s")
        started = time.monotonic()
        log(f"building TimescaleDB for PostgreSQL {pg.major} (about two minutes; log: {build_log})")
        destdir = _compile(dsc, work, pg_config, build_log)
        version = control_version(destdir / _relative(pg.control))
        log(f"built TimescaleDB {version} in {time.monotonic() - started:.1f}s")
        tree = home / f"install-{version}-pg{pg.major}"
        destdir.rename(tree)  # atomic: the cache is complete or absent
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return tree


def _download(apt_dir: Path, target: Path, build_log: Path, log: Log) -> Path:
    """Fetch the trixie source package into ``target`` with a private apt state; return its .dsc."""
    options = _private_apt(apt_dir)
    log(f"downloading the {SOURCE_SUITE} source package {SOURCE_PACKAGE}")
    _run([*options, "update"], step="apt-get update (trixie sources)", build_log=build_log)
    target.mkdir(parents=True)
    _run(
        [*options, "source", "--download-only", SOURCE_PACKAGE],
        step="apt-get source timescaledb",
        build_log=build_log,
        cwd=target,
    )
    dscs = sorted(target.glob(f"{SOURCE_PACKAGE}_*.dsc"))
    if len(dscs) != 1:
        msg = f"apt-get source left {len(dscs)} .dsc files in {target}, expected one"
        raise StackError(msg)
    return dscs[0]


def _compile(dsc: Path, work: Path, pg_config: str, build_log: Path) -> Path:
    """Unpack, configure, build and install into a DESTDIR under ``work``; return that DESTDIR."""
    source, build, destdir = work / "src", work / "build", work / "install"
    _run(["dpkg-source", "-x", str(dsc), str(source)], step="dpkg-source -x", build_log=build_log)
    # CMake directly rather than ./bootstrap, which asks on the terminal if build/ exists.
    _run(
        ["cmake", "-S", str(source), "-B", str(build), f"-DPG_CONFIG={pg_config}", *_CMAKE_OPTIONS],
        step="cmake (configure)",
        build_log=build_log,
    )
    _run(["make", "-C", str(build), f"-j{os.cpu_count() or 1}"], step="make", build_log=build_log)
    _run(
        ["make", "-C", str(build), "install", f"DESTDIR={destdir}"], step="make install", build_log=build_log
    )
    return destdir


def _private_apt(apt_dir: Path) -> list[str]:
    """Create the private apt state folder; return the apt-get argv prefix that uses it."""
    (apt_dir / "etc").mkdir(parents=True, exist_ok=True)
    (apt_dir / "lists" / "partial").mkdir(parents=True, exist_ok=True)
    (apt_dir / "cache" / "archives" / "partial").mkdir(parents=True, exist_ok=True)
    sources_list = apt_dir / "etc" / "sources.list"
    sources_list.write_text(_source_line() + "\n")
    return [
        "apt-get",
        "-q",
        f"-o=Dir::Etc::SourceList={sources_list}",
        "-o=Dir::Etc::SourceParts=/dev/null",
        f"-o=Dir::State::Lists={apt_dir / 'lists'}",
        f"-o=Dir::Cache={apt_dir / 'cache'}",
        # We run as root anyway; without this apt chowns lists/partial to _apt and, since
        # _apt can neither write the download folder nor reach a cache under /root, falls
        # back to root with a warning.
        "-o=APT::Sandbox::User=root",
    ]


def _source_line() -> str:
    """``deb-src <the system's Debian archive> trixie main``, with the system's keyring."""
    entry = _debian_archive()
    options = f"[signed-by={entry.signed_by}] " if entry.signed_by else ""
    return f"deb-src {options}{entry.uris[0]} {SOURCE_SUITE} main"


def _debian_archive() -> _AptSource:
    """Find the system's apt entry for the release itself (``bookworm``, not -security or -updates)."""
    codename = _codename()
    for entry in _system_sources():
        if codename in entry.suites and entry.uris and {"deb", "deb-src"} & set(entry.types):
            return entry
    msg = (
        f"no apt source for the Debian release '{codename}' in {_APT_DIR}/sources.list(.d); "
        f"cannot tell which Debian mirror to fetch the {SOURCE_PACKAGE} source package from"
    )
    raise StackError(msg)


def _codename() -> str:
    try:
        text = _OS_RELEASE.read_text()
    except OSError:
        text = ""
    match = re.search(r"^VERSION_CODENAME=\"?([a-z]+)\"?$", text, re.MULTILINE)
    return match.group(1) if match else "bookworm"


def _system_sources() -> list[_AptSource]:
    entries: list[_AptSource] = []
    for path in [_APT_DIR / "sources.list", *sorted((_APT_DIR / "sources.list.d").glob("*.list"))]:
        if path.is_file():
            entries += _one_line_entries(path.read_text())
    for path in sorted((_APT_DIR / "sources.list.d").glob("*.sources")):
        entries += _deb822_entries(path.read_text())
    return entries


def _one_line_entries(text: str) -> list[_AptSource]:
    """Entries of the classic format: ``deb [options] uri suite component...``."""
    entries = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        options = re.search(r"\[([^\]]*)\]", line)
        words = re.sub(r"\[[^\]]*\]", " ", line).split()
        if len(words) < 3:
            continue
        signed_by = re.search(r"signed-by=(\S+)", options.group(1)) if options else None
        entries.append(
            _AptSource(
                types=(words[0],),
                uris=(words[1],),
                suites=(words[2],),
                signed_by=_keyring(signed_by.group(1) if signed_by else None),
            ),
        )
    return entries


def _deb822_entries(text: str) -> list[_AptSource]:
    """Entries of the deb822 format (``Types:``, ``URIs:``, ``Suites:`` paragraphs)."""
    entries = []
    for paragraph in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        for line in paragraph.splitlines():
            if line.startswith("#") or line[:1].isspace() or ":" not in line:
                continue  # comments, and continuation lines (e.g. an inline key)
            name, value = line.split(":", 1)
            fields[name.strip().lower()] = value.strip()
        if fields.get("enabled", "yes").lower() == "no":
            continue
        entries.append(
            _AptSource(
                types=tuple(fields.get("types", "").split()),
                uris=tuple(fields.get("uris", "").split()),
                suites=tuple(fields.get("suites", "").split()),
                signed_by=_keyring(fields.get("signed-by")),
            ),
        )
    return entries


def _keyring(value: str | None) -> str | None:
    """Keep a Signed-By value only if we can pass it on: a keyring file that exists (not an inline key)."""
    if value and value.startswith("/") and Path(value).is_file():
        return value
    return None


# --------------------------------------------------------------------------- helpers


def _run(argv: Sequence[str], *, step: str, build_log: Path, cwd: Path | None = None) -> None:
    """Run one build step, its output appended to ``build_log``; raise StackError on failure."""
    env = {**os.environ, "LC_ALL": "C", "DEBIAN_FRONTEND": "noninteractive"}
    with build_log.open("a") as out:
        out.write(f"\n$ {' '.join(argv)}\n")
        out.flush()
        try:
            result = subprocess.run(  # noqa: S603 - argv built here, no shell
                list(argv),
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                check=False,
            )
        except OSError as exc:
            msg = f"building TimescaleDB failed at {step}: {exc}"
            raise StackError(msg) from exc
    if result.returncode != 0:
        tail = "\n".join(build_log.read_text(errors="replace").splitlines()[-_LOG_TAIL_LINES:])
        msg = (
            f"building TimescaleDB failed at {step} (exit {result.returncode}); full log: {build_log}\n{tail}"
        )
        raise StackError(msg)


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path``, so two stacks never build or copy at once."""
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _relative(path: Path) -> Path:
    """``path`` (absolute) as a path inside a DESTDIR tree."""
    return path.relative_to(path.anchor)


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version))
