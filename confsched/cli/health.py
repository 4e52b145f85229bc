"""``confsched health``: every room's state and why, read from the store (no ``serve`` needed)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click
import sqlite_utils

from confsched.cli.common import data_option, json_option, open_store, print_json, table
from confsched.domain.history import HOURS, by_day
from confsched.domain.model import EndpointHealth, Fleet
from confsched.domain.retention import parse_span
from confsched.domain.selectors import expand_selectors
from confsched.errors import InvalidInput
from confsched.services import health_views as views
from confsched.services.clock import now_utc
from confsched.services.inventory import require_fleet
from confsched.services.risk import explained, room_detail, stored_facts
from confsched.store.health_history import load_cells

EPILOG = """\b
Examples:
  confsched health                          every room that is not ok
  confsched health --state down,offline     only down and offline rooms
  confsched health --with district:h-dai-tu --json
"""


@click.command(epilog=EPILOG)
@click.option("--with", "selectors", default="all", help="Rooms: all, under:SITE, tag:NAME, ids.")
@click.option(
    "--state",
    "states",
    help=f"List only rooms in these states (comma-separated: {', '.join(views.STATES)}).",
)
@data_option
@json_option
def health(selectors: str, states: str | None, data_dir: Path | None, as_json: bool) -> None:
    """Counts of the five states, then every room that is not ok: state, reasons, last report
    age and bridge. Reads the data directory, so it works with or without a running serve."""
    wanted = views.parse_states(states)
    db = open_store(data_dir)
    fleet = require_fleet(db)
    tz, now = ZoneInfo(fleet.timezone), now_utc()
    chosen = set(expand_selectors(fleet, selectors))
    every = len(chosen) == len(fleet.endpoints)
    facts = stored_facts(db, fleet, now, None if every else chosen)  # --with: their rows alone
    healths = explained(facts)
    listed = views.by_state(healths, wanted)
    counts = views.state_counts(healths.values())
    if as_json:
        rows = [views.room_row(fleet, h, now, tz) for h in listed]
        print_json({"now": now.astimezone(tz).isoformat(), "counts": counts, "endpoints": rows})
        return
    click.echo(f"{len(healths)} rooms: " + " · ".join(f"{s} {n}" for s, n in counts.items()))
    if not listed:
        click.echo("no room to list" if wanted else "every room is ok")
        return
    lines = [_line(fleet, h, now) for h in listed]
    click.echo(table(lines, ["ROOM", "STATE", "LAST REPORT", "BRIDGE", "REASONS"]))


def _line(fleet: Fleet, health: EndpointHealth, now: datetime) -> list[str]:
    """One room of the table, from its health alone: the whole view (``room_row``, what
    ``--json`` prints) cost a fleet of 10,000 unreported rooms a fifth of the command."""
    endpoint = fleet.endpoints.get(health.endpoint)
    return [
        health.endpoint,
        health.state.value,
        views.age_text(health.last_report_at, now),
        (endpoint.bridge if endpoint else None) or "—",
        "; ".join(health.reasons) or "—",
    ]


def room_health(db: sqlite_utils.Database, fleet: Fleet, endpoint: str) -> dict[str, Any]:
    """``rooms show``'s health part: state, reasons, every check, the last 24 h of changes."""
    tz, now = ZoneInfo(fleet.timezone), now_utc()
    current, changes = room_detail(db, fleet, endpoint, now)
    return {
        **views.room_row(fleet, current, now, tz),
        "checks": dict(sorted(current.checks.items())),
        "measurements": dict(current.measurements),
        "changes": [
            {"at": views.local_iso(c.at, tz), "state": c.state.value, "reasons": list(c.reasons)}
            for c in changes
        ],
    }


def room_days(db: sqlite_utils.Database, fleet: Fleet, endpoint: str, span: str) -> list[dict]:
    """``rooms show --history SPAN``: the room's hour cells summed per local day."""
    try:
        window = parse_span(span)
    except ValueError as exc:
        raise InvalidInput(f"--history: {exc}") from None
    tz, now = ZoneInfo(fleet.timezone), now_utc()
    cells = load_cells(db, endpoint, HOURS, now - window, now)
    return [
        {
            "day": d.day.isoformat(),
            "worst": d.worst.value if d.worst is not None else None,
            "reports": d.reports,
            "ok_reports": d.ok,
            "rtt_ms_max": d.rtt_ms,
            "loss_ratio_max": d.loss_ratio,
        }
        for d in by_day(cells, tz)
    ]


def room_days_lines(days: list[dict]) -> list[str]:
    lines = [f"{'History:':10} {'none kept' if not days else ''}".rstrip()]
    for d in days:
        ok = f"{d['ok_reports'] / d['reports']:.1%} ok" if d["reports"] else "no report"
        rtt = f"rtt max {d['rtt_ms_max']:.0f} ms" if d["rtt_ms_max"] is not None else ""
        loss = f"loss max {d['loss_ratio_max']:.1%}" if d["loss_ratio_max"] is not None else ""
        parts = [d["day"], f"{d['worst'] or '—':8}", f"{d['reports']:>6} reports", ok, rtt, loss]
        lines.append("  " + "  ".join(p for p in parts if p))
    return lines


def room_health_lines(view: dict[str, Any]) -> list[str]:
    age = f" ({view['last_report_age_s']} s ago)" if view["last_report_at"] else ""
    lines = [
        f"{'Health:':10} {view['state']}"
        + (f" — {'; '.join(view['reasons'])}" if view["reasons"] else ""),
        f"{'Reported:':10} {view['last_report_at'] or 'never'}{age}",
    ]
    checks = ", ".join(f"{name} {'ok' if ok else 'FAILED'}" for name, ok in view["checks"].items())
    lines.append(f"{'Checks:':10} {checks or '—'}")
    lines.append(f"{'Call:':10} {views.call_text(view['call'])}")
    lines.append(
        f"{'Changes:':10} {'none in the last 24 h' if not view['changes'] else ''}".rstrip()
    )
    for change in view["changes"]:
        why = f"  {'; '.join(change['reasons'])}" if change["reasons"] else ""
        lines.append(f"  {change['at'][:19].replace('T', ' ')}  {change['state']}{why}")
    return lines
