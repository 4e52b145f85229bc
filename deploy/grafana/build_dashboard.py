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
INFO_JOIN = f"* on (endpoint) group_left (area, agency) confsched_endpoint_info{{{D}}}"
NEXT = "confsched_endpoint_next_session_start_timestamp_seconds"
NOT_READY = 'confsched_endpoint_readiness{state!="ready"}'
IN_USE = "confsched_bridge_ports_in_use"
LAST = {"calcs": ["lastNotNull"]}
STAT = {"reduceOptions": LAST, "graphMode": "none", "textMode": "value_and_name"}
BARS = {"orientation": "horizontal", "displayMode": "basic", "reduceOptions": LAST}
HIDE_TIME_VALUE = [{"id": "organize", "options": {"excludeByName": {"Time": True, "Value": True}}}]


def steps(*pairs: tuple[str, float | None]) -> dict[str, Any]:
    return {"mode": "absolute", "steps": [{"color": c, "value": v} for c, v in pairs]}


def target(expr: str, legend: str = "", ref: str = "A", **extra: Any) -> dict[str, Any]:
    return {"datasource": DS, "expr": expr, "legendFormat": legend, "refId": ref, **extra}


def table_target(expr: str, ref: str = "A") -> dict[str, Any]:
    return target(expr, ref=ref, format="table", instant=True, range=False)


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
            [target(f"min({NEXT} > time()) - time()")],
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
    area_join = INFO_JOIN.replace("(area, agency)", "(area)")
    return [
        panel(
            "bargauge",
            "Readiness of sessions starting within the hour",
            (0, 15, 8, 8),
            [target("sum by (state) (confsched_upcoming_session_endpoints)", "{{state}}")],
            options=BARS,
            overrides=color_overrides(readiness),
        ),
        panel(
            "table",
            "Rooms not ready for their session",
            (8, 15, 8, 8),
            [table_target(f"({NOT_READY} == 1) {area_join}")],
            transformations=HIDE_TIME_VALUE,
        ),
        panel(
            "bargauge",
            "Bridge ports in use",
            (16, 15, 8, 8),
            [target(f"{IN_USE} / confsched_bridge_ports_capacity", "{{bridge}}")],
            defaults={"unit": "percentunit", "min": 0, "max": 1,
                      "thresholds": steps(("green", None), ("orange", 0.75), ("red", 0.9))},
            options={**BARS, "displayMode": "gradient"},
        ),
    ]  # fmt: skip


def network_panels() -> list[dict[str, Any]]:
    join = INFO_JOIN.replace("(area, agency)", "(area)")
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
            [target(f"topk(10, confsched_endpoint_network_packet_loss_ratio {join})",
                    "{{endpoint}}")],
            defaults={"unit": "percentunit"},
        ),
        panel(
            "timeseries",
            "Jitter to the bridge (worst 10 rooms)",
            (16, 23, 8, 8),
            [target(f"topk(10, confsched_endpoint_network_jitter_seconds {join})", "{{endpoint}}")],
            defaults={"unit": "s"},
        ),
        panel(
            "table",
            "Device checks failing",
            (0, 31, 8, 8),
            [table_target(f"(confsched_endpoint_check_ok == 0) {join}")],
            transformations=HIDE_TIME_VALUE,
        ),
        panel(
            "bargauge",
            "Longest silent agents",
            (8, 31, 8, 8),
            [target("topk(10, time() - confsched_endpoint_last_report_timestamp_seconds)",
                    "{{endpoint}}")],
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
            ],
            defaults={"unit": "s"},
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
    panels = fleet_panels() + session_panels() + network_panels() + scheduler_panels()
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
