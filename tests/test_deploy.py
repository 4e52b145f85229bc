"""deploy/: the Prometheus rules pass promtool (check and unit tests), the scrape example is a
valid configuration, and the Grafana dashboard is current and names only metrics we export."""

from __future__ import annotations

import importlib.util
import json
import random
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from confsched.domain.model import Fleet
from confsched.metrics.exporter import sample_name
from confsched.metrics.families import ScrapeInput, build_families
from tests.fakes.metrics_synthetic import fill_board, fixed_now, synthetic_booking

ROOT = Path(__file__).resolve().parent.parent
PROMETHEUS = ROOT / "deploy" / "prometheus"
GRAFANA = ROOT / "deploy" / "grafana"
ALERTMANAGER = ROOT / "deploy" / "alertmanager" / "alertmanager.yml"
RUNBOOK = "{{ $externalLabels.runbook_base }}#"
METRIC = re.compile(r"\bconfsched_[a-z0-9_]+\b")

needs_promtool = pytest.mark.skipif(
    shutil.which("promtool") is None, reason="promtool (Debian prometheus) missing"
)


def promtool(*args: str, cwd: Path = PROMETHEUS) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["promtool", *args], cwd=cwd, capture_output=True, text=True)


@pytest.fixture(scope="module")
def exported(sample_fleet: Fleet) -> set[str]:
    """Every family and sample name /metrics can carry (a scene where every family has data)."""
    board = fill_board(sample_fleet, fixed_now(), random.Random(3))
    booking = synthetic_booking(sample_fleet, fixed_now(), random.Random(3))
    scene = ScrapeInput(
        now=fixed_now().timestamp(), fleet=sample_fleet, health=board.entries(), booking=booking
    )
    families = build_families(scene)
    return {f.name for f in families} | {sample_name(f) for f in families}


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    return json.loads((GRAFANA / "confsched.json").read_text(encoding="utf-8"))


def dashboard_exprs(board: dict[str, Any]) -> list[str]:
    exprs = [t["expr"] for p in board["panels"] for t in p["targets"]]
    for var in board["templating"]["list"]:
        if var["type"] == "query":
            exprs.append(var["query"]["query"])
    return exprs


def rule_exprs() -> list[str]:
    groups = yaml.safe_load((PROMETHEUS / "rules.yml").read_text(encoding="utf-8"))["groups"]
    return [rule["expr"] for group in groups for rule in group["rules"]]


@needs_promtool
def test_rules_pass_promtool_check_with_lint() -> None:
    done = promtool("check", "rules", "--lint=all", "--lint-fatal", "rules.yml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


@needs_promtool
def test_rule_unit_tests_pass() -> None:
    done = promtool("test", "rules", "rules.test.yml")
    assert done.returncode == 0, done.stdout + done.stderr


@needs_promtool
def test_scrape_example_is_a_valid_prometheus_config() -> None:
    done = promtool("check", "config", "prometheus.yml")
    assert done.returncode == 0, done.stdout + done.stderr


def alert_rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load((PROMETHEUS / "rules.yml").read_text(encoding="utf-8"))["groups"]
    return [r for g in groups for r in g["rules"] if "alert" in r]


def test_alerts_follow_the_mixin_conventions() -> None:
    alerts = alert_rules()
    assert {a["alert"] for a in alerts} >= {
        "ConfschedRoomOfflineBeforeSession",
        "ConfschedBridgeNearCapacity",
        "ConfschedSessionNotReady",
        "ConfschedAgentReportsStale",
        "ConfschedRoomAtRisk",
        "ConfschedAgentSpoolDropping",
    }
    runbook = (ROOT / "deploy" / "README.md").read_text(encoding="utf-8")
    for alert in alerts:
        assert alert["alert"].startswith("Confsched") and "for" in alert
        assert alert["labels"]["severity"] in ("warning", "critical")
        assert {"summary", "description", "runbook_url"} <= set(alert["annotations"])
        assert f"### {alert['alert']}\n" in runbook


def test_runbook_urls_are_one_absolute_base_and_the_alerts_anchor() -> None:
    base = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())["global"]["external_labels"]
    assert re.fullmatch(r"https://[^\s#]+", base["runbook_base"])
    for alert in alert_rules():
        assert alert["annotations"]["runbook_url"] == RUNBOOK + alert["alert"].lower()


