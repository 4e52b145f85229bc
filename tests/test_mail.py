"""Invites by e-mail, delivered to a real SMTP server on loopback (aiosmtpd).

Bookings are made with the CLI (its own store connection, as from another process) while the
scheduler runs; every message is parsed back with the standard library and its calendar part
read with icalendar.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import icalendar
import pytest

from confsched.config import Settings, SmtpSecurity, SmtpSettings
from confsched.runtime.components import Components
from confsched.store.db import open_db
from confsched.store.invites import delivery_counts
from tests.conftest import running
from tests.smtp_server import DROP, Inbox, Login, Received, smtp_server
from tests.test_feeds_sessions import HCM, next_monday
from tests.tls import self_signed

SENDER = "lich-hop@thainguyen.gov.vn"
ORGANIZER = "ubnd-tinh@thainguyen.gov.vn"
DAI_TU = "ubnd-h-dai-tu@thainguyen.gov.vn"
ROOMS = "ubnd-tinh,h-dai-tu,dt-hung-son"
"""The province's committee (organizer), Đại Từ's district committee (both with an address)
and Hùng Sơn's town committee (none: named in the description, never mailed)."""


def mail_settings(port: int, **changes: Any) -> SmtpSettings:
    base = SmtpSettings(
        "127.0.0.1", port, SENDER, SmtpSecurity.NONE, retry_seconds=0.05, attempts=3
    )
    return replace(base, **changes)


def book_series(cli: Any, title: str = "Giao ban tuần với huyện Đại Từ") -> tuple[str, str]:
    """A weekly series of four Mondays from two weeks on; (session id, first local start)."""
    day = next_monday()
    found = cli(
        "book", title, "--start", f"{day} 08:00", "--duration", "1h", "--with", ROOMS,
        "--chair", "ubnd-tinh", "--repeat", "FREQ=WEEKLY;BYDAY=MO;COUNT=4", "--json",
    )  # fmt: skip
    assert found.code == 0, found.err
    return str(found.json()["id"]), f"{day} 08:00"


def calendar_of(message: Received) -> tuple[icalendar.Calendar, str]:
    """The text/calendar part, checked against the attached .ics and the header's method."""
    parsed = message.parsed()
    assert parsed.get_content_type() == "multipart/mixed"
    alternative, attachment = parsed.iter_parts()
    plain, calendar_part = alternative.iter_parts()  # type: ignore[attr-defined]
    assert plain.get_content_type() == "text/plain"
    assert calendar_part.get_content_type() == "text/calendar"
    assert attachment.get_filename() == "invite.ics"
    data = calendar_part.get_payload(decode=True)
    assert attachment.get_payload(decode=True) == data
    calendar = icalendar.Calendar.from_ical(data)
    assert calendar["METHOD"] == calendar_part.get_param("method")
    return calendar, plain.get_content()


def by_recipient(messages: list[Received]) -> dict[str, Received]:
    found: dict[str, Received] = {}
    for message in messages:
        (recipient,) = message.recipients
        assert recipient not in found, f"two messages to {recipient}"
        found[recipient] = message
    return found


async def test_book_move_and_cancel_one_sitting_mail_each_agency_once(
    settings: Settings, cli: Any
) -> None:
    inbox = Inbox()
    async with smtp_server(inbox) as port, running(replace(settings, smtp=mail_settings(port))):
        session_id, first = book_series(cli)
        booked = by_recipient(await inbox.wait_for(2))
        assert set(booked) == {ORGANIZER, DAI_TU}
        invite, text = calendar_of(booked[DAI_TU])
        message = booked[DAI_TU].parsed()
        assert message["Subject"].startswith("Mời họp: Giao ban tuần với huyện Đại Từ (08:00 ")
        assert message["To"] == f"UBND huyện Đại Từ <{DAI_TU}>"
        assert message["From"].addresses[0].addr_spec == SENDER
        assert "Thời gian: 08:00–09:00" in text
        (event,) = invite.walk("VEVENT")
        assert (invite["METHOD"], event["SEQUENCE"]) == ("REQUEST", 0)
        assert "RRULE" in event and "RECURRENCE-ID" not in event
        assert "UBND thị trấn Hùng Sơn" in str(event["DESCRIPTION"])  # named, not mailed
        attendees = event["ATTENDEE"]
        assert str(attendees) == f"mailto:{DAI_TU}"  # the one agency besides the organizer

        day = datetime.fromisoformat(first).date()
        second, third = day + timedelta(weeks=1), day + timedelta(weeks=2)
        moved = cli("sessions", "move", session_id, "--occurrence", f"{second} 08:00",
                    "--start", f"{second} 14:00")  # fmt: skip
        assert moved.code == 0, moved.err
        moves = by_recipient((await inbox.wait_for(4))[2:])
        assert set(moves) == {ORGANIZER, DAI_TU}
        invite, _ = calendar_of(moves[DAI_TU])
        (event,) = invite.walk("VEVENT")
        assert invite["METHOD"] == "REQUEST" and event["SEQUENCE"] > 0
        assert event["RECURRENCE-ID"].dt == datetime(second.year, second.month, second.day, 8,
                                                     tzinfo=HCM)  # fmt: skip
        assert event["DTSTART"].dt.astimezone(HCM).hour == 14
        assert moves[DAI_TU].parsed()["Subject"].startswith("Thay đổi lịch họp: ")
        moved_sequence = event["SEQUENCE"]

        cancelled = cli("sessions", "cancel", session_id, "--occurrence", f"{third} 08:00")
        assert cancelled.code == 0, cancelled.err
        cancels = by_recipient((await inbox.wait_for(6))[4:])
        assert set(cancels) == {ORGANIZER, DAI_TU}
        invite, text = calendar_of(cancels[ORGANIZER])
        (event,) = invite.walk("VEVENT")
        assert (invite["METHOD"], event["STATUS"]) == ("CANCEL", "CANCELLED")
        assert event["RECURRENCE-ID"].dt.date() == third
        assert event["SEQUENCE"] > moved_sequence
        assert "đã bị hủy" in text

        shown = cli("sessions", "show", session_id, "--json").json()
        assert [i["status"] for i in shown["invites"]] == ["sent"] * 6  # type: ignore[index]
    assert len(inbox.received) == 6


