#!/usr/bin/env python3
"""Writes confsched.json, the Grafana dashboard, from the panel list below.

Run ``python deploy/grafana/build_dashboard.py`` after editing; a test checks that the committed
JSON is what this script writes and that every expression names only metrics confsched exports.

The dashboard is a wall screen for IT staff: fleet state at the top, by area, the rooms
that are not ok and why, readiness of the sessions starting soon, bridge load, network quality,
and the health of the scheduler itself at the bottom. It uses a ``datasource`` variable (never
the ``__inputs``/``${DS_…}`` export form, which file provisioning cannot resolve) and an
``area`` variable (the grouping of a room in the site tree; empty for province rooms and
for communes directly under the province, which ``All`` includes).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).with_name("confsched.json")
DS = {"type": "prometheus", "uid": "${datasource}"}
STATE_COLORS = {
    "ok": "green",
    "degraded": "yellow",
    "down": "red",
    "offline": "purple",
    "unknown": "gray",
    "ready": "green",
    "pending": "blue",
    "not_ready": "red",
    "no_answer": "orange",
}
D = 'area=~"$area"'
INFO_JOIN = (
    f"* on (endpoint) group_left (area, agency, name, bridge_name) confsched_endpoint_info{{{D}}}"
)
"""Joins a room's name, area, agency and bridge name to its series; only the chosen areas."""
ROOM_JOIN = INFO_JOIN.replace("(area, agency, name, bridge_name)", "(area, name)")
BRIDGE_JOIN = "* on (bridge) group_left (name) confsched_bridge_info"
NEXT = "confsched_endpoint_next_session_start_timestamp_seconds"
NOT_READY = 'confsched_endpoint_readiness{state!="ready"}'
IN_USE = "confsched_bridge_ports_in_use"
LAST = {"calcs": ["lastNotNull"]}
STAT = {"reduceOptions": LAST, "graphMode": "none", "textMode": "value_and_name"}
BARS = {"orientation": "horizontal", "displayMode": "basic", "reduceOptions": LAST}
HIDE_TIME_VALUE = [
    {
        "id": "organize",
        "options": {
            "excludeByName": {"Time": True, "Value": True},
            "indexByName": {"name": 0, "endpoint": 1, "area": 2},
            "renameByName": {"name": "room", "endpoint": "id", "bridge_name": "bridge"},
        },
    }
]


def steps(*pairs: tuple[str, float | None]) -> dict[str, Any]:
    return {"mode": "absolute", "steps": [{"color": c, "value": v} for c, v in pairs]}


def target(expr: str, legend: str = "", ref: str = "A", **extra: Any) -> dict[str, Any]:
    return {"datasource": DS, "expr": expr, "legendFormat": legend, "refId": ref, **extra}


def table_target(expr: str, ref: str = "A") -> dict[str, Any]:
    return target(expr, ref=ref, format="table", instant=True, range=False)


def instant_target(expr: str, legend: str = "", ref: str = "A") -> dict[str, Any]:
    """One value per series, now: a ``topk`` stays at its k (over a range it picks its k
    anew at every step, so a graph shows many more)."""
    return target(expr, legend, ref, instant=True, range=False)


def worst(k: int, metric: str) -> str:
    """The series of the ``k`` rooms (of the chosen areas) whose worst value over the shown
    range is highest, picked once at its end (``@ end()``), so a graph shows exactly ``k``."""
    top = f"topk({k}, max_over_time({metric}[$__range] @ end()) {ROOM_JOIN})"
    return f"{metric} {ROOM_JOIN} and on (endpoint) {top}"


def color_overrides(names: list[str]) -> list[dict[str, Any]]:
    return [
        {
            "matcher": {"id": "byName", "options": name},
            "properties": [
                {"id": "color", "value": {"mode": "fixed", "fixedColor": STATE_COLORS[name]}}
            ],
        }
        for name in names
    ]


def panel(
    kind: str, title: str, pos: tuple[int, int, int, int], targets: list[dict[str, Any]], **kw: Any
) -> dict[str, Any]:
    x, y, w, h = pos
    out: dict[str, Any] = {
        "type": kind,
        "title": title,
        "datasource": DS,
        "gridPos": {"x": x, "y": y, "w": w, "h": h},
        "targets": targets,
        "fieldConfig": {"defaults": kw.pop("defaults", {}), "overrides": kw.pop("overrides", [])},
        "options": kw.pop("options", {}),
    }
    out.update(kw)
    return out


