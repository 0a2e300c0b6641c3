"""Users, sign-in, sessions, the throttle, kiosk links and the audit trail on a real, migrated database."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

import store
from auth import audit, kiosk, sessions, signin, throttle, users
from auth.errors import BadUsername, UnknownScope, UserExists
from auth.passwords import Hasher
from dashboard import scenes
from refdata import db as refdata_db
from refdata.model import ReferenceData
from tests.test_auth_model import UNITS

Connection = psycopg.Connection[tuple[object, ...]]

FAST = Hasher(time_cost=1, memory_cost=8192, parallelism=1)
POLICY = throttle.Policy(window_s=900, free=3, address_free=10, max_wait_s=60)
PASSWORD = "correct horse battery"
HOUR = 3600


@pytest.fixture
def auth_db(migrated: Connection) -> Connection:
    """A migrated database holding a few units (two provinces, a district, three communes)."""
    refdata_db.save(migrated, ReferenceData(units=UNITS))
    return migrated


def add(conn: Connection, username: str, *, role="viewer", scope="VN", hasher: Hasher = FAST) -> users.User:
    return users.add(
        conn,
        username,
        display_name=username.title(),
        role=role,
        scope=scope,
        password_hash=hasher.hash(PASSWORD),
    )


def sign_in(conn: Connection, username: str, password: str = PASSWORD, *, address="10.0.0.1", now=None):
    return signin.sign_in(conn, username, password, address=address, policy=POLICY, hasher=FAST, now=now)


def test_users_are_added_once_with_a_known_scope(auth_db: Connection):
    alice = add(auth_db, " Alice ", role="admin", scope="001")
    assert (alice.username, alice.role, alice.scope, alice.active) == ("alice", "admin", "001", True)
    assert alice.principal.scope == "001"
    assert alice.password_changed_at is not None
    assert add(auth_db, "bob").scope == "VN"
    assert [u.username for u in users.listing(auth_db)] == ["alice", "bob"]
    with pytest.raises(UserExists):
        add(auth_db, "ALICE")
    with pytest.raises(UnknownScope, match="'99'"):
        add(auth_db, "carol", scope="99")
    with pytest.raises(BadUsername):
        add(auth_db, "carol smith")
    assert users.get(auth_db, "carol") is None


def test_sign_in_gives_a_session_that_each_request_checks(auth_db: Connection):
    alice = add(auth_db, "alice", role="operator", scope="01")
    result = sign_in(auth_db, "Alice")
    assert result.outcome == "signed_in"
    assert result.session is not None
    cookie = sessions.as_cookie(result.session)
    user = sessions.check(auth_db, sessions.from_cookie(cookie), lifetime_s=HOUR)
    assert user is not None
    assert (user.id, user.role, user.scope) == (alice.id, "operator", "01")

    later = result.session.issued_at + timedelta(seconds=HOUR + 1)
    assert sessions.check(auth_db, result.session, lifetime_s=HOUR, now=later) is None  # expired
    assert sessions.check(auth_db, None, lifetime_s=HOUR) is None

    for wrong in ("correct horse batterY", ""):
        assert sign_in(auth_db, "alice", wrong).outcome == "refused"
    assert sign_in(auth_db, "nobody").outcome == "refused"


def test_a_disabled_user_cannot_sign_in_and_their_sessions_end(auth_db: Connection):
    add(auth_db, "alice")
    session = sign_in(auth_db, "alice").session
    assert sessions.check(auth_db, session, lifetime_s=HOUR) is not None
    disabled = users.disable(auth_db, "alice")
    assert disabled is not None
    assert not disabled.active
    assert sessions.check(auth_db, session, lifetime_s=HOUR) is None
    refused = sign_in(auth_db, "alice")  # the right password
    assert (refused.outcome, refused.session) == ("refused", None)
    failed = audit.recent(auth_db, action="sign_in_failed", limit=1)[0]
    assert failed.detail["reason"] == "disabled"

    users.enable(auth_db, "alice")
    assert sessions.check(auth_db, session, lifetime_s=HOUR) is None  # old sessions stay ended
    assert sign_in(auth_db, "alice").outcome == "signed_in"


def test_a_new_password_or_signing_out_ends_the_sessions(auth_db: Connection):
    add(auth_db, "alice")
    first = sign_in(auth_db, "alice")
    assert first.session is not None
    users.set_password_hash(auth_db, "alice", FAST.hash("another long passphrase"))
    assert sessions.check(auth_db, first.session, lifetime_s=HOUR) is None
    assert sign_in(auth_db, "alice").outcome == "refused"
    second = sign_in(auth_db, "alice", "another long passphrase")
    assert second.user is not None
    assert sessions.check(auth_db, second.session, lifetime_s=HOUR) is not None
    signin.sign_out(auth_db, second.user, address="10.0.0.1")
    assert sessions.check(auth_db, second.session, lifetime_s=HOUR) is None
    assert audit.recent(auth_db, action="sign_out")[0].actor == "alice"


def test_a_hash_with_old_parameters_is_upgraded_at_sign_in(auth_db: Connection):
    alice = add(auth_db, "alice", hasher=Hasher(time_cost=1, memory_cost=4096, parallelism=1))
    assert sign_in(auth_db, "alice").outcome == "signed_in"  # FAST: memory_cost 8192
    found = users.credentials(auth_db, "alice")
    assert found is not None
    assert found.password_hash is not None
    assert "m=8192" in found.password_hash
    assert found.user.session_epoch == alice.session_epoch  # a rehash is no password change
    assert sign_in(auth_db, "alice").outcome == "signed_in"


def test_the_throttle_slows_after_repeated_failures_and_recovers(auth_db: Connection):
    add(auth_db, "alice")
    t0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
    for i in range(POLICY.free):
        assert (
            sign_in(auth_db, "alice", "wrong password!", now=t0 + timedelta(seconds=i)).outcome == "refused"
        )
    last = t0 + timedelta(seconds=POLICY.free - 1)
    held = sign_in(auth_db, "alice", now=last)  # even the right password waits
    assert (held.outcome, held.retry_after_s) == ("throttled", 1)
    assert sign_in(auth_db, "alice", "wrong password!", now=last + timedelta(seconds=1)).outcome == "refused"
    held = sign_in(auth_db, "alice", now=last + timedelta(seconds=2))
    assert (held.outcome, held.retry_after_s) == ("throttled", 1)  # 2 s after the 4th failure
    assert sign_in(auth_db, "alice", now=last + timedelta(seconds=3)).outcome == "signed_in"
    # The success cleared the username's count: one more failure costs nothing.
    assert sign_in(auth_db, "alice", "wrong password!", now=last + timedelta(seconds=4)).outcome == "refused"
    assert sign_in(auth_db, "alice", now=last + timedelta(seconds=4)).outcome == "signed_in"

    # Failures older than the window are forgotten.
    t1 = last + timedelta(seconds=10)
    for _ in range(POLICY.free):
        assert sign_in(auth_db, "alice", "wrong password!", now=t1).outcome == "refused"
    assert sign_in(auth_db, "alice", now=t1).outcome == "throttled"
    assert sign_in(auth_db, "alice", now=t1 + timedelta(seconds=POLICY.window_s)).outcome == "signed_in"
    outcomes = auth_db.execute("SELECT DISTINCT outcome FROM sign_in_attempts").fetchall()
    assert {o for (o,) in outcomes} == {"success", "failure", "throttled"}


def test_the_throttle_counts_an_address_across_usernames(auth_db: Connection):
    add(auth_db, "alice")
    t0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
    for i in range(POLICY.address_free):
        sign_in(auth_db, f"guess{i}", "wrong password!", address="10.6.6.6", now=t0)
    assert sign_in(auth_db, "alice", address="10.6.6.6", now=t0).outcome == "throttled"
    assert sign_in(auth_db, "alice", address="10.0.0.2", now=t0).outcome == "signed_in"
    assert throttle.prune(auth_db, t0) == 0
    assert throttle.prune(auth_db, t0 + timedelta(seconds=1)) == POLICY.address_free + 2


def test_parallel_guesses_cannot_slip_past_the_throttle(auth_db: Connection):
    url = auth_db.info.dsn
    verdicts: list[throttle.Verdict] = []
    barrier = threading.Barrier(8)

    def guess() -> None:
        with store.connect(url, autocommit=True) as conn:
            barrier.wait()
            verdicts.append(throttle.begin(conn, "alice", "10.0.0.9", POLICY))

    threads = [threading.Thread(target=guess) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(v.allowed for v in verdicts) == POLICY.free  # the others saw them pending


def test_a_revoked_kiosk_link_stops_resolving_at_once(auth_db: Connection):
    shown = scenes.load(None)
    created = kiosk.create(auth_db, label="Ops room, left", unit="01", scenes=shown, by="alice")
    link = kiosk.resolve(auth_db, created.token)
    assert link is not None
    assert (link.id, link.unit, link.scenes, link.active) == (created.link.id, "01", shown, True)
    assert link.principal.role == "kiosk"
    assert link.principal.name == f"kiosk:{link.id}"
    stored = auth_db.execute("SELECT token_sha256::text, scenes::text, label FROM kiosk_links").fetchall()
    assert created.token not in repr(stored)  # only the hash is kept
    assert kiosk.resolve(auth_db, created.token[:-1] + "x") is None
    assert kiosk.resolve(auth_db, "") is None

    other = kiosk.create(auth_db, label="Lobby", unit="VN", scenes=shown[:1], by="alice")
    revoked = kiosk.revoke(auth_db, created.link.id, by="bob")
    assert revoked is not None
    assert (revoked.revoked_by, revoked.active) == ("bob", False)
    assert kiosk.resolve(auth_db, created.token) is None
    assert kiosk.resolve(auth_db, other.token) is not None
    again = kiosk.revoke(auth_db, created.link.id, by="carol")
    assert again is not None
    assert (again.revoked_by, again.revoked_at) == ("bob", revoked.revoked_at)  # the first stands
    assert [k.id for k in kiosk.listing(auth_db)] == [other.link.id]
    assert len(kiosk.listing(auth_db, include_revoked=True)) == 2
    assert kiosk.revoke(auth_db, 999_999, by="bob") is None
    with pytest.raises(UnknownScope):
        kiosk.create(auth_db, label="x", unit="99", scenes=shown, by="alice")


def test_the_resolve_query_uses_the_token_index(auth_db: Connection):
    plan = auth_db.execute(
        "EXPLAIN (FORMAT TEXT) " + kiosk.RESOLVE.replace("%(digest)s", "'\\x00'::bytea")
    ).fetchall()
    assert "kiosk_links_token_sha256_key" in " ".join(line for (line,) in plan)


def test_audit_entries_are_kept_and_filtered(auth_db: Connection):
    add(auth_db, "alice")
    sign_in(auth_db, "alice")
    sign_in(auth_db, "alice", "wrong password!", address="10.0.0.7")
    audit.record(auth_db, "alice", "export", subject="kpi:on_time_rate", detail={"rows": 12})
    newest = audit.recent(auth_db)
    assert [e.action for e in newest] == ["export", "sign_in_failed", "sign_in"]
    assert newest[0].detail == {"rows": 12}
    failed = newest[1]
    assert (failed.actor, failed.subject, failed.address) == ("anonymous", "user:alice", "10.0.0.7")
    assert failed.detail["reason"] == "wrong_password"
    assert PASSWORD not in repr(newest)
    assert [e.action for e in audit.recent(auth_db, actor="alice")] == ["export", "sign_in"]
    assert len(audit.recent(auth_db, limit=1)) == 1
    future = datetime.now(UTC) + timedelta(minutes=5)
    assert audit.recent(auth_db, since=future) == []
    with pytest.raises(ValueError, match="unknown audit action"):
        audit.record(auth_db, "alice", "launch_missiles")  # type: ignore[arg-type]


def test_failures_are_logged_without_the_password(auth_db: Connection, caplog: pytest.LogCaptureFixture):
    add(auth_db, "alice")
    with caplog.at_level("WARNING", logger="ioc.auth"):
        assert sign_in(auth_db, "alice", "my secret guess", address="10.0.0.3\nforged").outcome == "refused"
        assert sign_in(auth_db, "alice", PASSWORD + "x" * 2000).outcome == "refused"  # too long: not hashed
    assert len(caplog.records) == 2
    assert "'alice'" in caplog.text
    assert "10.0.0.3\\nforged" in caplog.text  # repr: no forged log line
    assert "my secret guess" not in caplog.text