def test_scheduler_down_does_not_depend_on_the_job_name() -> None:
    down = next(a for a in alert_rules() if a["alert"] == "ConfschedDown")
    assert "job=" not in down["expr"].replace(" ", "") and "confsched_build_info" in down["expr"]


def test_room_alerts_carry_the_area_for_routing() -> None:
    """Each alert about a room keeps an ``area`` label (from the series or the info join)."""
    rooms = {"ConfschedRoomAtRisk", "ConfschedSessionNotReady", "ConfschedAgentSpoolDropping",
             "ConfschedRoomOfflineBeforeSession"}  # fmt: skip
    exprs = {a["alert"]: a["expr"] for a in alert_rules() if a["alert"] in rooms}
    assert set(exprs) == rooms
    area_series = ("confsched_endpoint_at_risk", "confsched_agent_spool_dropped_reports_total",
                   "confsched_endpoint_state", "group_left (area)")  # fmt: skip
    for name, expr in exprs.items():
        assert any(s in expr for s in area_series), name
        assert "by (" not in expr and "without" not in expr, name  # nothing aggregates it away


needs_amtool = pytest.mark.skipif(
    shutil.which("amtool") is None, reason="amtool (Debian prometheus-alertmanager) missing"
)


@needs_amtool
def test_alertmanager_example_passes_amtool() -> None:
    done = subprocess.run(
        ["amtool", "check-config", str(ALERTMANAGER)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


@needs_amtool
@pytest.mark.parametrize(
    ("labels", "receivers"),
    [
        (["alertname=ConfschedRoomAtRisk", "area=h-dai-tu"], "ops-webhook,it-h-dai-tu"),
        (["alertname=ConfschedAgentSpoolDropping", "area=h-phu-binh"], "ops-webhook,it-h-phu-binh"),
        (["alertname=ConfschedRoomAtRisk", "endpoint=tinh-uy"], "ops-webhook,province-it"),
        (["alertname=ConfschedDown", "instance=scheduler:8080"], "ops-webhook,province-it"),
    ],
)
def test_alertmanager_example_routes_by_area(labels: list[str], receivers: str) -> None:
    """A commune's alert reaches its area's officer; a province room's, the provincial team;
    every alert also the webhook."""
    done = subprocess.run(
        ["amtool", "config", "routes", "test", f"--config.file={ALERTMANAGER}", *labels],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == receivers


def test_rules_name_only_exported_metrics(exported: set[str]) -> None:
    recorded = {
        r["record"]
        for g in yaml.safe_load((PROMETHEUS / "rules.yml").read_text())["groups"]
        for r in g["rules"]
        if "record" in r
    }
    used = {m for expr in rule_exprs() for m in METRIC.findall(expr)}
    assert used and used - exported - recorded == set()


def test_dashboard_names_only_exported_metrics(
    dashboard: dict[str, Any], exported: set[str]
) -> None:
    used = {m for expr in dashboard_exprs(dashboard) for m in METRIC.findall(expr)}
    assert len(used) >= 15
    assert used - exported == set()


@needs_promtool
def test_dashboard_queries_are_valid_promql(dashboard: dict[str, Any], tmp_path: Path) -> None:
    label_values = re.compile(r"^label_values\((.+), *[a-z_]+\)$")  # Grafana's, not PromQL
    rules = [
        {
            "record": f"dashboard:query_{n}:check",
            "expr": label_values.sub(r"\1", expr).replace("$area", ".*").replace("$__range", "1h"),
        }
        for n, expr in enumerate(dashboard_exprs(dashboard))
    ]
    path = tmp_path / "dashboard-queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    done = promtool("check", "rules", str(path), cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr


def test_dashboard_is_provisionable_with_a_datasource_variable(dashboard: dict[str, Any]) -> None:
    text = (GRAFANA / "confsched.json").read_text(encoding="utf-8")
    assert "__inputs" not in dashboard and "${DS_" not in text
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    assert dashboard["uid"] and dashboard["title"] and dashboard["schemaVersion"] >= 36
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for p in dashboard["panels"]:
        assert p["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert all(t["datasource"]["uid"] == "${datasource}" for t in p["targets"])
        grid = p["gridPos"]
        assert grid["x"] + grid["w"] <= 24 and grid["w"] > 0 and grid["h"] > 0


def panel_exprs(board: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return [(p, t) for p in board["panels"] for t in p["targets"]]


def test_dashboard_names_rooms_and_bridges_not_only_ids(dashboard: dict[str, Any]) -> None:
    """Every table or legend of rooms joins the room's name; bridges are shown by name."""
    for p, t in panel_exprs(dashboard):
        expr = t["expr"]
        per_room = "confsched_endpoint_" in expr and "sum by" not in expr and "avg by" not in expr
        if per_room and "min(" not in expr:
            assert re.search(r"group_left \([^)]*\bname\b", expr), p["title"]
            assert p["type"] == "table" or t["legendFormat"] == "{{name}}", p["title"]
        if p["type"] == "table" and per_room:
            assert re.search(r"group_left \([^)]*\bbridge_name\b", expr), p["title"]
        if "confsched_bridge_ports_in_use" in expr:
            assert "confsched_bridge_info" in expr and t["legendFormat"] == "{{name}}"
    rename = next(
        x["options"]["renameByName"]
        for p in dashboard["panels"]
        for x in p.get("transformations", [])
        if x["id"] == "organize"
    )
    assert rename["name"] == "room" and rename["bridge_name"] == "bridge"


def test_every_room_panel_follows_the_area_variable(dashboard: dict[str, Any]) -> None:
    titles = [p["title"] for p, t in panel_exprs(dashboard) if "confsched_endpoint_" in t["expr"]]
    assert "Longest silent agents" in titles
    for p, t in panel_exprs(dashboard):
        if "confsched_endpoint_" in t["expr"]:
            assert '=~"$area"' in t["expr"], p["title"]


def test_topk_panels_stay_at_their_k(dashboard: dict[str, Any]) -> None:
    """A topk over a time range picks its k anew at every step (a graph then shows dozens):
    each is an instant query, or picks its rooms once at the range's end (``@ end()``)."""
    found = 0
    for p, t in panel_exprs(dashboard):
        if "topk(" not in t["expr"]:
            continue
        found += 1
        instant = t.get("instant") is True and t.get("range") is False
        assert instant or re.search(
            r"topk\(\d+, max_over_time\([^]]+\[\$__range\] @ end\(\)\)", t["expr"]
        ), p["title"]
    assert found >= 3


def test_dashboard_panels_do_not_overlap(dashboard: dict[str, Any]) -> None:
    cells: set[tuple[int, int]] = set()
    for p in dashboard["panels"]:
        g = p["gridPos"]
        mine = {
            (x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])
        }
        assert not cells & mine, p["title"]
        cells |= mine


def test_committed_dashboard_is_what_the_builder_writes() -> None:
    spec = importlib.util.spec_from_file_location("build_dashboard", GRAFANA / "build_dashboard.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert (GRAFANA / "confsched.json").read_text(encoding="utf-8") == module.render()


def test_provisioning_examples_point_at_files_and_a_prometheus_datasource() -> None:
    provisioning = GRAFANA / "provisioning"
    dashboards = yaml.safe_load((provisioning / "dashboards" / "confsched.yml").read_text())
    assert dashboards["apiVersion"] == 1
    assert dashboards["providers"][0]["type"] == "file"
    assert dashboards["providers"][0]["options"]["path"]
    sources = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())
    assert sources["datasources"][0]["type"] == "prometheus"