def fleet_panels() -> list[dict[str, Any]]:
    states = ["ok", "degraded", "down", "offline", "unknown"]
    return [
        panel(
            "stat",
            "Rooms by state",
            (0, 0, 12, 5),
            [target(f"sum by (state) (confsched_endpoint_state{{{D}}})", "{{state}}")],
            description="Each room is in one state; offline: no report for 3 intervals.",
            options={**STAT, "colorMode": "background"},
            overrides=color_overrides(states),
        ),
        panel(
            "stat",
            "Sessions",
            (12, 0, 6, 5),
            [
                target("confsched_upcoming_sessions", "starting within the hour", "A"),
                target('confsched_sessions{state="running"}', "running", "B"),
                target('confsched_sessions{state="upcoming"}', "upcoming", "C"),
            ],
            options=STAT,
        ),
        panel(
            "stat",
            "Next session starts in",
            (18, 0, 6, 5),
            [target(f"min(({NEXT} {ROOM_JOIN}) > time()) - time()")],
            defaults={"unit": "s", "noValue": "none today",
                      "thresholds": steps(("orange", None), ("green", 3600))},
            options={**STAT, "textMode": "value"},
        ),
        panel(
            "table",
            "State by area",
            (0, 5, 12, 10),
            [table_target(f"sum by (area, state) (confsched_endpoint_state{{{D}}})")],
            transformations=[{"id": "groupingToMatrix", "options": {
                "columnField": "state", "rowField": "area", "valueField": "Value"}}],
            overrides=color_overrides(states),
        ),
        panel(
            "table",
            "Rooms not ok, and why",
            (12, 5, 12, 10),
            [table_target(f'confsched_endpoint_problem{{reason!="never_reported"}} {INFO_JOIN}')],
            description="One row per problem (reason code) of each room; rooms that never "
            "reported are left out to keep the wall readable.",
            transformations=HIDE_TIME_VALUE,
        ),
    ]  # fmt: skip


def session_panels() -> list[dict[str, Any]]:
    readiness = ["ready", "pending", "not_ready", "no_answer"]
    return [
        panel(
            "bargauge",
            "Readiness of sessions starting within the hour",
            (0, 15, 8, 8),
            [target(f"sum by (state) (confsched_endpoint_readiness {ROOM_JOIN})", "{{state}}")],
            options=BARS,
            overrides=color_overrides(readiness),
        ),
        panel(
            "table",
            "Rooms not ready for their session",
            (8, 15, 8, 8),
            [table_target(f"({NOT_READY} == 1) {INFO_JOIN}")],
            transformations=HIDE_TIME_VALUE,
        ),
        panel(
            "bargauge",
            "Bridge ports in use",
            (16, 15, 8, 8),
            [target(f"{IN_USE} / confsched_bridge_ports_capacity {BRIDGE_JOIN}", "{{name}}")],
            defaults={"unit": "percentunit", "min": 0, "max": 1,
                      "thresholds": steps(("green", None), ("orange", 0.75), ("red", 0.9))},
            options={**BARS, "displayMode": "gradient"},
        ),
    ]  # fmt: skip


def network_panels() -> list[dict[str, Any]]:
    join = ROOM_JOIN
    silent = f"(time() - confsched_endpoint_last_report_timestamp_seconds) {join}"
    return [
        panel(
            "timeseries",
            "Round-trip time to the bridge (mean by area)",
            (0, 23, 8, 8),
            [target(f"avg by (area) (confsched_endpoint_network_rtt_seconds {join})",
                    "{{area}}")],
            defaults={"unit": "s"},
        ),
        panel(
            "timeseries",
            "Packet loss to the bridge (worst 10 rooms)",
            (8, 23, 8, 8),
            [target(worst(10, "confsched_endpoint_network_packet_loss_ratio"), "{{name}}")],
            defaults={"unit": "percentunit"},
        ),
        panel(
            "timeseries",
            "Jitter to the bridge (worst 10 rooms)",
            (16, 23, 8, 8),
            [target(worst(10, "confsched_endpoint_network_jitter_seconds"), "{{name}}")],
            defaults={"unit": "s"},
        ),
        panel(
            "table",
            "Device checks failing",
            (0, 31, 8, 8),
            [table_target(f"(confsched_endpoint_check_ok == 0) {INFO_JOIN}")],
            transformations=HIDE_TIME_VALUE,
        ),
        panel(
            "bargauge",
            "Longest silent agents",
            (8, 31, 8, 8),
            [instant_target(f"topk(10, {silent})", "{{name}}")],
            defaults={"unit": "s", "thresholds": steps(("green", None), ("red", 30))},
            options=BARS,
        ),
        panel(
            "timeseries",
            "Rooms not ok over time",
            (16, 31, 8, 8),
            [target(f'sum by (state) (confsched_endpoint_state{{state!="ok",{D}}})', "{{state}}")],
            defaults={"custom": {"stacking": {"mode": "normal"}, "fillOpacity": 30}},
            overrides=color_overrides(["degraded", "down", "offline", "unknown"]),
        ),
    ]  # fmt: skip


