"""``ioc users``, ``ioc kiosk`` and ``ioc audit`` end to end, against a real migrated database."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

import store
from auth import audit, kiosk, signin, throttle, users
from ioc.cli import app
from refdata import db as refdata_db
from refdata.model import ReferenceData
from tests.test_auth_model import UNITS

Connection = psycopg.Connection[tuple[object, ...]]
PASSWORD = "correct horse battery"


@pytest.fixture
def db(timescale_url: str) -> Iterator[tuple[str, Connection]]:
    """A migrated database with a few units: its URL, and a connection to look at it."""
    with store.connect(timescale_url, autocommit=True) as conn:
        store.migrate(conn)
        refdata_db.save(conn, ReferenceData(units=UNITS))
        yield timescale_url, conn


def run(url: str, *args: str, input: str | None = None):
    return CliRunner().invoke(app, list(args), input=input, env={"IOC_DATABASE_URL": url})


def test_users_add_list_disable_set_password(db, tmp_path: Path):
    url, conn = db
    added = run(url, "users", "add", "Alice", "--role", "operator", "--scope", "01", "--name", "Alice Nguyễn",
                "--password-file", "-", "--by", "root", input=PASSWORD + "\n")  # fmt: skip
    assert added.exit_code == 0, added.output
    assert PASSWORD not in added.output
    prompted = run(url, "users", "add", "bob", "--role", "viewer", "--scope", "00001",
                   input=f"{PASSWORD}\n{PASSWORD}\n")  # fmt: skip
    assert prompted.exit_code == 0, prompted.output
    assert PASSWORD not in prompted.output

    listed = run(url, "users", "list")
    assert listed.exit_code == 0
    lines = listed.stdout.splitlines()
    assert lines[0].split()[:4] == ["alice", "operator", "01", "active"]
    assert lines[0].endswith("Alice Nguyễn")
    assert lines[1].split()[:4] == ["bob", "viewer", "00001", "active"]

    policy = throttle.Policy()
    result = signin.sign_in(conn, "alice", PASSWORD, address="10.0.0.1", policy=policy)
    assert result.outcome == "signed_in"

    assert run(url, "users", "disable", "alice").exit_code == 0
    assert "disabled" in run(url, "users", "list").stdout.splitlines()[0]
    assert signin.sign_in(conn, "alice", PASSWORD, address="10.0.0.1", policy=policy).outcome == "refused"
    assert run(url, "users", "enable", "alice").exit_code == 0

    new = tmp_path / "pw"
    new.write_text("a brand new passphrase\n", encoding="utf-8")
    changed = run(url, "users", "set-password", "alice", "--password-file", str(new))
    assert changed.exit_code == 0, changed.output
    assert signin.sign_in(conn, "alice", PASSWORD, address="10.0.0.1", policy=policy).outcome == "refused"
    again = signin.sign_in(conn, "alice", "a brand new passphrase", address="10.0.0.1", policy=policy)
    assert again.outcome == "signed_in"

    trail = [(e.actor, e.action, e.subject) for e in audit.recent(conn) if not e.action.startswith("sign_in")]
    actor = audit.cli_actor()
    assert trail == [
        (actor, "password_set", "user:alice"),
        (actor, "user_enabled", "user:alice"),
        (actor, "user_disabled", "user:alice"),
        (actor, "user_added", "user:bob"),
        ("root", "user_added", "user:alice"),
    ]
    assert audit.recent(conn, subject="user:bob")[0].detail == {"role": "viewer", "scope": "00001"}


def test_a_weak_password_or_an_unknown_scope_adds_nobody(db):
    url, conn = db
    weak = run(url, "users", "add", "alice", "--role", "admin", "--scope", "VN", "--password-file", "-",
               input="short\n")  # fmt: skip
    assert weak.exit_code != 0
    assert "at least 12" in str(weak.exception)
    far = run(url, "users", "add", "alice", "--role", "admin", "--scope", "99", "--password-file", "-",
              input=PASSWORD + "\n")  # fmt: skip
    assert far.exit_code != 0
    assert "scope '99'" in str(far.exception)
    bad_role = run(url, "users", "add", "alice", "--role", "god", "--scope", "VN", input=PASSWORD + "\n")
    assert bad_role.exit_code == 2
    assert users.listing(conn) == []
    assert audit.recent(conn) == []


def test_no_password_is_taken_from_the_command_line():
    help_text = CliRunner().invoke(app, ["users", "add", "--help"], env={"COLUMNS": "200"}).output
    assert "--password-file" in help_text
    assert "--password " not in help_text
    assert "--password-file" in CliRunner().invoke(app, ["users", "set-password", "--help"]).output


def test_kiosk_create_list_revoke(db):
    url, conn = db
    created = run(url, "kiosk", "create", "--label", "Ops room, left", "--unit", "01", "--by", "alice")
    assert created.exit_code == 0, created.output
    token = created.stdout.strip()
    assert len(token) >= 43
    link = kiosk.resolve(conn, token)
    assert link is not None
    assert (link.unit, link.label, link.created_by) == ("01", "Ops room, left", "alice")
    assert len(link.scenes) == 5  # the shipped example's scenes, copied in

    listed = run(url, "kiosk", "list")
    assert f"{link.id:>4} 01     5 scenes" in listed.stdout
    assert token not in listed.output

    revoked = run(url, "kiosk", "revoke", str(link.id), "--by", "bob")
    assert revoked.exit_code == 0, revoked.output
    assert kiosk.resolve(conn, token) is None
    assert run(url, "kiosk", "list").stdout == ""
    assert "revoked" in run(url, "kiosk", "list", "--all").stdout
    missing = run(url, "kiosk", "revoke", "4242")
    assert "no kiosk link has id 4242" in str(missing.exception)

    trail = [(e.actor, e.action, e.subject) for e in audit.recent(conn)]
    assert trail == [("bob", "kiosk_link_revoked", f"kiosk:{link.id}"),
                     ("alice", "kiosk_link_created", f"kiosk:{link.id}")]  # fmt: skip
    assert token not in repr(audit.recent(conn))

    shown = run(url, "audit", "--action", "kiosk_link_created")
    assert shown.exit_code == 0
    assert len(shown.stdout.splitlines()) == 1
    assert f"alice  kiosk_link_created  kiosk:{link.id}" in shown.stdout
    assert "label=Ops room, left" in shown.stdout
    assert len(run(url, "audit").stdout.splitlines()) == 2
    assert run(url, "audit", "--action", "nonsense").exit_code == 2


def test_the_installed_command_reads_the_password_from_stdin_and_errors_in_one_line(db):
    url, conn = db
    env = {**os.environ, "IOC_DATABASE_URL": url}

    def ioc(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "ioc", *args], input=stdin, env=env,
                              capture_output=True, text=True, timeout=120, check=False)  # fmt: skip

    added = ioc("users", "add", "carol", "--role", "admin", "--scope", "VN", "--password-file", "-",
                stdin=PASSWORD + "\n")  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert "user carol added: admin of VN" in added.stderr
    assert users.get(conn, "carol") is not None
    missing = ioc("users", "disable", "nobody")
    assert missing.returncode == 1
    assert missing.stderr.strip() == "ioc: error: no user is called 'nobody' (`ioc users list`)"


def test_a_first_admin_is_added_once_and_an_oidc_user_has_no_password(db):
    url, conn = db
    first = run(url, "users", "add", "admin", "--role", "admin", "--scope", "VN", "--if-missing",
                "--password-file", "-", input=PASSWORD + "\n")  # fmt: skip
    assert first.exit_code == 0, first.output
    again = run(url, "users", "add", "admin", "--role", "viewer", "--scope", "01", "--if-missing",
                "--password-file", "-", input="another password entirely\n")  # fmt: skip
    assert again.exit_code == 0, again.output
    assert "exists already" in again.output
    kept = users.get(conn, "admin")
    assert kept is not None
    assert (kept.role, kept.scope) == ("admin", "VN")
    assert (
        signin.sign_in(conn, "admin", PASSWORD, address="10.0.0.2", policy=throttle.Policy()).outcome
        == "signed_in"
    )

    oidc_only = run(url, "users", "add", "lan", "--role", "viewer", "--scope", "01", "--no-password")
    assert oidc_only.exit_code == 0, oidc_only.output
    found = users.credentials(conn, "lan")
    assert found is not None
    assert found.password_hash is None
    refused = signin.sign_in(conn, "lan", "", address="10.0.0.3", policy=throttle.Policy())
    assert refused.outcome == "refused"
