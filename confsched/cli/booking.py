"""``confsched book``, ``confsched sessions list|show|move|cancel`` and ``confsched slots``.

Times are typed and shown in the fleet's local time. A refused booking prints every conflict
(each room with the session holding it) on stderr and exits with status 3.
"""

from __future__ import annotations

import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click

from confsched.cli.common import data_option, json_option, open_store, plural, print_json, table
from confsched.cli.risk import readiness_detail, readiness_lines, risk
from confsched.cli.session_text import DAYS, SessionText, span
from confsched.domain.booking import working_hours_warning
from confsched.domain.conflicts import EndpointConflict, PortsConflict
from confsched.domain.model import Fleet, Session, SessionStatus
from confsched.domain.timeparse import format_duration, parse_duration, parse_local_time
from confsched.errors import BookingRefused, InvalidInput
from confsched.services import booking as svc
from confsched.services.inventory import fleet_with, require_fleet
from confsched.services.invites import invites_lines, invites_view
from confsched.services.session_listing import listed_sessions


def _exit_code_conflict() -> int:
    from confsched.cli import EXIT_CONFLICT

    return EXIT_CONFLICT


# --- book -------------------------------------------------------------------------------------


@click.command()
@click.argument("title")
@click.option("--start", required=True, help="Local start, 'YYYY-MM-DD HH:MM'.")
@click.option("--duration", help="Length, e.g. 90m, 2h, 1h30m (or give --end).")
@click.option("--end", help="Local end, 'YYYY-MM-DD HH:MM' (instead of --duration).")
@click.option(
    "--with", "with_", required=True, help="Rooms: all, level:…, under:SITE, tag:NAME, ids."
)
@click.option("--chair", help="Chair endpoint id (default: the first room).")
@click.option("--organizer", help="Organizer agency id (default: the chair's agency).")
@click.option("--setup", help="Setup lead time before the start (default 15m).")
@click.option("--repeat", help="Recurrence, e.g. FREQ=WEEKLY;BYDAY=MO;COUNT=10.")
@click.option("--except", "exdates", multiple=True, help="Skip this occurrence (repeatable).")
@data_option
@json_option
def book(
    title: str,
    start: str,
    duration: str | None,
    end: str | None,
    with_: str,
    chair: str | None,
    organizer: str | None,
    setup: str | None,
    repeat: str | None,
    exdates: tuple[str, ...],
    data_dir: Path | None,
    as_json: bool,
) -> None:
    """Book TITLE for the rooms of --with; refused (exit 3) if any room or port is taken.

    \b
    Examples:
      confsched book "Giao ban" --start "2026-12-07 08:00" --duration 2h --with all
      confsched book "Họp" --start "2026-12-07 14:00" --duration 1h --with district:h-dai-tu
      confsched book "Giao ban tuần" --start "2026-12-07 07:30" --duration 1h --with all \\
        --repeat "FREQ=WEEKLY;BYDAY=MO;COUNT=10"
    """
    db = open_store(data_dir)
    fleet = require_fleet(db)
    request = svc.parse_request(
        fleet,
        title=title,
        with_=with_,
        start=start,
        duration=duration,
        end=end,
        organizer=organizer,
        chair=chair,
        setup=setup,
        repeat=repeat,
        exdates=exdates,
    )
    try:
        session = svc.book(db, fleet, request)
    except BookingRefused as refused:
        _report_refusal(fleet, refused, as_json)
    _warn_outside_hours(fleet, session)
    _print_session(db, fleet, session, as_json, headline="Booked")


def _warn_outside_hours(fleet: Fleet, session: Session) -> None:
    """Booked, but said back on stderr when outside working hours: usually a typo."""
    warning = working_hours_warning(fleet, session.start, session.end)
    if warning:
        click.echo(f"warning: {warning}; booked anyway", err=True)