def scheduler_panels() -> list[dict[str, Any]]:
    return [
        panel(
            "timeseries",
            "Agent reports",
            (0, 39, 8, 7),
            [
                target("rate(confsched_reports_accepted_total[5m])", "accepted/s", "A"),
                target(
                    "sum by (reason) (rate(confsched_reports_rejected_total[5m]))",
                    "rejected {{reason}}/s",
                    "B",
                ),
            ],
            defaults={"unit": "reqps"},
        ),
        panel(
            "timeseries",
            "Refused: SSH logins and bookings",
            (8, 39, 8, 7),
            [
                target(
                    "sum by (reason) (increase(confsched_ssh_logins_refused_total[1h]))",
                    "login {{reason}}",
                    "A",
                ),
                target(
                    "sum by (reason) (increase(confsched_booking_refusals_total[1h]))",
                    "booking {{reason}}",
                    "B",
                ),
            ],
            description="Per hour.",
        ),
        panel(
            "timeseries",
            "/metrics scrape cost",
            (16, 39, 8, 7),
            [
                target("confsched_metrics_scrape_duration_seconds", "render", "A"),
                target("confsched_metrics_scrape_longest_hold_seconds", "longest loop hold", "B"),
                target("confsched_event_loop_lag_seconds", "event loop lag", "C"),
            ],
            defaults={"unit": "s"},
        ),
    ]


def forecast_panels() -> list[dict[str, Any]]:
    return [
        panel(
            "table",
            "Rooms at risk for sessions within 24 h",
            (0, 46, 16, 8),
            [table_target(f"(confsched_endpoint_at_risk == 1) {INFO_JOIN}")],
            description="Rooms booked for a session starting within 24 hours (or running) that "
            "would not be ready now; `confsched sessions risk` says why.",
            transformations=HIDE_TIME_VALUE,
        ),
        panel(
            "bargauge",
            "Sessions at risk by area",
            (16, 46, 8, 8),
            [target(f"confsched_sessions_at_risk{{{D}}} > 0", "{{area}}")],
            description="Sessions within 24 hours with a room of the area at risk (no area: "
            "the province's own rooms).",
            defaults={"noValue": "none", "thresholds": steps(("green", None), ("orange", 1))},
            options=BARS,
        ),
    ]


def templating() -> dict[str, Any]:
    return {
        "list": [
            {
                "name": "datasource",
                "label": "Prometheus",
                "type": "datasource",
                "query": "prometheus",
                "current": {},
                "hide": 0,
                "refresh": 1,
            },
            {
                "name": "area",
                "label": "Area",
                "type": "query",
                "datasource": DS,
                "query": {
                    "query": "label_values(confsched_endpoint_info, area)",
                    "refId": "area",
                },
                "definition": "label_values(confsched_endpoint_info, area)",
                "includeAll": True,
                "multi": True,
                "allValue": ".*",
                "current": {"text": "All", "value": "$__all"},
                "refresh": 2,
                "sort": 1,
            },
        ]
    }


def dashboard() -> dict[str, Any]:
    panels = (
        fleet_panels() + session_panels() + network_panels() + scheduler_panels()
        + forecast_panels()
    )  # fmt: skip
    for number, p in enumerate(panels, start=1):
        p["id"] = number
    return {
        "uid": "confsched-fleet",
        "title": "confsched — video-conference fleet",
        "description": "Rooms, sessions, bridges and the scheduler, from confsched's /metrics.",
        "tags": ["confsched"],
        "timezone": "browser",
        "editable": True,
        "graphTooltip": 1,
        "refresh": "15s",
        "schemaVersion": 39,
        "version": 1,
        "time": {"from": "now-6h", "to": "now"},
        "templating": templating(),
        "annotations": {"list": []},
        "links": [],
        "panels": panels,
    }


def render() -> str:
    return json.dumps(dashboard(), indent=2, ensure_ascii=False) + "\n"


def main() -> int:
    OUT.write_text(render(), encoding="utf-8")
    print(f"wrote {OUT}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