async def test_cancelling_the_series_sends_a_cancel_without_recurrence_id(
    settings: Settings, cli: Any
) -> None:
    inbox = Inbox()
    async with smtp_server(inbox) as port, running(replace(settings, smtp=mail_settings(port))):
        session_id, _ = book_series(cli)
        await inbox.wait_for(2)
        assert cli("sessions", "cancel", session_id).code == 0
        cancels = by_recipient((await inbox.wait_for(4))[2:])
    invite, _ = calendar_of(cancels[DAI_TU])
    (event,) = invite.walk("VEVENT")
    assert invite["METHOD"] == "CANCEL" and "RECURRENCE-ID" not in event
    assert cancels[DAI_TU].parsed()["Subject"].startswith("Hủy họp: ")


async def test_refusals_and_a_dropped_connection_are_retried_without_duplicates(
    settings: Settings, cli: Any
) -> None:
    inbox = Inbox(plan=["451 4.3.0 try again later", DROP, "452 4.3.1 out of space"])
    async with (
        smtp_server(inbox) as port,
        running(replace(settings, smtp=mail_settings(port, attempts=5))),
    ):
        book_series(cli)
        delivered = by_recipient(await inbox.wait_for(2))
    assert set(delivered) == {ORGANIZER, DAI_TU} and inbox.refused == 3
    db = open_db(settings.data_dir)
    assert delivery_counts(db)["sent"] == 2
    ids = {m.parsed()["Message-ID"] for m in delivered.values()}
    assert len(ids) == 2


async def test_a_relay_that_keeps_refusing_gives_a_visible_failure(
    settings: Settings, cli: Any
) -> None:
    inbox = Inbox(plan=["554 5.7.1 relaying denied"] * 6)
    async with smtp_server(inbox) as port, running(replace(settings, smtp=mail_settings(port))):
        session_id, _ = book_series(cli)
        for _ in range(300):
            shown = cli("sessions", "show", session_id, "--json").json()
            if [i["status"] for i in shown["invites"]] == ["failed", "failed"]:  # type: ignore[index]
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError(f"never failed: {shown}")
    assert inbox.refused == 6 and not inbox.received  # three attempts each
    invite = shown["invites"][0]  # type: ignore[index]
    assert invite["attempts"] == 3 and invite["error"] == "554 5.7.1 relaying denied"
    text = cli("sessions", "show", session_id)
    assert "failed after 3 attempts: 554 5.7.1 relaying denied" in text.out


async def test_changes_made_while_no_server_ran_are_mailed_after_a_restart_and_never_again(
    settings: Settings, cli: Any
) -> None:
    inbox = Inbox()
    session_id, _ = book_series(cli)  # nothing running: the change waits in the outbox
    shown = cli("sessions", "show", session_id)
    assert "Invites:    1 change not yet mailed" in shown.out
    async with smtp_server(inbox) as port:
        with_mail = replace(settings, smtp=mail_settings(port))
        async with running(with_mail):
            await inbox.wait_for(2)
        async with running(with_mail):
            await asyncio.sleep(0.5)
    assert len(inbox.received) == 2


async def test_starttls_and_login_from_a_private_secrets_file(
    settings: Settings, cli: Any, tmp_path: Path
) -> None:
    cert, key = self_signed(tmp_path)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    inbox = Inbox()
    mail = mail_settings(
        0, security=SmtpSecurity.STARTTLS, cafile=cert, username="lich", password="mat-khau-9"
    )
    async with (
        smtp_server(inbox, tls, Login("lich", "mat-khau-9")) as port,
        running(replace(settings, smtp=replace(mail, port=port))),
    ):
        book_series(cli)
        assert set(by_recipient(await inbox.wait_for(2))) == {ORGANIZER, DAI_TU}


