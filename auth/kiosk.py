"""Kiosk links: revocable, read-only links for wall displays (``kiosk_links``, migration 0016).

A link is bound to a unit (its scope) and a list of scenes, copied in when the link is made (from
a scenes file checked by ``dashboard.scenes.load``), so it shows the same thing across restarts
and edits of that file. Its token (``secrets.token_urlsafe``, 256 bits) is shown once, at
creation; only its SHA-256 is stored. ``resolve`` is one lookup by that unique hash and answers
None as soon as the link is revoked.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from auth import audit
from auth.errors import UnknownScope, not_migrated
from auth.model import Principal
from dashboard.scenes import Scene
from kpi.model import COUNTRY

Connection = psycopg.Connection[tuple[object, ...]]

TOKEN_BYTES = 32
_TOKEN_MAX = 100  # characters: anything longer is not one of ours, refused without a query

INSERT = """
INSERT INTO kiosk_links (token_sha256, label, unit_code, scenes, created_by)
VALUES (%(digest)s, %(label)s, NULLIF(%(unit)s, 'VN'), %(scenes)s, %(by)s)
RETURNING id, label, coalesce(unit_code, 'VN'), scenes, created_by, created_at, revoked_by, revoked_at
"""
# Every request of a wall display runs this: one probe of the unique index on token_sha256.
RESOLVE = """
SELECT id, label, coalesce(unit_code, 'VN'), scenes, created_by, created_at, revoked_by, revoked_at
  FROM kiosk_links
 WHERE token_sha256 = %(digest)s AND revoked_at IS NULL
"""
BY_ID = """
SELECT id, label, coalesce(unit_code, 'VN'), scenes, created_by, created_at, revoked_by, revoked_at
  FROM kiosk_links
 WHERE id = %(id)s
"""
LIST = """
SELECT id, label, coalesce(unit_code, 'VN'), scenes, created_by, created_at, revoked_by, revoked_at
  FROM kiosk_links
 WHERE %(all)s OR revoked_at IS NULL
 ORDER BY id
"""
# The first revocation stands: revoking twice keeps who and when of the first.
REVOKE = """
UPDATE kiosk_links SET revoked_by = coalesce(revoked_by, %(by)s), revoked_at = coalesce(revoked_at, now())
 WHERE id = %(id)s
RETURNING id, label, coalesce(unit_code, 'VN'), scenes, created_by, created_at, revoked_by, revoked_at
"""


@dataclass(frozen=True)
class KioskLink:
    id: int
    label: str
    unit: str  # a unit code, or VN
    scenes: tuple[Scene, ...]
    created_by: str
    created_at: datetime
    revoked_by: str | None
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    @property
    def principal(self) -> Principal:
        """What the link may do: the wall display (role ``kiosk``) of its unit and below."""
        return Principal(f"kiosk:{self.id}", "kiosk", self.unit)


@dataclass(frozen=True)
class Created:
    """A new link and its token, which nobody can see again."""

    link: KioskLink
    token: str


def digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def create(conn: Connection, *, label: str, unit: str, scenes: Sequence[Scene], by: str) -> Created:
    """A new link showing ``scenes`` of ``unit`` (VN or a unit of ``ref_units``, else ``UnknownScope``)."""
    if not scenes:
        msg = "a kiosk link needs at least one scene"
        raise ValueError(msg)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    params = {
        "digest": digest(token),
        "label": " ".join(label.split()) or f"wall {unit}",
        "unit": unit,
        "scenes": Jsonb([{"kpi": s.kpi, "period": s.period, "seconds": s.seconds} for s in scenes]),
        "by": by,
    }
    try:
        with conn.transaction():
            row = conn.execute(INSERT, params).fetchone()
    except psycopg.errors.ForeignKeyViolation:
        msg = f"unit {unit!r}: expected {COUNTRY} (the whole country) or a unit code of the reference data"
        raise UnknownScope(msg) from None
    except psycopg.errors.UndefinedTable:
        raise not_migrated() from None
    assert row is not None
    return Created(_link(row), token)


def resolve(conn: Connection, token: str) -> KioskLink | None:
    """The link of ``token`` unless it is revoked (or never existed)."""
    if not token or len(token) > _TOKEN_MAX:
        return None
    row = conn.execute(RESOLVE, {"digest": digest(token)}).fetchone()
    return None if row is None else _link(row)


def listing(conn: Connection, *, include_revoked: bool = False) -> list[KioskLink]:
    try:
        return [_link(row) for row in conn.execute(LIST, {"all": include_revoked}).fetchall()]
    except psycopg.errors.UndefinedTable:
        raise not_migrated() from None


def revoke(conn: Connection, link_id: int, *, by: str) -> KioskLink | None:
    """Revoke link ``link_id`` now (a second revocation keeps the first); None if there is none."""
    row = conn.execute(REVOKE, {"id": link_id, "by": by}).fetchone()
    return None if row is None else _link(row)


def get(conn: Connection, link_id: int) -> KioskLink | None:
    """Link ``link_id``, revoked or not; None if there is none."""
    try:
        row = conn.execute(BY_ID, {"id": link_id}).fetchone()
    except psycopg.errors.UndefinedTable:
        raise not_migrated() from None
    return None if row is None else _link(row)


def create_recorded(
    conn: Connection,
    *,
    label: str,
    unit: str,
    scenes: Sequence[Scene],
    by: str,
    address: str | None = None,
) -> Created:
    """``create``, and its audit entry (as ``ioc kiosk create`` writes it) in the same transaction:
    a link nobody can account for never exists."""
    with conn.transaction():
        created = create(conn, label=label, unit=unit, scenes=scenes, by=by)
        link = created.link
        detail = {"label": link.label, "unit": link.unit, "scenes": len(link.scenes)}
        audit.record(
            conn, by, "kiosk_link_created", subject=f"kiosk:{link.id}", address=address, detail=detail
        )
    return created


def revoke_recorded(
    conn: Connection, link_id: int, *, by: str, address: str | None = None
) -> KioskLink | None:
    """``revoke``, and its audit entry in the same transaction; a link revoked already is left as
    it is and not recorded again (a second click on a stale page says nothing new)."""
    with conn.transaction():
        before = get(conn, link_id)
        if before is None or not before.active:
            return before
        link = revoke(conn, link_id, by=by)
        assert link is not None
        audit.record(
            conn,
            by,
            "kiosk_link_revoked",
            subject=f"kiosk:{link.id}",
            address=address,
            detail={"label": link.label},
        )
    return link


def _link(row: tuple[Any, ...]) -> KioskLink:
    id_, label, unit, scenes, created_by, created_at, revoked_by, revoked_at = row
    return KioskLink(
        int(id_),
        str(label),
        str(unit),
        tuple(Scene(str(s["kpi"]), s["period"], int(s["seconds"])) for s in scenes),
        str(created_by),
        created_at,
        revoked_by,
        revoked_at,
    )
