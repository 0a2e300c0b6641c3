"""Roles, permissions, scopes, password hashing, session cookies, the throttle's arithmetic: no database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from auth.model import ACTIONS, UnknownAction, in_scope, may, parents_of, visible_units
from auth.passwords import Hasher, WeakPassword, check_strength
from auth.sessions import Session, as_cookie, from_cookie
from auth.throttle import Policy, wait_s
from ioc.errors import ConfigError
from ioc.settings import Settings
from refdata.model import Unit

D = date(2025, 7, 1)
UNITS = (
    Unit("01", "Hà Nội", "province", None, D),
    Unit("001", "Ba Đình", "district", "01", D),
    Unit("00001", "Phúc Xá", "commune", "001", D),
    Unit("00004", "Trúc Bạch", "commune", "001", D),
    Unit("02", "Hà Giang", "province", None, D),
    Unit("00100", "Xã Một", "commune", "02", D),  # no district: the 2025 reform's two levels
)
PARENTS = parents_of(UNITS)
FAST = Hasher(time_cost=1, memory_cost=8192, parallelism=1)


def test_the_permissions_table():
    expected = {
        "kiosk": {"view_wall"},
        "viewer": {"view_wall", "view"},
        "operator": {"view_wall", "view", "acknowledge_alert", "export"},
        "admin": set(ACTIONS),
    }
    for role, allowed in expected.items():
        assert {a for a in ACTIONS if may(role, a)} == allowed, role  # type: ignore[arg-type]
    assert not may("viewer", "acknowledge_alert")
    assert not may("viewer", "edit_targets")
    assert not may("operator", "edit_targets")
    assert not may("operator", "manage_users")


def test_an_action_outside_the_closed_set_is_a_bug_not_a_refusal():
    with pytest.raises(UnknownAction, match="delete_everything"):
        may("admin", "delete_everything")  # type: ignore[arg-type]


def test_a_commune_user_sees_their_commune_only():
    assert in_scope("00001", "00001", PARENTS)
    assert not in_scope("00001", "00004", PARENTS)  # the neighbouring commune
    assert not in_scope("00001", "001", PARENTS)  # nor the district above
    assert not in_scope("00001", "VN", PARENTS)


def test_a_province_user_sees_its_districts_and_communes():
    for code in ("01", "001", "00001", "00004"):
        assert in_scope("01", code, PARENTS), code
    assert not in_scope("01", "00100", PARENTS)  # another province's commune
    assert not in_scope("01", "02", PARENTS)
    assert not in_scope("01", "VN", PARENTS)
    assert in_scope("02", "00100", PARENTS)  # a commune right under its province


def test_the_country_sees_everything_and_unknown_codes_are_outside_every_unit():
    assert all(in_scope("VN", code, PARENTS) for code in [*PARENTS, "VN"])
    assert not in_scope("01", "99999", PARENTS)
    assert not in_scope("99", "99", PARENTS)  # a scope the reference data lacks holds nothing


def test_a_cycle_in_bad_data_ends():
    assert not in_scope("01", "a", {"a": "b", "b": "a", "01": None})


def test_visible_units():
    assert visible_units("VN", PARENTS) is None
    assert visible_units("001", PARENTS) == {"001", "00001", "00004"}
    assert visible_units("00004", PARENTS) == {"00004"}


def test_passwords_hash_and_verify():
    stored = FAST.hash("correct horse battery")
    assert stored.startswith("$argon2id$")
    assert "correct horse" not in stored
    assert FAST.verify(stored, "correct horse battery")
    assert not FAST.verify(stored, "correct horse batterY")
    assert not FAST.verify(None, "correct horse battery")  # no user: False, after the same work
    assert not FAST.verify("not a hash", "correct horse battery")
    assert stored != FAST.hash("correct horse battery")  # salted


def test_a_hash_needs_rehashing_when_the_parameters_change():
    stored = FAST.hash("correct horse battery")
    assert not FAST.needs_rehash(stored)
    stronger = Hasher(time_cost=2, memory_cost=8192, parallelism=1)
    assert stronger.needs_rehash(stored)
    assert stronger.verify(stored, "correct horse battery")  # old hashes stay usable
    assert stronger.needs_rehash("garbage")


def test_password_strength():
    check_strength("twelve chars", "alice")
    with pytest.raises(WeakPassword, match="at least 12"):
        check_strength("short", "alice")
    with pytest.raises(WeakPassword, match="username"):
        check_strength("Alice.Nguyen", "alice.nguyen")
    with pytest.raises(WeakPassword, match="at most"):
        check_strength("x" * 2000, "alice")


def test_session_cookies_round_trip_and_reject_anything_else():
    session = Session(7, 3, datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    cookie = as_cookie(session)
    assert from_cookie(cookie) == session
    assert from_cookie(None) is None
    assert from_cookie({"uid": 7, "epoch": 3}) is None
    assert from_cookie({**cookie, "epoch": "3"}) is None
    assert from_cookie({**cookie, "uid": True}) is None
    assert from_cookie({**cookie, "iat": 10**20}) is None


def test_the_throttle_waits_double_after_the_free_failures():
    policy = Policy(window_s=900, free=5, max_wait_s=300)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert wait_s(4, now, 5, now, policy) == 0
    assert wait_s(5, now, 5, now, policy) == 1
    assert wait_s(6, now, 5, now, policy) == 2
    assert wait_s(8, now, 5, now, policy) == 8
    assert wait_s(8, now - timedelta(seconds=3), 5, now, policy) == 5
    assert wait_s(8, now - timedelta(seconds=30), 5, now, policy) == 0
    assert wait_s(10_000, now, 5, now, policy) == 300


def test_auth_settings():
    s = Settings.from_env({})
    assert s.auth.session_s == 43200
    assert Policy.from_settings(s.auth) == Policy()
    s = Settings.from_env({"IOC_AUTH_THROTTLE_FREE": "3", "IOC_AUTH_SESSION_S": "60"})
    assert s.auth.throttle_free == 3
    assert s.auth.session_s == 60
    with pytest.raises(ConfigError, match="IOC_AUTH_THROTTLE_FREE='0': expected 1 or more"):
        Settings.from_env({"IOC_AUTH_THROTTLE_FREE": "0"})
    with pytest.raises(ConfigError, match="IOC_AUTH_SESSION_S"):
        Settings.from_env({"IOC_AUTH_SESSION_S": "soon"})
