"""``ioc users``, ``ioc kiosk`` and ``ioc audit``: accounts, wall-display links, the audit trail.

Every change is written to the audit trail in the same transaction, as ``cli:<login>`` unless
``--by`` names someone. A password is read from a hidden prompt, or from a file (``-``: standard
input) with ``--password-file``, never from the command line, and never printed. A kiosk link's
token is printed once, alone on stdout; messages go to stderr.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

import store
from auth import audit, kiosk, users
from auth.errors import UnknownLink, UnknownUser
from auth.model import UserRole
from auth.passwords import Hasher, WeakPassword, check_strength
from dashboard import scenes as wall_scenes
from ioc.errors import IocError
from ioc.settings import Settings

users_app = typer.Typer(help="People who sign in: roles, scopes, passwords.", no_args_is_help=True)
kiosk_app = typer.Typer(help="Read-only links for wall displays.", no_args_is_help=True)

By = Annotated[str | None, typer.Option("--by", help="Who makes the change (default: cli:<login>).")]
PasswordFile = Annotated[
    Path | None,
    typer.Option(
        "--password-file",
        help="Read the password from the first line of this file ('-': standard input)"
        " instead of prompting for it.",
        dir_okay=False,
    ),
]


def _say(line: str) -> None:
    typer.echo(f"ioc: {line}", err=True)


def _read_password(source: Path | None, username: str) -> str:
    if source is None:
        password = str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))
    elif str(source) == "-":
        password = sys.stdin.readline()
    else:
        try:
            password = source.read_text(encoding="utf-8").partition("\n")[0]
        except (OSError, UnicodeDecodeError) as exc:
            msg = f"--password-file {source}: cannot read it: {type(exc).__name__}"
            raise IocError(msg) from None
    password = password.rstrip("\r\n")
    try:
        check_strength(password, username)
    except WeakPassword as exc:
        raise IocError(str(exc)) from None
    return password


@users_app.command("add")
def add(
    username: Annotated[str, typer.Argument(help="1-64 of a-z 0-9 . _ @ - (stored lower-case).")],
    role: Annotated[UserRole, typer.Option(help="viewer (read), operator (+ acknowledge, export), admin.")],
    scope: Annotated[str, typer.Option(help="VN (the whole country) or the unit code the user sees.")],
    name: Annotated[str, typer.Option(help="Display name (default: the username).")] = "",
    password_file: PasswordFile = None,
    by: By = None,
    if_missing: Annotated[
        bool, typer.Option("--if-missing", help="Do nothing if the user exists (a deployment's first admin).")
    ] = False,
    no_password: Annotated[
        bool,
        typer.Option("--no-password", help="No local password: the user signs in through OpenID Connect."),
    ] = False,
) -> None:
    """Add a user who signs in with a password (or, with --no-password, through OpenID Connect)."""
    settings = Settings.from_env()
    login = users.checked_username(username)
    if if_missing:
        with store.connect(settings.database_url, autocommit=True) as conn:
            if users.get(conn, login) is not None:
                _say(f"user {login} exists already: left as it is")
                return
    password_hash = None if no_password else Hasher().hash(_read_password(password_file, login))
    with store.connect(settings.database_url, autocommit=True) as conn:
        user = users.add_recorded(
            conn,
            login,
            display_name=name,
            role=role,
            scope=scope,
            password_hash=password_hash,
            by=by or audit.cli_actor(),
        )
    _say(f"user {user.username} added: {user.role} of {user.scope}")


@users_app.command("list")
def list_() -> None:
    """Every user: username, role, scope, whether disabled, display name."""
    settings = Settings.from_env()
    with store.connect(settings.database_url, autocommit=True) as conn:
        rows = users.listing(conn)
    for u in rows:
        state = "active" if u.active else f"disabled {u.disabled_at:%Y-%m-%d}"
        typer.echo(f"{u.username:24} {u.role:9} {u.scope:6} {state:20} {u.display_name}")
    _say(f"{len(rows)} users")


@users_app.command("disable")
def disable(username: str, by: By = None) -> None:
    """Stop a user from signing in; their open sessions end at once."""
    _change(username, "user_disabled", by)


@users_app.command("enable")
def enable(username: str, by: By = None) -> None:
    """Let a disabled user sign in again."""
    _change(username, "user_enabled", by)


@users_app.command("set-password")
def set_password(username: str, password_file: PasswordFile = None, by: By = None) -> None:
    """Give a user a new password; their open sessions end at once."""
    settings = Settings.from_env()
    login = username.strip().lower()
    password_hash = Hasher().hash(_read_password(password_file, login))
    with store.connect(settings.database_url, autocommit=True) as conn:
        user = users.set_password_recorded(conn, login, password_hash, by=by or audit.cli_actor())
    if user is None:
        raise _unknown_user(login)
    _say(f"password of {user.username} set; their sessions have ended")


def _change(username: str, action: audit.Action, by: str | None) -> None:
    settings = Settings.from_env()
    login = username.strip().lower()
    with store.connect(settings.database_url, autocommit=True) as conn:
        user = users.change_recorded(conn, login, action, by=by or audit.cli_actor())
    if user is None:
        raise _unknown_user(login)
    _say(f"user {user.username} {'active' if user.active else 'disabled'}")


def _unknown_user(login: str) -> UnknownUser:
    return UnknownUser(f"no user is called {login!r} (`ioc users list`)")


@kiosk_app.command("create")
def kiosk_create(
    label: Annotated[str, typer.Option(help="Where the screen is, e.g. 'Operations room, left'.")],
    unit: Annotated[
        str | None, typer.Option(help="VN or the unit the wall shows (default: IOC_WALL_UNIT).")
    ] = None,
    scenes: Annotated[
        Path | None,
        typer.Option(help="Scenes file, copied into the link (default: IOC_WALL_SCENES).", dir_okay=False),
    ] = None,
    by: By = None,
) -> None:
    """Create a link for a wall display and print its token (shown only this once)."""
    settings = Settings.from_env()
    chosen = wall_scenes.load(scenes or settings.wall_scenes)
    where = unit or settings.wall_unit
    actor = by or audit.cli_actor()
    with store.connect(settings.database_url, autocommit=True) as conn:
        created = kiosk.create_recorded(conn, label=label, unit=where, scenes=chosen, by=actor)
    link = created.link
    _say(f"kiosk link {link.id} created for {link.unit} ({len(link.scenes)} scenes); its token (shown once):")
    typer.echo(created.token)


@kiosk_app.command("list")
def kiosk_list(
    all_: Annotated[bool, typer.Option("--all", help="Revoked links too.")] = False,
) -> None:
    """Kiosk links: id, unit, scenes, who made them and when, whether revoked, label."""
    settings = Settings.from_env()
    with store.connect(settings.database_url, autocommit=True) as conn:
        links = kiosk.listing(conn, include_revoked=all_)
    tz = settings.timezone
    for link in links:
        state = (
            "active"
            if link.revoked_at is None
            else f"revoked {link.revoked_at.astimezone(tz):%Y-%m-%d %H:%M} by {link.revoked_by}"
        )
        created = f"{link.created_at.astimezone(tz):%Y-%m-%d %H:%M} by {link.created_by}"
        typer.echo(
            f"{link.id:>4} {link.unit:6} {len(link.scenes)} scenes  created {created}  {state}  {link.label}"
        )
    _say(f"{len(links)} kiosk links")


@kiosk_app.command("revoke")
def kiosk_revoke(
    link_id: Annotated[int, typer.Argument(help="The link's id (`ioc kiosk list`).")], by: By = None
) -> None:
    """Revoke a link: the screens using it stop showing data at their next request."""
    settings = Settings.from_env()
    actor = by or audit.cli_actor()
    with store.connect(settings.database_url, autocommit=True) as conn:
        link = kiosk.revoke_recorded(conn, link_id, by=actor)
    if link is None:
        msg = f"no kiosk link has id {link_id} (`ioc kiosk list --all`)"
        raise UnknownLink(msg)
    _say(f"kiosk link {link.id} revoked")


def audit_command(
    limit: Annotated[int, typer.Option(min=1, help="Entries to show, newest first.")] = 50,
    actor: Annotated[str | None, typer.Option(help="Only this actor (a username, cli:<login>).")] = None,
    action: Annotated[str | None, typer.Option(help="Only this action, e.g. sign_in_failed.")] = None,
    subject: Annotated[str | None, typer.Option(help="Only about this, e.g. user:alice or kiosk:3.")] = None,
) -> None:
    """The audit trail: who did what, when, newest first."""
    settings = Settings.from_env()
    if action is not None and action not in audit.ACTIONS:
        msg = f"expected one of {', '.join(audit.ACTIONS)}"
        raise typer.BadParameter(msg, param_hint="--action")
    with store.connect(settings.database_url, autocommit=True) as conn:
        entries = audit.recent(conn, limit=limit, actor=actor, action=action, subject=subject)
    for e in entries:
        facts = " ".join(f"{k}={v}" for k, v in sorted(e.detail.items()))
        where = f" from {e.address}" if e.address else ""
        typer.echo(
            f"{e.at.astimezone(settings.timezone):%Y-%m-%d %H:%M:%S}  {e.actor}  {e.action}"
            f"  {e.subject or '-'}{where}  {facts}".rstrip()
        )
    _say(f"{len(entries)} entries")
