"""``confsched feeds list|rotate|revoke`` on a real data directory."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from confsched.cli.serve import history_window
from confsched.domain.model import Fleet
from confsched.errors import InvalidInput
from tests.conftest import CliResult

BASE = "https://lich.thainguyen.gov.vn"


def feeds(cli: Any, *args: str) -> list[dict[str, str]]:
    result: CliResult = cli("feeds", "list", "--json", "--base-url", BASE, *args)
    assert result.code == 0, result.err
    rows = result.json()
    assert isinstance(rows, list)
    return rows


def url_of(rows: list[dict[str, str]], kind: str, subject: str) -> str | None:
    found = [r["url"] for r in rows if r["kind"] == kind and r["id"] == subject]
    return found[0] if found else None


def test_every_agency_and_room_has_one_secret_feed_url(cli: Any, sample_fleet: Fleet) -> None:
    rows = feeds(cli)
    assert len(rows) == len(sample_fleet.agencies) + len(sample_fleet.endpoints)
    tokens = {r["url"].rsplit("/", 1)[1].removesuffix(".ics") for r in rows}
    assert len(tokens) == len(rows)
    assert all(len(t) >= 43 for t in tokens)  # 256 random bits
    tinh = url_of(rows, "agency", "ubnd-tinh")
    assert tinh is not None and tinh.startswith(f"{BASE}/feeds/agency/")
    webcal = [r["webcal"] for r in rows if r["url"] == tinh]
    assert webcal == ["webcal://" + tinh.split("://", 1)[1]]
    name = [r["name"] for r in rows if r["id"] == "ubnd-h-dai-tu"]
    assert name == ["UBND huyện Đại Từ"]
    assert feeds(cli) == rows  # listing again issues nothing new


def test_rotate_issues_new_url_and_drops_the_old(cli: Any) -> None:
    before = url_of(feeds(cli), "agency", "so-tttt")
    result = cli("feeds", "rotate", "so-tttt", "--base-url", BASE)
    assert result.code == 0, result.err
    after = url_of(feeds(cli), "agency", "so-tttt")
    assert after is not None and after != before
    assert after in result.out and "old URL no longer works" in result.out
    assert url_of(feeds(cli), "room", "so-tttt") is not None  # the room of the same id is untouched


def test_rotate_a_rooms_feed_with_room_option(cli: Any) -> None:
    before = feeds(cli)
    result = cli("feeds", "rotate", "--room", "dt-hung-son", "--json", "--base-url", BASE)
    assert result.code == 0, result.err
    rotated = result.json()
    assert isinstance(rotated, dict) and rotated["kind"] == "room"
    after = feeds(cli)
    assert (
        url_of(after, "room", "dt-hung-son")
        == rotated["url"]
        != url_of(before, "room", "dt-hung-son")
    )
    assert url_of(after, "agency", "ubnd-dt-hung-son") == url_of(
        before, "agency", "ubnd-dt-hung-son"
    )


def test_rotate_refuses_unknown_or_ambiguous_feeds(cli: Any) -> None:
    unknown = cli("feeds", "rotate", "atlantis")
    assert unknown.code == 1 and unknown.err.strip() == "error: unknown agency 'atlantis'"
    neither = cli("feeds", "rotate")
    assert neither.code == 1 and "--room" in neither.err
    both = cli("feeds", "rotate", "ioc", "--room", "ioc")
    assert both.code == 1 and "Traceback" not in both.err


def test_revoked_feed_is_listed_no_more_until_rotated(cli: Any) -> None:
    assert url_of(feeds(cli), "agency", "ioc") is not None
    assert cli("feeds", "revoke", "ioc").code == 0
    assert url_of(feeds(cli), "agency", "ioc") is None
    assert "already closed" in cli("feeds", "revoke", "ioc").out
    assert cli("feeds", "rotate", "ioc").code == 0
    assert url_of(feeds(cli), "agency", "ioc") is not None


def test_list_filters_by_kind_and_prints_a_table(cli: Any, sample_fleet: Fleet) -> None:
    assert len(feeds(cli, "--kind", "room")) == len(sample_fleet.endpoints)
    result = cli("feeds", "list", "--kind", "agency")
    assert result.code == 0
    assert result.out.splitlines()[0].split() == ["KIND", "ID", "URL", "WEBCAL"]
    assert "http://127.0.0.1:8080/feeds/agency/" in result.out  # no server has run here yet
    first = result.out.splitlines()[1].split()
    assert first[3] == first[2].replace("http://", "webcal://", 1)
    assert result.out.rstrip().endswith(f"{len(sample_fleet.agencies)} feeds")


def test_feed_history_takes_a_duration_or_all() -> None:
    assert history_window("90d") == timedelta(days=90)
    assert history_window("all") is None
    with pytest.raises(InvalidInput, match="--feed-history 'a month'"):
        history_window("a month")