def _report_refusal(fleet: Fleet, refused: BookingRefused, as_json: bool) -> None:
    """Every conflict, grouped by the session holding the rooms; then exit 3."""
    if as_json:
        print_json(
            {"error": str(refused), "conflicts": [c.as_dict() for c in refused.conflicts]}  # type: ignore[attr-defined]
        )
        sys.exit(_exit_code_conflict())
    tz = ZoneInfo(fleet.timezone)
    click.echo(f"error: {refused}", err=True)
    for line in conflict_lines(refused.conflicts, tz):
        click.echo(line, err=True)
    sys.exit(_exit_code_conflict())


def conflict_lines(conflicts: tuple[object, ...], tz: ZoneInfo) -> list[str]:
    groups: dict[tuple[str, datetime], list[EndpointConflict]] = {}
    lines = []
    for conflict in conflicts:
        if isinstance(conflict, EndpointConflict):
            groups.setdefault((conflict.session, conflict.start), []).append(conflict)
        elif isinstance(conflict, PortsConflict):  # a size refusal says it all in its headline
            lines.append(f"  ports: {conflict.message}")
    head = []
    for (session_id, _), members in groups.items():
        first = members[0]
        head.append(
            f"  session {session_id} “{first.title}” {span(first.start, first.end, tz)} "
            f"(rooms busy from {first.busy_from.astimezone(tz):%H:%M}) holds "
            f"{plural(len(members), 'room')}:"
        )
        head.extend(f"    {c.endpoint:24} {c.endpoint_name}" for c in members)
    return head + lines


# --- sessions ---------------------------------------------------------------------------------


@click.group()
def sessions() -> None:
    """Booked sessions: list, show, move, cancel, risk.

    \b
    Examples:
      confsched sessions list --from 2026-12-07 --to 2026-12-14
      confsched sessions show 1a2b3c4d
      confsched sessions risk --within 24h
    """


sessions.add_command(risk)


@sessions.command("list")
@click.option("--from", "from_", help="Window start: local time or a date (default now).")
@click.option("--to", help="Window end: local time or a date, its midnight (default: no end).")
@click.option(
    "--status",
    type=click.Choice(["scheduled", "cancelled", "all"]),
    default="scheduled",
    show_default=True,
)
@data_option
@json_option
def list_(
    from_: str | None, to: str | None, status: str, data_dir: Path | None, as_json: bool
) -> None:
    """Sessions with an occurrence in the window, by start.

    \b
    Examples:
      confsched sessions list
      confsched sessions list --from 2026-12-07 --to 2026-12-14 --json
    """
    db = open_store(data_dir)
    fleet = fleet_with(db, ())
    tz = ZoneInfo(fleet.timezone)
    start = svc.parse_bound(from_, fleet) or svc.now_utc()
    end = svc.parse_bound(to, fleet)
    found = svc.list_sessions(db, start, end, status)
    window_end = end or start + timedelta(days=30)
    listed = listed_sessions(db, found, start, window_end, svc.now_utc())
    named = (svc.view_rooms(one.session, one.occurrences, one.attention) for one in listed)
    fleet = fleet_with(db, set().union(*named))  # the rooms the views name, not all 10,000
    views = [
        svc.session_view(
            fleet, one.session, one.occurrences, tz, attention=one.attention, sequence=one.sequence
        )
        for one in listed
    ]
    if as_json:
        print_json(views)
        return
    rows = [_list_row(view, tz) for view in views]
    click.echo(table(rows, ["ID", "NEXT", "ROOMS", "STATUS", "REPEAT", "TITLE"]))
    click.echo(plural(len(rows), "session"))


def _list_row(view: dict[str, Any], tz: ZoneInfo) -> list[str]:
    upcoming = [o for o in view["occurrences"] if not o["cancelled"]] or view["occurrences"]
    when = upcoming[0] if upcoming else view
    start = datetime.fromisoformat(when["start"])
    end = datetime.fromisoformat(when["end"])
    return [
        view["id"],
        span(start, end, tz),
        str(view["endpoint_count"]),
        view["status"] + (", needs attention" if view["needs_attention"] else ""),
        "yes" if view["rrule"] else "",
        view["title"],
    ]


