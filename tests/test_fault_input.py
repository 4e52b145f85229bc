"""Out-of-range input is refused, not crashed on: year-1 times, absurd durations, huge counts,
JSON nested 100,000 deep, control characters in titles, a header over the limit. Each refusal
has its test; hypothesis then throws arbitrary values at the API and the CLI: never a 500,
never a traceback, always JSON from the API."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import sqlite3
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from confsched.config import Settings
from confsched.runtime.components import Components
from confsched.runtime.root import run_server
from confsched.store.db import DB_NAME
from tests.test_api_booking import MONDAY

ODD_TEXT = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        [
            "0001-01-01 00:00",
            "9999-12-31 23:59",
            "0001-01-01T00:00:00+14:00",
            "9999-12-31T23:59:59-12:00",
            "99999999999d",
            "99999999999999999999",
            "-1",
            "1e308",
            "\x00",
            "\x1b[31m",
            "\ud800",
            f"{MONDAY} 08:00",
            "2h",
            "all",
            "FREQ=WEEKLY;COUNT=99999999999",
            "FREQ=SECONDLY",
        ]
    ),
)
ODD_VALUE = st.one_of(
    ODD_TEXT,
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=True),
    st.none(),
    st.booleans(),
    st.lists(st.text(max_size=5), max_size=3),
)
FIELDS = ("title", "with", "start", "duration", "end", "setup", "repeat", "except", "organizer",
          "chair", "occurrence")  # fmt: skip


@dataclass
class Live:
    """A real scheduler served from a thread, for plain (hypothesis) tests."""

    base: str
    token: str

    def call(self, method: str, path: str, body: bytes | None = None) -> tuple[int, str, str]:
        request = urllib.request.Request(self.base + path, data=body, method=method)
        request.add_header("Authorization", f"Bearer {self.token}")
        request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=30) as resp:
                return resp.status, resp.headers.get_content_type(), resp.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers.get_content_type(), exc.read().decode()


@pytest.fixture
def live(settings: Settings) -> Iterator[Live]:
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    found: list[Components] = []

    def started(components: Components) -> None:
        found.append(components)
        ready.set()

    task = loop.create_task(run_server(settings, ready=started))

    def serve() -> None:
        with contextlib.suppress(asyncio.CancelledError):
            loop.run_until_complete(task)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert ready.wait(30), "the scheduler did not start"
    components = found[0]
    try:
        yield Live(f"http://127.0.0.1:{components.http_port}", components.ctx.operator_token)
    finally:
        loop.call_soon_threadsafe(task.cancel)
        thread.join(30)
        loop.close()


def booking(**extra: Any) -> bytes:
    body = {"title": "Họp", "with": "tinh-uy", "start": f"{MONDAY} 08:00", "duration": "1h"}
    return json.dumps({**body, **extra}).encode()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"start": "0001-01-01 00:00"}, "years 1970 to 2199"),
        ({"start": "9999-12-31T23:59:59-12:00"}, "years 1970 to 2199"),
        ({"duration": "99999999999d"}, "at most 366 days"),
        ({"duration": "99999999999999999999"}, "at most 366 days"),
        ({"title": "Họp\x00"}, "control character (U+0000) at position 4"),
        ({"title": "\x1b[31mHọp"}, "control character (U+001B) at position 1"),
        ({"title": "Họp\ngiao ban"}, "control character (U+000A)"),
        ({"start": None}, "missing field 'start'"),
        ({"title": None}, "missing field 'title'"),
        ({"with": None}, "missing field 'with'"),
    ],
)
def test_api_refuses_out_of_range_booking_with_a_json_400(
    live: Live, extra: dict[str, str], message: str
) -> None:
    status, kind, text = live.call("POST", "/api/v1/sessions", booking(**extra))
    assert (status, kind) == (400, "application/json"), text
    assert message in json.loads(text)["error"]
    assert json.loads(live.call("GET", "/api/v1/sessions?status=all")[2]) == []


def test_api_refuses_json_nested_100000_deep(live: Live) -> None:
    body = b"[" * 100_000 + b"]" * 100_000
    status, kind, text = live.call("POST", "/api/v1/sessions", body)
    assert (status, kind) == (400, "application/json")
    assert "nested too deeply" in json.loads(text)["error"]


def test_api_refuses_a_huge_slot_count(live: Live) -> None:
    status, _, text = live.call("GET", "/api/v1/slots?with=tinh-uy&duration=1h&count=99999999999")
    assert status == 400 and "count" in json.loads(text)["error"]


def test_a_header_over_the_limit_is_one_log_line_not_a_traceback(
    live: Live, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    host, port = urllib.parse.urlsplit(live.base).netloc.split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100_000 + b"\r\n\r\n")
        answer = sock.recv(200)
    assert answer.startswith((b"HTTP/1.0 400", b"HTTP/1.1 400")), answer
    records = [r for r in caplog.records if r.name.startswith("aiohttp")]
    assert len(records) == 1 and not records[0].exc_info, records
    assert "refused a malformed HTTP request" in records[0].getMessage()
    assert "\n" not in records[0].getMessage()


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    path=st.sampled_from(["/api/v1/sessions", "/api/v1/sessions/preview"]),
    body=st.dictionaries(st.sampled_from(FIELDS), ODD_VALUE, max_size=6),
)
def test_fuzzed_bookings_never_get_a_500(live: Live, path: str, body: dict[str, Any]) -> None:
    status, kind, text = live.call("POST", path, json.dumps(body).encode())
    assert status < 500 and kind == "application/json", (status, text)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    path=st.sampled_from(
        [
            "/api/v1/sessions",
            "/api/v1/slots",
            "/api/v1/health",
            "/api/v1/risk",
            "/api/v1/select",
            "/api/v1/endpoints",
            "/api/v1/changes",
            "/api/v1/endpoints/tinh-uy/health",
        ]
    ),
    query=st.dictionaries(
        st.sampled_from(
            [
                "from",
                "to",
                "status",
                "with",
                "duration",
                "within",
                "count",
                "setup",
                "since",
                "limit",
                "q",
                "selector",
                "hours",
            ]
        ),
        ODD_TEXT,
        max_size=4,
    ),
)
def test_fuzzed_queries_never_get_a_500(live: Live, path: str, query: dict[str, str]) -> None:
    if path == "/api/v1/changes":
        query.setdefault("since", "-1")  # answer at once rather than long-poll
    encoded = urllib.parse.urlencode(query, errors="surrogatepass")
    status, kind, text = live.call("GET", f"{path}?{encoded}")
    assert status < 500 and kind == "application/json", (status, text)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    start=ODD_TEXT,
    duration=ODD_TEXT,
    title=ODD_TEXT,
    within=ODD_TEXT,
)
def test_fuzzed_cli_never_tracebacks(
    cli, data_dir: Path, start: str, duration: str, title: str, within: str
) -> None:  # type: ignore[no-untyped-def]
    for args in (
        ("book", title or "x", "--start", start, "--duration", duration, "--with", "tinh-uy"),
        ("slots", "--with", "tinh-uy", "--duration", duration, "--within", within),
        ("sessions", "list", "--from", start, "--to", duration),
    ):
        result = cli(*args)
        assert result.code in (0, 1, 2, 3), (args, result.err)
        assert "Traceback" not in result.err, (args, result.err)
        if result.code == 1:
            assert len(result.err.strip().splitlines()) == 1, (args, result.err)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--start", "0001-01-01 00:00", "--duration", "1h"], "years 1970 to 2199"),
        (["--start", f"{MONDAY} 08:00", "--duration", "99999999999d"], "at most 366 days"),
        (["--start", f"{MONDAY} 08:00", "--duration", "1h", "--setup", "9" * 30], "at most 366"),
    ],
)
def test_cli_refuses_out_of_range_times_and_durations_with_one_line(cli, args, message) -> None:  # type: ignore[no-untyped-def]
    result = cli("book", "Họp", "--with", "tinh-uy", *args)
    assert result.code == 1 and message in result.err, result.err
    assert len(result.err.strip().splitlines()) == 1


@pytest.mark.parametrize("title", ["Họp\x00", "\x1b]0;pwned\x07Họp", "Họp\r\nBcc: x@y"])
def test_cli_refuses_a_title_with_control_characters(cli, title: str) -> None:  # type: ignore[no-untyped-def]
    result = cli(
        "book", title, "--with", "tinh-uy", "--start", f"{MONDAY} 08:00", "--duration", "1h"
    )
    assert result.code == 1 and "control character" in result.err, result.err
    assert cli("sessions", "list", "--status", "all", "--json").json() == []


def test_a_stored_title_with_control_characters_never_reaches_icalendar_raw(
    cli, data_dir: Path
) -> None:  # type: ignore[no-untyped-def]
    import re

    out = cli("book", "Họp", "--with", "tinh-uy", "--start", f"{MONDAY} 08:00", "--duration", "1h")
    session = re.search(r"^Booked (\w+):", out.out, re.M)
    assert session, out.out
    with sqlite3.connect(data_dir / DB_NAME) as conn:  # stored before titles were checked
        conn.execute("UPDATE sessions SET title = ?", ["Họp\x1b\x00 giao ban\x07"])
    ics = cli("sessions", "show", session.group(1), "--ics")
    assert ics.code == 0, ics.err
    assert "SUMMARY:Họp giao ban" in ics.out.replace("\r\n ", "")
    assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", ics.out)