async def test_metrics_count_sent_and_failed_invites(settings: Settings, cli: Any) -> None:
    import aiohttp

    inbox = Inbox(plan_for={ORGANIZER: ["554 no"] * 3})  # fails for good; Đại Từ's is sent
    async with (
        smtp_server(inbox) as port,
        running(replace(settings, smtp=mail_settings(port))) as ctx,
    ):
        book_series(cli)
        url = f"http://127.0.0.1:{ctx.http_port}/metrics"
        for _ in range(300):
            async with aiohttp.ClientSession() as http, http.get(url) as resp:
                text = await resp.text()
            if 'confsched_invites_total{result="failed"} 1.0' in text:
                break
            await asyncio.sleep(0.05)
    assert 'confsched_invites_total{result="sent"} 1.0' in text
    assert 'confsched_invites_total{result="failed"} 1.0' in text
    assert "confsched_invites_pending 0.0" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--smtp", "relay"], "--smtp 'relay' must be HOST:PORT"),
        (["--smtp", "127.0.0.1:25", "--smtp-from", "lich"], "--smtp-from 'lich'"),
        (["--smtp", "127.0.0.1:25", "--smtp-from", "a@b.vn", "--smtp-secrets", "/nope"], "/nope"),
    ],
)
def test_serve_refuses_bad_mail_settings(cli: Any, args: list[str], message: str) -> None:
    result = cli("serve", "--http", "127.0.0.1:0", "--ssh", "127.0.0.1:0", *args)
    assert result.code != 0 and message in result.err


def test_secrets_file_must_be_private_and_well_formed(cli: Any, tmp_path: Path) -> None:
    secrets = tmp_path / "smtp.secrets"
    secrets.write_text("username = lich\npassword = x\n", encoding="utf-8")
    secrets.chmod(0o644)
    args = ["serve", "--smtp", "127.0.0.1:25", "--smtp-from", "a@b.vn"]
    result = cli(*args, "--smtp-secrets", str(secrets))
    assert result.code != 0 and "readable by others (mode 644); chmod 600 it" in result.err
    secrets.chmod(0o600)
    secrets.write_text("username = lich\npasword = x\n", encoding="utf-8")
    result = cli(*args, "--smtp-secrets", str(secrets))
    assert result.code != 0 and f"{secrets}:2: expected 'username = …'" in result.err
    secrets.write_text("# relay\nusername = lich\npassword = mật khẩu\n", encoding="utf-8")
    result = cli(*args, "--smtp-secrets", str(secrets))
    assert result.code != 0 and f"{secrets}:3: the password must be ASCII" in result.err


def test_one_sittings_invite_from_the_cli(cli: Any) -> None:
    session_id, first = book_series(cli)
    day = datetime.fromisoformat(first).date()
    third = f"{day + timedelta(weeks=2)} 08:00"
    assert cli("sessions", "cancel", session_id, "--occurrence", third).code == 0
    shown = cli("sessions", "show", session_id, "--ics", "--occurrence", third)
    assert shown.code == 0, shown.err
    calendar = icalendar.Calendar.from_ical(shown.out)
    (event,) = calendar.walk("VEVENT")
    assert (calendar["METHOD"], event["STATUS"]) == ("CANCEL", "CANCELLED")
    assert event["RECURRENCE-ID"].dt == datetime.fromisoformat(third).replace(tzinfo=HCM)
    second = f"{day + timedelta(weeks=1)} 08:00"
    (event,) = icalendar.Calendar.from_ical(
        cli("sessions", "show", session_id, "--ics", "--occurrence", second).out
    ).walk("VEVENT")
    assert event["STATUS"] == "CONFIRMED" and "RRULE" not in event
    missing = cli("sessions", "show", session_id, "--ics", "--occurrence", f"{day} 09:00")
    assert missing.code != 0 and "unknown occurrence" in missing.err
    alone = cli("sessions", "show", session_id, "--occurrence", second)
    assert alone.code != 0 and "--occurrence goes with --ics" in alone.err


async def test_one_sittings_invite_over_the_api(server: Components, cli: Any) -> None:
    import aiohttp

    session_id, first = book_series(cli)
    second = datetime.fromisoformat(first) + timedelta(weeks=1)
    base = f"http://127.0.0.1:{server.http_port}/api/v1/sessions/{session_id}"
    headers = {"Authorization": f"Bearer {server.ctx.operator_token}"}
    query = {"occurrence": f"{second:%Y-%m-%d %H:%M}"}
    async with aiohttp.ClientSession(headers=headers) as http:
        async with http.get(f"{base}/invite.ics", params=query) as resp:
            assert resp.status == 200
            body = await resp.read()
        async with http.get(f"{base}/invite.ics", params={"occurrence": "2030-01-01 08:00"}) as r:
            assert r.status == 404
        async with http.get(f"{base}/invite.ics", params={"occurrence": "Monday"}) as r:
            assert r.status == 400
        async with http.get(base) as resp:
            view = await resp.json()
    (event,) = icalendar.Calendar.from_ical(body).walk("VEVENT")
    assert event["RECURRENCE-ID"].dt == second.replace(tzinfo=HCM)
    assert view["invites"] == [] and view["invites_waiting"] == 1  # no relay configured
