"""``ioc deadletters``: see what ingest rejected and why; send fixed messages again."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from kafka import KafkaProducer

import store
from ingest import deadletters
from ingest.kafka_options import kafka_client_options
from ioc.settings import Settings

deadletters_app = typer.Typer(help="Messages ingest rejected, with their reasons.", no_args_is_help=True)


@deadletters_app.command("list")
def list_(
    limit: Annotated[int, typer.Option(min=1, help="Newest N.")] = 50,
    reason: Annotated[str | None, typer.Option(help="Only reasons containing this text.")] = None,
    pending: Annotated[bool, typer.Option("--pending", help="Only those not replayed yet.")] = False,
) -> None:
    """List dead letters, newest first: id, when, where from, why, and the start of the message."""
    settings = Settings.from_env()
    with store.connect(settings.database_url, autocommit=True) as conn:
        rows = deadletters.list_dead_letters(conn, limit=limit, reason=reason, pending_only=pending)
    for row in rows:
        preview = row.payload[:80].decode("utf-8", errors="replace").replace("\n", " ")
        replayed = f" replayed {row.replayed_at:%Y-%m-%d %H:%M}" if row.replayed_at else ""
        typer.echo(
            f"{row.id:>8}  {row.first_seen:%Y-%m-%d %H:%M:%S}  {row.topic}/{row.partition}/{row.offset}"
            f"{replayed}\n          reason: {row.reason}\n          message: {preview}"
        )
    typer.echo(f"{len(rows)} dead letters shown", err=True)


@deadletters_app.command("replay")
def replay(
    dead_letter_id: Annotated[int, typer.Argument(help="Id from `ioc deadletters list`.")],
    payload: Annotated[
        Path | None, typer.Option("--payload", help="File with the fixed message (default: as stored).")
    ] = None,
) -> None:
    """Check a dead letter (or its fixed version) against today's rules and send it again."""
    settings = Settings.from_env()
    fixed = payload.read_bytes() if payload is not None else None
    producer = KafkaProducer(
        bootstrap_servers=list(settings.kafka_bootstrap), acks="all", **kafka_client_options(settings)
    )
    try:
        with store.connect(settings.database_url, autocommit=True) as conn:
            where = deadletters.replay(conn, producer, settings.topic, dead_letter_id, fixed)
    finally:
        producer.close()
    typer.echo(f"dead letter {dead_letter_id} sent again as {where}")
