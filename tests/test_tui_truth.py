"""What the console claims is true: last-known values are marked so, sparkline axes do not
turn noise into swings, and the counts over a table add up to its rows."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from confsched_tui.freshness import last_known_age
from confsched_tui.screens.endpoint import spark_label
from confsched_tui.sessionview import sessions_summary
from confsched_tui.widgets.trend import BARS, bar_lines, columns

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2026, 12, 7, 9, 40, tzinfo=TZ)


def health(state: str, seconds_ago: float, interval: float | None = 10.0) -> dict[str, object]:
    last = (NOW - timedelta(seconds=seconds_ago)).isoformat()
    return {"state": state, "last_report_at": last, "interval_seconds": interval}


def test_offline_values_are_last_known_with_their_age() -> None:
    assert last_known_age(health("offline", 300), NOW) == timedelta(minutes=5)


def test_values_older_than_two_intervals_are_last_known_even_before_offline() -> None:
    assert last_known_age(health("ok", 8), NOW) is None
    assert last_known_age(health("ok", 25), NOW) == timedelta(seconds=25)
    assert last_known_age(health("ok", 25, interval=60.0), NOW) is None


def test_a_room_never_heard_from_has_no_last_known_values() -> None:
    assert last_known_age({"state": "unknown", "last_report_at": None}, NOW) is None


def test_label_says_last_and_its_age_instead_of_now() -> None:
    current = spark_label("RTT", [13.0, 25.0], "{:.0f}", None).plain
    assert "now 25" in current and "ago" not in current
    stale = spark_label("RTT", [13.0, 25.0], "{:.0f}", timedelta(minutes=12)).plain
    assert "last 25 (12 min ago)" in stale and "now" not in stale


def test_a_steady_13_ms_is_a_low_flat_line_on_a_0_to_50_axis() -> None:
    lines = bar_lines([13.0] * 30, width=10, height=2, ceiling=50.0)
    assert lines[0] == " " * 10  # nothing reaches the upper half
    assert len(set(lines[1])) == 1 and lines[1][0] in BARS[1:5]


def test_a_spike_above_the_floor_still_reaches_the_top() -> None:
    lines = bar_lines([13.0] * 9 + [200.0], width=10, height=2, ceiling=50.0)
    assert lines[0][-1] == "█" and lines[0][0] == " "


def test_columns_keep_the_highest_of_each_share() -> None:
    assert columns([1.0, 9.0, 2.0, 3.0], 2) == [9.0, 3.0]
    assert columns([4.0, 5.0], 4) == [4.0, 4.0, 5.0, 5.0]


def test_sessions_header_counts_add_up_to_the_rows() -> None:
    def session(start_minutes: int) -> dict[str, object]:
        start = NOW + timedelta(minutes=start_minutes)
        return {"status": "scheduled", "setup_minutes": 15, "start": start.isoformat(),
                "end": (start + timedelta(hours=1)).isoformat(), "occurrences": []}  # fmt: skip

    rows = [session(-30), session(10), *(session(60 * 24 * d) for d in range(1, 7))]
    assert sessions_summary(rows, NOW) == "8 sessions: 1 live now, 1 in setup, 6 upcoming"
    assert sessions_summary(rows[:1], NOW) == "1 session: 1 live now"
    assert sessions_summary([], NOW) == "0 sessions"
