"""The console's rules without a terminal: grouping, filters, labels, session summaries, the
shapes it accepts from the scheduler, completion."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from confsched_tui import normalize
from confsched_tui.catalog import Catalog
from confsched_tui.complete import complete, selector_candidates
from confsched_tui.fleetview import (
    SYMBOLS,
    FleetFilter,
    call_text,
    count_states,
    distinct_texts,
    filter_groups,
    group_endpoints,
    tile_label,
    tile_width,
)
from confsched_tui.sessionview import (
    at_risk_counts,
    at_risk_text,
    attention_lines,
    booking_body,
    bridge_detail,
    bridge_lines,
    conflict_text,
    readiness_rows,
    readiness_text,
    session_state,
    sitting_cancelled,
    visible_sessions,
)
from confsched_tui.text import fmt_ago, fmt_span, fold

from confsched.domain.model import Fleet
from confsched.services.inventory import endpoint_view
from tests.fakes.console_data import fleet_summary, make_endpoints

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2026, 12, 7, 9, 40, tzinfo=TZ)
ENDPOINTS = make_endpoints(192)
BY_ID = {e["id"]: e for e in ENDPOINTS}


def test_every_state_has_its_own_symbol() -> None:
    assert len(set(SYMBOLS.values())) == 5


def test_groups_put_the_province_first_then_each_district_with_its_own_room_first() -> None:
    groups = group_endpoints(ENDPOINTS, {})
    assert groups[0].label == "Province" and len(groups[0].tiles) == 5
    assert len(groups) == 10
    dai_tu = next(g for g in groups if g.key == "h-dai-tu")
    assert dai_tu.label == "Huyện Đại Từ"
    assert dai_tu.tiles[0].id == "h-dai-tu" and dai_tu.tiles[0].level == "district"
    assert sum(len(g.tiles) for g in groups) == 192


def test_city_districts_are_shortened_to_fit_the_label_column() -> None:
    labels = [g.label for g in group_endpoints(ENDPOINTS, {})]
    assert "TP Thái Nguyên" in labels and "TX Phổ Yên" in labels


def test_tile_label_is_the_place_for_communes_and_the_room_for_the_province() -> None:
    commune = {"level": "commune", "site_name": "Thị trấn Hùng Sơn", "name": "Phòng họp …"}
    province = {"level": "province", "name": "Phòng điều hành IOC", "site_name": "Tỉnh"}
    assert tile_label(commune) == "Hùng Sơn"
    assert tile_label(province) == "IOC"


def test_unreported_endpoints_count_as_unknown() -> None:
    states = {"tinh-uy": "down"}
    groups = group_endpoints(ENDPOINTS, states)
    flat = [t.state for g in groups for t in g.tiles]
    assert count_states(flat) == {"ok": 0, "degraded": 0, "down": 1, "offline": 0, "unknown": 191}


def test_filter_words_match_without_diacritics() -> None:
    assert fold("Huyện Đại Từ") == "huyen dai tu"
    wanted = FleetFilter.parse("dai tu")
    shown = filter_groups(group_endpoints(ENDPOINTS, {}), BY_ID, wanted)
    assert [g.key for g in shown] == ["h-dai-tu"]


def test_filter_by_state_keys_and_state_token_combine() -> None:
    states = {"tinh-uy": "down", "ioc": "offline", "h-dai-tu": "down"}
    groups = group_endpoints(ENDPOINTS, states)
    by_key = FleetFilter.parse("", states={"down"})
    by_token = FleetFilter.parse("state:off")
    assert {t.id for g in filter_groups(groups, BY_ID, by_key) for t in g.tiles} == {
        "tinh-uy",
        "h-dai-tu",
    }
    assert [t.id for g in filter_groups(groups, BY_ID, by_token) for t in g.tiles] == ["ioc"]


def test_filter_selector_words_keep_only_the_rooms_the_scheduler_chose() -> None:
    groups = group_endpoints(ENDPOINTS, {})
    wanted = FleetFilter.parse("under:h-dai-tu  tag:vung-cao Phú")
    assert wanted.selector_text == "under:h-dai-tu,tag:vung-cao" and wanted.words == ("phu",)
    assert filter_groups(groups, BY_ID, wanted) == []  # not resolved yet: nothing matches
    dai_tu = {e["id"] for e in ENDPOINTS if e["area"] == "h-dai-tu"}
    shown = filter_groups(groups, BY_ID, wanted, selected=dai_tu)
    assert {g.key for g in shown} == {"h-dai-tu"}
    kept = {t.id for g in shown for t in g.tiles}
    assert kept < dai_tu and all("phu" in fold(str(BY_ID[i])) for i in kept)


def test_a_two_tier_province_groups_its_communes_under_the_province() -> None:
    flat = [{**e, "area": None, "area_name": None} for e in ENDPOINTS if e["level"] != "district"]
    groups = group_endpoints(flat, {}, ["province", "commune"])
    assert [g.label for g in groups] == ["Province"]
    assert [t.level for t in groups[0].tiles[:6]] == ["province"] * 5 + ["commune"]


def _session(start: datetime, minutes: int, **extra: object) -> dict[str, object]:
    end = start + timedelta(minutes=minutes)
    return {
        "id": "s",
        "status": "scheduled",
        "setup_minutes": 15,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "occurrences": [{"start": start.isoformat(), "end": end.isoformat(), "cancelled": False}],
        **extra,
    }


def test_session_state_follows_the_clock_through_setup_live_and_ended() -> None:
    start = NOW + timedelta(minutes=10)
    session = _session(start, 60)
    assert session_state(session, NOW - timedelta(minutes=30)) == "upcoming"
    assert session_state(session, NOW) == "setup"
    assert session_state(session, start + timedelta(minutes=1)) == "live"
    assert session_state(session, start + timedelta(hours=2)) == "ended"
    assert session_state({**session, "status": "cancelled"}, NOW) == "cancelled"


def test_visible_sessions_leave_out_ended_ones_and_sort_by_next_occurrence() -> None:
    ended = _session(NOW - timedelta(hours=3), 60, id="old")
    later = _session(NOW + timedelta(days=1), 60, id="later")
    live = _session(NOW - timedelta(minutes=5), 60, id="live")
    assert [s["id"] for s in visible_sessions([later, ended, live], NOW)] == ["live", "later"]


THREE_BRIDGES = {
    "bridges": [
        {"bridge": "mcu-a", "participants": 100, "links": 2, "ports_used": 102,
         "capacity": 120, "in_use": 118},
        {"bridge": "mcu-b", "participants": 70, "links": 1, "ports_used": 71, "capacity": 96,
         "in_use": 96},
        {"bridge": "mcu-c", "participants": 22, "links": 1, "ports_used": 23, "capacity": 40},
    ]
}  # fmt: skip


def test_every_bridge_of_a_cascade_is_listed_with_its_load_across_sessions() -> None:
    assert bridge_lines(THREE_BRIDGES) == [
        "mcu-a 102/120 · 118 in use",
        "mcu-b 71/96 · 96 in use",
        "mcu-c 23/40",
    ]
    bridges = THREE_BRIDGES["bridges"]
    assert bridge_detail(bridges[0]) == (
        "mcu-a  102 ports (100 rooms + 2 links) · 118/120 in use then, all sessions"
    )
    assert bridge_detail(bridges[2], 8) == "mcu-c     23 ports (22 rooms + 1 link) of 40"


def test_sittings_needing_attention_read_in_local_time_with_the_reason() -> None:
    session = {
        "needs_attention": [
            {"start": "2026-12-09T01:00:00+00:00", "end": "2026-12-09T04:00:00+00:00",
             "reason": "bridge mcu-b would need 98 ports, has 90"}
        ]
    }  # fmt: skip
    assert attention_lines(session, TZ) == [
        "Wed 09 Dec 08:00–11:00: bridge mcu-b would need 98 ports, has 90"
    ]
    assert attention_lines({}, TZ) == []


def test_a_cancelled_sitting_of_a_series_counts_as_cancelled_until_it_has_passed() -> None:
    today = {"start": NOW.isoformat(), "end": (NOW + timedelta(hours=1)).isoformat()}
    later = {"start": (NOW + timedelta(days=7)).isoformat(),
             "end": (NOW + timedelta(days=7, hours=1)).isoformat(), "cancelled": False}  # fmt: skip
    series = {"status": "scheduled", "occurrences": [{**today, "cancelled": True}, later]}
    assert sitting_cancelled(series, NOW)
    assert not sitting_cancelled(series, NOW + timedelta(hours=2))
    assert sitting_cancelled({"status": "cancelled"}, NOW)
    assert not sitting_cancelled({"status": "scheduled", "occurrences": [later]}, NOW)


def test_readiness_text_says_ready_n_of_m_and_what_is_missing() -> None:
    counts = {"ready": 187, "not_ready": 3, "no_answer": 2, "pending": 0, "total": 192}
    assert readiness_text(counts) == "ready 187 of 192 · 3 not ready · 2 no answer"
    assert readiness_text(None) == "—"


def test_at_risk_counts_take_each_sessions_soonest_occurrence() -> None:
    forecast = [
        {"session_id": "weekly", "start": "2026-12-07T14:00:00+07:00", "at_risk": 3},
        {"session_id": "dai-tu", "start": "2026-12-08T14:00:00+07:00", "at_risk": 0},
        {"session_id": "weekly", "start": "2026-12-14T14:00:00+07:00", "at_risk": 9},
    ]
    assert at_risk_counts(forecast) == {"weekly": 3, "dai-tu": 0}
    assert at_risk_text(3) == "3 rooms"
    assert at_risk_text(1) == "1 room"
    assert at_risk_text(0) == "none"
    assert at_risk_text(None) == "—"  # beyond the forecast's 24 hours


def test_readiness_rows_put_the_rooms_not_ready_first() -> None:
    rows = readiness_rows(
        {
            "endpoints": [
                {"endpoint": "a", "status": "ready", "endpoint_name": "A"},
                {"endpoint": "b", "status": "no_answer", "endpoint_name": "B"},
                {"endpoint": "c", "status": "not_ready", "endpoint_name": "C"},
            ]
        }
    )
    assert [r["endpoint"] for r in rows] == ["c", "b", "a"]


def test_conflict_text_names_the_room_and_the_session_in_local_time() -> None:
    conflict = {
        "kind": "endpoint",
        "endpoint": "dt-hung-son",
        "endpoint_name": "Phòng họp UBND thị trấn Hùng Sơn",
        "session": "s1",
        "title": "Họp UBND huyện Đại Từ",
        "start": "2026-12-08T07:00:00+00:00",
        "end": "2026-12-08T08:30:00+00:00",
    }
    text = conflict_text(conflict, TZ)
    assert "Hùng Sơn" in text and "«Họp UBND huyện Đại Từ»" in text
    assert "Tue 08 Dec 14:00–15:30" in text


def test_ports_conflict_keeps_the_schedulers_message() -> None:
    conflict = {"kind": "ports", "needed": 200, "free": 190, "message": "needs 200 ports, 190 free"}
    assert conflict_text(conflict, TZ).startswith("ports: needs 200 ports, 190 free")


def test_booking_body_sends_only_filled_fields() -> None:
    body = booking_body({"title": " Họp ", "with": "all", "repeat": "", "setup": "  "})
    assert body == {"title": "Họp", "with": "all"}


def test_times_show_in_the_fleets_zone() -> None:
    assert fmt_span("2026-12-07T01:00:00+00:00", "2026-12-07T03:00:00+00:00", TZ) == (
        "Mon 07 Dec 08:00–10:00"
    )
    assert fmt_ago("2026-12-07T09:39:50+07:00", NOW) == "10 s ago"
    assert fmt_ago(None, NOW) == "never"


def test_health_entries_get_defaults_and_counts() -> None:
    body = {"endpoints": [{"endpoint": "a", "state": "down"}, {"endpoint": "b"}]}
    normalized = normalize.fleet_health(body)
    assert [(e["endpoint"], e["state"]) for e in normalized["endpoints"]] == [
        ("a", "down"),
        ("b", "unknown"),
    ]
    assert normalized["counts"] == {"down": 1, "unknown": 1}


def test_readiness_summary_and_rows_get_defaults() -> None:
    summary = {"ready": 28, "not_ready": 1, "no_answer": 1, "pending": 0, "total": 30}
    body = {
        "summary": summary,
        "endpoints": [
            {"endpoint": "a", "status": "not_ready", "reasons": ["camera missing"]},
            {"endpoint": "b", "status": "no_answer"},
        ],
    }
    assert normalize.readiness_counts(summary) == summary
    rows = normalize.readiness(body)["endpoints"]
    assert rows[0]["reasons"] == ["camera missing"] and rows[1]["reasons"] == []
    assert normalize.readiness_counts({"ready": 0, "total": 0}) is None


def test_history_points_come_oldest_first() -> None:
    body = {"endpoint": "a", "state": "ok", "history": [{"at": "T2"}, {"at": "T1"}]}
    assert [p["at"] for p in normalize.endpoint_health(body)["history"]] == ["T1", "T2"]


def test_selector_completion_completes_the_last_item_only() -> None:
    levels = ["province", "district", "commune"]
    areas = [("h-dai-tu", "district")]
    candidates = selector_candidates(["h-dai-tu", "dt-hung-son"], levels, areas, ["vung-cao"])
    assert complete("dist", candidates, multiple=True) == "district:h-dai-tu"
    assert complete("un", candidates, multiple=True) == "under:h-dai-tu"
    assert complete("level:c", candidates, multiple=True) == "level:commune"
    assert complete("all, tag:v", candidates, multiple=True) == "all, tag:vung-cao"
    assert complete("dt-h", candidates, multiple=True) == "dt-hung-son"
    assert complete("all,", candidates, multiple=True) is None
    assert complete("zzz", candidates, multiple=False) is None


def test_console_rules_and_client_load_without_textual() -> None:
    """Textual stays inside the screens: the rules, client and CLI entry load without it."""
    import json
    import subprocess
    import sys

    names = ("api", "live", "fleetview", "sessionview", "normalize", "catalog")
    modules = ", ".join(f"confsched_tui.{name}" for name in names) + ", confsched.cli.console"
    code = f"import json, sys; import {modules}; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert not {m for m in json.loads(done.stdout) if m.split(".")[0] == "textual"}


def test_tui_command_is_documented_and_reads_the_token_from_the_data_dir(
    cli,
    data_dir,  # type: ignore[no-untyped-def]
) -> None:
    from confsched.cli.console import read_token

    done = cli("tui", "--help")
    assert done.code == 0 and "--url" in done.out and "--token" in done.out
    (data_dir / "operator.token").write_text("s3cret\n", encoding="utf-8")
    assert read_token(data_dir) == "s3cret"
    assert read_token(data_dir / "missing") is None


def _visible_clashes(endpoints: list[dict[str, Any]], levels: list[str], columns: int) -> list[str]:
    """Texts shown by more than one tile of a group when the grid is ``columns`` wide."""
    groups = group_endpoints(endpoints, {}, levels)
    width = tile_width(columns, (t.label for g in groups for t in g.tiles))
    clashes = []
    for group in groups:
        texts = distinct_texts([t.label for t in group.tiles], width - 2)
        assert all(len(text) <= width - 2 for text in texts)
        clashes += [f"{group.label}: {t}" for t, n in Counter(texts).items() if n > 1]
    return clashes


@pytest.mark.parametrize("columns", [80, 120, 200])
def test_no_two_tiles_of_a_group_read_alike_in_the_sample_or_the_two_tier_fleet(
    sample_fleet: Fleet, two_tier_fleet: Fleet, columns: int
) -> None:
    sample = [endpoint_view(sample_fleet, e) for e in sample_fleet.endpoints]
    merged = [endpoint_view(two_tier_fleet, e) for e in two_tier_fleet.endpoints]
    synthetic = make_endpoints(1000)
    assert _visible_clashes(sample, ["province", "district", "commune"], columns) == []
    assert _visible_clashes(merged, list(two_tier_fleet.levels), columns) == []
    assert _visible_clashes(synthetic, ["province", "district", "commune"], columns) == []


def test_rooms_of_the_same_place_name_keep_their_kind_and_clashing_cuts_keep_their_ends() -> None:
    rooms = [
        {"id": "h-phu-luong", "level": "district", "name": "Phòng họp UBND huyện Phú Lương",
         "site_name": "Huyện Phú Lương"},
        {"id": "x-phu-luong", "level": "commune", "name": "Phòng họp UBND xã Phú Lương",
         "site_name": "Xã Phú Lương"},
        {"id": "x-hung-son", "level": "commune", "name": "Phòng họp", "site_name": "Xã Hùng Sơn"},
    ]  # fmt: skip
    labels = [t.label for t in group_endpoints(rooms, {})[0].tiles]
    assert labels == ["Huyện Phú Lương", "Xã Phú Lương", "Hùng Sơn"]
    assert distinct_texts(["Thượng Khánh", "Thượng Vinh", "Tân Long"], 8) == [
        "…Khánh",
        "…Vinh",
        "Tân Long",
    ]
    assert len(set(distinct_texts(["Trung Thành A", "Trung Thành B", "Trung Thành"], 6))) == 3


def test_tiles_grow_with_the_screen_up_to_the_longest_label() -> None:
    labels = ["Phan Đình Phùng", "IOC"]
    assert tile_width(80, labels) == 12
    assert tile_width(120, labels) == 13
    assert tile_width(200, labels) == len("Phan Đình Phùng") + 2
    assert tile_width(200, ["IOC"]) == 12


def test_hints_name_the_loaded_fleets_own_ids_and_levels(two_tier_fleet: Fleet) -> None:
    merged = [endpoint_view(two_tier_fleet, e) for e in two_tier_fleet.endpoints]
    summary = {**fleet_summary(merged), "levels": list(two_tier_fleet.levels)}
    examples = Catalog(summary, merged, {e["id"]: e for e in merged}).examples()
    assert examples.site in two_tier_fleet.sites
    assert examples.level == "commune" and examples.level in two_tier_fleet.levels
    assert examples.agency in two_tier_fleet.agencies
    assert examples.endpoint in two_tier_fleet.endpoints
    hint = examples.selectors()
    assert f"under:{examples.site}" in hint and "h-dai-tu" not in hint
    if examples.tag:
        assert any(examples.tag in e.tags for e in two_tier_fleet.endpoints.values())
    three_tier = Catalog(fleet_summary(ENDPOINTS), ENDPOINTS, BY_ID).examples()
    assert three_tier.selectors() == "under:tp-thai-nguyen, level:commune, tag:lanh-dao"


def test_call_state_reads_in_words_and_says_nothing_when_the_source_cannot_tell() -> None:
    assert call_text({"active": True, "remote": "sip:hop@mcu1"}) == "In call with sip:hop@mcu1"
    assert call_text({"active": False, "remote": ""}) == "Not in a call"
    assert call_text(None) == ""
