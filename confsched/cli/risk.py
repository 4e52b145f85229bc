"""``confsched sessions risk``: upcoming sessions and the rooms that would not be ready now.

``sessions`` loads this module with its group, so the forecast's own modules (every room's
health, the readiness service) are imported by the commands that use them, not by ``sessions
list``.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import click
import sqlite_utils

from confsched.cli.common import data_option, json_option, open_store, print_json, table
from confsched.domain.model import Fleet, Occurrence, Session
from confsched.domain.timeparse import parse_duration
from confsched.services.clock import now_utc
from confsched.services.inventory import require_fleet

if TYPE_CHECKING:
    from confsched.services.risk import AtRisk

EPILOG = """\b
Examples:
  confsched sessions risk                  sessions of the next 24 hours
  confsched sessions risk --within 3d --json
"""


@click.command(epilog=EPILOG)
@click.option("--within", default="24h", show_default=True, help="How far ahead to look.")
@click.option("--all", "every", is_flag=True, help="List sessions with no room at risk too.")
@data_option
@json_option
def risk(within: str, every: bool, data_dir: Path | None, as_json: bool) -> None:
    """The forecast: each upcoming session and its rooms that would not be ready if it started
    now (down, degraded, offline, never reported, no agent, key revoked, bridge short of
    ports), with the reasons. Exit status 0 either way; use --json for scripts."""
    from confsched.services import health_views as views
    from confsched.services.risk import stored_facts, upcoming_risks

    db = open_store(data_dir)
    fleet = require_fleet(db)
    tz, now = ZoneInfo(fleet.timezone), now_utc()
    found = upcoming_risks(db, fleet, stored_facts(db, fleet, now), now, parse_duration(within))
    if as_json:
        print_json([views.risk_view(fleet, item, now, tz) for item in found])
        return
    shown = found if every else [item for item in found if item.risk.at_risk]
    if not shown:
        click.echo(f"no session within {within} has a room at risk")
        return
    click.echo("\n".join(line for item in shown for line in _session_lines(item, tz)))


def _session_lines(item: AtRisk, tz: ZoneInfo) -> list[str]:
    """One occurrence and its rooms at risk, from the forecast itself: at 10,000 rooms a day's
    sessions hold 9,600 of them, whose ``--json`` views cost the command a sixth of its time."""
    risk = item.risk
    start = item.occurrence.start.astimezone(tz).isoformat()[:16].replace("T", " ")
    head = f"{item.session.id}  {start}  {item.session.title}  — ready {risk.ready} of {risk.total}"
    if not risk.rooms:
        return [head, ""]
    rows = [
        [r.endpoint, r.state.value, r.bridge or "—", "; ".join(r.reasons) or "—"]
        for r in risk.rooms
    ]
    body = table(rows, ["ROOM", "STATE", "BRIDGE", "WHY"])
    return [head, *(f"  {line}" for line in body.splitlines()), ""]


# --- readiness of one session (``sessions show``) --------------------------------------------


def current_occurrence(occurrences: list[Occurrence], now: datetime) -> Occurrence | None:
    """The running or next live occurrence."""
    return next((o for o in occurrences if not o.cancelled and o.end > now), None)


def readiness_detail(
    db: sqlite_utils.Database,
    fleet: Fleet,
    session: Session,
    occurrences: list[Occurrence],
    now: datetime,
) -> dict[str, Any] | None:
    """Every room's readiness for the current or next occurrence (``sessions show --json``)."""
    from confsched.services import health_views as views
    from confsched.services.readiness import stage_view
    from confsched.services.risk import DEFAULT_WITHIN, occurrence_readiness
    from confsched.store.health import load_stages

    occurrence = current_occurrence(occurrences, now)
    if occurrence is None or occurrence.start - now > DEFAULT_WITHIN:
        return None
    tz = ZoneInfo(fleet.timezone)
    found = occurrence_readiness(db, fleet, session, occurrence, now)
    stages = load_stages(db, session.id, occurrence.recurrence_id)
    return {
        "stage": found.stage,
        "stages": [stage_view(s, tz) for s in stages],
        "occurrence": views.local_iso(occurrence.recurrence_id, tz),
        "text": f"ready {found.ready} of {len(found.rooms)}",
        "endpoints": [
            {
                "endpoint": r.endpoint,
                "endpoint_name": fleet.endpoints[r.endpoint].name
                if r.endpoint in fleet.endpoints
                else r.endpoint,
                "status": r.status.value,
                "reasons": list(r.reasons),
                "at": views.local_iso(r.at, tz),
            }
            for r in found.rooms
        ],
    }


def readiness_lines(detail: dict[str, Any] | None, every: bool) -> list[str]:
    """The readiness block of ``sessions show``: every room once self-tests began; in a
    forecast, the rooms at risk only (all of them with ``every``)."""
    if detail is None:
        return []
    label = "self-test" if detail["stage"] == "selftest" else "forecast from current health"
    lines = [f"  Readiness:  {detail['text']} ({label})"]
    if detail.get("stages"):
        kept = " · ".join(f"{s['stage']} ({s['at'][11:16]}): {s['text']}" for s in detail["stages"])
        lines.append(f"  Stages:     {kept}")
    shown = [
        r
        for r in detail["endpoints"]
        if every or detail["stage"] == "selftest" or r["status"] != "ready"
    ]
    rows = [
        [r["endpoint"], r["status"], (r["at"] or "—")[11:19] or "—", "; ".join(r["reasons"]) or "—"]
        for r in shown
    ]
    if rows:
        body = table(rows, ["ROOM", "STATUS", "AT", "REASONS"])
        lines.extend(f"    {line}" for line in body.splitlines())
    return lines