@sessions.command("show")
@click.argument("session_id")
@click.option("--rooms", is_flag=True, help="List every room, not only the count per area.")
@click.option("--days", default=30, show_default=True, help="Occurrences shown from now on.")
@click.option(
    "--ics",
    "ics",
    is_flag=True,
    help="Write the iTIP invite (REQUEST, or CANCEL once cancelled) as iCalendar instead.",
)
@click.option(
    "--occurrence",
    help="With --ics: only this sitting of a series (its original local start), as mailed.",
)
@click.option(
    "--room",
    help="With --ics: the invite as this room reads it (only the bridge it dials, its dial-in).",
)
@data_option
@json_option
def show(
    session_id: str,
    rooms: bool,
    days: int,
    ics: bool,
    occurrence: str | None,
    room: str | None,
    data_dir: Path | None,
    as_json: bool,
) -> None:
    """One session: times, rooms, bridge ports, upcoming occurrences, invites mailed.

    \b
    Examples:
      confsched sessions show 1a2b3c4d --rooms
      confsched sessions show 1a2b3c4d --ics > invite.ics
      confsched sessions show 1a2b3c4d --ics --room dt-hung-son
    """
    db = open_store(data_dir)
    fleet = fleet_with(db, ())
    if occurrence is not None and not ics:
        raise InvalidInput("--occurrence goes with --ics (the invite of one sitting)")
    if room is not None and not ics:
        raise InvalidInput("--room goes with --ics (the invite as that room reads it)")
    if ics:
        from confsched.calendar.usecases import invite_for_session

        fleet = require_fleet(db)
        sitting = svc.parse_instant(occurrence, fleet)
        invite = invite_for_session(db, fleet, session_id, occurrence=sitting, room=room)
        # Binary stdout: the CRLF line ends RFC 5545 requires must reach the file untouched.
        sys.stdout.buffer.write(invite)
        sys.stdout.flush()
        return
    session = svc.get_session(db, session_id)
    fleet = fleet_with(db, {*session.endpoints, *svc.view_rooms(session, ())})  # its rooms only
    _print_session(db, fleet, session, as_json, rooms=rooms, days=days)


@sessions.command("move")
@click.argument("session_id")
@click.option("--start", required=True, help="New local start, 'YYYY-MM-DD HH:MM'.")
@click.option("--duration", help="New length (default: unchanged).")
@click.option("--occurrence", help="Move only this occurrence (its original local start).")
@data_option
@json_option
def move(
    session_id: str,
    start: str,
    duration: str | None,
    occurrence: str | None,
    data_dir: Path | None,
    as_json: bool,
) -> None:
    """Move a session (or one occurrence of a series); refused (exit 3) on any conflict.

    \b
    Examples:
      confsched sessions move 1a2b3c4d --start "2026-12-08 08:00"
      confsched sessions move 1a2b3c4d --occurrence "2026-12-14 08:00" --start "2026-12-15 08:00"
    """
    db = open_store(data_dir)
    fleet = require_fleet(db)
    new_start = parse_local_time(start, ZoneInfo(fleet.timezone))
    try:
        session = svc.move(
            db,
            fleet,
            session_id,
            new_start,
            duration=parse_duration(duration) if duration else None,
            occurrence=svc.parse_instant(occurrence, fleet),
        )
    except BookingRefused as refused:
        _report_refusal(fleet, refused, as_json)
    if occurrence is None:
        _warn_outside_hours(fleet, session)
    _print_session(db, fleet, session, as_json, headline="Moved")


@sessions.command("cancel")
@click.argument("session_id")
@click.option("--occurrence", help="Cancel only this occurrence (its original local start).")
@data_option
@json_option
def cancel(session_id: str, occurrence: str | None, data_dir: Path | None, as_json: bool) -> None:
    """Cancel a session (or one occurrence); its rooms and ports are free again.

    A series that has begun ends with its last sitting held (RRULE UNTIL), so calendars keep
    its past.

    \b
    Examples:
      confsched sessions cancel 1a2b3c4d
      confsched sessions cancel 1a2b3c4d --occurrence "2026-12-14 08:00"
    """
    db = open_store(data_dir)
    fleet = require_fleet(db)
    sitting = svc.parse_instant(occurrence, fleet)
    session = svc.cancel(db, fleet, session_id, occurrence=sitting)
    headline = "Cancelled"
    if sitting is not None:
        headline = f"Cancelled the sitting of {_local_text(sitting, fleet)} in"
    elif session.status is SessionStatus.SCHEDULED:  # a started series: cut, its past kept
        headline = "Cancelled every sitting still to come (the ones held stay in calendars) of"
    _print_session(db, fleet, session, as_json, headline=headline)


