"""``confsched feeds``: the calendar feed URLs (with their tokens), rotation and revocation.

Every agency and every room has one feed. ``rotate`` issues a new URL and kills the old one at
once (a running ``serve`` notices within a second); ``revoke`` closes a feed until it is rotated.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click
import sqlite_utils

from confsched.calendar.tokens import (
    ensure_stored_feed_tokens,
    feed_url,
    revoke_feed,
    rotate_feed,
    webcal_url,
)
from confsched.cli.common import data_option, json_option, open_store, print_json, table
from confsched.config import Settings
from confsched.domain.calendar import FeedKey, FeedKind
from confsched.domain.model import Fleet
from confsched.errors import InvalidInput
from confsched.services.inventory import fleet_with
from confsched.store import calendar as store


@click.group()
def feeds() -> None:
    """Calendar feeds (iCalendar) per agency and per room, behind secret URLs.

    \b
    Examples:
      confsched feeds list --kind agency
      confsched feeds rotate ubnd-tinh
    """


@feeds.command("list")
@click.option(
    "--kind", type=click.Choice(["agency", "room"]), default=None, help="Only agencies or rooms."
)
@click.option("--base-url", default=None, help="URL prefix (default: where serve last ran).")
@data_option
@json_option
def list_(kind: str | None, base_url: str | None, data_dir: Path | None, as_json: bool) -> None:
    """Print every feed's URL, and its webcal:// link (a click subscribes in Outlook, Apple
    Calendar, Thunderbird). Anyone holding a URL can read that calendar: share it with care.

    \b
    Examples:
      confsched feeds list
      confsched feeds list --kind room --base-url https://lich.example.gov.vn
    """
    db = open_store(data_dir)
    fleet_with(db, ())  # that a fleet was imported; the names come with the tokens
    ensure_stored_feed_tokens(db, datetime.now(UTC))
    base = _base(db, base_url)
    listed = [f for f in store.listed_feeds(db) if not kind or f.key.kind.value == kind]
    if as_json:
        print_json(
            [
                {
                    "kind": f.key.kind.value,
                    "id": f.key.subject,
                    "name": f.name,
                    "url": (url := feed_url(base, f.key, f.token)),
                    "webcal": webcal_url(url),
                    "created_at": f.created_at,
                }
                for f in listed
            ]
        )
        return
    lines = [
        [f.key.kind.value, f.key.subject, url := feed_url(base, f.key, f.token), webcal_url(url)]
        for f in listed
    ]
    click.echo(table(lines, ["KIND", "ID", "URL", "WEBCAL"]))
    click.echo(f"{len(lines)} feeds")


def _key(agency: str | None, room: str | None) -> FeedKey:
    if (agency is None) == (room is None):
        raise InvalidInput("name one feed: an AGENCY id, or --room ENDPOINT_ID")
    if room is not None:
        return FeedKey(FeedKind.ROOM, room)
    return FeedKey(FeedKind.AGENCY, agency or "")


@feeds.command("rotate")
@click.argument("agency", required=False)
@click.option("--room", default=None, help="Rotate this room's feed instead of an agency's.")
@click.option("--base-url", default=None, help="URL prefix (default: where serve last ran).")
@data_option
@json_option
def rotate(
    agency: str | None, room: str | None, base_url: str | None, data_dir: Path | None, as_json: bool
) -> None:
    """Give AGENCY's feed (or a room's, with --room) a new URL; the old URL stops working.

    \b
    Examples:
      confsched feeds rotate ubnd-tinh
      confsched feeds rotate --room dt-la-bang
    """
    db = open_store(data_dir)
    key = _key(agency, room)
    fleet = _fleet_for(db, key)
    token = rotate_feed(db, fleet, key, datetime.now(UTC))
    base = _base(db, base_url)
    url = feed_url(base, key, token)
    if as_json:
        print_json(
            {"kind": key.kind.value, "id": key.subject, "url": url, "webcal": webcal_url(url)}
        )
        return
    click.echo(f"{key.kind.value} {key.subject}: new feed URL {url}")
    click.echo(f"subscribe link: {webcal_url(url)}")
    click.echo("the old URL no longer works; give the new one to its subscribers")


@feeds.command("revoke")
@click.argument("agency", required=False)
@click.option("--room", default=None, help="Revoke this room's feed instead of an agency's.")
@data_option
def revoke(agency: str | None, room: str | None, data_dir: Path | None) -> None:
    """Close AGENCY's feed (or a room's) without a new URL; 'rotate' opens it again.

    \b
    Example:
      confsched feeds revoke ubnd-tinh
    """
    db = open_store(data_dir)
    key = _key(agency, room)
    fleet = _fleet_for(db, key)
    if revoke_feed(db, fleet, key, datetime.now(UTC)):
        click.echo(f"{key.kind.value} {key.subject}: feed closed")
    else:
        click.echo(f"{key.kind.value} {key.subject}: feed was already closed")


def _fleet_for(db: sqlite_utils.Database, key: FeedKey) -> Fleet:
    """The fleet with the one room a room's feed needs (an agency's needs none of them)."""
    return fleet_with(db, [key.subject] if key.kind is FeedKind.ROOM else ())


def _base(db: sqlite_utils.Database, given: str | None) -> str:
    """--base-url, else where ``serve`` last said it answers, else the default listen address."""
    return given or store.base_url(db) or Settings().base_url