# --- slots ------------------------------------------------------------------------------------


@click.command()
@click.option("--with", "with_", required=True, help="Rooms: all, level:…, under:SITE, ids.")
@click.option("--duration", required=True, help="Length, e.g. 1h, 90m.")
@click.option("--within", default="7d", show_default=True, help="How far ahead to look.")
@click.option("--from", "from_", help="Look from this local time or date on (default now).")
@click.option("--count", default=5, show_default=True, help="How many slots to offer.")
@click.option("--setup", default="15m", show_default=True, help="Setup lead time.")
@data_option
@json_option
def slots(
    with_: str,
    duration: str,
    within: str,
    from_: str | None,
    count: int,
    setup: str,
    data_dir: Path | None,
    as_json: bool,
) -> None:
    """The earliest free slots (15-minute grid, working hours) for every room of --with.

    \b
    Examples:
      confsched slots --with all --duration 2h
      confsched slots --with district:h-dai-tu --duration 1h --within 30d --from 2026-12-07
    """
    db = open_store(data_dir)
    fleet = require_fleet(db)
    tz = ZoneInfo(fleet.timezone)
    length = parse_duration(duration)
    found = svc.find_slots(
        db,
        fleet,
        with_.split(","),
        length,
        within=parse_duration(within),
        count=count,
        setup=parse_duration(setup),
        earliest=svc.parse_bound(from_, fleet),
    )
    if as_json:
        print_json(
            [
                {
                    "start": s.start.astimezone(tz).isoformat(),
                    "end": s.end.astimezone(tz).isoformat(),
                }
                for s in found
            ]
        )
        return
    if not found:
        click.echo(f"no free slot of {format_duration(length)} within {within}")
        return
    for slot in found:
        click.echo(f"{DAYS[slot.start.astimezone(tz).weekday()]} {span(slot.start, slot.end, tz)}")


# --- printing ---------------------------------------------------------------------------------


def _print_session(
    db: Any,
    fleet: Fleet,
    session: Session,
    as_json: bool,
    *,
    headline: str = "Session",
    rooms: bool = False,
    days: int = 30,
) -> None:
    tz = ZoneInfo(fleet.timezone)
    now = svc.now_utc()
    occurrences = svc.session_occurrences(db, session.id, now, now + timedelta(days=days))
    detail = readiness_detail(db, fleet, session, occurrences, now)
    invites = invites_view(db, session.id, tz)
    sequence = svc.calendar_sequence(db, session)  # the invite's, not the row's
    attention = svc.needing_attention(db, now).get(session.id, [])
    if as_json:
        readiness = svc.readiness_counts(db, session, occurrences, now)
        load = svc.bridge_load(db, occurrences, now)
        view = svc.session_view(
            fleet,
            session,
            occurrences,
            tz,
            readiness,
            load,
            rooms=True,
            attention=attention,
            sequence=sequence,
        )
        print_json({**view, "readiness_detail": detail, **invites})
        return
    label = f"Occurrences (next {days} days):" if session.rrule else "Occurrence:"
    if not occurrences:  # nothing soon: show what comes next instead of an empty window
        occurrences = svc.session_occurrences(db, session.id, now)[:3]
        label = "Next occurrences:" if session.rrule else "Occurrence:"
    load = svc.bridge_load(db, occurrences, now)
    text = SessionText(fleet, tz, rooms, load, sequence, tuple(attention))
    click.echo("\n".join(text.lines(session, occurrences, headline, label)))
    for line in readiness_lines(detail, rooms):
        click.echo(line)
    for line in invites_lines(invites):
        click.echo(line)


def _local_text(moment: datetime, fleet: Fleet) -> str:
    return f"{moment.astimezone(ZoneInfo(fleet.timezone)):%Y-%m-%d %H:%M}"
